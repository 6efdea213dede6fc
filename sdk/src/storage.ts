/**
 * localStorage wrappers. Storage may be missing or throw (Safari private mode, blocked third-party
 * storage, quota): the chat must still work, so every failure degrades to an in-memory copy.
 */

export interface KV {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export function memoryStorage(): KV {
  const map = new Map<string, string>();
  return {
    getItem: (k) => (map.has(k) ? (map.get(k) as string) : null),
    setItem: (k, v) => void map.set(k, String(v)),
    removeItem: (k) => void map.delete(k),
  };
}

/** `window.localStorage` when usable, else an in-memory store. */
export function defaultStorage(): KV {
  try {
    const ls = window.localStorage;
    const probe = '__misy_probe__';
    ls.setItem(probe, '1');
    ls.removeItem(probe);
    return ls;
  } catch {
    return memoryStorage();
  }
}

export function readJSON<T>(kv: KV, key: string): T | null {
  try {
    const raw = kv.getItem(key);
    return raw ? (JSON.parse(raw) as T) : null;
  } catch {
    return null;
  }
}

export function writeJSON(kv: KV, key: string, value: unknown): void {
  try {
    if (value === null || value === undefined) kv.removeItem(key);
    else kv.setItem(key, JSON.stringify(value));
  } catch {
    /* quota or disabled storage: keep going in memory */
  }
}

export interface StoredVisitor {
  visitor_token: string;
  visitor_id: string;
}

/** Where a company's visitor is remembered: `misy:<publicKey>`, as the server contract says. */
export function visitorKey(publicKey: string): string {
  return 'misy:' + publicKey;
}

/** Where unsent messages wait across reloads. */
export function queueKey(publicKey: string): string {
  return 'misy:' + publicKey + ':queue';
}

/** The visitor token/id of one publishable key. */
export class VisitorStore {
  constructor(private readonly kv: KV, private readonly publicKey: string) {}

  load(): StoredVisitor | null {
    const v = readJSON<StoredVisitor>(this.kv, visitorKey(this.publicKey));
    return v && typeof v.visitor_token === 'string' && v.visitor_token ? v : null;
  }

  save(v: StoredVisitor): void {
    writeJSON(this.kv, visitorKey(this.publicKey), { visitor_token: v.visitor_token, visitor_id: v.visitor_id });
  }

  clear(): void {
    writeJSON(this.kv, visitorKey(this.publicKey), null);
  }
}
