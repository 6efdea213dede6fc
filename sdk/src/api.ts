import { MisyError, NETWORK_ERROR, backoffMs, parseRetryAfter } from './errors';
import { VisitorStore, type KV } from './storage';
import type { Booking, ConversationStatus, InitOptions, SessionInfo, Source } from './types';

/* Wire shapes of the server contract (see /v1/widget/* in the spec). */

export interface WireConfig {
  company_id: string;
  company_name?: string;
  agent_name?: string;
  greeting?: string;
  primary_color?: string;
  language?: string;
  origin_allowed?: boolean;
}

export interface WireSession {
  token: string;
  expires_in: number;
  visitor_id: string;
  visitor_token?: string;
  company_id?: string;
  status?: ConversationStatus;
  greeting?: string;
  primary_color?: string;
}

export interface WireHistory {
  status?: ConversationStatus;
  messages: { id: string; role: 'user' | 'bot' | 'human'; text: string; at?: number }[];
}

export interface WireReply {
  id: string;
  reply_to?: string;
  bot_response?: string;
  agent?: string;
  company_id?: string;
  sources?: Source[];
  handoff?: boolean;
  status?: ConversationStatus;
  booking?: Booking | null;
}

interface RequestOptions {
  body?: unknown;
  auth?: boolean;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

// Refresh this long before the token runs out, as the contract asks.
const REFRESH_MARGIN_MS = 60_000;
const AUTH_RETRY_CODES = ['token_expired', 'invalid_token'];

/**
 * HTTP access to the widget routes plus the session token's life cycle: it is kept in memory only,
 * refreshed ~60 s before expiry and whenever a route answers 401 token_expired/invalid_token (the
 * failed request is then retried once).
 */
export class Api {
  token: string | null = null;
  expiresAt = 0;
  visitorId = '';
  companyId = '';
  status: ConversationStatus = 'bot';
  /** Called after every successful session (start or refresh). */
  onSession: ((info: SessionInfo) => void) | null = null;

  private readonly base: string;
  private readonly visitors: VisitorStore;
  private refreshing: Promise<SessionInfo> | null = null;
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;
  private refreshFailures = 0;
  private closed = false;

  constructor(
    apiBase: string,
    private readonly publicKey: string,
    storage: KV,
    private readonly fetchFn: typeof fetch,
    private readonly user?: InitOptions['user'],
  ) {
    this.base = apiBase.replace(/\/+$/, '');
    this.visitors = new VisitorStore(storage, publicKey);
  }

  url(route: string): string {
    return this.base + '/v1/widget/' + route + '?pk=' + encodeURIComponent(this.publicKey);
  }

  session(): SessionInfo | null {
    if (!this.token) return null;
    return { visitorId: this.visitorId, companyId: this.companyId, expiresAt: this.expiresAt, status: this.status };
  }

  /** fetch() that turns "no response" into MisyError(network_error, status 0). */
  async send(method: string, route: string, opts: RequestOptions = {}): Promise<Response> {
    if (opts.auth) await this.ensureFresh();
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
    if (opts.auth && this.token) headers.Authorization = 'Bearer ' + this.token;
    try {
      return await this.fetchFn(this.url(route), {
        method,
        headers,
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        // The token travels in a header; cookies are never needed (and would widen CORS).
        credentials: 'omit',
        mode: 'cors',
        signal: opts.signal,
      });
    } catch (err) {
      if ((err as Error)?.name === 'AbortError') throw err;
      throw new MisyError(NETWORK_ERROR, 'network request failed');
    }
  }

  /** JSON request; on 401 token_expired/invalid_token refreshes the session and retries once. */
  async json<T>(method: string, route: string, opts: RequestOptions = {}): Promise<T> {
    let res = await this.send(method, route, opts);
    if (opts.auth && res.status === 401) {
      const err = await errorFrom(res);
      if (AUTH_RETRY_CODES.indexOf(err.code) < 0) throw err;
      await this.refresh();
      res = await this.send(method, route, opts);
    }
    if (!res.ok) throw await errorFrom(res);
    return (await res.json()) as T;
  }

