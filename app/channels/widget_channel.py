"""The website widget as a channel: what a visitor's browser receives besides the HTTP answer.

  {prefix}widget:ev:{visitor}             stream of events for the visitor's page (SSE, GET /v1/widget/events):
                                          message, delta, typing, handoff, booking, error; ~500 kept, 7 days
  {prefix}widget:reply:{visitor}:{key}    the answer to a message sent with that Idempotency-Key (1 day), or
                                          "pending" while its turn runs: a retry never runs the turn twice
  {prefix}widget:profile:{visitor}        hash: name, email, phone the page passed to misy.init (encrypted)
  {prefix}widget:cwconv:{visitor}         "account:conversation" in Chatwoot once a person took the conversation
  {prefix}widget:cw:{account}:{conv}      the visitor of that Chatwoot conversation (app/channels/widget_bridge.py)

A widget conversation's user id is `web-<visitor id>`; everything that changes such a conversation (a turn,
a handoff or release from any path, a booking, a person's reply from Chatwoot) publishes here, so the page
sees it whichever process or channel made the change.
"""
from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass

from app.storage.redis_store import TenantKeyspace

WEB_PREFIX = "web-"
EVENT_TYPES = ("message", "delta", "typing", "handoff", "booking", "error")
STREAM_MAXLEN = 500
STREAM_TTL_S = 7 * 24 * 3600
REPLY_TTL_S = 24 * 3600
PENDING_TTL_S = 150          # longer than a turn may take (the conversation lock's lifetime)
PROFILE_FIELDS = ("name", "email", "phone")


def user_id_for(visitor_id: str) -> str:
    return WEB_PREFIX + visitor_id


def visitor_of(user_id: str) -> str | None:
    """The visitor of a widget conversation's user id, or None for other channels' users."""
    return user_id[len(WEB_PREFIX):] if user_id.startswith(WEB_PREFIX) else None


@dataclass(frozen=True)
class WidgetEvent:
    id: str             # the stream id: the SSE `id:` a reconnecting page sends back as Last-Event-ID
    type: str
    data: dict

    def sse(self) -> str:
        return f"id: {self.id}\nevent: {self.type}\ndata: {json.dumps(self.data, ensure_ascii=False)}\n\n"


