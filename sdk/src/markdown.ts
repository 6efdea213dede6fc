/**
 * A deliberately tiny Markdown subset rendered with DOM APIs only.
 *
 * Safety comes from construction, not sanitising: server text only ever reaches the page through
 * `createTextNode`, and the only elements created are p, br, strong, em, ul, ol, li and a (whose
 * href must parse as http(s)/mailto/tel). So `<script>`, `<img onerror>` or `javascript:` links can
 * only ever show up as literal text.
 *
 * Supported: **bold**, *italic*, [text](url), bare URLs, "- item"/"* item" and "1. item" lists,
 * blank-line paragraphs and single line breaks.
 */

const SAFE_PROTOCOLS = ['http:', 'https:', 'mailto:', 'tel:'];
// Anchored on the raw text (before URL parsing) so tricks like "java\tscript:" never qualify.
const SAFE_PREFIX = /^(?:https?:\/\/|mailto:|tel:)/i;
const BARE_URL = /(?:https?:\/\/|mailto:|tel:)[^\s<>"'`]+/iy;
const BULLET = /^\s{0,3}[-*•]\s+(.*)$/;
const ORDERED = /^\s{0,3}(\d{1,9})[.)]\s+(.*)$/;
// Recursion guard for nested emphasis; deeper markup just stays literal.
const MAX_DEPTH = 4;

/** The normalised href when `raw` is an allowed link target, else null. */
export function safeHref(raw: string): string | null {
  const url = raw.trim();
  if (!SAFE_PREFIX.test(url) || /[\u0000-\u001f\u007f\s]/.test(url)) return null;
  try {
    const parsed = new URL(url);
    return SAFE_PROTOCOLS.indexOf(parsed.protocol) >= 0 ? parsed.href : null;
  } catch {
    return null;
  }
}

/** Renders `text` as a DocumentFragment of safe nodes. */
export function renderMarkdown(text: string, doc: Document = document): DocumentFragment {
  const frag = doc.createDocumentFragment();
  const lines = String(text == null ? '' : text).replace(/\r\n?/g, '\n').split('\n');
  let para: string[] = [];
  let list: HTMLOListElement | HTMLUListElement | null = null;
  let listKind = '';

  const flushPara = () => {
    if (!para.length) return;
    const p = doc.createElement('p');
    para.forEach((line, i) => {
      if (i) p.appendChild(doc.createElement('br'));
      p.appendChild(renderInline(line, doc));
    });
    frag.appendChild(p);
    para = [];
  };
  const closeList = () => {
    list = null;
    listKind = '';
  };

  for (const line of lines) {
    const bullet = BULLET.exec(line);
    const ordered = bullet ? null : ORDERED.exec(line);
    if (bullet || ordered) {
      flushPara();
      const kind = bullet ? 'ul' : 'ol';
      if (!list || listKind !== kind) {
        list = doc.createElement(kind as 'ul');
        listKind = kind;
        // Keep the author's numbering when a list does not start at 1.
        if (ordered && ordered[1] !== '1') list.setAttribute('start', String(parseInt(ordered[1], 10)));
        frag.appendChild(list);
      }
      const li = doc.createElement('li');
      li.appendChild(renderInline(bullet ? bullet[1] : (ordered as RegExpExecArray)[2], doc));
      list.appendChild(li);
    } else if (!line.trim()) {
      flushPara();
      closeList();
    } else {
      closeList();
      para.push(line);
    }
  }
  flushPara();
  return frag;
}

