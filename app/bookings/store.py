"""A company's appointments, and the booking requests the bot collected before it had an agenda.

Every way a slot becomes taken (create, reschedule, a staff confirmation of a pending request) goes through
one Lua script, so the check for a clash and the write are one atomic step per professional: 50 concurrent
attempts at one slot give exactly one booking. The same script counts the company's monthly booking limit
and records an Idempotency-Key, so neither can drift from the write.

Keys (all in the company's keyspace):
  {prefix}booking:{id}               hash: the booking (or pending request); customer contact data is PII
  {prefix}bookings:by_start          zset id -> start (epoch s): every booking with a slot, any status
  {prefix}bookings:pending           zset id -> created_at: requests waiting for staff
  {prefix}bookings:user:{user_id}    set of the end user's booking ids (export, erasure, "my bookings")
  {prefix}busy:{professional_id}     zset id -> busy_from (start minus buffer before), confirmed only
  {prefix}busy_to:{professional_id}  hash id -> busy_to (end plus buffer after)
  {prefix}idem:{sha256(key)}         "booking_id|request fingerprint", 24 h
  {prefix}usage:bookings:{yyyymm}    bookings made this month (the plan's monthly_bookings)
  {prefix}booking_draft:{user_id}    hash: what the chat has collected so far (24 h)
"""
from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from functools import cached_property
from typing import Callable, Iterable
from zoneinfo import ZoneInfo

from app.bookings.availability import Busy, Rules, Slot, SlotRefused, check_start, free_slots, local_midnight
from app.bookings.catalog import CatalogStore, Professional, Service
from app.security.rate_limits import month_key
from app.storage.redis_store import TenantKeyspace
from app.tenancy.config import TenantConfig
from graphs.tenant.state import BookingRefused

DRAFT_TTL_S = 24 * 3600
IDEMPOTENCY_TTL_S = 24 * 3600
MAX_SPAN_S = 2 * 86400          # no booking (service plus buffers) is longer than this
FIELDS = ("service", "when", "name")
BOOKING_ID = r"^bk_[a-z0-9]{1,37}$"      # "bk_" + 16 hex digits as we make them; the API's path check
STATUSES = ("pending", "confirmed", "cancelled", "completed", "no_show")
CUSTOMER_FIELDS = ("customer_name", "customer_phone", "customer_email")

# KEYS: busy, busy_to, booking, by_start, pending, idem, usage, old_busy, old_busy_to, user_index
# ARGV: id, busy_from, busy_to, max_span, start, use_idem, idem_value, idem_ttl, count_usage, limit, usage_ttl,
#       mode (create|move), expected_status, then field/value pairs for the booking hash
_CLAIM = """
if ARGV[6] == '1' then
  local seen = redis.call('GET', KEYS[6])
  if seen then return {'idem', seen} end
end
if ARGV[12] == 'move' then
  local status = redis.call('HGET', KEYS[3], 'status')
  if status ~= ARGV[13] then return {'status', status or ''} end
end
local busy_from, busy_to = tonumber(ARGV[2]), tonumber(ARGV[3])
local near = redis.call('ZRANGEBYSCORE', KEYS[1], busy_from - tonumber(ARGV[4]), '(' .. ARGV[3])
for _, other in ipairs(near) do
  if other ~= ARGV[1] and tonumber(redis.call('HGET', KEYS[2], other) or '0') > busy_from then
    return {'taken', other}
  end
end
if ARGV[9] == '1' then
  local used = tonumber(redis.call('GET', KEYS[7]) or '0')
  if used >= tonumber(ARGV[10]) then return {'limit', tostring(used)} end
  redis.call('INCR', KEYS[7])
  redis.call('EXPIRE', KEYS[7], ARGV[11])
end
if ARGV[12] == 'move' then
  redis.call('ZREM', KEYS[8], ARGV[1])
  redis.call('HDEL', KEYS[9], ARGV[1])
  redis.call('HINCRBY', KEYS[3], 'sequence', 1)
end
redis.call('ZADD', KEYS[1], busy_from, ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], busy_to)
for i = 14, #ARGV, 2 do redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1]) end
redis.call('ZADD', KEYS[4], tonumber(ARGV[5]), ARGV[1])
redis.call('ZREM', KEYS[5], ARGV[1])
local user = redis.call('HGET', KEYS[3], 'user_id')
if user and user ~= '' then redis.call('SADD', KEYS[10], ARGV[1]) end
if ARGV[6] == '1' then redis.call('SET', KEYS[6], ARGV[7], 'EX', ARGV[8]) end
return {'ok', ARGV[1]}
"""

