import { afterEach, describe, expect, it, vi } from 'vitest';
import { Api } from '../src/api';
import { VisitorStore, memoryStorage, visitorKey } from '../src/storage';
import { apiError, fakeApi, json, sessionBody } from './helpers';

describe('visitor store', () => {
  it('saves and restores the visitor per public key under misy:<pk>', () => {
    const kv = memoryStorage();
    const a = new VisitorStore(kv, 'pk_live_a');
    const b = new VisitorStore(kv, 'pk_live_b');
    expect(a.load()).toBeNull();
    a.save({ visitor_token: 'vt_a', visitor_id: 'v_a' });
    expect(JSON.parse(kv.getItem('misy:pk_live_a')!)).toEqual({ visitor_token: 'vt_a', visitor_id: 'v_a' });
    expect(b.load()).toBeNull();
    b.save({ visitor_token: 'vt_b', visitor_id: 'v_b' });
    expect(new VisitorStore(kv, 'pk_live_a').load()).toEqual({ visitor_token: 'vt_a', visitor_id: 'v_a' });
    expect(new VisitorStore(kv, 'pk_live_b').load()!.visitor_id).toBe('v_b');
    a.clear();
    expect(a.load()).toBeNull();
    expect(b.load()).not.toBeNull();
  });

  it('ignores corrupt data and survives a throwing storage', () => {
    const kv = memoryStorage();
    kv.setItem(visitorKey('pk'), '{not json');
    expect(new VisitorStore(kv, 'pk').load()).toBeNull();
    const broken = {
      getItem: () => {
        throw new Error('SecurityError');
      },
      setItem: () => {
        throw new Error('QuotaExceededError');
      },
      removeItem: () => {},
    };
    const s = new VisitorStore(broken, 'pk');
    expect(s.load()).toBeNull();
    expect(() => s.save({ visitor_token: 'x', visitor_id: 'y' })).not.toThrow();
  });
});

describe('session', () => {
  afterEach(() => vi.useRealTimers());

  it('sends the stored visitor token and user, stores the new one, keeps the token in memory only', async () => {
    const kv = memoryStorage();
    new VisitorStore(kv, 'pk_1').save({ visitor_token: 'vt_old', visitor_id: 'v_1' });
    const server = fakeApi({ session: () => json(sessionBody({ visitor_token: 'vt_new', token: 'jwt_secret' })) });
    const api = new Api('https://api.example/', 'pk_1', kv, server.fetch, { name: 'Ana' });
    const info = await api.startSession();
    const call = server.of('session')[0];
    expect(call.method).toBe('POST');
    expect(call.url).toBe('https://api.example/v1/widget/session?pk=pk_1');
    expect(call.body).toEqual({ visitor_token: 'vt_old', user: { name: 'Ana' } });
    expect(info).toMatchObject({ visitorId: 'v_1', companyId: 'benova', status: 'bot' });
    expect(info.expiresAt).toBeGreaterThan(Date.now() + 800_000);
    expect(JSON.parse(kv.getItem('misy:pk_1')!)).toEqual({ visitor_token: 'vt_new', visitor_id: 'v_1' });
    expect(JSON.stringify([kv.getItem('misy:pk_1')])).not.toContain('jwt_secret');
    api.close();
  });

  it('omits user and visitor_token when there are none', async () => {
    const server = fakeApi();
    const api = new Api('https://api.example', 'pk_2', memoryStorage(), server.fetch);
    await api.startSession();
    expect(server.of('session')[0].body).toEqual({});
    api.close();
  });

  it('drops a visitor token the server rejects and starts a fresh visitor', async () => {
    const kv = memoryStorage();
    new VisitorStore(kv, 'pk').save({ visitor_token: 'vt_bad', visitor_id: 'v_old' });
    const server = fakeApi({
      session: (c) => (c.body.visitor_token ? apiError(401, 'invalid_visitor_token') : json(sessionBody({ visitor_id: 'v_new' }))),
    });
    const api = new Api('https://api.example', 'pk', kv, server.fetch);
    expect((await api.startSession()).visitorId).toBe('v_new');
    expect(server.of('session')).toHaveLength(2);
    api.close();
  });

  it('refreshes about 60 s before expiry', async () => {
    vi.useFakeTimers();
    const server = fakeApi({ session: () => json(sessionBody({ expires_in: 900 })) });
    const api = new Api('https://api.example', 'pk', memoryStorage(), server.fetch);
    await api.startSession();
    const first = api.token;
    await vi.advanceTimersByTimeAsync(839_000);
    expect(server.of('session')).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(server.of('session')).toHaveLength(2);
    expect(api.token).not.toBe(first);
    // The refresh presents the stored visitor token (and the still-valid session token).
    expect(server.of('session')[1].body.visitor_token).toBe('vt_1');
    expect(server.of('session')[1].headers.authorization).toBe('Bearer ' + first);
    api.close();
  });

  it('on 401 token_expired refreshes once and retries the request once', async () => {
    const server = fakeApi({
      history: (c) => (c.headers.authorization === 'Bearer stale' ? apiError(401, 'token_expired') : json({ status: 'human', messages: [] })),
    });
    const api = new Api('https://api.example', 'pk', memoryStorage(), server.fetch);
    await api.startSession();
    api.token = 'stale';
    const h = await api.history();
    expect(h.status).toBe('human');
    expect(server.of('session')).toHaveLength(2);
    expect(server.of('history').map((c) => c.headers.authorization)).toEqual(['Bearer stale', 'Bearer ' + api.token]);
    api.close();
  });

  it('does not loop when the refreshed token is refused too', async () => {
    const server = fakeApi({ history: () => apiError(401, 'invalid_token') });
    const api = new Api('https://api.example', 'pk', memoryStorage(), server.fetch);
    await api.startSession();
    await expect(api.history()).rejects.toMatchObject({ code: 'invalid_token', status: 401 });
    expect(server.of('history')).toHaveLength(2);
    expect(server.of('session')).toHaveLength(2);
    api.close();
  });

  it('shares one refresh between concurrent 401s', async () => {
    let valid = '';
    const server = fakeApi({
      session: () => {
        const s = sessionBody();
        valid = s.token as string;
        return json(s);
      },
      history: (c) => (c.headers.authorization === 'Bearer ' + valid ? json({ messages: [] }) : apiError(401, 'token_expired')),
    });
    const api = new Api('https://api.example', 'pk', memoryStorage(), server.fetch);
    await api.startSession();
    valid = 'rotated-elsewhere';
    await Promise.all([api.history(), api.history(), api.history()]);
    expect(server.of('session')).toHaveLength(2);
    api.close();
  });
});
