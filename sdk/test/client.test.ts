import { afterEach, describe, expect, it, vi } from 'vitest';
import { MisyClient } from '../src/client';
import { ReplyLedger } from '../src/dedupe';
import { memoryStorage } from '../src/storage';
import type { MisyEvent } from '../src/types';
import { CONFIG, apiError, fakeApi, flush, json } from './helpers';

function sse(event: string, data: unknown, id?: string) {
  return (id ? `id: ${id}\n` : '') + `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

async function started(routes: Parameters<typeof fakeApi>[0] = {}, language?: 'es' | 'en') {
  const server = fakeApi(routes);
  const client = new MisyClient({ fetch: server.fetch, storage: memoryStorage() });
  const events: MisyEvent[] = [];
  client.subscribeEvents((e) => events.push(e));
  const session = await client.init({ publicKey: 'pk_test', apiBase: 'https://api.example', language });
  await flush();
  return { server, client, events, session, messages: () => events.filter((e) => e.type === 'message') };
}

let live: MisyClient[] = [];
afterEach(() => {
  live.forEach((c) => c.destroy());
  live = [];
});

describe('reply ledger', () => {
  it('dedupes by id, and bot replies by reply_to', () => {
    const l = new ReplyLedger();
    expect(l.accept({ id: 'r1', role: 'bot', replyTo: 'k1' })).toBe(true);
    expect(l.accept({ id: 'r1', role: 'bot', replyTo: 'k1' })).toBe(false);
    expect(l.accept({ id: 'r1' })).toBe(false);
    expect(l.accept({ id: 'r2', role: 'bot', replyTo: 'k1' })).toBe(false); // a second bot answer to k1
    expect(l.answeredTo('k1')).toBe(true);
    // A person may answer one customer message several times.
    expect(l.accept({ id: 'h1', role: 'human', replyTo: 'k2' })).toBe(true);
    expect(l.accept({ id: 'h2', role: 'human', replyTo: 'k2' })).toBe(true);
    expect(l.accept({ id: 'h2', role: 'human', replyTo: 'k2' })).toBe(false);
  });
});

describe('client', () => {
  it('loads config first, then the session, then opens the stream', async () => {
    const t = await started();
    live.push(t.client);
    expect(t.server.calls.map((c) => c.route)).toEqual(['config', 'session', 'events']);
    expect(t.server.calls[0].headers.authorization).toBeUndefined();
    expect(t.server.of('events')[0].headers).toMatchObject({ accept: 'text/event-stream', authorization: expect.stringMatching(/^Bearer /) });
    expect(t.session).toMatchObject({ visitorId: 'v_1', companyId: 'benova', status: 'bot' });
    expect(t.client.getSession()).toEqual(t.session);
    expect(t.client.lang).toBe('es');
  });

  it('refuses to start when the origin is not allowed, with a localized message', async () => {
    const server = fakeApi({ config: () => json({ ...CONFIG, origin_allowed: false }) });
    const client = new MisyClient({ fetch: server.fetch, storage: memoryStorage() });
    live.push(client);
    const events: MisyEvent[] = [];
    client.subscribeEvents((e) => events.push(e));
    await expect(client.init({ publicKey: 'pk', apiBase: 'https://api.example' })).rejects.toMatchObject({ code: 'origin_not_allowed' });
    expect(server.of('session')).toHaveLength(0);
    expect(client.getSession()).toBeNull();
    expect(client.phase).toBe('blocked');
    expect(events).toContainEqual({
      type: 'error',
      code: 'origin_not_allowed',
      message: 'Este sitio no está autorizado para usar el chat de Benova.',
    });
    await expect(client.sendMessage('hola')).rejects.toMatchObject({ code: 'origin_not_allowed' });
  });

  it('uses English when asked, whatever the company default', async () => {
    const server = fakeApi({ config: () => json({ ...CONFIG, origin_allowed: false }) });
    const client = new MisyClient({ fetch: server.fetch, storage: memoryStorage() });
    live.push(client);
    await client.init({ publicKey: 'pk', apiBase: 'https://api.example', language: 'en' }).catch(() => {});
    expect(client.describe(client.fatal!)).toBe("This site is not allowed to use Benova's chat.");
  });

  it('never shows raw server text for errors', async () => {
    const server = fakeApi({ session: () => apiError(401, 'invalid_publishable_key') });
    const client = new MisyClient({ fetch: server.fetch, storage: memoryStorage() });
    live.push(client);
    const events: MisyEvent[] = [];
    client.subscribeEvents((e) => events.push(e));
    await expect(client.init({ publicKey: 'pk', apiBase: 'https://api.example' })).rejects.toBeTruthy();
    const err = events.find((e) => e.type === 'error') as any;
    expect(err.message).not.toContain('raw server text');
    expect(err.message).not.toContain('{');
  });

  it('shows a reply once when it comes in the POST response and as an SSE message', async () => {
    let key = '';
    const t = await started({
      messages: (c) => {
        key = c.headers['idempotency-key'];
        return json({ id: 'r1', reply_to: key, bot_response: '¡Claro!', agent: 'sales', sources: [], handoff: false, status: 'bot' });
      },
    });
    live.push(t.client);
    const reply = await t.client.sendMessage('¿Tenéis cita mañana?');
    expect(reply).toEqual({ id: 'r1', text: '¡Claro!', agent: 'sales', handoff: false, status: 'bot', sources: [] });
    const stream = t.server.streams[0];
    stream.push(sse('message', { id: 'r1', role: 'bot', text: '¡Claro!', reply_to: key }, '1'));
    // Same answer under another id (e.g. persisted copy) still answers the same customer message.
    stream.push(sse('message', { id: 'r1-copy', role: 'bot', text: '¡Claro!', reply_to: key }, '2'));
    await flush();
    expect(t.messages()).toHaveLength(1);
    expect((t.messages()[0] as any).message).toMatchObject({ id: 'r1', role: 'bot', text: '¡Claro!', replyTo: key });
  });

  it('shows a reply once when the SSE message wins the race', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const t = await started({
      messages: async (c) => {
        const key = c.headers['idempotency-key'];
        t.server.streams[0].push(sse('message', { id: 'r9', role: 'bot', text: 'primero por SSE', reply_to: key }));
        await gate;
        return json({ id: 'r9', reply_to: key, bot_response: 'primero por SSE', status: 'bot' });
      },
    });
    live.push(t.client);
    const p = t.client.sendMessage('hola');
    await flush();
    expect(t.messages()).toHaveLength(1);
    release();
    await p;
    await flush();
    expect(t.messages()).toHaveLength(1);
  });

  it('streams deltas, then the final message once; late deltas are dropped', async () => {
    const t = await started();
    live.push(t.client);
    const s = t.server.streams[0];
    s.push(sse('typing', { on: true }));
    s.push(sse('delta', { reply_to: 'k1', text: 'Ho' }));
    s.push(sse('delta', { reply_to: 'k1', text: 'la' }));
    s.push(sse('message', { id: 'm1', role: 'bot', text: 'Hola', reply_to: 'k1' }));
    s.push(sse('delta', { reply_to: 'k1', text: ' tarde' }));
    s.push(sse('message', { id: 'm1', role: 'bot', text: 'Hola', reply_to: 'k1' }));
    await flush();
    expect(t.events.map((e) => e.type)).toEqual(['typing', 'delta', 'delta', 'typing', 'message']);
  });

  it('keeps a human agent’s messages and switches status on handoff', async () => {
    const t = await started();
    live.push(t.client);
    const s = t.server.streams[0];
    s.push(sse('handoff', { status: 'human', reason: 'requested' }));
    s.push(sse('handoff', { status: 'human' })); // no change: no second event
    s.push(sse('message', { id: 'h1', role: 'human', text: 'Soy Laura', reply_to: 'k1' }));
    s.push(sse('message', { id: 'h2', role: 'human', text: '¿Te ayudo?', reply_to: 'k1' }));
    s.push(sse('booking', { booking: { id: 'b1', service: 'Botox', start: '2025-10-14T10:30:00Z', professional: 'Dra. Ruiz', status: 'confirmed' } }));
    s.push(sse('booking', { booking: { id: 'b1', service: 'Botox', start: '2025-10-14T10:30:00Z', professional: 'Dra. Ruiz', status: 'confirmed' } }));
    await flush();
    expect(t.events.filter((e) => e.type === 'handoff')).toEqual([{ type: 'handoff', status: 'human', reason: 'requested' }]);
    expect(t.client.getSession()!.status).toBe('human');
    expect(t.messages().map((e: any) => e.message.id)).toEqual(['h1', 'h2']);
    expect(t.events.filter((e) => e.type === 'booking')).toHaveLength(1);
  });

  it('reconnects after a clean end with Last-Event-ID', async () => {
    const t = await started();
    live.push(t.client);
    const s = t.server.streams[0];
    s.push(sse('message', { id: 'm1', role: 'bot', text: 'uno' }, 'ev-41'));
    s.push(': keep-alive\n\n');
    s.close();
    await flush(20);
    expect(t.server.of('events')).toHaveLength(2);
    expect(t.server.of('events')[1].headers['last-event-id']).toBe('ev-41');
    t.server.streams[1].push(sse('message', { id: 'm1', role: 'bot', text: 'uno' }, 'ev-41'));
    t.server.streams[1].push(sse('message', { id: 'm2', role: 'bot', text: 'dos' }, 'ev-42'));
    await flush();
    expect(t.messages().map((e: any) => e.message.text)).toEqual(['uno', 'dos']);
  });

  it('backs off when the stream fails, and refreshes the token on 401', async () => {
    vi.useFakeTimers();
    try {
      let n = 0;
      const server = fakeApi({
        events: (c) => {
          n++;
          if (n === 1) return apiError(503, 'service_unavailable');
          if (n === 2) return apiError(401, 'token_expired');
          return new Response(new ReadableStream(), { headers: { 'Content-Type': 'text/event-stream' } });
        },
      });
      const client = new MisyClient({ fetch: server.fetch, storage: memoryStorage() });
      live.push(client);
      await client.init({ publicKey: 'pk', apiBase: 'https://api.example' });
      await vi.advanceTimersByTimeAsync(0);
      expect(server.of('events')).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(999);
      expect(server.of('events')).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(1);
      expect(server.of('events')).toHaveLength(3); // 401 → refresh → immediate retry
      expect(server.of('session')).toHaveLength(2);
    } finally {
      vi.useRealTimers();
    }
  });

  it('retries init while the network is down instead of failing', async () => {
    vi.useFakeTimers();
    try {
      let down = true;
      const server = fakeApi({
        config: () => {
          if (down) throw new TypeError('Failed to fetch');
          return json(CONFIG);
        },
      });
      const client = new MisyClient({ fetch: server.fetch, storage: memoryStorage() });
      live.push(client);
      let resolved = false;
      client.init({ publicKey: 'pk', apiBase: 'https://api.example' }).then(() => (resolved = true));
      await vi.advanceTimersByTimeAsync(3000);
      expect(resolved).toBe(false);
      down = false;
      await vi.advanceTimersByTimeAsync(4000);
      expect(resolved).toBe(true);
      expect(client.phase).toBe('ready');
    } finally {
      vi.useRealTimers();
    }
  });

  it('destroy() stops the stream and rejects further sends', async () => {
    const t = await started();
    t.client.destroy();
    await flush();
    expect(t.client.getSession()).toBeNull();
    await expect(t.client.sendMessage('hola')).rejects.toMatchObject({ code: 'not_initialized' });
  });
});