# KEYS: busy_1, busy_to_1, busy_2, busy_to_2, ...; ARGV: lo, hi. For each professional, "from,to;from,to;..." of the
# intervals that can touch [lo, hi): one round trip, and only the window's entries (not the whole history).
_BUSY = """
local out = {}
for i = 1, #KEYS, 2 do
  local ids = redis.call('ZRANGEBYSCORE', KEYS[i], tonumber(ARGV[1]), '(' .. ARGV[2], 'WITHSCORES')
  local parts = {}
  if #ids > 0 then
    local members = {}
    for j = 1, #ids, 2 do members[#members + 1] = ids[j] end
    local ends = redis.call('HMGET', KEYS[i + 1], unpack(members))
    for j = 1, #members do
      if ends[j] then parts[#parts + 1] = ids[2 * j] .. ',' .. ends[j] end
    end
  end
  out[#out + 1] = table.concat(parts, ';')
end
return out
"""

# KEYS: booking, busy, busy_to; ARGV: new status, updated_at. Only a confirmed booking changes status.
_RELEASE = """
local status = redis.call('HGET', KEYS[1], 'status')
if status ~= 'confirmed' then return status or '' end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'updated_at', ARGV[2])
redis.call('HINCRBY', KEYS[1], 'sequence', 1)
if ARGV[1] == 'cancelled' then
  redis.call('ZREM', KEYS[2], KEYS[1]:match('[^:]+$'))
  redis.call('HDEL', KEYS[3], KEYS[1]:match('[^:]+$'))
end
return 'ok'
"""


class BookingError(BookingRefused):
    """A booking the store refuses: the API answers `status` with `code`."""
    status = 409

    def __init__(self, code: str, message: str, status: int | None = None, **details):
        super().__init__(message)
        self.code, self.message, self.details = code, message, details
        if status is not None:
            self.status = status


class SlotTaken(BookingError):
    def __init__(self, message: str = "that time was just taken; choose another one"):
        super().__init__("slot_taken", message, 409)


class BookingLimitReached(BookingError):
    def __init__(self, limit: int):
        super().__init__("monthly_booking_limit_reached",
                         f"this company's plan allows {limit} bookings a month and they are used up", 429,
                         limit="monthly_bookings")


