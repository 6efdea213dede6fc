"""Conversation memory and bot status per end user, in the tenant's Redis keyspace.

  {prefix}conversation:{user_id}   list of JSON turns, newest last, trimmed to memory.max_messages, TTL
  {prefix}conversations            zset user_id -> last activity (unix time), for listing
  {prefix}bot_status:{user_id}     hash: status active|handoff, reason, since
  {prefix}lock:conversation:{id}   per-conversation lock: one turn at a time
"""
from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import Callable

import redis

from app.storage.redis_store import TenantKeyspace
from app.tenancy.config import MemoryConfig

LEASE_S = 10.0
USER_ID_PATTERN = re.compile(r"^[A-Za-z0-9._:@+-]{1,128}$")


def _turn(raw: str) -> dict | None:
    """One stored turn. Migrated single-tenant histories may hold other JSON or plain text."""
    try:
        turn = json.loads(raw)
    except ValueError:
        return {"role": "user", "content": raw}
    if isinstance(turn, dict) and isinstance(turn.get("content"), str):
        return {**turn, "role": turn.get("role") if turn.get("role") in ("user", "assistant") else "user"}
    return None


class ConversationBusy(RuntimeError):
    """Another turn of the same conversation held the lock for too long (503, retry)."""


@dataclass(frozen=True)
class BotStatus:
    status: str            # "active" or "handoff"
    reason: str | None
    since: float | None

    @property
    def handed_off(self) -> bool:
        return self.status == "handoff"


class ConversationStore:
    def __init__(self, keyspace: TenantKeyspace, memory: MemoryConfig,
                 on_status: Callable[[str, str, str | None], None] | None = None):
        self.keys = keyspace
        self.memory = memory
        # Told (user_id, "handoff"|"active", reason) whenever a person takes or gives back a conversation,
        # whichever path did it (a turn, the API, Chatwoot): the widget's page hears it this way.
        self.on_status = on_status

    @property
    def _index(self) -> str:
        return self.keys.key("conversations")

    def turn_lock(self, user_id: str, wait_s: float = 30.0):
        """Two messages of one conversation run one after the other, never interleaved."""
        # A 10 s lease renewed while the turn runs: a turn may take longer (an LLM answer), and a process that
        # dies mid-turn holds its customers for seconds, not minutes.
        return self.keys.exclusive("conversation", user_id, timeout_s=LEASE_S, wait_s=wait_s, renew=True,
                                   busy=ConversationBusy(
            "this conversation is still answering a previous message; retry shortly"))

    def history(self, user_id: str, limit: int | None = None) -> list[dict]:
        try:
            raw = self.keys.redis.lrange(self.keys.key("conversation", user_id), -(limit or self.memory.max_messages), -1)
        except redis.exceptions.ResponseError:
            return []            # a key of another shape (migrated from a single-tenant deployment)
        return [t for t in map(_turn, raw) if t]

    def status_and_history(self, user_id: str, limit: int | None = None) -> tuple["BotStatus", list[dict]]:
        """status() and history() in one round trip: every turn needs both, one after the other."""
        pipe = self.keys.redis.pipeline(transaction=False)
        pipe.hgetall(self.keys.key("bot_status", user_id))
        pipe.lrange(self.keys.key("conversation", user_id), -(limit or self.memory.max_messages), -1)
        status, raw = pipe.execute(raise_on_error=False)
        for result in (status, raw):
            # a key of another shape (a legacy flag, a migrated history) reads as nothing, as in status()/history()
            if isinstance(result, Exception) and not isinstance(result, redis.exceptions.ResponseError):
                raise result
        return (self._status(status if isinstance(status, dict) else {}),
                [t for t in map(_turn, raw) if t] if isinstance(raw, list) else [])

    def append(self, user_id: str, *turns: dict) -> None:
        key = self.keys.key("conversation", user_id)
        now = time.time()
        pipe = self.keys.redis.pipeline(transaction=True)
        pipe.rpush(key, *[json.dumps({**t, "ts": t.get("ts", now)}, ensure_ascii=False) for t in turns])
        pipe.ltrim(key, -self.memory.max_messages, -1)
        pipe.expire(key, self.memory.ttl_hours * 3600)
        pipe.zadd(self._index, {user_id: now})
        pipe.execute()

    def list(self, page: int, per_page: int) -> tuple[list[dict], int]:
        r = self.keys.redis
        # Drop index entries whose history expired (TTL) before counting.
        cutoff = time.time() - self.memory.ttl_hours * 3600
        r.zremrangebyscore(self._index, "-inf", cutoff)
        total = r.zcard(self._index)
        start = (page - 1) * per_page
        rows = r.zrevrange(self._index, start, start + per_page - 1, withscores=True)
        out = []
        for user_id, ts in rows:
            status = self.status(user_id)
            try:
                messages = r.llen(self.keys.key("conversation", user_id))
            except redis.exceptions.ResponseError:
                messages = 0
            out.append({"user_id": user_id, "last_activity": ts, "messages": messages, "status": status.status})
        return out, total

    def exists(self, user_id: str) -> bool:
        return bool(self.keys.redis.exists(self.keys.key("conversation", user_id)))

    def delete(self, user_id: str) -> bool:
        pipe = self.keys.redis.pipeline(transaction=True)
        # The conversation's placeholder mapping (app/privacy/placeholder_store.py) goes with it.
        pipe.delete(self.keys.key("conversation", user_id), self.keys.key("bot_status", user_id),
                    self.keys.key("pii_map", user_id))
        pipe.zrem(self._index, user_id)
        deleted, _ = pipe.execute()
        return bool(deleted)

    # -- bot on/off ----------------------------------------------------------------------------------
    def status(self, user_id: str) -> BotStatus:
        try:
            h = self.keys.redis.hgetall(self.keys.key("bot_status", user_id))
        except redis.exceptions.ResponseError:
            return BotStatus("active", None, None)     # a legacy string flag: not our handoff record
        return self._status(h)

    @staticmethod
    def _status(h: dict) -> BotStatus:
        if not h or h.get("status") != "handoff":
            return BotStatus("active", None, None)
        return BotStatus("handoff", h.get("reason"), float(h.get("since", 0)))

    def hand_off(self, user_id: str, reason: str) -> None:
        key = self.keys.key("bot_status", user_id)
        already = self.status(user_id).handed_off
        self.keys.redis.hset(key, mapping={"status": "handoff", "reason": reason, "since": time.time()})
        self.keys.redis.expire(key, self.memory.ttl_hours * 3600)
        if self.on_status and not already:
            self.on_status(user_id, "handoff", reason)

    def release(self, user_id: str) -> bool:
        released = bool(self.keys.redis.delete(self.keys.key("bot_status", user_id)))
        if released and self.on_status:
            self.on_status(user_id, "active", None)
        return released
