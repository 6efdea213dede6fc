import type { Api } from './api';
import { errorFrom } from './api';
import { MisyError, backoffMs } from './errors';
import { SSEParser, type SSEEvent } from './sse';

export interface StreamOptions {
  onEvent(ev: SSEEvent): void;
  /** A definitive failure (e.g. origin_not_allowed): the stream stops. */
  onFatal?(err: MisyError): void;
  /** Reconnect if nothing (not even a keep-alive comment) arrives for this long. */
  idleTimeoutMs?: number;
}

// Codes after which reconnecting cannot help.
const FATAL = ['origin_not_allowed', 'invalid_publishable_key', 'forbidden'];

/**
 * The /events stream read with fetch() + ReadableStream (EventSource cannot send Authorization).
 * Reconnects with Last-Event-ID so nothing is missed or repeated: at once after a clean end (or
 * after the server's `retry:`), with backoff 1 s, 2 s, 4 s … 30 s after errors.
 */
export class EventStream {
  private readonly parser: SSEParser;
  private abort: AbortController | null = null;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private idleTimer: ReturnType<typeof setTimeout> | undefined;
  private failures = 0;
  private stopped = true;

  constructor(private readonly api: Api, private readonly o: StreamOptions) {
    this.parser = new SSEParser((ev) => this.o.onEvent(ev));
  }

  get lastEventId(): string {
    return this.parser.lastEventId;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.connect();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.idleTimer);
    if (this.abort) this.abort.abort();
    this.abort = null;
  }

  /** Reconnect now (e.g. the browser came back online). */
  reconnectNow(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    if (!this.abort) void this.connect();
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const ctrl = new AbortController();
    this.abort = ctrl;
    let gotData = false;
    try {
      const headers: Record<string, string> = { Accept: 'text/event-stream' };
      if (this.parser.lastEventId) headers['Last-Event-ID'] = this.parser.lastEventId;
      let res = await this.api.send('GET', 'events', { auth: true, headers, signal: ctrl.signal });
      if (res.status === 401) {
        const err = await errorFrom(res);
        if (err.code !== 'token_expired' && err.code !== 'invalid_token') throw err;
        await this.api.refresh();
        res = await this.api.send('GET', 'events', { auth: true, headers, signal: ctrl.signal });
      }
      if (!res.ok) throw await errorFrom(res);
      if (!res.body) throw new MisyError('stream_unsupported', 'no response body', res.status);
      this.failures = 0;
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      this.armIdle(ctrl);
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        this.armIdle(ctrl);
        if (value && value.length) {
          gotData = true;
          this.parser.feed(decoder.decode(value, { stream: true }));
        }
      }
      this.parser.feed(decoder.decode());
      this.parser.end();
      this.finish(ctrl, null, gotData);
    } catch (err) {
      this.parser.end();
      this.finish(ctrl, err, gotData);
    }
  }

  private armIdle(ctrl: AbortController): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => ctrl.abort(), this.o.idleTimeoutMs || 90_000);
  }

  private finish(ctrl: AbortController, err: unknown, gotData: boolean): void {
    clearTimeout(this.idleTimer);
    if (this.abort === ctrl) this.abort = null;
    if (this.stopped) return;
    if (err instanceof MisyError && FATAL.indexOf(err.code) >= 0) {
      this.stopped = true;
      this.o.onFatal?.(err);
      return;
    }
    let delay: number;
    if (!err && gotData) {
      // Clean end: the server rotates streams every few minutes.
      delay = this.parser.retryMs || 0;
    } else {
      // Errors, and clean ends with no data at all (so a misbehaving proxy cannot make us spin).
      const retryAfter = err instanceof MisyError ? err.retryAfterMs : undefined;
      delay = retryAfter !== undefined ? retryAfter : backoffMs(this.failures++);
    }
    this.timer = setTimeout(() => void this.connect(), Math.min(delay, 30000));
  }
}
