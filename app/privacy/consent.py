"""End-user consent per tenant: the current state of each consent type, and the proof of how it got there.

  {prefix}consent:{user_id}       hash: consent type -> JSON {"type", "status": granted|revoked, "granted_at",
                                  "revoked_at", "updated_at", "channel", "source"} (no TTL: consent outlives
                                  the conversation)
  {prefix}consent_log:{user_id}   list of JSON events {"type", "status", "at", "channel", "source"}, oldest
                                  first, append-only, capped at LOG_LIMIT entries

Absence is an answer: no record means no consent (`allows` is False). Migrated single-tenant data may
hold a `consent:{user_id}` key of another shape; it is never read as a grant, and the first recorded
choice keeps its old value in the log before replacing it.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone

import redis

from app.channels.formatting import CHANNELS
from app.storage.redis_store import TenantKeyspace
from app.storage.redis_values import UnsupportedKeyType, read_value

CONSENT_TYPES = ("data_processing", "global_learning", "marketing")
CONSENT_CHANNELS = tuple(dict.fromkeys((*CHANNELS, "api")))
STATUSES = ("granted", "revoked")
LOG_LIMIT = 200
MAX_SOURCE_CHARS = 200


class ConsentError(ValueError):
    """An unknown consent type or channel: a caller's mistake, never stored."""


def now_iso() -> str:
    """UTC, millisecond precision: two choices made in one second still read in order."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _record(raw: str | None, consent_type: str) -> dict | None:
    """A stored record, or None when the field is missing or not in our format (legacy data)."""
    if not raw:
        return None
    try:
        rec = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(rec, dict) or rec.get("status") not in STATUSES:
        return None
    return {**rec, "type": consent_type}


class ConsentStore:
    def __init__(self, keyspace: TenantKeyspace):
        self.keys = keyspace

    def _key(self, user_id: str) -> str:
        return self.keys.key("consent", user_id)

    def _log_key(self, user_id: str) -> str:
        return self.keys.key("consent_log", user_id)

    @staticmethod
    def check(consent_type: str, channel: str) -> None:
        if consent_type not in CONSENT_TYPES:
            raise ConsentError(f"consent_type must be one of {', '.join(CONSENT_TYPES)}")
        if channel not in CONSENT_CHANNELS:
            raise ConsentError(f"channel must be one of {', '.join(CONSENT_CHANNELS)}")

    def record(self, user_id: str, consent_type: str, granted: bool, channel: str,
               source: str | None = None) -> dict:
        """Store a choice and its log event in one transaction (WATCH on the record, so two choices made
        at once never lose a timestamp). Each status keeps the time it was first entered: revoking keeps
        granted_at, re-granting keeps revoked_at, repeating the current status changes neither."""
        self.check(consent_type, channel)
        if source is not None and len(source) > MAX_SOURCE_CHARS:
            raise ConsentError(f"source must be at most {MAX_SOURCE_CHARS} characters")
        key, log_key = self._key(user_id), self._log_key(user_id)
        status = "granted" if granted else "revoked"

        def txn(pipe: redis.client.Pipeline) -> dict:
            now = now_iso()
            legacy = None
            kind = pipe.type(key)
            if kind not in ("hash", "none"):
                try:
                    legacy = read_value(pipe, key)
                except UnsupportedKeyType:
                    legacy = {"type": kind, "value": None}
                previous = None
            else:
                previous = _record(pipe.hget(key, consent_type), consent_type)
            same = previous is not None and previous["status"] == status
            rec = {"type": consent_type, "status": status,
                   "granted_at": (previous or {}).get("granted_at"),
                   "revoked_at": (previous or {}).get("revoked_at"),
                   "updated_at": now, "channel": channel, "source": source}
            if not same:
                rec[f"{status}_at"] = now
            event = {"type": consent_type, "status": status, "at": now, "channel": channel, "source": source}
            pipe.multi()
            if legacy is not None:
                # The old value is the only evidence of what was agreed before the migration: keep it.
                pipe.rpush(log_key, json.dumps({"type": "legacy_record", "status": "superseded", "at": now,
                                                "value": legacy["value"]}, ensure_ascii=False))
                pipe.delete(key)
            pipe.hset(key, consent_type, json.dumps(rec, ensure_ascii=False))
            pipe.rpush(log_key, json.dumps(event, ensure_ascii=False))
            pipe.ltrim(log_key, -LOG_LIMIT, -1)
            return rec

        return self.keys.redis.transaction(txn, key, value_from_callable=True)

    def get(self, user_id: str) -> dict[str, dict]:
        try:
            raw = self.keys.redis.hgetall(self._key(user_id))
        except redis.exceptions.ResponseError:
            return {}           # a legacy key of another shape: not a consent we can read
        out = {}
        for consent_type in CONSENT_TYPES:
            rec = _record(raw.get(consent_type), consent_type)
            if rec is not None:
                out[consent_type] = rec
        return out

    def state(self, user_id: str, consent_type: str) -> str:
        if consent_type not in CONSENT_TYPES:
            raise ConsentError(f"consent_type must be one of {', '.join(CONSENT_TYPES)}")
        try:
            rec = _record(self.keys.redis.hget(self._key(user_id), consent_type), consent_type)
        except redis.exceptions.ResponseError:
            return "unknown"
        return rec["status"] if rec else "unknown"

    def allows(self, user_id: str, consent_type: str) -> bool:
        """True only for an explicit grant: unknown, revoked and unreadable all mean no."""
        return self.state(user_id, consent_type) == "granted"

    def history(self, user_id: str) -> list[dict]:
        try:
            raw = self.keys.redis.lrange(self._log_key(user_id), 0, -1)
        except redis.exceptions.ResponseError:
            return []
        out = []
        for item in raw:
            try:
                event = json.loads(item)
            except ValueError:
                continue
            if isinstance(event, dict):
                out.append(event)
        return out

    def erase(self, user_id: str) -> int:
        return int(self.keys.redis.delete(self._key(user_id), self._log_key(user_id)))