/** Inline markup of one line: emphasis, links and bare URLs; everything else is text. */
export function renderInline(src: string, doc: Document = document, depth = 0, links = true): DocumentFragment {
  const out = doc.createDocumentFragment();
  let buf = '';
  const flush = () => {
    if (buf) out.appendChild(doc.createTextNode(buf));
    buf = '';
  };
  let i = 0;
  while (i < src.length) {
    const ch = src[i];
    if (depth < MAX_DEPTH && ch === '*') {
      const strong = src.startsWith('**', i);
      const mark = strong ? '**' : '*';
      const close = findClosing(src, i + mark.length, mark);
      if (close > 0) {
        flush();
        const el = doc.createElement(strong ? 'strong' : 'em');
        el.appendChild(renderInline(src.slice(i + mark.length, close), doc, depth + 1, links));
        out.appendChild(el);
        i = close + mark.length;
        continue;
      }
      // An unmatched "**" is literal as a pair, so "**a*" does not turn into "*" + italic.
      buf += mark;
      i += mark.length;
      continue;
    }
    if (links && ch === '[') {
      const link = parseLink(src, i);
      if (link) {
        flush();
        const href = safeHref(link.url);
        if (href) {
          const a = anchor(doc, href);
          // Labels may carry emphasis but no nested links.
          a.appendChild(renderInline(link.label, doc, depth + 1, false));
          out.appendChild(a);
        } else {
          out.appendChild(doc.createTextNode(src.slice(i, link.end)));
        }
        i = link.end;
        continue;
      }
    }
    if (links && (ch === 'h' || ch === 'H' || ch === 'm' || ch === 'M' || ch === 't' || ch === 'T') && !/\w/.test(src[i - 1] || '')) {
      BARE_URL.lastIndex = i;
      const m = BARE_URL.exec(src);
      if (m) {
        const url = trimUrl(m[0]);
        // Require something after the scheme: a lone "https://" or "tel:" stays text.
        const href = url.length > (SAFE_PREFIX.exec(url) || [''])[0].length ? safeHref(url) : null;
        if (href) {
          flush();
          const a = anchor(doc, href);
          a.textContent = url;
          out.appendChild(a);
          i += url.length;
          continue;
        }
      }
    }
    buf += ch;
    i++;
  }
  flush();
  return out;
}

function anchor(doc: Document, href: string): HTMLAnchorElement {
  const a = doc.createElement('a');
  a.href = href;
  a.target = '_blank';
  a.rel = 'noopener noreferrer';
  return a;
}

/** Index of the closing emphasis mark, or -1. Content must be non-empty and not padded by spaces. */
function findClosing(src: string, from: number, mark: string): number {
  if (from >= src.length || /\s/.test(src[from])) return -1;
  let j = from;
  while ((j = src.indexOf(mark, j)) >= 0) {
    // For a single "*", skip over "**" pairs (they belong to nested bold).
    if (mark === '*' && src[j + 1] === '*') {
      const inner = findClosing(src, j + 2, '**');
      if (inner < 0) return -1;
      j = inner + 2;
      continue;
    }
    if (j > from && !/\s/.test(src[j - 1])) return j;
    j += mark.length;
  }
  return -1;
}

/** `[label](url)` starting at `i`; url may hold one level of balanced parentheses. */
function parseLink(src: string, i: number): { label: string; url: string; end: number } | null {
  const close = src.indexOf('](', i + 1);
  if (close < 0) return null;
  const label = src.slice(i + 1, close);
  if (!label || label.indexOf('[') >= 0 || label.indexOf(']') >= 0) return null;
  let depth = 0;
  for (let j = close + 2; j < src.length; j++) {
    const c = src[j];
    if (c === '(') depth++;
    else if (c === ')') {
      if (depth === 0) {
        const url = src.slice(close + 2, j);
        return url.trim() ? { label, url, end: j + 1 } : null;
      }
      depth--;
    } else if (c === ' ' && depth === 0 && src[j - 1] !== '(') {
      // Titles ([t](url "title")) are not supported: treat the whole thing as text.
      return null;
    }
  }
  return null;
}

/** Drops sentence punctuation glued to a bare URL, and a ")" that closes text rather than the URL. */
function trimUrl(url: string): string {
  let end = url.length;
  for (;;) {
    const c = url[end - 1];
    if (/[.,;:!?*]/.test(c)) end--;
    else if (c === ')') {
      const s = url.slice(0, end);
      const opens = s.split('(').length - 1;
      const closes = s.split(')').length - 1;
      if (closes > opens) end--;
      else break;
    } else break;
  }
  return url.slice(0, end);
}
