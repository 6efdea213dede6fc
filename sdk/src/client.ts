import { Api, type WireConfig, type WireHistory, type WireReply } from './api';
import { ReplyLedger } from './dedupe';
import { MisyError, backoffMs, isNetworkError } from './errors';
import { errorText, hasErrorText, pickLanguage } from './i18n';
import { SendQueue, type QueueItem } from './queue';
import { defaultStorage, queueKey, type KV } from './storage';
import { EventStream } from './stream';
import type { SSEEvent } from './sse';
import type {
  Booking,
  ChatMessage,
  ConversationStatus,
  InitOptions,
  Language,
  MisyEvent,
  Reply,
  SessionInfo,
} from './types';

export type Phase = 'idle' | 'connecting' | 'ready' | 'blocked' | 'failed' | 'destroyed';

/** Events the widget listens to besides the public ones. */
export type InternalEvent =
  | MisyEvent
  | { type: 'queue'; item: QueueItem }
  | { type: 'state' }
  /** text null clears the banner. */
  | { type: 'notice'; code: string | null; text: string | null; timeoutMs?: number };

export interface ClientDeps {
  fetch?: typeof fetch;
  storage?: KV;
  /** Used when init() gets no apiBase (the IIFE passes the origin of its <script src>). */
  defaultApiBase?: string;
}

export const MAX_MESSAGE_LENGTH = 4000;

// Banners that a successful send makes obsolete.
const TRANSIENT_NOTICES = ['network_error', 'service_unavailable', 'conversation_busy', 'session_failed'];

const PUBLIC_TYPES = ['message', 'delta', 'typing', 'handoff', 'booking', 'error'];

/** The SDK core: config → session → events stream → send queue. No DOM (the widget is separate). */
export class MisyClient {
  phase: Phase = 'idle';
  lang: Language;
  config: WireConfig | null = null;
  greeting = '';
  primaryColor = '';
  /** The error that stopped init (origin_not_allowed, invalid key…). */
  fatal: MisyError | null = null;
  /** apiBase when init() gets none (the script-tag build sets the origin of its <script src>). */
  defaultApiBase: string;

  api: Api | null = null;
  queue: SendQueue<Reply> | null = null;
  private stream: EventStream | null = null;
  private ledger = new ReplyLedger();
  private bookings = new Set<string>();
  private typingOn = false;
  private publicListeners = new Set<(ev: MisyEvent) => void>();
  private internalListeners = new Set<(ev: InternalEvent) => void>();
  private initPromise: Promise<SessionInfo> | null = null;
  private publicKey = '';
  private generation = 0;
  private wake: (() => void) | null = null;
  private readonly onOnline = () => {
    if (this.wake) this.wake();
    this.stream?.reconnectNow();
  };

  constructor(private readonly deps: ClientDeps = {}) {
    this.defaultApiBase = deps.defaultApiBase || '';
    this.lang = pickLanguage(undefined, undefined, typeof navigator !== 'undefined' ? navigator.language : '');
  }

  // ---- public API -------------------------------------------------------------------------

