// @vitest-environment jsdom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Api, type WireReply } from '../src/api';
import { MisyError } from '../src/errors';
import { SendQueue, uuid, type QueueItem } from '../src/queue';
import { memoryStorage, type KV } from '../src/storage';
import { apiError, fakeApi, json } from './helpers';

const QKEY = 'misy:pk_test:queue';

function reply(call: { headers: Record<string, string>; body: any }) {
  return json({
    id: 'r_' + call.body.message,
    reply_to: call.headers['idempotency-key'],
    bot_response: 'eco: ' + call.body.message,
    agent: 'sales',
    sources: [],
    handoff: false,
    status: 'bot',
  });
}

async function setup(messages: (call: any, n: number) => Response | Promise<Response>, opts: { online?: () => boolean; storage?: KV } = {}) {
  const server = fakeApi({ messages });
  const storage = opts.storage || memoryStorage();
  const api = new Api('https://api.example', 'pk_test', storage, server.fetch);
  await api.startSession();
  const changes: QueueItem[] = [];
  const notices: string[] = [];
  const delivered: string[] = [];
  const queue = new SendQueue<WireReply>({
    post: (text, key) => api.postMessage(text, key),
    storage,
    storageKey: QKEY,
    isOnline: opts.online,
    onChange: (i) => changes.push(i),
    onNotice: (code) => notices.push(code),
    onDelivered: (i) => delivered.push(i.text),
  });
  const posted = () => server.of('messages').map((c) => [c.body.message, c.headers['idempotency-key']]);
  return { server, api, storage, queue, changes, notices, delivered, posted };
}

