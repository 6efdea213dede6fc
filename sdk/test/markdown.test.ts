// @vitest-environment jsdom
import { describe, expect, it } from 'vitest';
import { renderMarkdown, safeHref } from '../src/markdown';

function html(md: string): string {
  const div = document.createElement('div');
  div.appendChild(renderMarkdown(md));
  return div.innerHTML;
}

function dom(md: string): HTMLDivElement {
  const div = document.createElement('div');
  div.appendChild(renderMarkdown(md));
  return div;
}

const ALLOWED_TAGS = new Set(['P', 'BR', 'STRONG', 'EM', 'UL', 'OL', 'LI', 'A']);

function onlySafeElements(div: HTMLElement) {
  for (const el of Array.from(div.querySelectorAll('*'))) {
    expect(ALLOWED_TAGS.has(el.tagName), el.tagName).toBe(true);
    for (const attr of Array.from(el.attributes)) {
      expect(['href', 'target', 'rel', 'start']).toContain(attr.name);
    }
  }
}

describe('markdown safety', () => {
  it('shows a script tag as literal text', () => {
    const d = dom('Hola <script>alert(1)</script> adiós');
    expect(d.querySelector('script')).toBeNull();
    expect(d.textContent).toBe('Hola <script>alert(1)</script> adiós');
    expect(html('<script>alert(1)</script>')).toBe('<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>');
  });

  it('shows an img onerror as literal text', () => {
    const d = dom('<img src=x onerror=alert(1)>');
    expect(d.querySelector('img')).toBeNull();
    expect(d.textContent).toBe('<img src=x onerror=alert(1)>');
    onlySafeElements(d);
  });

  it('never creates javascript:, data: or vbscript: links', () => {
    for (const md of [
      '[clic](javascript:alert(1))',
      '[clic](JaVaScRiPt:alert(1))',
      '[clic]( javascript:alert(1))',
      '[clic](java\tscript:alert(1))',
      '[clic](data:text/html;base64,PHNjcmlwdD4=)',
      '[clic](vbscript:msgbox)',
      '[clic](//evil.example)',
      '[clic](/relative)',
      'javascript:alert(1)',
    ]) {
      const d = dom(md);
      expect(d.querySelector('a'), md).toBeNull();
      expect(d.textContent, md).toBe(md);
    }
  });

  it('keeps markup inside emphasis and links literal', () => {
    const d = dom('**<b onmouseover=x>negrita</b>** y [<img src=x onerror=y>](https://ok.example)');
    onlySafeElements(d);
    expect(d.querySelector('strong')!.textContent).toBe('<b onmouseover=x>negrita</b>');
    const a = d.querySelector('a')!;
    expect(a.textContent).toBe('<img src=x onerror=y>');
    expect(a.getAttribute('href')).toBe('https://ok.example/');
  });

  it('does not let a quote in a URL break out of the attribute', () => {
    const d = dom('https://x.example/"onmouseover="alert(1)');
    const a = d.querySelector('a')!;
    expect(a.getAttribute('href')).toBe('https://x.example/');
    expect(a.getAttributeNames().sort()).toEqual(['href', 'rel', 'target']);
  });

  it('safeHref only accepts http(s), mailto and tel', () => {
    expect(safeHref('https://a.example/x?y=1')).toBe('https://a.example/x?y=1');
    expect(safeHref('HTTP://A.EXAMPLE')).toBe('http://a.example/');
    expect(safeHref('mailto:citas@benova.example')).toBe('mailto:citas@benova.example');
    expect(safeHref('tel:+34600111222')).toBe('tel:+34600111222');
    expect(safeHref('javascript:alert(1)')).toBeNull();
    expect(safeHref('ftp://x.example')).toBeNull();
    expect(safeHref('https://exa mple.com')).toBeNull();
  });

  it('survives deeply nested emphasis without creating unsafe nodes', () => {
    const md = '*'.repeat(200) + 'x' + '*'.repeat(200);
    const d = dom(md);
    onlySafeElements(d);
    expect(d.textContent!.includes('x')).toBe(true);
  });
});