  init(opts: InitOptions): Promise<SessionInfo> {
    if (!opts || typeof opts.publicKey !== 'string' || !opts.publicKey.trim()) {
      return Promise.reject(new MisyError('invalid_options', 'init() needs a publicKey'));
    }
    const pk = opts.publicKey.trim();
    if (this.initPromise && pk === this.publicKey && this.phase !== 'destroyed') return this.initPromise;
    if (this.phase !== 'idle') this.teardown();

    const gen = ++this.generation;
    this.publicKey = pk;
    this.phase = 'connecting';
    this.fatal = null;
    this.ledger = new ReplyLedger();
    this.bookings = new Set();
    this.lang = pickLanguage(opts.language, undefined, typeof navigator !== 'undefined' ? navigator.language : '');
    const storage = this.deps.storage || defaultStorage();
    const base = opts.apiBase || this.defaultApiBase || (typeof location !== 'undefined' ? location.origin : '');
    const fetchFn = this.deps.fetch || ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init));
    const api = (this.api = new Api(base, pk, storage, fetchFn, opts.user));
    api.onSession = () => this.emitInternal({ type: 'state' });

    this.queue = new SendQueue<Reply>({
      post: (text, key) => api.postMessage(text, key).then(toReply),
      storage,
      storageKey: queueKey(pk),
      isOnline: () => typeof navigator === 'undefined' || navigator.onLine !== false,
      canSend: () => this.phase === 'ready',
      onChange: (item) => {
        // Progress means the transient trouble is over; definitive errors stay until replaced.
        if (item.state === 'sending') this.clearNotice('network_error');
        if (item.state === 'sent') TRANSIENT_NOTICES.forEach((c) => this.clearNotice(c));
        this.emitInternal({ type: 'queue', item });
      },
      onDelivered: (item, reply) => this.deliver(item.key, reply),
      onNotice: (code, err) => this.notice(code, err),
    });
    this.queue.restore();

    this.stream = new EventStream(api, {
      onEvent: (ev) => this.onStreamEvent(ev),
      onFatal: (err) => this.notice(err.code, err),
    });
    if (typeof window !== 'undefined') window.addEventListener('online', this.onOnline);
    this.emitInternal({ type: 'state' });

    this.initPromise = this.connect(gen, opts);
    // Auto-init ignores the promise; a rejection is reported through events and the widget.
    this.initPromise.catch(() => {});
    return this.initPromise;
  }

  sendMessage(text: string): Promise<Reply> {
    const msg = String(text == null ? '' : text).trim();
    if (!this.queue || this.phase === 'destroyed') {
      return Promise.reject(new MisyError('not_initialized', 'call misy.init() first'));
    }
    if (this.fatal) return Promise.reject(this.fatal);
    if (!msg || msg.length > MAX_MESSAGE_LENGTH) {
      return Promise.reject(new MisyError('invalid_message', errorText(this.lang, 'invalid_message'), 400));
    }
    return this.queue.enqueue(msg).done;
  }

  /** Retries a failed message (same Idempotency-Key). */
  retry(key: string): void {
    this.queue?.retry(key);
  }

  getSession(): SessionInfo | null {
    return this.phase === 'ready' && this.api ? this.api.session() : null;
  }

  get status(): ConversationStatus {
    return this.api ? this.api.status : 'bot';
  }

  subscribeEvents(cb: (ev: MisyEvent) => void): () => void {
    if (typeof cb !== 'function') throw new TypeError('subscribeEvents needs a function');
    this.publicListeners.add(cb);
    return () => void this.publicListeners.delete(cb);
  }

  /** Internal subscription used by the widget (gets queue/state/notice events too). */
  on(cb: (ev: InternalEvent) => void): () => void {
    this.internalListeners.add(cb);
    return () => void this.internalListeners.delete(cb);
  }

  /** The conversation so far; every id is marked as shown so the stream cannot repeat it. */
  async loadHistory(): Promise<WireHistory> {
    if (!this.api) throw new MisyError('not_initialized', 'call misy.init() first');
    const h = await this.api.history();
    const messages = Array.isArray(h.messages) ? h.messages : [];
    for (const m of messages) this.ledger.remember({ id: m.id });
    if (h.status) this.setStatus(h.status);
    return { status: h.status, messages };
  }

  /** Stops the stream, timers and listeners (subscribers stay for a later init()). */
  destroy(): void {
    this.teardown();
    this.phase = 'destroyed';
    this.initPromise = null;
    this.publicKey = '';
    this.emitInternal({ type: 'state' });
  }

  // ---- internals --------------------------------------------------------------------------

  private teardown(): void {
    this.generation++;
    this.stream?.stop();
    this.queue?.dispose();
    this.api?.close();
    if (this.wake) this.wake();
    if (typeof window !== 'undefined') window.removeEventListener('online', this.onOnline);
    this.stream = null;
    this.queue = null;
  }

  /**
   * config → session. Network errors, 5xx and 429 are retried (backoff, Retry-After, or at once when
   * the browser comes back online); a definite refusal (origin, key) rejects.
   */
  private async connect(gen: number, opts: InitOptions): Promise<SessionInfo> {
    const api = this.api as Api;
    let failures = 0;
    for (;;) {
      try {
        const config = await api.getConfig();
        if (gen !== this.generation) throw new MisyError('destroyed', 'destroyed');
        this.config = config;
        this.lang = pickLanguage(opts.language, config.language, typeof navigator !== 'undefined' ? navigator.language : '');
        this.greeting = config.greeting || '';
        this.primaryColor = config.primary_color || '';
        if (config.company_id) api.companyId = config.company_id;
        if (config.origin_allowed === false) {
          throw new MisyError('origin_not_allowed', 'this page origin is not allowed for this company', 403);
        }
        const info = await api.startSession();
        if (gen !== this.generation) throw new MisyError('destroyed', 'destroyed');
        this.phase = 'ready';
        this.clearNotice();
        this.emitInternal({ type: 'state' });
        this.stream?.start();
        this.queue?.kick();
        return info;
      } catch (err) {
        if (gen !== this.generation) throw err instanceof MisyError ? err : new MisyError('destroyed', 'destroyed');
        const e = err instanceof MisyError ? err : new MisyError('network_error', String(err));
        const transient = isNetworkError(e) || e.status >= 500 || (e.status === 429 && e.code === 'rate_limited');
        if (!transient) {
          this.fatal = e;
          this.phase = e.code === 'origin_not_allowed' ? 'blocked' : 'failed';
          this.notice(e.code, e);
          this.emitInternal({ type: 'state' });
          throw e;
        }
        if (failures === 0) this.notice(isNetworkError(e) ? 'network_error' : 'session_failed', e);
        await this.sleep(e.retryAfterMs !== undefined ? e.retryAfterMs : backoffMs(failures++));
        if (gen !== this.generation) throw new MisyError('destroyed', 'destroyed');
      }
    }
  }

  /** Sleeps, waking early on 'online' or destroy(). */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }

  private deliver(key: string, reply: Reply): void {
    if (reply.status !== this.status) this.setStatus(reply.status, reply.handoff ? 'handoff' : undefined);
    // With a person in charge bot_response is "": their answer comes later through the stream.
    if (reply.text) {
      this.showMessage({
        id: reply.id,
        role: 'bot',
        text: reply.text,
        agent: reply.agent,
        replyTo: key,
        sources: reply.sources,
      });
    }
    if (reply.booking) this.showBooking(reply.booking);
  }

  private showMessage(m: ChatMessage): void {
    if (!this.ledger.accept(m)) return;
    // An answer ends "is typing…" even if the server's typing-off event is lost.
    if (this.typingOn && m.role !== 'user') this.setTyping(false);
    this.emit({ type: 'message', message: m });
  }

  private showBooking(raw: unknown): void {
    const b = toBooking(raw);
    if (!b) return; // the scheduling agent is still collecting details or offering slots: no booking yet
    const key = b.id + '|' + (b.status || '');
    if (this.bookings.has(key)) return;
    this.bookings.add(key);
    this.emit({ type: 'booking', booking: b });
  }

  private setTyping(on: boolean): void {
    this.typingOn = on;
    this.emit({ type: 'typing', on });
  }

  private setStatus(status: ConversationStatus, reason?: string): void {
    if (status !== 'bot' && status !== 'human') return;
    if (!this.api || this.api.status === status) return;
    this.api.status = status;
    this.emit(reason ? { type: 'handoff', status, reason } : { type: 'handoff', status });
  }

  private onStreamEvent(ev: SSEEvent): void {
    let d: any;
    try {
      d = JSON.parse(ev.data);
    } catch {
      return; // not ours to show
    }
    if (!d || typeof d !== 'object') return;
    switch (ev.event) {
      case 'message':
        if (d.role !== 'bot' && d.role !== 'human') return;
        if (typeof d.text !== 'string' || !d.text) return;
        this.showMessage({
          id: String(d.id || ''),
          role: d.role,
          text: d.text,
          agent: d.agent,
          replyTo: d.reply_to,
          sources: Array.isArray(d.sources) ? d.sources : undefined,
          at: d.at,
        });
        break;
      case 'delta':
        if (typeof d.reply_to !== 'string' || typeof d.text !== 'string') return;
        if (this.ledger.answeredTo(d.reply_to)) return; // the final answer is already shown
        this.emit({ type: 'delta', replyTo: d.reply_to, text: d.text });
        break;
      case 'typing':
        this.setTyping(!!d.on);
        break;
      case 'handoff':
        this.setStatus(d.status, d.reason);
        break;
      case 'booking':
        this.showBooking(d.booking);
        break;
      case 'error':
        this.notice(typeof d.code === 'string' ? d.code : 'generic');
        break;
      default:
    }
  }

  /** Localized, human text for an error (never the server's raw message). */
  describe(err: MisyError | string): string {
    const e = typeof err === 'string' ? new MisyError(err, err) : err;
    const seconds = e.retryAfterMs !== undefined ? Math.max(1, Math.ceil(e.retryAfterMs / 1000)) : undefined;
    return errorText(this.lang, noticeKey(e), {
      company: this.config?.company_name,
      seconds: seconds === undefined && e.code === 'rate_limited' ? 5 : seconds,
    });
  }

  /** Tells subscribers (public 'error', server code) and the widget (localized banner) about a condition. */
  private notice(code: string, err?: MisyError): void {
    const e = err && err.code === code ? err : new MisyError(code, code);
    const text = this.describe(e);
    const key = noticeKey(e);
    const seconds = e.retryAfterMs !== undefined ? Math.max(1, Math.ceil(e.retryAfterMs / 1000)) : 5;
    this.emit({ type: 'error', code, message: text });
    this.emitInternal({ type: 'notice', code: key, text, timeoutMs: key === 'rate_limited' ? seconds * 1000 : undefined });
  }

  private clearNotice(code?: string): void {
    this.emitInternal({ type: 'notice', code: code || null, text: null });
  }

  private emit(ev: MisyEvent): void {
    if (PUBLIC_TYPES.indexOf(ev.type) >= 0) {
      this.publicListeners.forEach((cb) => {
        try {
          cb(ev);
        } catch (e) {
          // A subscriber's bug must not break the chat.
          setTimeout(() => {
            throw e;
          });
        }
      });
    }
    this.emitInternal(ev);
  }

  private emitInternal(ev: InternalEvent): void {
    this.internalListeners.forEach((cb) => cb(ev));
  }
}