class WidgetChannel:
    def __init__(self, keyspace: TenantKeyspace, vault):
        self.keys = keyspace
        self.vault = vault

    # -- events --------------------------------------------------------------------------------------
    def _stream(self, visitor_id: str) -> str:
        return self.keys.key("widget", "ev", visitor_id)

    def publish(self, visitor_id: str, type_: str, data: dict) -> str:
        if type_ not in EVENT_TYPES:
            raise ValueError(f"unknown widget event {type_!r}")
        key = self._stream(visitor_id)
        pipe = self.keys.redis.pipeline(transaction=False)
        pipe.xadd(key, {"type": type_, "data": json.dumps(data, ensure_ascii=False)},
                  maxlen=STREAM_MAXLEN, approximate=True)
        pipe.expire(key, STREAM_TTL_S)
        event_id, _ = pipe.execute()
        return event_id

    def publish_for_user(self, user_id: str, type_: str, data: dict) -> str | None:
        """Publish when the conversation is a widget visitor's; other channels' users are not ours."""
        visitor = visitor_of(user_id)
        return self.publish(visitor, type_, data) if visitor else None

    def last_id(self, visitor_id: str) -> str:
        """Where a new page starts reading: after what is already there (it has the history for that)."""
        last = self.keys.redis.xrevrange(self._stream(visitor_id), count=1)
        return last[0][0] if last else "0-0"

    def read(self, visitor_id: str, after: str, block_ms: int) -> list[WidgetEvent]:
        """Events after `after`, waiting up to block_ms for the first one (0: not at all)."""
        # XREAD's BLOCK 0 would wait forever: no BLOCK at all is "don't wait".
        got = self.keys.redis.xread({self._stream(visitor_id): after}, count=100, block=block_ms or None)
        events = []
        for _stream, entries in got or []:
            for event_id, fields in entries:
                try:
                    events.append(WidgetEvent(event_id, fields["type"], json.loads(fields["data"])))
                except (KeyError, ValueError):
                    continue            # a damaged entry is skipped, never fatal to the stream
        return events

    def follow(self, visitor_id: str, after: str, duration_s: float, keepalive_s: float = 15.0,
               block_ms: int = 4000) -> Iterator[WidgetEvent | None]:
        """Events as they come for duration_s; None now and then (a keep-alive for the connection)."""
        deadline = time.monotonic() + duration_s
        quiet_since = time.monotonic()
        while time.monotonic() < deadline:
            wait = int(min(block_ms, max(1, (deadline - time.monotonic()) * 1000)))
            events = self.read(visitor_id, after, wait)
            for event in events:
                after = event.id
                yield event
            if events:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= keepalive_s:
                quiet_since = time.monotonic()
                yield None

    # -- idempotent messages -------------------------------------------------------------------------
    def _reply_key(self, visitor_id: str, idempotency_key: str) -> str:
        return self.keys.key("widget", "reply", visitor_id, idempotency_key)

    def claim_message(self, visitor_id: str, idempotency_key: str) -> dict | str | None:
        """None: this message is new and now ours to run. "pending": its first attempt is still running.
        A dict: the answer it already got."""
        key = self._reply_key(visitor_id, idempotency_key)
        if self.keys.redis.set(key, "pending", nx=True, ex=PENDING_TTL_S):
            return None
        raw = self.keys.redis.get(key)
        if raw is None:                       # expired between the two calls: try once more
            return None if self.keys.redis.set(key, "pending", nx=True, ex=PENDING_TTL_S) else "pending"
        return "pending" if raw == "pending" else json.loads(raw)

    def store_reply(self, visitor_id: str, idempotency_key: str, reply: dict) -> None:
        self.keys.redis.set(self._reply_key(visitor_id, idempotency_key), json.dumps(reply, ensure_ascii=False),
                            ex=REPLY_TTL_S)

    def forget_message(self, visitor_id: str, idempotency_key: str) -> None:
        """The turn was refused or failed: a retry with the same key runs it again."""
        self.keys.redis.delete(self._reply_key(visitor_id, idempotency_key))

    # -- the visitor's own details -------------------------------------------------------------------
    def _profile(self, visitor_id: str) -> str:
        return self.keys.key("widget", "profile", visitor_id)

    def set_profile(self, visitor_id: str, profile: dict[str, str], ttl_s: int) -> None:
        values = {k: self.vault.encrypt(v) for k, v in profile.items() if k in PROFILE_FIELDS and v}
        if values:
            key = self._profile(visitor_id)
            self.keys.redis.hset(key, mapping=values)
            self.keys.redis.expire(key, ttl_s)

    def profile(self, visitor_id: str) -> dict[str, str]:
        raw = self.keys.redis.hgetall(self._profile(visitor_id))
        return {k: self.vault.decrypt(v) for k, v in raw.items() if k in PROFILE_FIELDS}

    # -- the Chatwoot conversation a person answers it in --------------------------------------------
    def link_chatwoot(self, visitor_id: str, account_id: int, conversation_id: int) -> None:
        pipe = self.keys.redis.pipeline(transaction=True)
        pipe.set(self.keys.key("widget", "cwconv", visitor_id), f"{account_id}:{conversation_id}", ex=STREAM_TTL_S)
        pipe.set(self.keys.key("widget", "cw", str(account_id), str(conversation_id)), visitor_id, ex=STREAM_TTL_S)
        pipe.execute()

    def chatwoot_of(self, visitor_id: str) -> tuple[int, int] | None:
        raw = self.keys.redis.get(self.keys.key("widget", "cwconv", visitor_id))
        if not raw:
            return None
        account, conversation = raw.split(":")
        return int(account), int(conversation)

    def visitor_of_chatwoot(self, account_id: int, conversation_id: int) -> str | None:
        return self.keys.redis.get(self.keys.key("widget", "cw", str(account_id), str(conversation_id)))

    # -- data-subject rights (user ids are the conversation's: web-<visitor>) ------------------------
    def export_user(self, user_id: str) -> dict:
        visitor = visitor_of(user_id)
        if visitor is None:
            return {}
        events = self.keys.redis.xrange(self._stream(visitor))
        return {"profile": self.profile(visitor), "chatwoot_conversation": self.chatwoot_of(visitor),
                "events": [{"type": f.get("type"), "data": json.loads(f.get("data", "{}"))} for _, f in events]}

    def erase_user(self, user_id: str) -> int:
        visitor = visitor_of(user_id)
        if visitor is None:
            return 0
        replies = self.keys.key("widget", "reply", visitor) + ":"
        keys = [self._stream(visitor), self._profile(visitor), self.keys.key("widget", "cwconv", visitor),
                *(k for k in self.keys.scan_keys("widget") if k.startswith(replies))]
        linked = self.chatwoot_of(visitor)
        if linked:
            keys.append(self.keys.key("widget", "cw", *map(str, linked)))
        return int(self.keys.redis.delete(*keys))


def status_to_widget(widget: WidgetChannel, user_id: str, status: str, reason: str | None) -> None:
    """ConversationStore's on_status hook: a handoff or release reaches the visitor's page."""
    widget.publish_for_user(user_id, "handoff", {"status": "human" if status == "handoff" else "bot",
                                                 "reason": reason})


def widget_booking(booking: dict) -> dict:
    """What the visitor's page shows of a booking (the SDK's Booking): no contact details travel in events."""
    return {"id": booking.get("booking_id"), "status": booking.get("status"),
            "service": booking.get("service_name") or booking.get("service"),
            "professional": booking.get("professional_name") or booking.get("professional"),
            "start": booking.get("start"), "end": booking.get("end"), "timezone": booking.get("timezone"),
            "price": booking.get("price"), "currency": booking.get("currency")}
