"""Signed webhooks to the company about its bookings: at least once, each event under one stable id.

Event types: booking.created, booking.rescheduled, booking.cancelled, booking.status_changed. The body is fixed
when the event is queued and sent byte for byte the same on every attempt:
  {"id": "evt_<24 hex>", "type": "booking.created", "created_at": "2026-12-07T10:00:00+00:00",
   "data": {"booking": {...the booking record...}}}

Customer contact: the booking goes out whole, with the customer's name, phone and email. The endpoint is the
company's own, about its own customer, and staff need the contact to confirm or reschedule; it is the company's
data, and the channel is authenticated (HMAC) and should be HTTPS. What we keep is limited instead: the queued event
expires after 7 days, and logs name only the event id, type, tenant prefix and HTTP status.

Each attempt carries
  X-Misy-Event-Id: evt_…          the same on every retry: receivers deduplicate on it
  X-Misy-Event-Type: booking.created
  X-Misy-Timestamp: unix seconds  of this attempt
  X-Misy-Signature: v1=<hex HMAC-SHA256(secret, "{timestamp}.{raw body}")>
and a receiver checks it with `verify_webhook` (constant-time, with a ±5 min window against replays).
Delivery is the worker's (app/workers/webhooks.py): one platform-wide queue serves every tenant.

Keys:
  {prefix}webhook:secret         the signing secret (`whsec_…`), encrypted with the Vault
  {prefix}webhook:event:{id}     hash: body (the JSON sent), type, created_at, attempts, last_status; 7 days
  misybot:{webhooks}:due         zset "{prefix}|{event_id}" -> due unix time (for all tenants)
  misybot:{webhooks}:dead        zset "{prefix}|{event_id}" -> when delivery was given up
"""
from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time
from datetime import UTC, datetime

from app.security.vault import Vault
from app.storage.redis_store import TenantKeyspace, in_order
from app.tenancy.config import PLATFORM_REDIS_PREFIX

EVENT_TYPES = ("booking.created", "booking.rescheduled", "booking.cancelled", "booking.status_changed")
EVENT_TTL_S = 7 * 86400
DUE = f"{PLATFORM_REDIS_PREFIX}{{webhooks}}:due"      # one hash tag: a give-up moves a member from one to the other
DEAD = f"{PLATFORM_REDIS_PREFIX}{{webhooks}}:dead"
SIGNATURE_VERSION = "v1"
EVENT_ID = re.compile(r"^evt_[0-9a-f]{24}$")
_TIMESTAMP = re.compile(r"^[0-9]{1,12}$")


def queue_member(prefix: str, event_id: str) -> str:
    return f"{prefix}|{event_id}"


def parse_member(member: str) -> tuple[str, str]:
    """(redis prefix, event id) of a queue member."""
    prefix, _, event_id = member.rpartition("|")
    return prefix, event_id


def event_key(keyspace: TenantKeyspace, event_id: str) -> str:
    return keyspace.key("webhook", "event", event_id)


# -- signatures -------------------------------------------------------------------------------------------------
def _key(secret: bytes | str) -> bytes:
    return secret.encode() if isinstance(secret, str) else secret


def sign_webhook(secret: bytes | str, timestamp: str | int, body: bytes) -> str:
    """The X-Misy-Signature value: `v1=<hex HMAC-SHA256(secret, "{timestamp}.{body}")>`."""
    mac = hmac.new(_key(secret), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_VERSION}={mac}"


def verify_webhook(secret: bytes | str, timestamp: str | int | None, body: bytes, signature: str | None,
                   tolerance_s: int = 300, now: float | None = None) -> bool:
    """True when `signature` (the X-Misy-Signature header; several comma-separated `v1=` values are accepted)
    signs this exact body at this timestamp, and the timestamp is within ±tolerance_s of now."""
    ts = str(timestamp) if timestamp is not None else ""
    if not _TIMESTAMP.match(ts) or not signature:
        return False
    if abs((time.time() if now is None else now) - int(ts)) > tolerance_s:
        return False
    expected = sign_webhook(secret, ts, body)
    candidates = [c.strip() for c in signature.split(",") if c.strip().startswith(f"{SIGNATURE_VERSION}=")]
    # Compare against every candidate (no early exit) so the time taken says nothing about which one matched.
    return any([hmac.compare_digest(expected.encode(), c.encode()) for c in candidates])


# -- the company's side: its secret and its queued events -------------------------------------------------------
class BookingWebhooks:
    """One company's booking webhooks. `url` None means the company has none: nothing is queued."""

    def __init__(self, keyspace: TenantKeyspace, vault: Vault, url: str | None):
        self.keyspace = keyspace
        self.redis = keyspace.redis
        self.vault = vault
        self.url = url
        self._secret_key = keyspace.key("webhook", "secret")

    def secret(self) -> str:
        """The signing secret, created on first use (concurrent first calls agree on one)."""
        enc = self.redis.get(self._secret_key)
        if not enc:
            self.redis.set(self._secret_key, self.vault.encrypt(self._new_secret()), nx=True)
            enc = self.redis.get(self._secret_key)
        return self.vault.decrypt(enc)

    def rotate_secret(self) -> str:
        """A new secret, in force at once: every later attempt (retries of queued events too) is signed with it."""
        new = self._new_secret()
        self.redis.set(self._secret_key, self.vault.encrypt(new))
        return new

    @staticmethod
    def _new_secret() -> str:
        return "whsec_" + secrets.token_urlsafe(32)

    def enqueue(self, event_type: str, booking: dict) -> str | None:
        """Queue an event for delivery now; returns its id (None when the company has no webhook URL)."""
        if event_type not in EVENT_TYPES:
            raise ValueError(f"unknown booking event type {event_type!r}")
        if not self.url:
            return None
        self.secret()                    # the company can read its secret before the first event arrives
        event_id = "evt_" + secrets.token_hex(12)
        created_at = datetime.now(UTC).isoformat(timespec="seconds")
        event = {"id": event_id, "type": event_type, "created_at": created_at, "data": {"booking": booking}}
        body = json.dumps(event, ensure_ascii=False, separators=(",", ":"), default=str)
        key = event_key(self.keyspace, event_id)
        # The event first, then its place in the queue: a crash in between (Cluster) leaves an event nobody
        # sends, which expires, never a queue member without its event.
        in_order(self.redis,
                 lambda pipe: (pipe.hset(key, mapping={"body": body, "type": event_type, "created_at": created_at,
                                                       "attempts": 0}),
                               pipe.expire(key, EVENT_TTL_S)),
                 lambda pipe: pipe.zadd(DUE, {queue_member(self.keyspace.prefix, event_id): time.time()}))
        return event_id
