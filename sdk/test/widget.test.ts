// @vitest-environment jsdom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import * as misy from '../src/index';
import { CONFIG, apiError, fakeApi, flush, json } from './helpers';

function sse(event: string, data: unknown) {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

let server: ReturnType<typeof fakeApi>;

async function mount(routes: Parameters<typeof fakeApi>[0] = {}, target?: string | HTMLElement, language?: 'es' | 'en') {
  server = fakeApi(routes);
  vi.stubGlobal('fetch', server.fetch);
  const ready = misy.init({ publicKey: 'pk_test', apiBase: 'https://api.example', language });
  misy.connectChat(target);
  await ready.catch(() => {});
  await flush(20);
  const host = document.getElementById('misy-widget')!;
  const root = host.shadowRoot!;
  const q = <T extends Element = HTMLElement>(name: string) => root.querySelector(`[data-misy=${name}]`) as unknown as T;
  return { host, root, q, all: (sel: string) => Array.from(root.querySelectorAll<HTMLElement>(sel)) };
}

function key(el: Element, k: string, extra: KeyboardEventInit = {}) {
  el.dispatchEvent(new KeyboardEvent('keydown', { key: k, bubbles: true, composed: true, cancelable: true, ...extra }));
}

beforeEach(() => {
  localStorage.clear();
  document.body.replaceChildren();
});
afterEach(() => {
  misy.destroy();
  vi.unstubAllGlobals();
});

describe('chat widget', () => {
  it('mounts a launcher and an accessible dialog in an open shadow root', async () => {
    const w = await mount();
    expect(w.host.id).toBe('misy-widget');
    const launcher = w.q<HTMLButtonElement>('launcher');
    const panel = w.q('panel');
    expect(launcher.getAttribute('aria-label')).toBe('Abrir chat');
    expect(launcher.getAttribute('aria-expanded')).toBe('false');
    expect(panel.hidden).toBe(true);
    expect(panel.getAttribute('role')).toBe('dialog');
    expect(panel.getAttribute('aria-label')).toBe('Chat con Sofía de Benova');
    expect(w.q('log').getAttribute('role')).toBe('log');
    expect(w.q('log').getAttribute('aria-live')).toBe('polite');
    expect(w.q('status').textContent).toBe('Asistente virtual');
    const input = w.q<HTMLTextAreaElement>('input');
    expect(w.root.querySelector(`label[for=${input.id}]`)!.textContent).toBe('Escribe tu mensaje');
    expect(w.host.style.getPropertyValue('--misy-primary')).toBe('#2E7D6B');
    // CSP: no inline style attributes or inline handlers in the markup.
    for (const el of w.all('*')) {
      expect(el.hasAttribute('style') && el !== input, el.tagName).toBe(false);
      expect(el.getAttributeNames().some((n) => n.startsWith('on'))).toBe(false);
    }
  });

  it('opens with focus on the input and closes on Escape, returning focus to the launcher', async () => {
    const w = await mount();
    const launcher = w.q<HTMLButtonElement>('launcher');
    launcher.click();
    expect(launcher.getAttribute('aria-expanded')).toBe('true');
    expect(w.q('panel').hidden).toBe(false);
    expect(w.root.activeElement).toBe(w.q('input'));
    key(w.q('input'), 'Escape');
    expect(w.q('panel').hidden).toBe(true);
    expect(launcher.getAttribute('aria-expanded')).toBe('false');
    expect(w.root.activeElement).toBe(launcher);
  });

  it('shows the greeting when the history is empty', async () => {
    const w = await mount();
    const msgs = w.all('[data-misy=msg]');
    expect(msgs).toHaveLength(1);
    expect(msgs[0].dataset.role).toBe('bot');
    expect(msgs[0].textContent).toContain('¡Hola! ¿En qué te puedo ayudar?');
  });

  it('renders the history (and no greeting) on mount', async () => {
    const w = await mount({
      history: () =>
        json({
          status: 'human',
          messages: [
            { id: 'u1', role: 'user', text: 'Hola', at: 1 },
            { id: 'b1', role: 'bot', text: '**Bienvenida**', at: 2 },
            { id: 'h1', role: 'human', text: 'Soy Laura', at: 3 },
          ],
        }),
    });
    const msgs = w.all('[data-misy=msg]');
    expect(msgs.map((m) => m.dataset.role)).toEqual(['user', 'bot', 'human']);
    expect(msgs[0].dataset.state).toBe('sent');
    expect(msgs[1].querySelector('strong')!.textContent).toBe('Bienvenida');
    expect(w.q('status').textContent).toBe('Te atiende una persona');
  });

  it('sends on Enter (not Shift+Enter), shows the state, and renders the reply once', async () => {
    const w = await mount({
      messages: (c) => {
        const k = c.headers['idempotency-key'];
        server.streams[0].push(sse('message', { id: 'r1', role: 'bot', text: 'Hola <img src=x onerror=alert(1)>', reply_to: k }));
        return json({ id: 'r1', reply_to: k, bot_response: 'Hola <img src=x onerror=alert(1)>', status: 'bot', sources: [{ document_id: 'd', title: 'Precios' }] });
      },
    });
    const input = w.q<HTMLTextAreaElement>('input');
    input.value = 'línea 1';
    key(input, 'Enter', { shiftKey: true });
    expect(server.of('messages')).toHaveLength(0);
    input.value = '  ¿Precio del botox?  ';
    key(input, 'Enter');
    expect(input.value).toBe('');
    const user = w.all('[data-misy=msg][data-role=user]');
    expect(user).toHaveLength(1);
    expect(user[0].textContent).toContain('¿Precio del botox?');
    expect(['queued', 'sending']).toContain(user[0].dataset.state);
    await flush(20);
    expect(user[0].dataset.state).toBe('sent');
    expect(server.of('messages')[0].body).toEqual({ message: '¿Precio del botox?' });
    const bots = w.all('[data-misy=msg][data-role=bot]');
    expect(bots).toHaveLength(2); // greeting + reply, reply only once
    expect(bots[1].querySelector('img')).toBeNull();
    expect(bots[1].textContent).toContain('<img src=x onerror=alert(1)>');
  });

  it('shows a failed message with a retry button that resends with the same key', async () => {
    let fail = true;
    const w = await mount({
      messages: (c) => (fail ? apiError(400, 'invalid_message') : json({ id: 'r2', reply_to: c.headers['idempotency-key'], bot_response: 'ok', status: 'bot' })),
    });
    const input = w.q<HTMLTextAreaElement>('input');
    input.value = 'hola';
    key(input, 'Enter');
    await flush(20);
    const msg = w.root.querySelector<HTMLElement>('[data-misy=msg][data-role=user]')!;
    expect(msg.dataset.state).toBe('failed');
    expect(w.q('notice').hidden).toBe(false);
    expect(w.q('notice').textContent).toBe('El mensaje no es válido (máximo 4000 caracteres).');
    fail = false;
    msg.querySelector<HTMLButtonElement>('[data-misy=retry]')!.click();
    await flush(20);
    expect(msg.dataset.state).toBe('sent');
    expect(msg.querySelector('[data-misy=retry]')).toBeNull();
    const keys = server.of('messages').map((c) => c.headers['idempotency-key']);
    expect(keys).toHaveLength(2);
    expect(keys[0]).toBe(keys[1]);
  });

  it('queues messages typed offline (persisted) and sends them in order once back online', async () => {
    let online = false;
    const spy = vi.spyOn(navigator, 'onLine', 'get').mockImplementation(() => online);
    const w = await mount({
      messages: (c) => json({ id: 'r_' + c.body.message, reply_to: c.headers['idempotency-key'], bot_response: 'ok ' + c.body.message, status: 'bot' }),
    });
    const input = w.q<HTMLTextAreaElement>('input');
    for (const text of ['uno', 'dos']) {
      input.value = text;
      key(input, 'Enter');
    }
    await flush();
    const users = () => w.all('[data-misy=msg][data-role=user]');
    expect(users().map((m) => m.dataset.state)).toEqual(['queued', 'queued']);
    expect(users()[0].textContent).toContain('En cola');
    expect(w.q('notice').textContent).toBe('Sin conexión. Tus mensajes se enviarán cuando vuelva la conexión.');
    expect(JSON.parse(localStorage.getItem('misy:pk_test:queue')!).map((i: any) => i.text)).toEqual(['uno', 'dos']);
    expect(server.of('messages')).toHaveLength(0);

    online = true;
    window.dispatchEvent(new Event('online'));
    await flush(20);
    expect(users().map((m) => m.dataset.state)).toEqual(['sent', 'sent']);
    expect(server.of('messages').map((c) => c.body.message)).toEqual(['uno', 'dos']);
    expect(localStorage.getItem('misy:pk_test:queue')).toBeNull();
    expect(w.q('notice').hidden).toBe(true);
    spy.mockRestore();
  });

  it('shows messages typed before the chat connects at once, with the history above them', async () => {
    let n = 0;
    server = fakeApi({
      config: () => {
        if (++n === 1) throw new TypeError('Failed to fetch');
        return json(CONFIG);
      },
      history: () => json({ status: 'bot', messages: [{ id: 'b0', role: 'bot', text: 'Mensaje de ayer', at: 1 }] }),
      messages: (c) => json({ id: 'r1', reply_to: c.headers['idempotency-key'], bot_response: 'hola de nuevo', status: 'bot' }),
    });
    vi.stubGlobal('fetch', server.fetch);
    void misy.init({ publicKey: 'pk_test', apiBase: 'https://api.example' });
    misy.connectChat();
    await flush();
    const root = document.getElementById('misy-widget')!.shadowRoot!;
    const w = { q: (n: string) => root.querySelector(`[data-misy=${n}]`) as any, all: (sel: string) => Array.from(root.querySelectorAll<HTMLElement>(sel)) };
    const input = w.q<HTMLTextAreaElement>('input');
    input.value = 'sigo aquí';
    key(input, 'Enter');
    await flush();
    expect(w.all('[data-misy=msg]').map((m) => m.dataset.role + ':' + (m.dataset.state || ''))).toEqual(['user:queued']);
    await new Promise((r) => setTimeout(r, 1100));
    await flush(20);
    const msgs = w.all('[data-misy=msg]');
    expect(msgs.map((m) => m.dataset.role + ':' + (m.dataset.state || ''))).toEqual(['bot:', 'user:sent', 'bot:']);
    expect(msgs[0].textContent).toContain('Mensaje de ayer');
    expect(msgs[2].textContent).toContain('hola de nuevo');
  });

  it('restores unsent messages after a reload and sends them', async () => {
    localStorage.setItem('misy:pk_test:queue', JSON.stringify([{ key: 'k-old', text: 'de antes', state: 'sending', createdAt: 1 }]));
    const w = await mount({
      messages: (c) => json({ id: 'r1', reply_to: c.headers['idempotency-key'], bot_response: 'recibido', status: 'bot' }),
    });
    const user = w.root.querySelector<HTMLElement>('[data-misy=msg][data-role=user]')!;
    expect(user.textContent).toContain('de antes');
    expect(user.dataset.state).toBe('sent');
    expect(server.of('messages').map((c) => c.headers['idempotency-key'])).toEqual(['k-old']);
  });

  it('shows a notice while retrying a 503 and clears it once the message goes through', async () => {
    const w = await mount({
      messages: (c, n) => (n === 1 ? apiError(503, 'overloaded') : json({ id: 'r1', reply_to: c.headers['idempotency-key'], bot_response: 'ya', status: 'bot' })),
    });
    const input = w.q<HTMLTextAreaElement>('input');
    input.value = 'hola';
    key(input, 'Enter');
    await flush();
    expect(w.q('notice').textContent).toBe('El servicio no está disponible en este momento. Lo seguimos intentando…');
    expect(w.root.querySelector<HTMLElement>('[data-misy=msg][data-role=user]')!.dataset.state).toBe('sending');
    await new Promise((r) => setTimeout(r, 1100));
    await flush();
    expect(w.root.querySelector<HTMLElement>('[data-misy=msg][data-role=user]')!.dataset.state).toBe('sent');
    expect(w.q('notice').hidden).toBe(true);
  });

  it('shows the localized rate-limit notice with the Retry-After seconds', async () => {
    const w = await mount({ messages: () => apiError(429, 'rate_limited', { 'Retry-After': '12' }) });
    const input = w.q<HTMLTextAreaElement>('input');
    input.value = 'hola';
    key(input, 'Enter');
    await flush(20);
    expect(w.q('notice').textContent).toBe('Has enviado muchos mensajes; intenta de nuevo en 12 s.');
  });

  it('toggles the typing indicator, switches status on handoff, and builds a streamed bubble', async () => {
    const w = await mount();
    const s = server.streams[0];
    expect(w.q('typing').hidden).toBe(true);
    s.push(sse('typing', { on: true }));
    await flush();
    expect(w.q('typing').hidden).toBe(false);
    s.push(sse('typing', { on: false }));
    await flush();
    expect(w.q('typing').hidden).toBe(true);

    s.push(sse('delta', { reply_to: 'k9', text: 'Un ' }));
    s.push(sse('delta', { reply_to: 'k9', text: 'momento' }));
    await flush();
    const prov = w.root.querySelector<HTMLElement>('[data-provisional]')!;
    expect(prov.textContent).toContain('Un momento');
    s.push(sse('message', { id: 'm9', role: 'bot', text: 'Un momento, por favor.', reply_to: 'k9' }));
    await flush();
    expect(w.root.querySelector('[data-provisional]')).toBeNull();
    const bots = w.all('[data-misy=msg][data-role=bot]');
    expect(bots).toHaveLength(2);
    expect(bots[1].textContent).toContain('Un momento, por favor.');

    s.push(sse('handoff', { status: 'human' }));
    await flush();
    expect(w.q('status').textContent).toBe('Te atiende una persona');
    s.push(sse('message', { id: 'h1', role: 'human', text: 'Hola, soy Laura' }));
    await flush();
    expect(w.all('[data-misy=msg][data-role=human]')).toHaveLength(1);
  });

  it('shows a booking confirmation card', async () => {
    const w = await mount();
    server.streams[0].push(sse('booking', { booking: { id: 'b1', service: 'Limpieza facial', start: '2030-03-05T15:30:00Z', professional: 'Dra. Ruiz', status: 'confirmed' } }));
    await flush();
    const card = w.q('booking');
    expect(card.textContent).toContain('Cita confirmada');
    expect(card.textContent).toContain('Limpieza facial');
    expect(card.textContent).toContain('Con Dra. Ruiz');
    expect(card.querySelector('[data-field=start]')!.textContent).toMatch(/2030/);
  });

  it('shows the server\'s booking records, and no card while the bot is still collecting details', async () => {
    const w = await mount({
      messages: (c) =>
        json({
          id: 'r9',
          reply_to: c.headers['idempotency-key'],
          bot_response: '¿Qué servicio te gustaría agendar?',
          status: 'bot',
          booking: { service: null, when: null, name: null, status: 'collecting' },
        }),
    });
    const input = w.q<HTMLTextAreaElement>('input');
    input.value = 'quiero una cita';
    key(input, 'Enter');
    await flush(20);
    expect(w.all('[data-misy=msg][data-role=bot]')).toHaveLength(2);
    expect(w.all('[data-misy=booking]')).toHaveLength(0);
    // The booking events the server publishes name their fields booking_id / service_name / professional_name.
    server.streams[0].push(sse('booking', { event: 'booking.created', booking: { booking_id: 'bk_1', status: 'confirmed', service_name: 'Limpieza facial', professional_name: 'Dra. Ruiz', start: '2030-03-05T15:30:00Z' } }));
    await flush();
    const cards = w.all('[data-misy=booking]');
    expect(cards).toHaveLength(1);
    expect(cards[0].dataset.id).toBe('bk_1');
    expect(cards[0].textContent).toContain('Limpieza facial');
    expect(cards[0].textContent).toContain('Con Dra. Ruiz');
  });

  it('shows a clear localized message when the origin is not allowed', async () => {
    const w = await mount({ config: () => json({ ...CONFIG, origin_allowed: false }) });
    expect(w.q('notice').hidden).toBe(false);
    expect(w.q('notice').textContent).toBe('Este sitio no está autorizado para usar el chat de Benova.');
    expect(w.q<HTMLTextAreaElement>('input').disabled).toBe(true);
    expect(server.of('session')).toHaveLength(0);
  });

  it('speaks English when asked', async () => {
    const w = await mount({ config: () => json({ ...CONFIG, origin_allowed: false }) }, undefined, 'en');
    expect(w.q('launcher').getAttribute('aria-label')).toBe('Open chat');
    expect(w.q('panel').getAttribute('aria-label')).toBe('Chat with Sofía from Benova');
    expect(w.q('status').textContent).toBe('Virtual assistant');
    expect(w.q('send').textContent).toBe('Send');
    expect(w.q('notice').textContent).toBe("This site is not allowed to use Benova's chat.");
  });

  it('mounts inline in a target: always open, no launcher', async () => {
    const box = document.createElement('div');
    box.id = 'chat';
    document.body.appendChild(box);
    const w = await mount({}, '#chat');
    expect(w.host.parentElement).toBe(box);
    expect(w.q('launcher')).toBeNull();
    expect(w.q('panel').hidden).toBe(false);
    key(w.q('input'), 'Escape');
    expect(w.q('panel').hidden).toBe(false);
  });

  it('destroy() unmounts the widget', async () => {
    await mount();
    misy.destroy();
    expect(document.getElementById('misy-widget')).toBeNull();
    expect(misy.getSession()).toBeNull();
  });
});