@dataclass(frozen=True)
class Customer:
    name: str
    phone: str | None = None
    email: str | None = None
    user_id: str | None = None


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class BookingStore:
    def __init__(self, keyspace: TenantKeyspace, config: TenantConfig | None = None,
                 catalog: CatalogStore | None = None, notify: Callable[[str, dict], object] | None = None,
                 clock: Callable[[], float] = time.time):
        self.keys = keyspace
        self.config = config
        self.catalog = catalog if catalog is not None else CatalogStore(keyspace)
        self.notify = notify               # (event type, public booking) after each change; webhooks
        self.clock = clock

    # The booking scripts are registered on first use: a TenantContext (and so this store) is made for every
    # request, and most requests never book (the front desk's cost, bench/frontdesk_bench.py).
    @cached_property
    def _claim(self):
        return self.keys.redis.register_script(_CLAIM)

    @cached_property
    def _release(self):
        return self.keys.redis.register_script(_RELEASE)

    @cached_property
    def _busy(self):
        return self.keys.redis.register_script(_BUSY)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.config.timezone if self.config else "UTC")

    def rules(self) -> Rules:
        if self.config is None:
            raise RuntimeError("a booking store without its company's config cannot book")
        return Rules(self.config.booking, self.tz, self.clock())

    # -- chat drafts and pending requests (the bot without an agenda) ------------------------------------
    def draft(self, user_id: str) -> dict:
        return self.keys.redis.hgetall(self.keys.key("booking_draft", user_id))

    def update_draft(self, user_id: str, **values: str) -> dict:
        key = self.keys.key("booking_draft", user_id)
        clean = {k: v for k, v in values.items() if v}
        gone = [k for k, v in values.items() if v == "" or v is None]
        pipe = self.keys.redis.pipeline(transaction=True)
        if clean:
            pipe.hset(key, mapping=clean)
        if gone:
            pipe.hdel(key, *gone)
        pipe.expire(key, DRAFT_TTL_S)
        pipe.execute()
        return self.draft(user_id)

    def clear_draft(self, user_id: str) -> None:
        self.keys.redis.delete(self.keys.key("booking_draft", user_id))

    def submit(self, user_id: str, channel: str, draft: dict) -> dict:
        """A request for staff to confirm (no catalog, or the external scheduling service is down)."""
        booking_id = "bk_" + secrets.token_hex(8)
        now = self.clock()
        record = {"booking_id": booking_id, "user_id": user_id, "channel": channel, "status": "pending",
                  "service": draft["service"], "requested_time": draft["when"], "name": draft["name"],
                  "created_at": now, "source": "request"}
        pipe = self.keys.redis.pipeline(transaction=True)
        pipe.hset(self.keys.key("booking", booking_id), mapping=record)
        pipe.zadd(self.keys.key("bookings", "pending"), {booking_id: now})
        pipe.sadd(self.keys.key("bookings", "user", user_id), booking_id)
        pipe.delete(self.keys.key("booking_draft", user_id))
        pipe.execute()
        return record

    def pending(self, page: int, per_page: int) -> tuple[list[dict], int]:
        r = self.keys.redis
        index = self.keys.key("bookings", "pending")
        total = r.zcard(index)
        start = (page - 1) * per_page
        ids = r.zrevrange(index, start, start + per_page - 1)
        rows = [self.public(h) for h in self._load(ids) if h]
        return rows, total

    # -- availability --------------------------------------------------------------------------------
    def _bookable(self, service_id: str, professional_id: str | None) -> tuple[Service, list[Professional]]:
        service = self.catalog.service(service_id)
        if service is None or not service.active:
            raise BookingError("unknown_service", f"no active service {service_id!r}", 404)
        pros = self.catalog.professionals_for(service_id)
        if professional_id is not None:
            pros = [p for p in pros if p.id == professional_id]
            if not pros:
                known = self.catalog.professional(professional_id)
                if known is None or not known.active:
                    raise BookingError("unknown_professional", f"no active professional {professional_id!r}", 404)
                raise BookingError("professional_does_not_offer_service",
                                   f"{known.name} does not offer {service.name}", 422)
        return service, pros

    def busy(self, professional_ids: Iterable[str], start: int, end: int) -> dict[str, Busy]:
        ids = list(professional_ids)
        if not ids:
            return {}
        keys = [k for pid in ids for k in (self.keys.key("busy", pid), self.keys.key("busy_to", pid))]
        packed = self._busy(keys=keys, args=[start - MAX_SPAN_S, end])
        out = {}
        for pid, row in zip(ids, packed, strict=True):
            pairs = (part.split(",") for part in row.split(";")) if row else ()
            out[pid] = Busy.of((int(float(a)), int(float(b))) for a, b in pairs)
        return out

    def availability(self, service_id: str, professional_id: str | None, start: int, end: int,
                     limit: int = 1000) -> list[Slot]:
        service, pros = self._bookable(service_id, professional_id)
        return free_slots(service, pros, self.busy((p.id for p in pros), start, end), self.rules(), start, end, limit)

    # -- writes that take a slot ---------------------------------------------------------------------
    def create(self, service_id: str, start: int, customer: Customer | dict, professional_id: str | None = None,
               channel: str = "api", idempotency_key: str | None = None, fingerprint: str = "",
               source: str = "api") -> tuple[dict, bool]:
        """(booking, created). A retried Idempotency-Key returns the first booking with created False. The chat
        agents pass the customer as a dict (graphs/ holds no store types)."""
        if isinstance(customer, dict):
            customer = Customer(**customer)
        if idempotency_key:
            earlier = self._idempotent(idempotency_key, fingerprint)
            if earlier is not None:
                return earlier, False
        service, pros = self._bookable(service_id, professional_id)
        candidates = self._who_can_start(service, pros, start)
        booking_id = "bk_" + secrets.token_hex(8)
        for pro in candidates:          # without a professional named, the first one free at that time
            fields = self._fields(service, pro, start, customer, channel) | {
                "booking_id": booking_id, "status": "confirmed", "created_at": str(self.clock()),
                "source": source, "sequence": "0"}
            outcome = self._run_claim(booking_id, service, pro, start, fields, "create", idempotency_key, fingerprint)
            if outcome[0] == "ok":
                return self._changed(booking_id, "booking.created"), True
            if outcome[0] == "idem":
                earlier = self._idempotent(idempotency_key or "", fingerprint)
                if earlier is not None:
                    return earlier, False
        raise SlotTaken()

    def reschedule(self, booking_id: str, start: int, professional_id: str | None = None,
                   enforce_window: bool = True) -> dict:
        record = self._record(booking_id)
        if record["status"] != "confirmed":
            raise BookingError("booking_not_active", f"a {record['status']} booking cannot be moved")
        if enforce_window:
            self._check_window(record)
        service, pros = self._bookable(record["service_id"], professional_id or record["professional_id"])
        pro = self._who_can_start(service, pros[:1], start)[0]
        fields = self._fields(service, pro, start, None, record.get("channel", "api"))
        outcome = self._run_claim(booking_id, service, pro, start, fields, "move", None, "", expected="confirmed",
                                  old_professional=record["professional_id"], user_id=record.get("user_id"))
        self._raise_unless_ok(outcome)
        return self._changed(booking_id, "booking.rescheduled")

    def confirm_request(self, booking_id: str, service_id: str, start: int, professional_id: str | None = None) -> dict:
        """Staff turn a pending request into an appointment: the same atomic check as any booking."""
        record = self._record(booking_id)
        if record["status"] != "pending":
            raise BookingError("booking_not_pending", f"booking {booking_id} is {record['status']}, not pending")
        service, pros = self._bookable(service_id, professional_id)
        candidates = self._who_can_start(service, pros, start)
        customer = Customer(record.get("name") or record.get("customer_name") or "", None, None, record.get("user_id"))
        for pro in candidates:
            fields = self._fields(service, pro, start, customer, record.get("channel", "api")) | {
                "status": "confirmed", "sequence": "0"}
            outcome = self._run_claim(booking_id, service, pro, start, fields, "move", None, "", expected="pending",
                                      old_professional=pro.id)
            if outcome[0] == "ok":
                return self._changed(booking_id, "booking.created")
            if outcome[0] != "taken":
                self._raise_unless_ok(outcome)
        raise SlotTaken()

    def _who_can_start(self, service: Service, pros: list[Professional], start: int) -> list[Professional]:
        """The professionals whose hours, grid and rules allow this start; the first refusal otherwise (422)."""
        rules = self.rules()
        candidates, refusal = [], None
        for pro in pros:
            try:
                check_start(service, pro, start, rules)
                candidates.append(pro)
            except SlotRefused as exc:
                refusal = refusal or exc
        if not candidates:
            if refusal is None:
                raise BookingError("no_professional", f"nobody offers {service.name} at the moment", 422)
            raise BookingError(refusal.code, refusal.message, 422)
        return candidates

    def cancel(self, booking_id: str, enforce_window: bool = True) -> dict:
        record = self._record(booking_id)
        if record["status"] == "pending":
            return self._cancel_request(booking_id)
        if enforce_window and record["status"] == "confirmed":
            self._check_window(record)
        return self._release_as(booking_id, record, "cancelled", "booking.cancelled")

    def set_status(self, booking_id: str, status: str) -> dict:
        """Staff mark what happened: completed or no_show (only once the appointment has started)."""
        if status not in ("completed", "no_show"):
            raise BookingError("invalid_status", "status must be completed or no_show", 422)
        record = self._record(booking_id)
        if record["status"] == "confirmed" and float(record["start_ts"]) > self.clock():
            raise BookingError("not_started", "an appointment can be marked only once it has started")
        return self._release_as(booking_id, record, status, "booking.status_changed")

    # -- reads ---------------------------------------------------------------------------------------
    def get(self, booking_id: str) -> dict | None:
        rows = self._load([booking_id])
        return self.public(rows[0]) if rows and rows[0] else None

    def list_bookings(self, page: int, per_page: int, *, day: str | None = None, professional_id: str | None = None,
                      user_id: str | None = None, status: str | None = None) -> tuple[list[dict], int]:
        if status == "pending" and not (day or professional_id):
            rows, total = self.pending(page, per_page)
            if user_id:
                rows = [r for r in rows if r["customer"]["user_id"] == user_id]
            return rows, total if not user_id else len(rows)
        r = self.keys.redis
        if day:
            first = date.fromisoformat(day)
            ids = self._ids_between(int(local_midnight(first, self.tz).timestamp()),
                                    int(local_midnight(first + timedelta(days=1), self.tz).timestamp()))
        else:
            ids = r.zrange(self.keys.key("bookings", "by_start"), 0, -1)
        if user_id:
            mine = r.smembers(self.keys.key("bookings", "user", user_id))
            ids = [i for i in ids if i in mine]
        rows = [h for h in self._load(ids) if h]
        rows = [h for h in rows if (not professional_id or h.get("professional_id") == professional_id)
                and (not status or h.get("status") == status)]
        total = len(rows)
        begin = (page - 1) * per_page
        return [self.public(h) for h in rows[begin:begin + per_page]], total

    def list_range(self, start: int, end: int) -> list[dict]:
        """Every booking with a slot starting in [start, end), earliest first (calendar feeds)."""
        return [self.public(h) for h in self._load(self._ids_between(start, end)) if h]

    def _ids_between(self, start: int, end: int) -> list[str]:
        return self.keys.redis.zrangebyscore(self.keys.key("bookings", "by_start"), start, f"({end}")

    def for_user(self, user_id: str, upcoming_only: bool = False) -> list[dict]:
        ids = sorted(self.keys.redis.smembers(self.keys.key("bookings", "user", user_id)))
        rows = [self.public(h) for h in self._load(ids) if h]
        if upcoming_only:
            now = self.clock()
            rows = [b for b in rows if b["status"] == "confirmed" and b["start_ts"] > now]
        return sorted(rows, key=lambda b: b.get("start_ts") or 0)

    # -- data-subject rights -------------------------------------------------------------------------
    def export_user(self, user_id: str) -> dict:
        return {"draft": self.draft(user_id) or None, "bookings": self.for_user(user_id)}

    def erase_user(self, user_id: str) -> dict:
        """Remove the customer's personal data from their bookings. The appointments stay in the agenda
        (the slot is still taken) without a name, phone or e-mail; pending requests are deleted."""
        r = self.keys.redis
        index = self.keys.key("bookings", "user", user_id)
        ids = set(r.smembers(index)) | set(self._scan_user_records(user_id))
        pipe = r.pipeline(transaction=True)
        erased = deleted = 0
        for h in self._load(sorted(ids)):
            if not h or h.get("user_id") != user_id:
                continue
            key = self.keys.key("booking", h["booking_id"])
            if h.get("status") == "pending":
                pipe.delete(key)
                pipe.zrem(self.keys.key("bookings", "pending"), h["booking_id"])
                deleted += 1
            else:
                pipe.hset(key, mapping={f: "" for f in CUSTOMER_FIELDS} | {"user_id": "", "customer_erased": "1",
                                                                               "updated_at": _now_iso()})
                erased += 1
        pipe.delete(index, self.keys.key("booking_draft", user_id))
        dropped = pipe.execute()[-1]
        return {"anonymized_bookings": erased, "deleted_requests": deleted, "deleted_keys": int(dropped)}

    # -- helpers -------------------------------------------------------------------------------------
    def public(self, h: dict) -> dict:
        tz = self.tz

        def iso(ts: str | None) -> str | None:
            return datetime.fromtimestamp(float(ts), tz).isoformat() if ts else None

        if h.get("status") == "pending" and not h.get("start_ts"):
            return {"booking_id": h["booking_id"], "status": "pending", "service_id": None,
                    "service_name": h.get("service"), "professional_id": None, "professional_name": None,
                    "start": None, "end": None, "start_ts": None, "requested_time": h.get("requested_time"),
                    "timezone": str(tz), "price": None, "currency": None,
                    "customer": {"name": h.get("name") or None, "phone": None, "email": None,
                                 "user_id": h.get("user_id") or None},
                    "channel": h.get("channel"), "source": h.get("source", "request"),
                    "created_at": _iso_utc(h.get("created_at")), "updated_at": None, "sequence": 0}
        return {"booking_id": h["booking_id"], "status": h["status"], "service_id": h.get("service_id"),
                "service_name": h.get("service_name"), "professional_id": h.get("professional_id"),
                "professional_name": h.get("professional_name"), "start": iso(h.get("start_ts")),
                "end": iso(h.get("end_ts")), "start_ts": int(float(h["start_ts"])),
                "requested_time": h.get("requested_time"), "timezone": str(tz),
                "price": float(h["price"]) if h.get("price") else None, "currency": h.get("currency") or None,
                "customer": {"name": h.get("customer_name") or h.get("name") or None,
                             "phone": h.get("customer_phone") or None, "email": h.get("customer_email") or None,
                             "user_id": h.get("user_id") or None},
                "channel": h.get("channel"), "source": h.get("source", "api"),
                "created_at": _iso_utc(h.get("created_at")), "updated_at": h.get("updated_at") or None,
                "sequence": int(h.get("sequence") or 0)}

    def _load(self, ids: Iterable[str]) -> list[dict]:
        pipe = self.keys.redis.pipeline(transaction=False)
        for booking_id in ids:
            pipe.hgetall(self.keys.key("booking", booking_id))
        return pipe.execute()

    def _record(self, booking_id: str) -> dict:
        try:
            record = self.keys.redis.hgetall(self.keys.key("booking", booking_id))
        except ValueError:
            record = {}
        if not record:
            raise BookingError("booking_not_found", f"no booking {booking_id!r}", 404)
        return record

    def _scan_user_records(self, user_id: str) -> list[str]:
        out = []
        for key in self.keys.scan_keys("booking"):
            if self.keys.redis.type(key) == "hash" and self.keys.redis.hget(key, "user_id") == user_id:
                out.append(key.rsplit(":", 1)[-1])
        return out

    def _fields(self, service: Service, pro: Professional, start: int, customer: Customer | None,
                channel: str) -> dict:
        end = start + service.duration_minutes * 60
        fields = {"service_id": service.id, "service_name": service.name, "professional_id": pro.id,
                  "professional_name": pro.name, "start_ts": str(start), "end_ts": str(end),
                  "busy_from": str(start - service.buffer_before_minutes * 60),
                  "busy_to": str(end + service.buffer_after_minutes * 60),
                  "price": "" if service.price is None else repr(service.price), "currency": service.currency or "",
                  "channel": channel, "updated_at": _now_iso()}
        if customer is not None:
            fields |= {"customer_name": customer.name, "customer_phone": customer.phone or "",
                       "customer_email": customer.email or "", "user_id": customer.user_id or ""}
        return fields

    def _run_claim(self, booking_id: str, service: Service, pro: Professional, start: int, fields: dict, mode: str,
                   idempotency_key: str | None, fingerprint: str, expected: str = "", old_professional: str = "",
                   user_id: str | None = None):
        k = self.keys
        limit = self.config.limits.monthly_bookings if self.config else 0
        counts = mode == "create" or expected == "pending"
        user = fields.get("user_id") or user_id or "-"
        keys = [k.key("busy", pro.id), k.key("busy_to", pro.id), k.key("booking", booking_id),
                k.key("bookings", "by_start"), k.key("bookings", "pending"),
                k.key("idem", _digest(idempotency_key or "-")), k.key("usage", "bookings", month_key()),
                k.key("busy", old_professional or pro.id), k.key("busy_to", old_professional or pro.id),
                k.key("bookings", "user", user)]
        args: list = [booking_id, fields["busy_from"], fields["busy_to"], MAX_SPAN_S, start,
                      "1" if idempotency_key else "0", f"{booking_id}|{fingerprint}", IDEMPOTENCY_TTL_S,
                      "1" if counts and self.config else "0", limit, 40 * 86400, mode, expected]
        for name, value in fields.items():
            args += [name, value]
        kind, value = self._claim(keys=keys, args=args)
        if kind == "limit":
            raise BookingLimitReached(limit)
        return kind, value

    def _raise_unless_ok(self, outcome) -> None:
        kind, value = outcome
        if kind == "taken":
            raise SlotTaken()
        if kind == "status":
            raise BookingError("booking_not_active", f"the booking changed meanwhile (now {value or 'gone'})")

    def _idempotent(self, idempotency_key: str, fingerprint: str) -> dict | None:
        seen = self.keys.redis.get(self.keys.key("idem", _digest(idempotency_key)))
        if not seen:
            return None
        booking_id, _, first = seen.partition("|")
        if first != fingerprint:
            raise BookingError("idempotency_key_reused", "this Idempotency-Key was used for a different booking", 422)
        return self.get(booking_id)

    def _check_window(self, record: dict) -> None:
        hours = self.config.booking.cancellation_window_hours if self.config else 0
        if float(record["start_ts"]) - self.clock() < hours * 3600:
            raise BookingError("cancellation_window_passed",
                               f"bookings can be changed or cancelled up to {hours} hours before they start")

    def _release_as(self, booking_id: str, record: dict, status: str, event: str) -> dict:
        pid = record.get("professional_id") or "-"
        result = self._release(keys=[self.keys.key("booking", booking_id), self.keys.key("busy", pid),
                                     self.keys.key("busy_to", pid)], args=[status, _now_iso()])
        if result != "ok":
            raise BookingError("booking_not_active", f"a {result or 'missing'} booking cannot become {status}")
        return self._changed(booking_id, event)

    def _cancel_request(self, booking_id: str) -> dict:
        pipe = self.keys.redis.pipeline(transaction=True)
        pipe.hset(self.keys.key("booking", booking_id), mapping={"status": "cancelled", "updated_at": _now_iso()})
        pipe.zrem(self.keys.key("bookings", "pending"), booking_id)
        pipe.execute()
        booking = self.get(booking_id)
        assert booking is not None
        return booking

    def _changed(self, booking_id: str, event: str) -> dict:
        """The booking as written, after a change; the observers (webhooks, events) hear of it."""
        booking = self.get(booking_id)
        assert booking is not None
        if self.notify is not None:
            self.notify(event, booking)
        return booking


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def _iso_utc(ts) -> str | None:
    try:
        return datetime.fromtimestamp(float(ts), timezone.utc).isoformat(timespec="seconds")
    except (TypeError, ValueError):
        return None


def fingerprint(body: dict) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()[:32]