  getConfig(): Promise<WireConfig> {
    return this.json<WireConfig>('GET', 'config');
  }

  /** Starts the session (with the stored visitor token so the visitor keeps its conversation). */
  async startSession(): Promise<SessionInfo> {
    const stored = this.visitors.load();
    const body: Record<string, unknown> = {};
    if (stored) body.visitor_token = stored.visitor_token;
    if (this.user && Object.keys(this.user).length) body.user = this.user;
    const headers: Record<string, string> = {};
    // A still-valid token keeps the visitor id even if storage was lost.
    if (this.token && Date.now() < this.expiresAt) headers.Authorization = 'Bearer ' + this.token;
    const res = await this.send('POST', 'session', { body, headers });
    if (!res.ok) {
      const err = await errorFrom(res);
      // A stale/foreign visitor token must not lock the visitor out: forget it and start afresh.
      if (stored && (res.status === 400 || (res.status === 401 && err.code !== 'invalid_publishable_key'))) {
        this.visitors.clear();
        return this.startSession();
      }
      throw err;
    }
    const s = (await res.json()) as WireSession;
    this.token = s.token;
    this.expiresAt = Date.now() + Math.max(1, Number(s.expires_in) || 900) * 1000;
    this.visitorId = s.visitor_id;
    if (s.company_id) this.companyId = s.company_id;
    if (s.status) this.status = s.status;
    this.visitors.save({ visitor_token: s.visitor_token || (stored && stored.visitor_token) || '', visitor_id: s.visitor_id });
    this.refreshFailures = 0;
    this.scheduleRefresh();
    const info = this.session() as SessionInfo;
    if (this.onSession) this.onSession(info);
    return info;
  }

  /** One refresh at a time: concurrent 401s share it. */
  refresh(): Promise<SessionInfo> {
    if (!this.refreshing) {
      this.refreshing = this.startSession().finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  history(): Promise<WireHistory> {
    return this.json<WireHistory>('GET', 'history', { auth: true });
  }

  postMessage(text: string, idempotencyKey: string): Promise<WireReply> {
    return this.json<WireReply>('POST', 'messages', {
      auth: true,
      body: { message: text },
      headers: { 'Idempotency-Key': idempotencyKey },
    });
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.refreshTimer);
  }

  /** Timers are throttled in background tabs, so also check before each authorised request. */
  private async ensureFresh(): Promise<void> {
    if (this.token && Date.now() > this.expiresAt - 5000) await this.refresh();
  }

  private scheduleRefresh(): void {
    clearTimeout(this.refreshTimer);
    if (this.closed) return;
    const delay = Math.max(5000, this.expiresAt - Date.now() - REFRESH_MARGIN_MS);
    this.refreshTimer = setTimeout(() => {
      this.refresh().catch(() => {
        // Keep trying with backoff; requests made meanwhile refresh on their own 401.
        this.refreshTimer = setTimeout(() => this.scheduleRefresh(), backoffMs(this.refreshFailures++));
      });
    }, delay);
  }
}

/** Builds a MisyError from an error response (`{"error": {"code", "message"}}`), whatever its body. */
export async function errorFrom(res: Response): Promise<MisyError> {
  let code = '';
  let message = '';
  try {
    const body = await res.json();
    const e = body && body.error;
    if (e && typeof e.code === 'string') {
      code = e.code;
      message = typeof e.message === 'string' ? e.message : '';
    }
  } catch {
    /* not JSON */
  }
  if (!code) code = res.status === 429 ? 'rate_limited' : res.status >= 500 ? 'service_unavailable' : 'http_' + res.status;
  return new MisyError(code, message || code, res.status, parseRetryAfter(res.headers.get('Retry-After')));
}
