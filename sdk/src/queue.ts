import { MisyError, backoffMs, isNetworkError, isRetryableStatus } from './errors';
import { readJSON, writeJSON, type KV } from './storage';
import type { SendState } from './types';

export interface QueueItem {
  /** Idempotency-Key: made once per message and reused on every retry, so the server runs it once. */
  key: string;
  text: string;
  state: SendState;
  /** Server-error retries used so far (network waits do not count). */
  attempts: number;
  createdAt: number;
  /** Error code of the last failure. */
  error?: string;
}

export interface QueueOptions<R> {
  /** Sends one message; throws MisyError (status 0 for "no response"). */
  post(text: string, key: string): Promise<R>;
  storage: KV;
  storageKey: string;
  isOnline?: () => boolean;
  /** Whether sending may start (e.g. the session exists). Checked before each attempt. */
  canSend?: () => boolean;
  /** Retries after server errors (5xx, 409 busy) before a message is marked failed. */
  maxAttempts?: number;
  /** Cap of the offline re-probe interval. */
  maxDelayMs?: number;
  onChange?: (item: QueueItem) => void;
  onDelivered?: (item: QueueItem, reply: R) => void;
  /** A condition worth telling the user about (429 wait, offline, failure). */
  onNotice?: (code: string, err?: MisyError) => void;
}

interface Waiter<R> {
  resolve: (r: R) => void;
  reject: (e: unknown) => void;
}

/** RFC 4122 v4; crypto.randomUUID needs a secure context, so fall back to getRandomValues / Math.random. */
export function uuid(): string {
  const c: Crypto | undefined = typeof crypto !== 'undefined' ? crypto : undefined;
  if (c && typeof c.randomUUID === 'function') return c.randomUUID();
  const b = new Uint8Array(16);
  if (c && typeof c.getRandomValues === 'function') c.getRandomValues(b);
  else for (let i = 0; i < 16; i++) b[i] = (Math.random() * 256) | 0;
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.prototype.map.call(b, (x: number) => (x + 0x100).toString(16).slice(1)).join('');
  return h.slice(0, 8) + '-' + h.slice(8, 12) + '-' + h.slice(12, 16) + '-' + h.slice(16, 20) + '-' + h.slice(20);
}

/**
 * Sends the visitor's messages one at a time, in order, surviving flaky networks and reloads.
 *
 * - No response (offline / fetch threw): the message is `queued` and waits for the 'online' event or
 *   a periodic re-probe (backoff up to 30 s); such waits never give up.
 * - 5xx / 503 / 409 conversation_busy: stays `sending`, retried with exponential backoff (or the
 *   server's Retry-After) up to maxAttempts, then `failed`.
 * - 429 rate_limited: waits Retry-After, then retries (not counted as an attempt).
 * - Anything else (400, 403, quota…): `failed` at once. A failed message leaves the line so later
 *   ones are not blocked; retry() puts it back at the end with the same Idempotency-Key.
 *
 * Unsent messages are persisted, so a reload resumes them with the same keys (no double processing).
 */
export class SendQueue<R> {
  readonly items: QueueItem[] = [];
  private readonly waiters = new Map<string, Waiter<R>>();
  private busy = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private waitingUntil = 0;
  private netWaits = 0;
  private disposed = false;
  private readonly onOnline = () => this.kick();

  constructor(private readonly o: QueueOptions<R>) {
    if (typeof window !== 'undefined' && window.addEventListener) window.addEventListener('online', this.onOnline);
  }

  /** Restores unsent messages from storage ("sending" ones become "queued": their fate is unknown). */
  restore(): QueueItem[] {
    const saved = readJSON<QueueItem[]>(this.o.storage, this.o.storageKey);
    if (!Array.isArray(saved)) return [];
    for (const s of saved) {
      if (!s || typeof s.key !== 'string' || typeof s.text !== 'string') continue;
      if (this.items.some((i) => i.key === s.key)) continue;
      this.items.push({
        key: s.key,
        text: s.text,
        state: s.state === 'failed' ? 'failed' : 'queued',
        attempts: 0,
        createdAt: Number(s.createdAt) || Date.now(),
        error: s.error,
      });
    }
    return this.items.slice();
  }

  /** Adds a message; the promise settles when it is delivered or definitively fails. */
  enqueue(text: string, key: string = uuid()): { item: QueueItem; done: Promise<R> } {
    const item: QueueItem = { key, text, state: 'queued', attempts: 0, createdAt: Date.now() };
    this.items.push(item);
    const done = this.track(key);
    this.persist();
    this.emit(item);
    this.kick();
    return { item, done };
  }

