"""The iCalendar feed of a company's bookings (app/bookings/ical_feeds.py) and its secret feed tokens, on a real Redis."""
from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from icalendar import Calendar

from app.bookings.ical_feeds import CalendarFeeds, booking_calendar, feed_lookup_key
from app.storage.redis_store import TenantKeyspace

PHONE = "+573001234567"
EMAIL = "ana.perez.cliente@example.com"


def booking(booking_id="bk_1", *, status="confirmed", start="2026-12-15T15:00:00-05:00",
            end="2026-12-15T15:30:00-05:00", tz="America/Bogota", name="Ana María Pérez", sequence=0, **extra):
    record = {"booking_id": booking_id, "status": status, "service_id": "botox", "service_name": "Toxina botulínica",
              "professional_id": "dra-gomez", "professional_name": "Dra. Laura Gómez", "start": start, "end": end,
              "timezone": tz, "price": 850000, "currency": "COP",
              "customer": {"name": name, "phone": PHONE, "email": EMAIL, "user_id": "wa-573001234567"},
              "channel": "whatsapp", "created_at": "2026-12-07T10:00:00+00:00",
              "updated_at": "2026-12-07T10:00:00+00:00", "sequence": sequence}
    record.update(extra)
    return record


def feed(bookings, tz="America/Bogota") -> bytes:
    return booking_calendar(bookings, company_name="Clínica Bella", location="Calle 93 #11-20, Bogotá",
                            calendar_name="Citas Clínica Bella", timezone=tz)


def events(raw: bytes) -> dict[str, object]:
    cal = Calendar.from_ical(raw)
    return {str(ev["UID"]): ev for ev in cal.walk("VEVENT")}


def test_feed_parses_back_with_one_event_per_booking():
    raw = feed([booking("bk_1"), booking("bk_2", status="cancelled", sequence=2),
                booking("bk_3", status="completed"), booking("bk_4", status="no_show")])
    cal = Calendar.from_ical(raw)
    assert str(cal["PRODID"]) == "-//Misybot//Bookings//ES"
    assert str(cal["VERSION"]) == "2.0"
    assert str(cal["X-WR-CALNAME"]) == "Citas Clínica Bella"
    assert str(cal["X-WR-TIMEZONE"]) == "America/Bogota"
    evs = events(raw)
    assert sorted(evs) == ["bk_1@misybot", "bk_2@misybot", "bk_3@misybot", "bk_4@misybot"]
    first = evs["bk_1@misybot"]
    assert first.decoded("DTSTART") == datetime.fromisoformat("2026-12-15T15:00:00-05:00")     # the same instant
    assert first.decoded("DTEND") == datetime.fromisoformat("2026-12-15T15:30:00-05:00")
    assert first.decoded("DTSTART").utcoffset().total_seconds() == 0                           # written in UTC
    assert b"DTSTART:20261215T200000Z" in raw
    assert str(first["LOCATION"]) == "Calle 93 #11-20, Bogotá"
    assert "Dra. Laura Gómez" in str(first["DESCRIPTION"]) and "confirmada" in str(first["DESCRIPTION"])
    assert first.decoded("DTSTAMP") == datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
    assert [str(evs[f"{b}@misybot"]["STATUS"]) for b in ("bk_1", "bk_3", "bk_4")] == ["CONFIRMED"] * 3


def test_cancelled_booking_stays_in_the_feed_as_cancelled_with_its_sequence():
    raw = feed([booking("bk_1", status="cancelled", sequence=3)])
    ev = events(raw)["bk_1@misybot"]
    assert str(ev["STATUS"]) == "CANCELLED"
    assert int(ev["SEQUENCE"]) == 3
    assert b"STATUS:CANCELLED" in raw
    assert "cancelada" in str(ev["DESCRIPTION"])


def test_summary_has_the_first_name_only_and_no_contact_data_anywhere():
    raw = feed([booking("bk_1"), booking("bk_2", status="cancelled")])
    unfolded = raw.replace(b"\r\n ", b"")              # a value could be split across folded lines
    for text in (raw, unfolded):
        for secret in (PHONE, PHONE[1:], "3001234567", EMAIL, "example.com", "wa-573001234567", "Pérez", "María"):
            assert secret.encode() not in text, secret
    assert str(events(raw)["bk_1@misybot"]["SUMMARY"]) == "Toxina botulínica — Ana"


@pytest.mark.parametrize("customer", [{"name": None, "phone": None, "email": None}, {"name": "  "}, None, {}])
def test_erased_customer_leaves_just_the_service(customer):
    record = booking("bk_1")
    record["customer"] = customer
    assert str(events(feed([record]))["bk_1@misybot"]["SUMMARY"]) == "Toxina botulínica"


