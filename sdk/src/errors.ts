/** An error from the Misybot API (or from the SDK itself) with a stable `code`. */
export class MisyError extends Error {
  readonly code: string;
  /** HTTP status; 0 when the request never got a response (offline, DNS, CORS, aborted). */
  readonly status: number;
  /** Milliseconds to wait before trying again (from `Retry-After`), when the server said so. */
  readonly retryAfterMs?: number;

  constructor(code: string, message: string, status = 0, retryAfterMs?: number) {
    super(message);
    this.name = 'MisyError';
    this.code = code;
    this.status = status;
    this.retryAfterMs = retryAfterMs;
  }
}

export const NETWORK_ERROR = 'network_error';

/** True when the request never reached the server (so it is worth queueing until we are online). */
export function isNetworkError(err: unknown): boolean {
  return !(err instanceof MisyError) || err.status === 0;
}

/** Transient server-side conditions worth retrying with backoff. */
export function isRetryableStatus(err: MisyError): boolean {
  return err.status >= 500 || err.code === 'conversation_busy';
}

/** Parses `Retry-After` (delta-seconds or HTTP date) into milliseconds. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const secs = Number(value.trim());
  if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Exponential backoff: 1 s, 2 s, 4 s … capped (attempt is 0-based). */
export function backoffMs(attempt: number, base = 1000, max = 30000): number {
  return Math.min(max, base * Math.pow(2, Math.max(0, attempt)));
}