  /** Puts a failed message back in line (at the end, same key). */
  retry(key: string): Promise<R> | null {
    const idx = this.items.findIndex((i) => i.key === key);
    if (idx < 0 || this.items[idx].state !== 'failed') return null;
    const [item] = this.items.splice(idx, 1);
    item.state = 'queued';
    item.attempts = 0;
    item.error = undefined;
    this.items.push(item);
    const done = this.track(key);
    this.persist();
    this.emit(item);
    this.kick();
    return done;
  }

  /** Try now (cancels a pending wait unless the server asked us to wait, e.g. 429). */
  kick(): void {
    if (this.disposed) return;
    if (this.waitingUntil > Date.now()) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    void this.pump();
  }

  dispose(): void {
    this.disposed = true;
    clearTimeout(this.timer);
    if (typeof window !== 'undefined' && window.removeEventListener) window.removeEventListener('online', this.onOnline);
  }

  private track(key: string): Promise<R> {
    const p = new Promise<R>((resolve, reject) => this.waiters.set(key, { resolve, reject }));
    // Callers may ignore the promise (the widget does); don't let that become an unhandled rejection.
    p.catch(() => {});
    return p;
  }

  private next(): QueueItem | undefined {
    return this.items.find((i) => i.state === 'queued' || i.state === 'sending');
  }

  private async pump(probe = false): Promise<void> {
    if (this.busy || this.disposed) return;
    this.busy = true;
    try {
      for (;;) {
        const item = this.next();
        if (!item || this.disposed) return;
        if (this.o.canSend && !this.o.canSend()) return; // kicked again once the session exists
        const online = !this.o.isOnline || this.o.isOnline();
        if (!online && !probe) {
          // Browser says offline: wait for 'online'; still re-probe on a timer since onLine can lie.
          this.setState(item, 'queued');
          this.o.onNotice?.('network_error');
          this.wait(backoffMs(this.netWaits++, 1000, this.o.maxDelayMs || 30000), true);
          return;
        }
        probe = false;
        if (item.state !== 'sending') this.setState(item, 'sending');
        try {
          const reply = await this.o.post(item.text, item.key);
          if (this.disposed) return;
          this.netWaits = 0;
          this.items.splice(this.items.indexOf(item), 1);
          item.state = 'sent';
          item.error = undefined;
          this.persist();
          this.emit(item);
          this.o.onDelivered?.(item, reply);
          this.settle(item.key, true, reply);
        } catch (err) {
          if (this.disposed) return;
          if (this.handleError(item, err)) return;
        }
      }
    } finally {
      this.busy = false;
    }
  }

  /** Returns true when the pump must stop and wait (a timer or the 'online' event resumes it). */
  private handleError(item: QueueItem, err: unknown): boolean {
    if (isNetworkError(err)) {
      this.setState(item, 'queued');
      this.o.onNotice?.('network_error');
      this.wait(backoffMs(this.netWaits++, 1000, this.o.maxDelayMs || 30000), true);
      return true;
    }
    const e = err as MisyError;
    item.error = e.code;
    if (e.status === 429 && e.code !== 'monthly_quota_exceeded') {
      const ms = e.retryAfterMs !== undefined ? e.retryAfterMs : 5000;
      this.o.onNotice?.(e.code, e);
      this.wait(ms, false);
      return true;
    }
    if (isRetryableStatus(e) && item.attempts + 1 < (this.o.maxAttempts || 5)) {
      const ms = e.retryAfterMs !== undefined ? e.retryAfterMs : backoffMs(item.attempts);
      item.attempts++;
      this.o.onNotice?.(e.code, e);
      this.wait(Math.min(ms, 30000), false);
      return true;
    }
    this.setState(item, 'failed');
    this.persist();
    this.o.onNotice?.(e.code, e);
    this.settle(item.key, false, e);
    return false; // carry on with the next message
  }

  /** `interruptible` waits end early on 'online'/kick(); server-imposed waits do not. */
  private wait(ms: number, interruptible: boolean): void {
    clearTimeout(this.timer);
    this.waitingUntil = interruptible ? 0 : Date.now() + ms;
    this.timer = setTimeout(() => {
      this.waitingUntil = 0;
      void this.pump(interruptible);
    }, ms);
  }

  private settle(key: string, ok: boolean, value: unknown): void {
    const w = this.waiters.get(key);
    if (!w) return;
    this.waiters.delete(key);
    if (ok) w.resolve(value as R);
    else w.reject(value);
  }

  private setState(item: QueueItem, state: SendState): void {
    if (item.state === state) return;
    item.state = state;
    this.persist();
    this.emit(item);
  }

  private emit(item: QueueItem): void {
    this.o.onChange?.({ ...item });
  }

  private persist(): void {
    const keep = this.items.filter((i) => i.state !== 'sent');
    writeJSON(
      this.o.storage,
      this.o.storageKey,
      keep.length ? keep.map(({ key, text, state, createdAt, error }) => ({ key, text, state, createdAt, error })) : null,
    );
  }
}