def test_dst_start_after_the_spring_change_in_madrid():
    # Spain moves to CEST (UTC+2) on 2027-03-28: 10:00 on the 29th is 08:00Z, 10:00 on the 26th is 09:00Z.
    after = booking("bk_after", start="2027-03-29T10:00:00+02:00", end="2027-03-29T10:30:00+02:00", tz="Europe/Madrid")
    naive = booking("bk_naive", start="2027-03-29T10:00:00", end="2027-03-29T10:30:00", tz="Europe/Madrid")
    before = booking("bk_before", start="2027-03-26T10:00:00", end="2027-03-26T10:30:00", tz="Europe/Madrid")
    raw = feed([after, naive, before], tz="Europe/Madrid")
    evs = events(raw)
    for uid in ("bk_after@misybot", "bk_naive@misybot"):
        assert evs[uid].decoded("DTSTART") == datetime(2027, 3, 29, 8, 0, tzinfo=UTC)
        assert evs[uid].decoded("DTEND") == datetime(2027, 3, 29, 8, 30, tzinfo=UTC)
    assert evs["bk_before@misybot"].decoded("DTSTART") == datetime(2027, 3, 26, 9, 0, tzinfo=UTC)
    assert raw.count(b"DTSTART:20270329T080000Z") == 2


def test_unreadable_booking_is_left_out_not_the_whole_feed():
    broken = booking("bk_bad", start="next tuesday")
    no_end = booking("bk_no_end")
    del no_end["end"]
    assert sorted(events(feed([broken, no_end, booking("bk_ok")]))) == ["bk_ok@misybot"]


def test_empty_feed_is_a_valid_calendar():
    cal = Calendar.from_ical(feed([]))
    assert cal.walk("VEVENT") == []


# -- feed tokens -------------------------------------------------------------------------------------------------
@pytest.fixture
def feeds(redis_client):
    def make(company_id: str, prefix: str) -> CalendarFeeds:
        return CalendarFeeds(redis_client, TenantKeyspace(redis_client, prefix), company_id)
    return make


def test_token_is_created_once_and_resolves_to_its_company(redis_client, feeds):
    alpha = feeds("alpha", "caltest_alpha:")
    token = alpha.token()
    assert len(token) >= 32 and alpha.token() == token
    assert CalendarFeeds.company_for(redis_client, token) == "alpha"
    # The platform keeps only the hash; the tenant keeps the token to show its URL again.
    assert redis_client.get("{caltest_alpha}:calendar:feed_token") == token
    assert redis_client.get(feed_lookup_key(token)) == "alpha"
    platform = list(redis_client.scan_iter(match="misybot:*"))
    assert platform == [feed_lookup_key(token)] and token not in platform[0]


def test_rotation_invalidates_the_old_token_at_once(redis_client, feeds):
    alpha = feeds("alpha", "caltest_alpha:")
    old = alpha.token()
    new = alpha.rotate()
    assert new != old and alpha.token() == new
    assert CalendarFeeds.company_for(redis_client, old) is None
    assert CalendarFeeds.company_for(redis_client, new) == "alpha"
    assert list(redis_client.scan_iter(match="misybot:icalfeed:*")) == [feed_lookup_key(new)]
    assert alpha.lookup_key() == feed_lookup_key(new)


def test_tokens_of_two_companies_do_not_cross(redis_client, feeds):
    alpha, beta = feeds("alpha", "caltest_alpha:"), feeds("beta", "caltest_beta:")
    ta, tb = alpha.token(), beta.token()
    beta.rotate()
    assert CalendarFeeds.company_for(redis_client, ta) == "alpha"
    assert CalendarFeeds.company_for(redis_client, tb) is None


@pytest.mark.parametrize("token", [None, "", "short", "x" * 500, "abc def ghi jkl mno pqr", "*" * 32])
def test_malformed_or_unknown_tokens_open_nothing(redis_client, feeds, token):
    feeds("alpha", "caltest_alpha:").token()
    assert CalendarFeeds.company_for(redis_client, token) is None


def test_concurrent_first_calls_agree_on_one_token(redis_client, feeds):
    alpha = feeds("alpha", "caltest_alpha:")
    barrier, got = threading.Barrier(8), []

    def first_call():
        barrier.wait()
        got.append(alpha.token())

    threads = [threading.Thread(target=first_call) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(got)) == 1
    assert list(redis_client.scan_iter(match="misybot:icalfeed:*")) == [feed_lookup_key(got[0])]


def test_revoke_removes_token_and_lookup(redis_client, feeds):
    alpha = feeds("alpha", "caltest_alpha:")
    token = alpha.token()
    alpha.revoke()
    assert CalendarFeeds.company_for(redis_client, token) is None
    assert alpha.lookup_key() is None
    assert alpha.token() != token
