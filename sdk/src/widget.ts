import type { InternalEvent, MisyClient } from './client';
import { MAX_MESSAGE_LENGTH } from './client';
import type { WireHistory } from './api';
import { t, type StringKey } from './i18n';
import { renderMarkdown } from './markdown';
import type { QueueItem } from './queue';
import { CSS } from './styles';
import type { Booking, ChatMessage, MisyEvent } from './types';

const HOST_ID = 'misy-widget';
const SVG_NS = 'http://www.w3.org/2000/svg';
// The typing indicator hides itself if the "off" event never comes.
const TYPING_TIMEOUT_MS = 30_000;

/** Tiny element helper: attributes only (never innerHTML, never style=""), children as nodes. */
function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | boolean> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const k in attrs) {
    const v = attrs[k];
    if (v === false) continue;
    el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children) el.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
  return el;
}

function chatIcon(): SVGSVGElement {
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  const path = document.createElementNS(SVG_NS, 'path');
  path.setAttribute('d', 'M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H8l-4.5 3.6A.9.9 0 0 1 2 20.9V5a2 2 0 0 1 2-2zm3 6.5a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3zm5 0a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3zm5 0a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3z');
  svg.appendChild(path);
  return svg;
}

/** Only plain colour syntaxes reach the CSS variable. */
function safeColor(c: string): string | null {
  const v = (c || '').trim();
  return /^#(?:[0-9a-f]{3,4}|[0-9a-f]{6}|[0-9a-f]{8})$/i.test(v) || /^(?:rgb|hsl)a?\([\d\s.,%/]+\)$/i.test(v) ? v : null;
}

