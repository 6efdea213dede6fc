"""iCalendar (RFC 5545) feeds of a company's bookings, and the secret tokens that open them.

The feed is what a clinic subscribes to from Google Calendar, Outlook or Apple Calendar. Subscribed calendars get
shared inside the clinic, so an event names the service and the customer's first name only: never a phone number,
an email or a surname. Cancelled bookings stay in the feed as STATUS:CANCELLED with a higher SEQUENCE, which is how
a subscribed calendar learns to drop an event it already shows.

Times are written in UTC (`DTSTART:20261215T200000Z`): an exact instant needs no VTIMEZONE (icalendar's generated
ones only cover 1970–2038), and every client shows the event in its viewer's zone anyway. X-WR-TIMEZONE names the
company's zone for clients that use it as the calendar's default.

Feed tokens: the URL carries a random token (`secrets.token_urlsafe(24)`); the platform keeps only its SHA-256.
  misybot:icalfeed:{sha256 hex of the token}  -> company_id                (the lookup a feed request resolves)
  {prefix}calendar:feed_token                 -> the token itself          (so the company can see its URL again)
Both live on the one Redis server, so creating or rotating a token changes them in one MULTI: the old URL stops
working at the instant the new one starts.
"""
from __future__ import annotations

import hashlib
import logging
import re
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import redis
from icalendar import Calendar, Event, vDuration

from app.storage.redis_store import TenantKeyspace
from app.tenancy.config import PLATFORM_REDIS_PREFIX

log = logging.getLogger("misybot.bookings.calendar")

PRODID = "-//Misybot//Bookings//ES"
UID_DOMAIN = "misybot"
REFRESH = timedelta(minutes=15)   # how often subscribed clients should poll (most apply their own floor)
FEED_LOOKUP_PREFIX = f"{PLATFORM_REDIS_PREFIX}icalfeed:"

# Anything else (a pending request) is TENTATIVE.
_ICAL_STATUS = {"confirmed": "CONFIRMED", "completed": "CONFIRMED", "no_show": "CONFIRMED", "cancelled": "CANCELLED"}
_STATUS_LABEL = {"pending": "pendiente", "confirmed": "confirmada", "completed": "completada", "no_show": "no asistió",
                 "cancelled": "cancelada"}
FEED_TOKEN_PATTERN = r"^[A-Za-z0-9_-]{16,128}$"
_TOKEN = re.compile(FEED_TOKEN_PATTERN)


# -- the feed ---------------------------------------------------------------------------------------------------
def booking_calendar(bookings: Iterable[dict], *, company_name: str, location: str | None, calendar_name: str,
                     timezone: str) -> bytes:
    """One VCALENDAR with a VEVENT per booking. A booking whose times cannot be read is left out (and logged by
    id) rather than failing the whole feed."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", calendar_name)
    cal.add("x-wr-caldesc", f"Citas de {company_name}")
    cal.add("x-wr-timezone", timezone)
    cal.add("x-published-ttl", vDuration(REFRESH))
    cal.add("refresh-interval", vDuration(REFRESH), parameters={"VALUE": "DURATION"})    # RFC 7986 wants VALUE
    for booking in bookings:
        try:
            event = booking_event(booking, location=location, default_timezone=timezone)
        except (KeyError, TypeError, ValueError) as exc:
            log.warning("booking left out of the calendar feed: %s", type(exc).__name__,
                        extra={"booking_id": booking.get("booking_id") if isinstance(booking, dict) else None})
            continue
        cal.add_component(event)
    return cal.to_ical()


def booking_event(booking: dict, *, location: str | None, default_timezone: str) -> Event:
    """The VEVENT of one booking (raises KeyError/TypeError/ValueError on a record without readable times)."""
    booking_id = str(booking["booking_id"])
    zone = booking.get("timezone") or default_timezone
    start = _instant(booking["start"], zone)
    end = _instant(booking["end"], zone)
    if end < start:
        raise ValueError("the booking ends before it starts")
    status = str(booking.get("status") or "")
    ev = Event()
    ev.add("uid", f"{booking_id}@{UID_DOMAIN}")
    ev.add("dtstamp", _optional_instant(booking.get("updated_at"), zone) or datetime.now(tz=UTC))
    created = _optional_instant(booking.get("created_at"), zone)
    if created:
        ev.add("created", created)
    modified = _optional_instant(booking.get("updated_at"), zone)
    if modified:
        ev.add("last-modified", modified)
    ev.add("dtstart", start)
    ev.add("dtend", end)
    ev.add("summary", event_summary(booking))
    if location:
        ev.add("location", location)
    ev.add("description", _description(booking, status))
    ev.add("status", _ICAL_STATUS.get(status, "TENTATIVE"))
    ev.add("sequence", max(int(booking.get("sequence") or 0), 0))
    ev.add("transp", "TRANSPARENT" if status == "cancelled" else "OPAQUE")
    return ev


def event_summary(booking: dict) -> str:
    """"{service} — {customer first name}"; just the service when the customer's data was erased."""
    service = str(booking.get("service_name") or booking.get("service_id") or "Cita")
    customer = booking.get("customer")
    # The nested record as documented; a flat `customer_name` (the store's hash field) is read too.
    name = customer.get("name") if isinstance(customer, dict) and customer else booking.get("customer_name")
    first = first_name(name)
    return f"{service} — {first}" if first else service


