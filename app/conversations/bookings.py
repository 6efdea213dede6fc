"""Booking requests collected by the bot when the tenant has no scheduling service.

They are requests, never confirmed slots: the business reads them through the API and confirms.
  {prefix}booking_draft:{user_id}   hash: service, when, name (what has been collected so far)
  {prefix}booking:{booking_id}      hash: the pending request
  {prefix}bookings:pending          zset booking_id -> created_at
"""
from __future__ import annotations

import secrets
import time

from app.storage.redis_store import TenantKeyspace

DRAFT_TTL_S = 24 * 3600
FIELDS = ("service", "when", "name")
DRAFT_KEYS = FIELDS + ("awaiting",)      # awaiting: the field we asked for last


class BookingStore:
    def __init__(self, keyspace: TenantKeyspace):
        self.keys = keyspace

    def draft(self, user_id: str) -> dict:
        return self.keys.redis.hgetall(self.keys.key("booking_draft", user_id))

    def update_draft(self, user_id: str, **values: str) -> dict:
        key = self.keys.key("booking_draft", user_id)
        clean = {k: v for k, v in values.items() if k in DRAFT_KEYS and v}
        if clean:
            self.keys.redis.hset(key, mapping=clean)
            self.keys.redis.expire(key, DRAFT_TTL_S)
        return self.draft(user_id)

    def clear_draft(self, user_id: str) -> None:
        self.keys.redis.delete(self.keys.key("booking_draft", user_id))

    def submit(self, user_id: str, channel: str, draft: dict) -> dict:
        booking_id = "bk_" + secrets.token_hex(8)
        now = time.time()
        record = {"booking_id": booking_id, "user_id": user_id, "channel": channel, "status": "pending",
                  "service": draft["service"], "requested_time": draft["when"], "name": draft["name"],
                  "created_at": now}
        pipe = self.keys.redis.pipeline(transaction=True)
        pipe.hset(self.keys.key("booking", booking_id), mapping=record)
        pipe.zadd(self.keys.key("bookings", "pending"), {booking_id: now})
        pipe.delete(self.keys.key("booking_draft", user_id))
        pipe.execute()
        return record

    def pending(self, page: int, per_page: int) -> tuple[list[dict], int]:
        r = self.keys.redis
        index = self.keys.key("bookings", "pending")
        total = r.zcard(index)
        start = (page - 1) * per_page
        ids = r.zrevrange(index, start, start + per_page - 1)
        pipe = r.pipeline(transaction=False)
        for booking_id in ids:
            pipe.hgetall(self.keys.key("booking", booking_id))
        rows = [h for h in pipe.execute() if h]
        for h in rows:
            h["created_at"] = float(h["created_at"])
        return rows, total