/** Black or white text, whichever reads better on a #hex background. */
function onColor(hex: string): string {
  const m = /^#([0-9a-f]{3}|[0-9a-f]{6})/i.exec(hex);
  if (!m) return '#fff';
  const s = m[1].length === 3 ? m[1].replace(/./g, '$&$&') : m[1];
  const [r, g, b] = [0, 2, 4].map((i) => {
    const c = parseInt(s.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
  });
  const lum = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  // Contrast against white vs. against black (WCAG relative luminance).
  return 1.05 / (lum + 0.05) >= (lum + 0.05) / 0.05 ? '#fff' : '#111';
}

function supportsAdoptedSheets(root: ShadowRoot): boolean {
  try {
    return 'adoptedStyleSheets' in root && typeof CSSStyleSheet === 'function' && 'replaceSync' in CSSStyleSheet.prototype;
  } catch {
    return false;
  }
}

let sharedSheet: CSSStyleSheet | null = null;

/**
 * The chat UI: a launcher button plus a dialog panel inside an open shadow root (or the panel alone,
 * always open, mounted inline in a target element). It renders what the client emits; the client
 * owns networking, de-duplication and the send queue.
 */
export class Widget {
  readonly host: HTMLElement;
  readonly root: ShadowRoot;
  private readonly inline: boolean;
  private open = false;
  private historyState: 'pending' | 'loading' | 'done' = 'pending';
  private buffer: InternalEvent[] = [];
  private userEls = new Map<string, HTMLElement>();
  private provisional = new Map<string, { el: HTMLElement; text: string }>();
  private typingTimer: ReturnType<typeof setTimeout> | undefined;
  private noticeTimer: ReturnType<typeof setTimeout> | undefined;
  private noticeCode: string | null = null;
  private off: () => void;

  private launcher: HTMLButtonElement | null = null;
  private panel!: HTMLElement;
  private avatar!: HTMLElement;
  private title!: HTMLElement;
  private statusEl!: HTMLElement;
  private closeBtn: HTMLButtonElement | null = null;
  private notice!: HTMLElement;
  private log!: HTMLElement;
  private typing!: HTMLElement;
  private typingText!: HTMLElement;
  private label!: HTMLLabelElement;
  private input!: HTMLTextAreaElement;
  private sendBtn!: HTMLButtonElement;

  constructor(private readonly client: MisyClient, container: HTMLElement | null) {
    this.inline = !!container;
    const existing = document.getElementById(HOST_ID);
    if (existing) existing.remove();
    this.host = h('div', { id: HOST_ID });
    if (this.inline) this.host.setAttribute('data-mode', 'inline');
    this.root = this.host.attachShadow({ mode: 'open' });
    this.adoptStyles();
    this.build();
    (container || document.body).appendChild(this.host);
    this.off = client.on((ev) => this.onEvent(ev));
    // Messages still waiting from an earlier page load (or typed before mounting).
    for (const item of client.queue ? client.queue.items : []) this.upsertUser(item);
    this.refresh();
    this.setOpen(this.inline);
  }

  destroy(): void {
    this.off();
    clearTimeout(this.typingTimer);
    clearTimeout(this.noticeTimer);
    this.host.remove();
  }

  // ---- construction -----------------------------------------------------------------------

  private adoptStyles(): void {
    if (supportsAdoptedSheets(this.root)) {
      if (!sharedSheet) {
        sharedSheet = new CSSStyleSheet();
        sharedSheet.replaceSync(CSS);
      }
      this.root.adoptedStyleSheets = [sharedSheet];
    } else {
      // Browsers without constructable stylesheets (Safari < 16.4): a <style> element is the only
      // option there. A strict style-src CSP blocks it, but nothing else would work on them anyway.
      this.root.appendChild(h('style', {}, CSS));
    }
  }

  private l(key: StringKey, vars?: Record<string, string | number | undefined>): string {
    return t(this.client.lang, key, vars);
  }

  private build(): void {
    const wrap = h('div', { class: 'wrap' });
    const panelId = 'misy-panel';
    const inputId = 'misy-input';

    this.avatar = h('div', { class: 'avatar', 'aria-hidden': 'true' });
    this.title = h('h2', { class: 'title', id: 'misy-title' });
    this.statusEl = h('div', { class: 'status', 'data-misy': 'status' });
    const header = h('div', { class: 'header' }, this.avatar, h('div', { class: 'who' }, this.title, this.statusEl));
    if (!this.inline) {
      this.closeBtn = h('button', { type: 'button', class: 'close', 'data-misy': 'close' }, '×');
      this.closeBtn.addEventListener('click', () => this.setOpen(false, true));
      header.appendChild(this.closeBtn);
    }

    this.notice = h('div', { class: 'notice', 'data-misy': 'notice', role: 'status', hidden: true });
    this.log = h('div', { class: 'log', 'data-misy': 'log', role: 'log', 'aria-live': 'polite', tabindex: '0' });
    this.typingText = h('span', { class: 'sr' });
    this.typing = h(
      'div',
      { class: 'typing', 'data-misy': 'typing', hidden: true },
      h('span', { class: 'dot', 'aria-hidden': 'true' }),
      h('span', { class: 'dot', 'aria-hidden': 'true' }),
      h('span', { class: 'dot', 'aria-hidden': 'true' }),
      this.typingText,
    );

    this.label = h('label', { class: 'sr', for: inputId });
    this.input = h('textarea', {
      id: inputId,
      class: 'input',
      'data-misy': 'input',
      rows: '1',
      maxlength: String(MAX_MESSAGE_LENGTH),
      autocomplete: 'off',
    });
    this.sendBtn = h('button', { type: 'submit', class: 'send', 'data-misy': 'send' });
    const form = h('form', { class: 'composer', novalidate: true }, this.label, this.input, this.sendBtn);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.submit();
    });
    this.input.addEventListener('keydown', (e) => {
      // Enter sends, Shift+Enter is a newline; never interrupt an IME composition.
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
        e.preventDefault();
        this.submit();
      }
    });
    this.input.addEventListener('input', () => this.autosize());

    this.panel = h(
      'section',
      { id: panelId, class: 'panel', 'data-misy': 'panel', role: 'dialog', 'aria-modal': 'false' },
      header,
      this.notice,
      this.log,
      this.typing,
      form,
    );
    // On the whole widget, so Escape also works while focus is on the launcher.
    wrap.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && !this.inline && this.open) {
        e.stopPropagation();
        this.setOpen(false, true);
      }
    });
    this.log.addEventListener('click', (e) => {
      const btn = (e.target as Element).closest && (e.target as Element).closest('[data-misy=retry]');
      const key = btn && btn.getAttribute('data-key');
      if (key) this.client.retry(key);
    });
    wrap.appendChild(this.panel);

    if (!this.inline) {
      this.launcher = h(
        'button',
        { type: 'button', class: 'launcher', 'data-misy': 'launcher', 'aria-expanded': 'false', 'aria-controls': panelId },
        chatIcon(),
      );
      this.launcher.addEventListener('click', () => this.setOpen(!this.open));
      wrap.appendChild(this.launcher);
    }
    this.root.appendChild(wrap);
  }

  // ---- state ------------------------------------------------------------------------------

  setOpen(open: boolean, focusLauncher = false): void {
    this.open = open || this.inline;
    this.panel.hidden = !this.open;
    if (this.launcher) this.launcher.setAttribute('aria-expanded', String(this.open));
    if (this.open) {
      if (!this.inline) this.input.focus();
      this.scrollToEnd();
    } else if (focusLauncher && this.launcher) {
      this.launcher.focus();
    }
  }

  /** Re-applies everything derived from client state (language, branding, status, phase). */
  private refresh(): void {
    const c = this.client;
    const cfg = c.config;
    const agent = (cfg && (cfg.agent_name || cfg.company_name)) || 'Chat';
    const company = (cfg && cfg.company_name) || agent;
    this.title.textContent = agent;
    this.avatar.textContent = agent.charAt(0).toUpperCase();
    this.panel.setAttribute('aria-label', company === agent ? this.l('dialogShort', { agent }) : this.l('dialog', { agent, company }));
    this.statusEl.textContent = this.l(c.status === 'human' ? 'humanStatus' : 'botStatus');
    this.statusEl.setAttribute('data-status', c.status);
    if (this.launcher) this.launcher.setAttribute('aria-label', this.l('open'));
    if (this.closeBtn) this.closeBtn.setAttribute('aria-label', this.l('close'));
    this.label.textContent = this.l('inputLabel');
    this.input.placeholder = this.l('placeholder');
    this.sendBtn.textContent = this.l('send');
    this.typingText.textContent = this.l('typing', { agent });
    const color = safeColor(c.primaryColor);
    if (color) {
      this.host.style.setProperty('--misy-primary', color);
      this.host.style.setProperty('--misy-on-primary', onColor(color));
    }
    // A refusal that happened before the widget was mounted still needs its banner.
    if (c.fatal && this.noticeCode !== c.fatal.code) this.showNotice(c.fatal.code, c.describe(c.fatal));
    const blocked = c.phase === 'blocked' || c.phase === 'failed' || c.phase === 'destroyed';
    this.input.disabled = blocked;
    this.sendBtn.disabled = blocked;
    if (c.phase === 'ready' && this.historyState === 'pending') void this.loadHistory();
  }

  private async loadHistory(): Promise<void> {
    this.historyState = 'loading';
    let history: WireHistory = { messages: [] };
    try {
      history = await this.client.loadHistory();
    } catch {
      /* show the greeting and carry on; live events still work */
    }
    if (!this.host.isConnected) return;
    // History is older than anything already on screen (the visitor's own pending messages), so it
    // goes on top.
    const ids = new Set<string>();
    const older = document.createDocumentFragment();
    for (const m of history.messages) {
      ids.add(m.id);
      if (this.userEls.has(m.id)) continue;
      older.appendChild(m.role === 'user' ? this.userEl({ key: m.id, text: m.text, state: 'sent' }) : this.replyEl({ id: m.id, role: m.role, text: m.text, at: m.at }));
    }
    if (!history.messages.length && this.client.greeting) {
      older.appendChild(this.replyEl({ id: 'greeting', role: 'bot', text: this.client.greeting }));
    }
    this.log.insertBefore(older, this.log.firstChild);
    this.historyState = 'done';
    const buffered = this.buffer;
    this.buffer = [];
    for (const ev of buffered) {
      // Live events that raced the history request may already be part of it.
      if (ev.type === 'message' && ids.has(ev.message.id)) continue;
      this.onEvent(ev);
    }
    this.refresh();
    this.scrollToEnd();
  }

  // ---- events -----------------------------------------------------------------------------

  private onEvent(ev: InternalEvent): void {
    if (ev.type === 'state') return this.refresh();
    if (ev.type === 'notice') return this.showNotice(ev.code, ev.text, ev.timeoutMs);
    if (ev.type === 'handoff') {
      this.refresh();
      if (this.historyState === 'done') this.addNote(this.l(ev.status === 'human' ? 'handoffHuman' : 'handoffBot'));
      return;
    }
    if (ev.type === 'typing') return this.setTyping(ev.on);
    if (ev.type === 'error') return;
    // Replies wait for the history so nothing shows twice; the visitor's own messages show at once.
    if (this.historyState !== 'done' && ev.type !== 'queue') {
      this.buffer.push(ev);
      return;
    }
    this.apply(ev);
  }

  private apply(ev: MisyEvent | { type: 'queue'; item: QueueItem }): void {
    switch (ev.type) {
      case 'queue':
        this.upsertUser(ev.item);
        break;
      case 'message':
        this.setTyping(false);
        this.addReply(ev.message);
        break;
      case 'delta':
        this.addDelta(ev.replyTo, ev.text);
        break;
      case 'booking':
        this.addBooking(ev.booking);
        break;
      default:
    }
  }

  // ---- rendering --------------------------------------------------------------------------

  private submit(): void {
    if (this.input.disabled) return;
    const text = this.input.value.trim();
    if (!text) return;
    this.input.value = '';
    this.autosize();
    void this.client.sendMessage(text).catch(() => {
      /* its state (failed / queued) is shown on the message itself */
    });
    this.input.focus();
  }

  private autosize(): void {
    this.input.style.height = 'auto';
    if (this.input.value) this.input.style.height = Math.min(this.input.scrollHeight + 2, 140) + 'px';
  }

  private speaker(role: string): HTMLElement {
    const cfg = this.client.config;
    const who = role === 'user' ? this.l('you') : (cfg && (role === 'bot' ? cfg.agent_name : cfg.company_name)) || 'Chat';
    return h('span', { class: 'sr' }, who + ': ');
  }

  private userEl(item: Pick<QueueItem, 'key' | 'text' | 'state'>): HTMLElement {
    const bubble = h('div', { class: 'bubble' }, this.speaker('user'), item.text);
    const el = h('div', { class: 'msg', 'data-misy': 'msg', 'data-role': 'user', 'data-key': item.key }, bubble);
    this.userEls.set(item.key, el);
    this.setUserState(el, item);
    return el;
  }

  private upsertUser(item: QueueItem): void {
    const el = this.userEls.get(item.key);
    if (!el) this.append(this.userEl(item));
    else this.setUserState(el, item);
  }

  private setUserState(el: HTMLElement, item: Pick<QueueItem, 'key' | 'state'>): void {
    el.setAttribute('data-state', item.state);
    const old = el.querySelector('.meta');
    if (old) old.remove();
    if (item.state === 'sent') return;
    const meta = h('div', { class: 'meta' }, h('span', {}, this.l(item.state as StringKey)));
    if (item.state === 'failed') {
      meta.appendChild(h('button', { type: 'button', class: 'retry', 'data-misy': 'retry', 'data-key': item.key }, this.l('retry')));
    }
    el.appendChild(meta);
  }

  private replyEl(m: ChatMessage): HTMLElement {
    const bubble = h('div', { class: 'bubble' }, this.speaker(m.role));
    bubble.appendChild(renderMarkdown(m.text));
    const el = h('div', { class: 'msg', 'data-misy': 'msg', 'data-role': m.role === 'human' ? 'human' : 'bot' }, bubble);
    if (m.id) el.setAttribute('data-id', m.id);
    if (m.replyTo) el.setAttribute('data-reply-to', m.replyTo);
    if (m.sources && m.sources.length) {
      const titles = m.sources.map((s) => s && s.title).filter(Boolean);
      if (titles.length) el.appendChild(h('div', { class: 'sources' }, this.l('sources') + ': ' + titles.join(', ')));
    }
    return el;
  }

  private addReply(m: ChatMessage): void {
    const el = this.replyEl(m);
    const prov = m.replyTo ? this.provisional.get(m.replyTo) : undefined;
    if (prov && m.replyTo) {
      // The final message replaces the bubble the deltas were building, in place.
      this.provisional.delete(m.replyTo);
      prov.el.replaceWith(el);
    } else {
      this.append(el);
    }
  }

  private addDelta(replyTo: string, text: string): void {
    let prov = this.provisional.get(replyTo);
    if (!prov) {
      const el = h('div', { class: 'msg', 'data-misy': 'msg', 'data-role': 'bot', 'data-provisional': 'true', 'data-reply-to': replyTo });
      prov = { el, text: '' };
      this.provisional.set(replyTo, prov);
      this.append(el);
    }
    prov.text += text;
    const bubble = h('div', { class: 'bubble' }, this.speaker('bot'));
    bubble.appendChild(renderMarkdown(prov.text));
    prov.el.replaceChildren(bubble);
    this.scrollToEnd();
  }

  private addBooking(b: Booking): void {
    const status = String(b.status || '').toLowerCase();
    const title = /cancel/.test(status) ? 'bookingCancelled' : /pending|tentative|request/.test(status) ? 'bookingPending' : 'bookingConfirmed';
    const card = h('div', { class: 'card', 'data-misy': 'booking', role: 'group' }, h('strong', {}, this.l(title)));
    if (b.service) card.appendChild(h('div', { 'data-field': 'service' }, String(b.service)));
    const when = formatWhen(b.start, this.client.lang);
    if (when) card.appendChild(h('div', { 'data-field': 'start' }, when));
    if (b.professional) card.appendChild(h('div', { 'data-field': 'professional' }, this.l('bookingWith', { professional: String(b.professional) })));
    if (b.id) card.setAttribute('data-id', String(b.id));
    this.append(card);
  }

  private addNote(text: string): void {
    this.append(h('div', { class: 'note', 'data-misy': 'system' }, text));
  }

  private setTyping(on: boolean): void {
    clearTimeout(this.typingTimer);
    this.typing.hidden = !on;
    if (on) {
      this.typingTimer = setTimeout(() => this.setTyping(false), TYPING_TIMEOUT_MS);
      this.scrollToEnd();
    }
  }

  private showNotice(code: string | null, text: string | null, timeoutMs?: number): void {
    // Clearing a specific code leaves other notices alone (e.g. "back online" must not hide a 429).
    if (!text) {
      if (code && this.noticeCode !== code) return;
      clearTimeout(this.noticeTimer);
      this.noticeCode = null;
      this.notice.hidden = true;
      this.notice.textContent = '';
      return;
    }
    clearTimeout(this.noticeTimer);
    this.noticeCode = code;
    this.notice.textContent = text;
    this.notice.setAttribute('data-code', code || '');
    this.notice.setAttribute('data-kind', code === 'network_error' || code === 'rate_limited' ? 'info' : 'error');
    this.notice.hidden = false;
    if (timeoutMs) this.noticeTimer = setTimeout(() => this.showNotice(code, null), timeoutMs);
  }

  private append(el: HTMLElement): void {
    this.log.appendChild(el);
    this.scrollToEnd();
  }

  private scrollToEnd(): void {
    this.log.scrollTop = this.log.scrollHeight;
  }
}

/** "martes, 14 de octubre de 2025, 10:30" in the visitor's own locale (and time zone). */
export function formatWhen(start: unknown, lang: string): string {
  if (start === undefined || start === null || start === '') return '';
  let d: Date;
  if (typeof start === 'number') d = new Date(start < 1e12 ? start * 1000 : start);
  else d = new Date(String(start));
  if (isNaN(d.getTime())) return String(start);
  const nav = typeof navigator !== 'undefined' ? navigator.language || '' : '';
  const locale = nav.toLowerCase().indexOf(lang) === 0 ? nav : lang;
  try {
    return new Intl.DateTimeFormat(locale, {
      weekday: 'long',
      day: 'numeric',
      month: 'long',
      year: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
    }).format(d);
  } catch {
    return d.toLocaleString();
  }
}
