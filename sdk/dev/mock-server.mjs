// A tiny in-memory stand-in for the /v1/widget/* routes (per the server contract), plus a demo page
// served under a strict CSP. For trying the widget in a browser without the Flask backend:
//
//   npm run build && node dev/mock-server.mjs [port]     → http://127.0.0.1:8787/
//
// Message text drives behaviour: "human" hands off to a person, "slow" streams deltas, "book" sends
// a booking, "fail" answers 503 twice, "limit" answers 429. Listens on 127.0.0.1 only.
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const port = Number(process.argv[2] || process.env.PORT || 8787);
const CSP = "default-src 'self'; style-src 'self'; script-src 'self'; connect-src 'self'";
const ALLOWED_PK = 'pk_test_demo';

const state = {
  visitors: new Map(), // visitor_token → { visitor_id, messages: [], status }
  tokens: new Map(), // session token → visitor_token
  replies: new Map(), // Idempotency-Key → reply body
  events: [], // { id, visitor, event, data }
  listeners: new Set(),
  failures: new Map(),
};
let eventSeq = 0;

function push(visitor, event, data) {
  const ev = { id: String(++eventSeq), visitor, event, data };
  state.events.push(ev);
  for (const l of state.listeners) l(ev);
}

function send(res, status, body, headers = {}) {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}
const error = (res, status, code, headers) => send(res, status, { error: { code, message: code } }, headers);

async function readBody(req) {
  let raw = '';
  for await (const chunk of req) raw += chunk;
  try {
    return raw ? JSON.parse(raw) : {};
  } catch {
    return {};
  }
}

function auth(req) {
  const m = /^Bearer (.+)$/.exec(req.headers.authorization || '');
  const vt = m && state.tokens.get(m[1]);
  return vt ? state.visitors.get(vt) : null;
}

const DEMO = `<!doctype html><html lang="es"><head><meta charset="utf-8"><title>Clínica demo</title>
<meta name="viewport" content="width=device-width,initial-scale=1"><link rel="stylesheet" href="/demo.css"></head>
<body><h1>Clínica Benova (demo)</h1><p>Página con CSP estricta: ${CSP}</p>
<script src="/sdk/misy.js" data-public-key="${ALLOWED_PK}" async></script></body></html>`;

