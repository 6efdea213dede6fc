/** A scriptable fake of the widget API, good enough to drive the SDK without a server. */

export interface Call {
  method: string;
  route: string;
  url: string;
  headers: Record<string, string>;
  body: any;
}

type Handler = (call: Call, n: number) => Response | Promise<Response>;

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } });
}

export function apiError(status: number, code: string, headers: Record<string, string> = {}): Response {
  return json({ error: { code, message: 'raw server text for ' + code } }, status, headers);
}

/** A text/event-stream response whose body the test writes to. */
export function sseResponse() {
  let ctrl!: ReadableStreamDefaultController<Uint8Array>;
  const enc = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      ctrl = c;
    },
  });
  return {
    response: new Response(body, { status: 200, headers: { 'Content-Type': 'text/event-stream' } }),
    push: (text: string) => ctrl.enqueue(enc.encode(text)),
    close: () => ctrl.close(),
  };
}

export const CONFIG = {
  company_id: 'benova',
  company_name: 'Benova',
  agent_name: 'Sofía',
  greeting: '¡Hola! ¿En qué te puedo ayudar?',
  primary_color: '#2E7D6B',
  language: 'es',
  origin_allowed: true,
};

let sessions = 0;
export function sessionBody(extra: Record<string, unknown> = {}) {
  sessions++;
  return {
    token: 'tok' + sessions,
    expires_in: 900,
    visitor_id: 'v_1',
    visitor_token: 'vt_1',
    company_id: 'benova',
    status: 'bot',
    greeting: CONFIG.greeting,
    primary_color: CONFIG.primary_color,
    ...extra,
  };
}

/**
 * fetch() replacement routing on the /v1/widget/<route> path. Unrouted calls fail the test loudly.
 * `events` defaults to a stream that never sends anything.
 */
export function fakeApi(routes: Record<string, Handler> = {}) {
  const calls: Call[] = [];
  const counts: Record<string, number> = {};
  const streams: ReturnType<typeof sseResponse>[] = [];
  const defaults: Record<string, Handler> = {
    config: () => json(CONFIG),
    session: () => json(sessionBody()),
    history: () => json({ status: 'bot', messages: [] }),
    events: () => {
      const s = sseResponse();
      streams.push(s);
      return s.response;
    },
  };
  const fetch = async (input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> => {
    const url = String(input);
    const route = /\/v1\/widget\/([a-z]+)/.exec(url)?.[1] || url;
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((v, k) => (headers[k.toLowerCase()] = v));
    const call: Call = {
      method: init.method || 'GET',
      route,
      url,
      headers,
      body: typeof init.body === 'string' ? JSON.parse(init.body) : undefined,
    };
    calls.push(call);
    counts[route] = (counts[route] || 0) + 1;
    const handler = routes[route] || defaults[route];
    if (!handler) throw new Error('unexpected request ' + url);
    if (init.signal?.aborted) throw new DOMException('aborted', 'AbortError');
    return handler(call, counts[route]);
  };
  return { fetch: fetch as typeof globalThis.fetch, calls, streams, of: (r: string) => calls.filter((c) => c.route === r) };
}

/** Lets pending promise callbacks (and stream reads) run. */
export async function flush(times = 10): Promise<void> {
  for (let i = 0; i < times; i++) await new Promise((r) => setTimeout(r, 0));
}