/** The error-table entry for an error: its own code when known; any other 5xx reads "unavailable". */
function noticeKey(e: MisyError): string {
  return hasErrorText(e.code) ? e.code : e.status >= 500 ? 'service_unavailable' : e.code;
}

/**
 * A booking record as the public `Booking` shape, or null when there is none yet. The server names its
 * fields `booking_id`, `service_name`, `professional_name` (booking events) and sends a `booking` with
 * no id while the scheduling agent is still asking for details (`status: "collecting"`, "offering",
 * "choosing_booking", "none"…): that is no appointment, and must not be shown as a confirmed one.
 */
export function toBooking(raw: unknown): Booking | null {
  if (!raw || typeof raw !== 'object') return null;
  const b = raw as Record<string, unknown>;
  const pick = (...names: string[]) => {
    for (const n of names) if (b[n] !== undefined && b[n] !== null && b[n] !== '') return b[n];
    return undefined;
  };
  const id = pick('id', 'booking_id');
  if (id === undefined || typeof id === 'object') return null;
  const out: Booking = { ...b, id: String(id) };
  const service = pick('service', 'service_name');
  const professional = pick('professional', 'professional_name');
  const start = pick('start', 'when');
  if (typeof service === 'string') out.service = service;
  if (typeof professional === 'string') out.professional = professional;
  if (typeof start === 'string' || typeof start === 'number') out.start = start;
  if (typeof b.status === 'string') out.status = b.status;
  return out;
}

function toReply(w: WireReply): Reply {
  const r: Reply = {
    id: String(w.id),
    text: typeof w.bot_response === 'string' ? w.bot_response : '',
    agent: w.agent || '',
    handoff: !!w.handoff,
    status: w.status === 'human' ? 'human' : 'bot',
    sources: Array.isArray(w.sources) ? w.sources : [],
  };
  const booking = toBooking(w.booking);
  if (booking) r.booking = booking;
  return r;
}
