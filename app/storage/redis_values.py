"""Type-aware, portable copies of Redis keys (string, hash, list, set, sorted set, stream) with their TTL.

Used by migration, backup and restore. Unlike DUMP/RESTORE, the format does not depend on the Redis
version, so a backup from a Redis 7 server restores into the embedded 6.2 one and back.
"""
from __future__ import annotations

import hashlib
import json

import redis


class UnsupportedKeyType(ValueError):
    pass


def read_value(r: redis.Redis, key: str) -> dict | None:
    """{"type", "value", "ttl_ms"} for a key, or None if it does not exist."""
    kind = r.type(key)
    if kind == "none":
        return None
    if kind == "string":
        value = r.get(key)
    elif kind == "hash":
        value = r.hgetall(key)
    elif kind == "list":
        value = r.lrange(key, 0, -1)
    elif kind == "set":
        value = sorted(r.smembers(key))
    elif kind == "zset":
        value = [[m, s] for m, s in r.zrange(key, 0, -1, withscores=True)]
    elif kind == "stream":
        value = [[entry_id, fields] for entry_id, fields in r.xrange(key)]      # ids kept: readers resume by id
    else:
        raise UnsupportedKeyType(f"{key}: type {kind} is not supported")
    ttl = r.pttl(key)
    return {"type": kind, "value": value, "ttl_ms": ttl if ttl > 0 else None}


def write_value(r: redis.Redis, key: str, dumped: dict) -> None:
    """Write a value read by read_value, atomically replacing whatever was at `key`."""
    pipe = r.pipeline(transaction=True)
    pipe.delete(key)
    kind, value = dumped["type"], dumped["value"]
    if kind == "string":
        pipe.set(key, value)
    elif kind == "hash":
        if value:
            pipe.hset(key, mapping=value)
    elif kind == "list":
        if value:
            pipe.rpush(key, *value)
    elif kind == "set":
        if value:
            pipe.sadd(key, *value)
    elif kind == "zset":
        if value:
            pipe.zadd(key, {m: s for m, s in value})
    elif kind == "stream":
        for entry_id, fields in value:
            pipe.xadd(key, fields, id=entry_id)
    else:
        raise UnsupportedKeyType(f"{key}: type {kind} is not supported")
    if dumped.get("ttl_ms"):
        pipe.pexpire(key, int(dumped["ttl_ms"]))
    pipe.execute()


def checksum(dumped: dict | None) -> str | None:
    """A checksum of type and content (not TTL, which ticks down)."""
    if dumped is None:
        return None
    canonical = json.dumps({"type": dumped["type"], "value": dumped["value"]}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()