describe('markdown formatting', () => {
  it('renders bold and italic, also nested', () => {
    expect(html('Hola **mundo** y *tú*')).toBe('<p>Hola <strong>mundo</strong> y <em>tú</em></p>');
    expect(html('**muy *importante* hoy**')).toBe('<p><strong>muy <em>importante</em> hoy</strong></p>');
    expect(html('*cita **clave** mañana*')).toBe('<p><em>cita <strong>clave</strong> mañana</em></p>');
  });

  it('leaves unmatched or spaced stars literal', () => {
    expect(html('2 * 3 * 4')).toBe('<p>2 * 3 * 4</p>');
    expect(html('**sin cerrar')).toBe('<p>**sin cerrar</p>');
    expect(html('a ** b')).toBe('<p>a ** b</p>');
  });

  it('renders links with safe attributes', () => {
    const a = dom('Reserva [aquí](https://benova.example/citas?x=1&y=2).').querySelector('a')!;
    expect(a.textContent).toBe('aquí');
    expect(a.getAttribute('href')).toBe('https://benova.example/citas?x=1&y=2');
    expect(a.getAttribute('target')).toBe('_blank');
    expect(a.getAttribute('rel')).toBe('noopener noreferrer');
  });

  it('allows emphasis inside a link label and parentheses inside the URL', () => {
    const a = dom('[**Wiki**](https://es.wikipedia.org/wiki/Botox_(medicamento))').querySelector('a')!;
    expect(a.querySelector('strong')!.textContent).toBe('Wiki');
    expect(a.getAttribute('href')).toBe('https://es.wikipedia.org/wiki/Botox_(medicamento)');
  });

  it('autolinks bare http(s), mailto and tel URLs, trimming trailing punctuation', () => {
    const d = dom('Mira https://benova.example/precios. Escribe a mailto:hola@benova.example o llama tel:+34600111222, (ver https://x.example/a)');
    const links = Array.from(d.querySelectorAll('a')).map((a) => [a.textContent, a.getAttribute('href')]);
    expect(links).toEqual([
      ['https://benova.example/precios', 'https://benova.example/precios'],
      ['mailto:hola@benova.example', 'mailto:hola@benova.example'],
      ['tel:+34600111222', 'tel:+34600111222'],
      ['https://x.example/a', 'https://x.example/a'],
    ]);
    expect(d.textContent).toContain('precios. Escribe');
    expect(d.textContent!.endsWith('/a)')).toBe(true);
  });

  it('does not autolink inside words or a bare scheme', () => {
    expect(dom('Hoteltel:123 y xhttps://a.example').querySelector('a')).toBeNull();
    expect(dom('solo https:// nada').querySelector('a')).toBeNull();
  });

  it('renders bullet and numbered lists', () => {
    expect(html('Servicios:\n- Botox\n- **Láser**\n\n1. Primero\n2. Segundo')).toBe(
      '<p>Servicios:</p><ul><li>Botox</li><li><strong>Láser</strong></li></ul><ol><li>Primero</li><li>Segundo</li></ol>',
    );
    expect(html('3. tres\n4. cuatro')).toBe('<ol start="3"><li>tres</li><li>cuatro</li></ol>');
    expect(html('* uno\n* dos')).toBe('<ul><li>uno</li><li>dos</li></ul>');
  });

  it('splits paragraphs on blank lines and keeps single line breaks', () => {
    expect(html('Línea 1\nLínea 2\r\n\r\nOtro párrafo')).toBe('<p>Línea 1<br>Línea 2</p><p>Otro párrafo</p>');
    expect(html('')).toBe('');
  });

  it('leaves other markdown (headings, code, images) as literal text', () => {
    expect(html('# Título')).toBe('<p># Título</p>');
    expect(html('`code`')).toBe('<p>`code`</p>');
    expect(dom('![x](https://x.example/a.png)').querySelector('img')).toBeNull();
  });
});