const server = createServer(async (req, res) => {
  const url = new URL(req.url, 'http://localhost');
  const pk = url.searchParams.get('pk');
  const path = url.pathname;

  if (path === '/' || path === '/index.html') {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Security-Policy': CSP });
    return res.end(DEMO);
  }
  if (path === '/demo.css') {
    res.writeHead(200, { 'Content-Type': 'text/css' });
    return res.end('body{font-family:system-ui;margin:40px;background:#f7f7f7}');
  }
  if (path === '/sdk/misy.js') {
    res.writeHead(200, { 'Content-Type': 'text/javascript; charset=utf-8' });
    return res.end(readFileSync(join(root, 'dist', 'misy.js')));
  }
  if (!path.startsWith('/v1/widget/')) return error(res, 404, 'not_found');
  if (pk !== ALLOWED_PK && !path.endsWith('/config')) return error(res, 401, 'invalid_publishable_key');
  const route = path.slice('/v1/widget/'.length);

  if (route === 'config') {
    if (pk !== ALLOWED_PK) return error(res, 401, 'invalid_publishable_key');
    return send(res, 200, {
      company_id: 'benova', company_name: 'Benova', agent_name: 'Sofía',
      greeting: '¡Hola! ¿En qué te puedo ayudar?', primary_color: '#2E7D6B', language: 'es', origin_allowed: true,
    }, { 'Access-Control-Allow-Origin': '*' });
  }
  if (route === 'session' && req.method === 'POST') {
    const body = await readBody(req);
    let vt = body.visitor_token;
    if (!vt || !state.visitors.has(vt)) {
      vt = 'vt_' + randomUUID();
      state.visitors.set(vt, { visitor_id: 'v_' + randomUUID().slice(0, 8), token: vt, messages: [], status: 'bot' });
    }
    const v = state.visitors.get(vt);
    const token = 'tok_' + randomUUID();
    state.tokens.set(token, vt);
    return send(res, 200, { token, expires_in: 900, visitor_id: v.visitor_id, visitor_token: vt, company_id: 'benova',
      status: v.status, greeting: '¡Hola! ¿En qué te puedo ayudar?', primary_color: '#2E7D6B' });
  }
  const v = auth(req);
  if (!v) return error(res, 401, 'invalid_token');

  if (route === 'history') return send(res, 200, { status: v.status, messages: v.messages });

  if (route === 'messages' && req.method === 'POST') {
    const key = req.headers['idempotency-key'];
    const { message = '' } = await readBody(req);
    if (!key) return error(res, 400, 'missing_idempotency_key');
    if (state.replies.has(key)) return send(res, 200, state.replies.get(key));
    if (!message.trim() || message.length > 4000) return error(res, 400, 'invalid_message');
    if (/limit/i.test(message) && !state.failures.get(key)) {
      state.failures.set(key, 1);
      return error(res, 429, 'rate_limited', { 'Retry-After': '3' });
    }
    if (/fail/i.test(message) && (state.failures.get(key) || 0) < 2) {
      state.failures.set(key, (state.failures.get(key) || 0) + 1);
      return error(res, 503, 'service_unavailable');
    }
    v.messages.push({ id: 'u_' + key, role: 'user', text: message, at: Date.now() / 1000 });
    if (/human/i.test(message)) {
      v.status = 'human';
      push(v, 'handoff', { status: 'human', reason: 'requested' });
      setTimeout(() => {
        const m = { id: 'h_' + randomUUID(), role: 'human', text: 'Hola, soy **Laura**. ¿En qué te ayudo?', agent: 'Laura', reply_to: key, at: Date.now() / 1000 };
        v.messages.push(m);
        push(v, 'message', m);
      }, 800);
    }
    const text = v.status === 'human' ? '' : `Recibido: *${message}*. Más info en https://example.com/precios.`;
    const reply = { id: 'r_' + randomUUID(), reply_to: key, bot_response: text, agent: 'sales', company_id: 'benova',
      sources: text ? [{ document_id: 'd1', title: 'Precios 2025' }] : [], handoff: v.status === 'human', status: v.status };
    if (/book/i.test(message)) {
      reply.booking = { id: 'b_' + key.slice(0, 6), service: 'Limpieza facial', start: new Date(Date.now() + 86400e3).toISOString(), professional: 'Dra. Ruiz', status: 'confirmed' };
      push(v, 'booking', { booking: reply.booking });
    }
    if (text) {
      v.messages.push({ id: reply.id, role: 'bot', text, at: Date.now() / 1000 });
      push(v, 'typing', { on: true });
      const slow = /slow/i.test(message);
      if (slow) for (const piece of text.match(/.{1,12}/g)) {
        push(v, 'delta', { reply_to: key, text: piece });
        await new Promise((r) => setTimeout(r, 120));
      }
      push(v, 'typing', { on: false });
      // The same reply also goes out on the stream; the SDK must show it once.
      push(v, 'message', { id: reply.id, role: 'bot', text, agent: 'sales', reply_to: key, at: Date.now() / 1000 });
    }
    state.replies.set(key, reply);
    return send(res, 200, reply);
  }

  if (route === 'events') {
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store' });
    const last = Number(req.headers['last-event-id'] || 0);
    const write = (ev) => ev.visitor === v && res.write(`id: ${ev.id}\nevent: ${ev.event}\ndata: ${JSON.stringify(ev.data)}\n\n`);
    if (last) state.events.filter((e) => Number(e.id) > last).forEach(write);
    state.listeners.add(write);
    const ka = setInterval(() => res.write(': keep-alive\n\n'), 15000);
    // Rotate the stream like the real server does, so reconnects get exercised.
    const end = setTimeout(() => res.end(), 120000);
    req.on('close', () => {
      clearInterval(ka);
      clearTimeout(end);
      state.listeners.delete(write);
    });
    return;
  }
  return error(res, 404, 'not_found');
});

server.listen(port, '127.0.0.1', () => console.log(`mock widget API + demo page on http://127.0.0.1:${port}/`));