describe('send queue', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('makes RFC 4122 v4 keys', () => {
    expect(uuid()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(uuid()).not.toBe(uuid());
    const saved = globalThis.crypto.randomUUID;
    (globalThis.crypto as any).randomUUID = undefined;
    try {
      expect(uuid()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    } finally {
      (globalThis.crypto as any).randomUUID = saved;
    }
  });

  it('reuses the Idempotency-Key on every retry and backs off 1 s, 2 s', async () => {
    const t = await setup((call, n) => (n < 3 ? apiError(503, 'service_unavailable') : reply(call)));
    const { item, done } = t.queue.enqueue('hola');
    await vi.advanceTimersByTimeAsync(0);
    expect(t.posted()).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(999);
    expect(t.posted()).toHaveLength(1); // not before 1 s
    await vi.advanceTimersByTimeAsync(1);
    expect(t.posted()).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1999);
    expect(t.posted()).toHaveLength(2); // then 2 s
    await vi.advanceTimersByTimeAsync(1);
    const r = await done;
    expect(r.bot_response).toBe('eco: hola');
    const keys = t.posted().map((p) => p[1]);
    expect(keys).toEqual([item.key, item.key, item.key]);
    expect(t.server.of('messages')[0].headers.authorization).toBe('Bearer ' + t.api.token);
    expect(t.changes.map((c) => c.state)).toEqual(['queued', 'sending', 'sent']);
  });

  it('marks a message failed after a handful of 5xx and lets retry() resend it with the same key', async () => {
    let fail = true;
    const t = await setup((call) => (fail ? apiError(500, 'internal') : reply(call)));
    const { item, done } = t.queue.enqueue('uno');
    await vi.advanceTimersByTimeAsync(60_000);
    await expect(done).rejects.toMatchObject({ code: 'internal', status: 500 });
    expect(t.posted()).toHaveLength(5);
    expect(t.queue.items[0].state).toBe('failed');
    fail = false;
    const again = t.queue.retry(item.key)!;
    await vi.advanceTimersByTimeAsync(0);
    expect((await again).id).toBe('r_uno');
    expect(new Set(t.posted().map((p) => p[1]))).toEqual(new Set([item.key]));
    expect(t.queue.items).toHaveLength(0);
  });

  it('keeps order: a message waiting on backoff holds the ones behind it', async () => {
    const t = await setup((call, n) => (n === 1 ? apiError(503, 'service_unavailable') : reply(call)));
    const a = t.queue.enqueue('A');
    const b = t.queue.enqueue('B');
    const c = t.queue.enqueue('C');
    await vi.advanceTimersByTimeAsync(500);
    expect(t.posted().map((p) => p[0])).toEqual(['A']);
    await vi.advanceTimersByTimeAsync(600);
    await Promise.all([a.done, b.done, c.done]);
    expect(t.posted().map((p) => p[0])).toEqual(['A', 'A', 'B', 'C']);
    expect(t.delivered).toEqual(['A', 'B', 'C']);
  });

  it('a definitive failure (400) does not block later messages', async () => {
    const t = await setup((call) => (call.body.message === 'malo' ? apiError(400, 'invalid_message') : reply(call)));
    const bad = t.queue.enqueue('malo');
    const good = t.queue.enqueue('bueno');
    await vi.advanceTimersByTimeAsync(0);
    await expect(bad.done).rejects.toBeInstanceOf(MisyError);
    await expect(good.done).resolves.toMatchObject({ id: 'r_bueno' });
    expect(t.notices).toContain('invalid_message');
    expect(t.posted().map((p) => p[0])).toEqual(['malo', 'bueno']);
  });

  it('queues while offline, persists, and flushes once, in order, when back online', async () => {
    let online = false;
    const storage = memoryStorage();
    const t = await setup((call) => reply(call), { online: () => online, storage });
    const a = t.queue.enqueue('uno');
    const b = t.queue.enqueue('dos');
    await vi.advanceTimersByTimeAsync(0);
    expect(t.posted()).toHaveLength(0);
    expect(t.queue.items.map((i) => i.state)).toEqual(['queued', 'queued']);
    expect(t.notices).toContain('network_error');
    const saved = JSON.parse(storage.getItem(QKEY)!);
    expect(saved.map((s: any) => s.text)).toEqual(['uno', 'dos']);

    online = true;
    window.dispatchEvent(new Event('online'));
    window.dispatchEvent(new Event('online'));
    await vi.advanceTimersByTimeAsync(0);
    await Promise.all([a.done, b.done]);
    // A later timer tick must not resend anything.
    await vi.advanceTimersByTimeAsync(60_000);
    expect(t.posted()).toEqual([
      ['uno', a.item.key],
      ['dos', b.item.key],
    ]);
    expect(storage.getItem(QKEY)).toBeNull();
  });

  it('treats a throwing fetch as offline and re-probes on a timer with the same key', async () => {
    let down = true;
    const t = await setup((call) => {
      if (down) throw new TypeError('Failed to fetch');
      return reply(call);
    });
    const { item, done } = t.queue.enqueue('sin red');
    await vi.advanceTimersByTimeAsync(0);
    expect(t.queue.items[0].state).toBe('queued');
    await vi.advanceTimersByTimeAsync(1000 + 2000);
    expect(t.posted()).toHaveLength(3);
    down = false;
    await vi.advanceTimersByTimeAsync(4000);
    await expect(done).resolves.toMatchObject({ id: 'r_sin red' });
    expect(new Set(t.posted().map((p) => p[1]))).toEqual(new Set([item.key]));
  });

  it('respects Retry-After on 429 even if the browser fires online meanwhile', async () => {
    const t = await setup((call, n) => (n === 1 ? apiError(429, 'rate_limited', { 'Retry-After': '3' }) : reply(call)));
    const { done } = t.queue.enqueue('rápido');
    await vi.advanceTimersByTimeAsync(0);
    expect(t.notices).toEqual(['rate_limited']);
    window.dispatchEvent(new Event('online'));
    t.queue.kick();
    await vi.advanceTimersByTimeAsync(2999);
    expect(t.posted()).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    await expect(done).resolves.toBeTruthy();
    expect(t.posted()).toHaveLength(2);
    expect(t.posted()[0][1]).toBe(t.posted()[1][1]);
  });

  it('does not retry monthly_quota_exceeded', async () => {
    const t = await setup(() => apiError(429, 'monthly_quota_exceeded', { 'Retry-After': '86400' }));
    const { done } = t.queue.enqueue('hola');
    await vi.advanceTimersByTimeAsync(0);
    await expect(done).rejects.toMatchObject({ code: 'monthly_quota_exceeded' });
    expect(t.queue.items[0].state).toBe('failed');
  });

  it('resends restored messages after a reload with their original keys', async () => {
    const storage = memoryStorage();
    let online = false;
    const first = await setup((call) => reply(call), { online: () => online, storage });
    const a = first.queue.enqueue('antes de recargar');
    await vi.advanceTimersByTimeAsync(0);
    first.queue.dispose(); // the page goes away

    online = true;
    const second = await setup((call) => reply(call), { online: () => true, storage });
    const restored = second.queue.restore();
    expect(restored.map((i) => [i.key, i.state])).toEqual([[a.item.key, 'queued']]);
    second.queue.kick();
    await vi.advanceTimersByTimeAsync(0);
    expect(second.posted()).toEqual([['antes de recargar', a.item.key]]);
    expect(storage.getItem(QKEY)).toBeNull();
  });
});