def first_name(name: object) -> str:
    parts = str(name).split() if name else []
    return parts[0][:40] if parts else ""


def _description(booking: dict, status: str) -> str:
    lines = []
    if booking.get("professional_name"):
        lines.append(f"Profesional: {booking['professional_name']}")
    lines.append(f"Estado: {_STATUS_LABEL.get(status, status or 'desconocido')}")
    return "\n".join(lines)



def _instant(value: object, zone: str) -> datetime:
    """An ISO 8601 time as a UTC datetime. A time without an offset is read in the booking's zone."""
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, str):
        dt = datetime.fromisoformat(value)
    else:
        raise TypeError("a booking time must be an ISO 8601 string")
    if dt.tzinfo is None or dt.utcoffset() is None:
        try:
            dt = dt.replace(tzinfo=ZoneInfo(zone))
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {zone!r}") from exc
    return dt.astimezone(UTC)


def _optional_instant(value: object, zone: str) -> datetime | None:
    if not value:
        return None
    try:
        return _instant(value, zone)
    except (TypeError, ValueError):
        return None


# -- feed tokens ------------------------------------------------------------------------------------------------
def feed_lookup_key(token: str) -> str:
    return FEED_LOOKUP_PREFIX + hashlib.sha256(token.encode()).hexdigest()


class CalendarFeeds:
    """The secret token of one company's calendar feed URL."""

    def __init__(self, platform_redis: redis.Redis, keyspace: TenantKeyspace, company_id: str):
        self.redis = platform_redis
        self.keyspace = keyspace
        self.company_id = company_id
        self._token_key = keyspace.key("calendar", "feed_token")

    def token(self) -> str:
        """The current token, created on first use (two concurrent first calls agree on one token)."""
        current = self.redis.get(self._token_key)
        if current:
            return current
        return self._replace(only_if_missing=True)

    def rotate(self) -> str:
        """A new token; the old one stops opening the feed in the same transaction."""
        return self._replace(only_if_missing=False)

    def revoke(self) -> None:
        """No token at all (offboarding, or the company turns the feed off)."""
        def txn(pipe: redis.client.Pipeline) -> None:
            old = pipe.get(self._token_key)
            pipe.multi()
            if old:
                pipe.delete(feed_lookup_key(old))
            pipe.delete(self._token_key)
        self.redis.transaction(txn, self._token_key)

    def lookup_key(self) -> str | None:
        """The platform lookup of the current token, if there is one (for backup and offboarding)."""
        current = self.redis.get(self._token_key)
        return feed_lookup_key(current) if current else None

    @classmethod
    def company_for(cls, platform_redis: redis.Redis, token: str | None) -> str | None:
        """The company whose feed this token opens; None for an unknown, rotated or malformed token."""
        if not token or not _TOKEN.match(token):
            return None
        return platform_redis.get(feed_lookup_key(token))

    def _replace(self, *, only_if_missing: bool) -> str:
        new = secrets.token_urlsafe(24)

        def txn(pipe: redis.client.Pipeline) -> str:
            old = pipe.get(self._token_key)
            if old and only_if_missing:
                return old                       # another caller created it first: use theirs
            pipe.multi()
            if old:
                pipe.delete(feed_lookup_key(old))
            pipe.set(self._token_key, new)
            pipe.set(feed_lookup_key(new), self.company_id)
            return new

        # WATCH the tenant's token: a concurrent rotate makes this transaction retry with a fresh read.
        return self.redis.transaction(txn, self._token_key, value_from_callable=True)
