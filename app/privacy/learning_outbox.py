"""The tenant side of the global meta-agent: candidate learnings waiting to be anonymized.

  {prefix}meta_outbox   list of JSON items, oldest first:
                        {"user_id", "question", "answered", "agent", "language", "ts"}

Items still hold the customer's own words, so they never leave the tenant's keyspace: the meta worker
(app/workers/meta.py) anonymizes each one, checks it a second time, and only then writes anything
to the global collection. Until then they belong to the user: export lists them, erasure and a
revoked `global_learning` consent delete them. Every change except push happens under one lock, so a
removal can never shift the items a worker is about to trim.
"""
from __future__ import annotations

import json
import time

from app.storage.redis_store import TenantKeyspace

KIND = "meta_outbox"
MAX_ITEMS = 10_000          # a stalled worker cannot grow a tenant's outbox without bound


class OutboxBusy(RuntimeError):
    pass


class LearningOutbox:
    def __init__(self, keyspace: TenantKeyspace):
        self.keys = keyspace

    @property
    def _key(self) -> str:
        return self.keys.key(KIND)

    def _locked(self):
        return self.keys.exclusive(KIND, timeout_s=60, wait_s=10, busy=OutboxBusy("the learning outbox is busy"))

    def push(self, user_id: str, question: str, answered: bool, agent: str, language: str) -> None:
        item = {"user_id": user_id, "question": question, "answered": answered, "agent": agent,
                "language": language, "ts": time.time()}
        pipe = self.keys.redis.pipeline(transaction=True)
        pipe.rpush(self._key, json.dumps(item, ensure_ascii=False))
        pipe.ltrim(self._key, -MAX_ITEMS, -1)
        pipe.execute()

    def drain(self, batch: int, handle) -> int:
        """Hand the oldest `batch` items to `handle(items)`; remove them only once it returned."""
        with self._locked():
            raw = self.keys.redis.lrange(self._key, 0, batch - 1)
            if not raw:
                return 0
            handle([json.loads(r) for r in raw])
            self.keys.redis.ltrim(self._key, len(raw), -1)
            return len(raw)

    def for_user(self, user_id: str) -> list[dict]:
        return [item for item in map(json.loads, self.keys.redis.lrange(self._key, 0, -1))
                if item.get("user_id") == user_id]

    def drop_user(self, user_id: str) -> int:
        with self._locked():
            removed = 0
            for raw in self.keys.redis.lrange(self._key, 0, -1):
                if json.loads(raw).get("user_id") == user_id:
                    removed += self.keys.redis.lrem(self._key, 0, raw)
            return removed

    def size(self) -> int:
        return int(self.keys.redis.llen(self._key))
