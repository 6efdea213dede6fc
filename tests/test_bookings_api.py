"""Bookings through the HTTP API against real Redis: catalog CRUD, availability (DST included), every bad
input, the 50-way race, idempotent retries, windows, pending confirmations, plan limits and tenant isolation."""
from __future__ import annotations

import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import FIXTURES

BOGOTA = ZoneInfo("America/Bogota")
MADRID = ZoneInfo("Europe/Madrid")
EVERY_DAY = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
GAMMA = """
  - company_id: gamma
    company_name: Clínica Gamma Madrid
    redis_prefix: "gamma:"
    vectorstore_index: gamma_documents
    language: es
    timezone: Europe/Madrid
    industry: medicina estética
    services: Consultas
    sales_agent_name: Gema, de Gamma
    plan: free
    limits: {monthly_bookings: 3}
    booking: {max_advance_days: 400, min_advance_minutes: 0, slot_step_minutes: 30}
"""


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / "companies_config.yaml"
    shutil.copy(FIXTURES / "companies_test.yaml", path)
    path.write_text(path.read_text() + GAMMA)
    return path


def service(sid="botox", name="Toxina botulínica", minutes=30, **extra):
    return {"id": sid, "name": name, "duration_minutes": minutes, "price": 850000, "currency": "COP", **extra}


def professional(pid="dra-gomez", services=("botox",), hours=("09:00-13:00", "14:00-18:00"), days=EVERY_DAY, **extra):
    return {"id": pid, "name": pid.replace("-", " ").title(), "service_ids": list(services),
            "weekly_hours": {d: list(hours) for d in days}, **extra}


@pytest.fixture
def keys(issue_key):
    return {"admin": issue_key("alpha"), "writer": issue_key("alpha", ["bookings:write", "bookings:read"]),
            "reader": issue_key("alpha", ["bookings:read"]), "beta": issue_key("beta"), "gamma": issue_key("gamma")}


def h(key, **extra):
    return {"X-API-Key": key, **extra}


@pytest.fixture
def catalog(client, keys):
    """Alpha: botox (30 min, 10 min buffer after) by two doctors, 09-13 and 14-18 every day."""
    admin = h(keys["admin"])
    assert client.post("/catalog/services", json=service(buffer_after_minutes=10), headers=admin).status_code == 201
    assert client.post("/catalog/professionals", json=professional(), headers=admin).status_code == 201
    assert client.post("/catalog/professionals", json=professional("dr-ruiz"), headers=admin).status_code == 201
    return admin


def day_at(days: int, hhmm: str, tz=BOGOTA) -> datetime:
    d = datetime.now(tz).date() + timedelta(days=days)
    hour, minute = map(int, hhmm.split(":"))
    return datetime(d.year, d.month, d.day, hour, minute, tzinfo=tz)


def book(client, key, start: datetime, status=201, **body):
    payload = {"service_id": "botox", "start": start.isoformat(), "customer": {"name": "Ana Pérez",
                                                                              "phone": "+57 300 123 4567"}} | body
    r = client.post("/bookings", json=payload, headers=h(key))
    assert r.status_code == status, r.get_json()
    return r.get_json()


# -- catalog ----------------------------------------------------------------------------------------------
def test_catalog_crud_needs_admin_and_keeps_the_catalog_consistent(client, keys, catalog):
    reader, admin = h(keys["reader"]), catalog
    listed = client.get("/catalog/services", headers=reader).get_json()["services"]
    assert [(s["id"], s["professional_ids"]) for s in listed] == [("botox", ["dr-ruiz", "dra-gomez"])]
    assert client.post("/catalog/services", json=service("peeling", "Peeling"), headers=reader).status_code == 403
    assert client.post("/catalog/services", json=service(), headers=admin).get_json()["error"]["code"] == "service_exists"
    r = client.patch("/catalog/services/botox", json={"price": 900000, "active": False}, headers=admin)
    assert r.status_code == 200 and r.get_json()["price"] == 900000 and r.get_json()["active"] is False
    r = client.put("/catalog/services/peeling", json=service("peeling", "Peeling químico", 40), headers=admin)
    assert r.status_code == 201
    bad = professional("dr-x", services=("laser",))
    r = client.post("/catalog/professionals", json=bad, headers=admin)
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "unknown_service"
    r = client.delete("/catalog/services/botox", headers=admin)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "service_in_use"
    assert client.delete("/catalog/services/peeling", headers=admin).status_code == 200
    assert client.get("/catalog/services/peeling", headers=reader).status_code == 404
    r = client.post("/catalog/professionals/dr-ruiz/exceptions", json={"date": "2027-01-01", "closed": True}, headers=admin)
    assert r.status_code == 200 and r.get_json()["exceptions"] == [
        {"date": "2027-01-01", "closed": True, "hours": None, "extra_hours": None, "note": None}]
    assert client.delete("/catalog/professionals/dr-ruiz/exceptions/2027-01-01", headers=admin).status_code == 200
    assert client.delete("/catalog/professionals/dr-ruiz/exceptions/2027-01-01", headers=admin).status_code == 404
    assert client.delete("/catalog/professionals/dr-ruiz", headers=admin).status_code == 200
    assert [p["id"] for p in client.get("/catalog/professionals", headers=reader).get_json()["professionals"]] == [
        "dra-gomez"]


@pytest.mark.parametrize("body, code", [
    (professional(hours=("09:00-13:00", "12:00-15:00")), "invalid_professional"),      # overlapping ranges
    (professional(hours=("18:00-09:00",)), "invalid_professional"),
    (professional(hours=("9-13",)), "invalid_professional"),
    (professional(exceptions=[{"date": "2027-01-01"}]), "invalid_professional"),
    (professional(pid="Dra Gómez"), "invalid_professional"),
])
def test_bad_professionals_are_refused_with_a_clear_400(client, catalog, body, code):
    r = client.post("/catalog/professionals", json=body, headers=catalog)
    assert r.status_code == 400 and r.get_json()["error"]["code"] == code, r.get_json()


# -- availability -----------------------------------------------------------------------------------------
def slots(client, key, **params):
    r = client.get("/availability", query_string=params, headers=h(key))
    assert r.status_code == 200, r.get_json()
    return r.get_json()["slots"]


def test_availability_honours_hours_exceptions_bookings_and_buffers(client, keys, catalog):
    day = day_at(3, "00:00")
    free = slots(client, keys["reader"], service="botox", professional="dra-gomez", **{"from": day.date().isoformat(),
                                                                                       "to": day.date().isoformat()})
    starts = [s["start"][11:16] for s in free]
    assert starts[0] == "09:00" and starts[-1] == "17:30" and "12:30" in starts and "13:00" not in starts
    assert len(starts) == 8 * 4 - 2          # two 4-hour shifts on a 15-minute grid, 30-minute service
    book(client, keys["writer"], day_at(3, "10:00"), professional_id="dra-gomez")
    after = [s["start"][11:16] for s in slots(client, keys["reader"], service="botox", professional="dra-gomez",
                                              **{"from": day.date().isoformat(), "to": day.date().isoformat()})]
    # Each booking holds its 30 minutes plus 10 minutes' buffer after: 09:30 (to 10:10) and 10:30 (inside
    # 10:00's buffer) clash; 09:15 (to 09:55) and 10:45 are free.
    assert "09:15" in after and "09:30" not in after and "10:30" not in after and "10:45" in after
    client.post("/catalog/professionals/dra-gomez/exceptions", json={"date": day.date().isoformat(), "closed": True},
                headers=catalog)
    assert slots(client, keys["reader"], service="botox", professional="dra-gomez",
                 **{"from": day.date().isoformat(), "to": day.date().isoformat()}) == []
    both = slots(client, keys["reader"], service="botox", **{"from": day.date().isoformat(), "to": day.date().isoformat()})
    assert {s["professional_id"] for s in both} == {"dr-ruiz"}


def test_availability_across_the_madrid_dst_change(client, keys):
    admin = h(keys["gamma"])
    client.post("/catalog/services", json=service("consulta", "Consulta", 60, currency="EUR"), headers=admin)
    night = professional("dr-noche", services=("consulta",), hours=("01:00-04:00", "09:00-11:00"))
    assert client.post("/catalog/professionals", json=night, headers=admin).status_code == 201
    got = slots(client, keys["gamma"], service="consulta", **{"from": "2027-03-27", "to": "2027-03-29"}, limit=500)
    by_day: dict[str, list[str]] = {}
    for s in got:
        by_day.setdefault(s["start"][:10], []).append(s["start"][11:])
    assert by_day["2027-03-27"] == ["01:00:00+01:00", "01:30:00+01:00", "02:00:00+01:00", "02:30:00+01:00",
                                    "03:00:00+01:00", "09:00:00+01:00", "09:30:00+01:00", "10:00:00+01:00"]
    # On the 28th 02:00-02:59 does not exist: nothing starts then, and 01:30 + 60 min ends at 03:30 local.
    assert by_day["2027-03-28"] == ["01:00:00+01:00", "01:30:00+01:00", "03:00:00+02:00",
                                    "09:00:00+02:00", "09:30:00+02:00", "10:00:00+02:00"]
    assert by_day["2027-03-29"][5:] == ["09:00:00+02:00", "09:30:00+02:00", "10:00:00+02:00"]
    nine = [datetime.fromisoformat(f"{d}T09:00:00{'+01:00' if d == '2027-03-27' else '+02:00'}") for d in by_day]
    assert [(b - a).total_seconds() / 3600 for a, b in zip(nine, nine[1:], strict=False)] == [23.0, 24.0]
    booked = book(client, keys["gamma"], datetime(2027, 3, 28, 9, 30, tzinfo=MADRID), service_id="consulta")
    assert booked["start"] == "2027-03-28T09:30:00+02:00" and booked["end"] == "2027-03-28T10:30:00+02:00"
    # 02:30+01:00 names an instant that is 03:30 CEST that day: 60 minutes no longer fit before 04:00.
    r = client.post("/bookings", json={"service_id": "consulta", "start": "2027-03-28T02:30:00+01:00",
                                       "customer": {"name": "Ana"}}, headers=h(keys["gamma"]))
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "outside_hours"


# -- bookings: bad input ------------------------------------------------------------------------------------
@pytest.mark.parametrize("change, status, code", [
    ({"service_id": "laser"}, 404, "unknown_service"),
    ({"professional_id": "dr-nadie"}, 404, "unknown_professional"),
    ({"start": "OFFGRID"}, 422, "off_grid"),
    ({"start": "PAST"}, 422, "in_the_past"),
    ({"start": "SOON"}, 422, "too_soon"),
    ({"start": "FAR"}, 422, "too_far_ahead"),
    ({"start": "NIGHT"}, 422, "outside_hours"),
    ({"start": "LUNCH"}, 422, "outside_hours"),
    ({"start": "2026-13-40T10:00:00-05:00"}, 400, "invalid_start"),
    ({"start": "mañana a las 3"}, 400, "invalid_start"),
    ({"start": "2027-01-15T10:00:00"}, 400, "invalid_start"),            # no offset
    ({"customer": {"name": "  "}}, 400, "invalid_customer"),
    ({"customer": {"name": "Ana", "phone": "llámame"}}, 400, "invalid_customer"),
    ({"customer": {"name": "Ana", "email": "no-es-correo"}}, 400, "invalid_customer"),
    ({"customer": None}, 400, "invalid_customer"),
    ({"service_id": "../beta:botox"}, 400, "invalid_service"),
    ({"surprise": 1}, 400, "invalid_parameter"),
])
def test_bad_bookings_get_a_clear_4xx_and_change_nothing(client, keys, catalog, change, status, code):
    starts = {"OFFGRID": day_at(2, "10:07"), "PAST": day_at(-1, "10:00"), "SOON": datetime.now(BOGOTA) + timedelta(minutes=20),
              "FAR": day_at(120, "10:00"), "NIGHT": day_at(2, "22:00"), "LUNCH": day_at(2, "13:00")}
    body = {"service_id": "botox", "start": day_at(2, "10:00").isoformat(), "customer": {"name": "Ana"}}
    for k, v in change.items():
        body[k] = starts[v].isoformat() if isinstance(v, str) and v in starts else v
    if "SOON" in change.values():        # a shift covering now, so only the notice rule is left to refuse it
        client.put("/catalog/professionals/dra-gomez", json=professional(hours=("00:00-24:00",)), headers=catalog)
    r = client.post("/bookings", json=body, headers=h(keys["writer"]))
    assert r.status_code == status and r.get_json()["error"]["code"] == code, r.get_json()
    assert client.get("/bookings", headers=h(keys["reader"])).get_json()["total"] == 0
    assert client.get("/bookings?status=pending", headers=h(keys["reader"])).get_json()["total"] == 0


# -- bookings: concurrency, idempotency ---------------------------------------------------------------------
def test_fifty_concurrent_attempts_at_one_slot_make_exactly_one_booking(client, keys, catalog):
    start = day_at(4, "15:00").isoformat()
    barrier = threading.Barrier(50)

    def attempt(i):
        barrier.wait()
        return client.post("/bookings", json={"service_id": "botox", "professional_id": "dra-gomez", "start": start,
                                              "customer": {"name": f"Cliente {i}"}}, headers=h(keys["writer"]))

    with ThreadPoolExecutor(50) as pool:
        answers = list(pool.map(attempt, range(50)))
    codes = sorted(r.status_code for r in answers)
    assert codes == [201] + [409] * 49
    assert {r.get_json()["error"]["code"] for r in answers if r.status_code == 409} == {"slot_taken"}
    listed = client.get(f"/bookings?day={start[:10]}", headers=h(keys["reader"])).get_json()
    assert listed["total"] == 1


def test_without_a_professional_the_next_free_one_is_booked_then_409(client, keys, catalog):
    start = day_at(4, "16:00")
    first = book(client, keys["writer"], start)
    second = book(client, keys["writer"], start)
    assert {first["professional_id"], second["professional_id"]} == {"dra-gomez", "dr-ruiz"}
    assert book(client, keys["writer"], start, status=409)["error"]["code"] == "slot_taken"


def test_an_idempotency_key_makes_a_retry_return_the_first_booking(client, keys, catalog):
    body = {"service_id": "botox", "start": day_at(5, "09:00").isoformat(), "customer": {"name": "Ana"}}
    headers = h(keys["writer"], **{"Idempotency-Key": "retry-123"})
    first = client.post("/bookings", json=body, headers=headers)
    again = client.post("/bookings", json=body, headers=headers)
    assert first.status_code == 201 and again.status_code == 200
    assert again.get_json()["booking_id"] == first.get_json()["booking_id"]
    other = client.post("/bookings", json=body | {"customer": {"name": "Otra"}}, headers=headers)
    assert other.status_code == 422 and other.get_json()["error"]["code"] == "idempotency_key_reused"
    assert client.get("/bookings", headers=h(keys["reader"])).get_json()["total"] == 1


def test_concurrent_retries_with_one_idempotency_key_make_one_booking(client, keys, catalog):
    body = {"service_id": "botox", "start": day_at(5, "11:00").isoformat(), "customer": {"name": "Ana"}}
    headers = h(keys["writer"], **{"Idempotency-Key": "retry-race"})
    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(lambda _: client.post("/bookings", json=body, headers=headers), range(10)))
    assert sorted(r.status_code for r in answers) == [200] * 9 + [201]
    assert len({r.get_json()["booking_id"] for r in answers}) == 1


# -- reschedule, cancel, windows, statuses ------------------------------------------------------------------
def test_reschedule_and_cancel_take_the_same_atomic_check_and_free_the_slot(client, keys, catalog):
    writer = keys["writer"]
    a = book(client, writer, day_at(6, "09:00"), professional_id="dra-gomez")
    b = book(client, writer, day_at(6, "10:00"), professional_id="dra-gomez")
    r = client.post(f"/bookings/{b['booking_id']}/reschedule", json={"start": day_at(6, "09:00").isoformat()},
                    headers=h(writer))
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "slot_taken"
    r = client.post(f"/bookings/{b['booking_id']}/reschedule", json={"start": day_at(6, "11:00").isoformat()},
                    headers=h(writer))
    assert r.status_code == 200 and r.get_json()["start"].startswith(day_at(6, "11:00").isoformat()[:16])
    assert r.get_json()["sequence"] == 1
    for bad, code in ((day_at(6, "11:07"), "off_grid"), (day_at(6, "22:00"), "outside_hours"), (day_at(-1, "10:00"), "in_the_past")):
        r = client.post(f"/bookings/{b['booking_id']}/reschedule", json={"start": bad.isoformat()}, headers=h(writer))
        assert r.status_code == 422 and r.get_json()["error"]["code"] == code, r.get_json()
    assert book(client, writer, day_at(6, "10:00"), professional_id="dra-gomez")["status"] == "confirmed"
    r = client.post(f"/bookings/{a['booking_id']}/cancel", headers=h(writer))
    assert r.status_code == 200 and r.get_json()["status"] == "cancelled"
    assert client.post(f"/bookings/{a['booking_id']}/cancel", headers=h(writer)).status_code == 409
    assert book(client, writer, day_at(6, "09:00"), professional_id="dra-gomez")["status"] == "confirmed"
    r = client.post(f"/bookings/{b['booking_id']}/status", json={"status": "completed"}, headers=h(writer))
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "not_started"


def test_the_cancellation_window_binds_customers_not_the_admin(client, keys, catalog):
    client.put("/catalog/professionals/dra-gomez", json=professional(hours=("00:00-24:00",)), headers=catalog)
    soon = datetime.fromtimestamp((int(time.time()) // 900 + 12) * 900, BOGOTA)        # about 3 hours ahead
    if soon.hour == 23 and soon.minute >= 30:         # 30 minutes must fit before the day's span ends at 24:00
        soon += timedelta(minutes=45)
    booking = book(client, keys["writer"], soon, professional_id="dra-gomez")
    for action, body in (("cancel", None), ("reschedule", {"start": (soon + timedelta(hours=1)).isoformat()})):
        r = client.post(f"/bookings/{booking['booking_id']}/{action}", json=body, headers=h(keys["writer"]))
        assert r.status_code == 409 and r.get_json()["error"]["code"] == "cancellation_window_passed"
    r = client.post(f"/bookings/{booking['booking_id']}/cancel", headers=catalog)
    assert r.status_code == 200 and r.get_json()["status"] == "cancelled"


def test_concurrent_staff_confirmations_of_two_requests_for_one_slot_confirm_one(client, keys, catalog, app):
    p = app.extensions["misybot"]
    from app.security.principal import Principal
    ctx = p.tenant_context(p.registry.get("alpha"), Principal("platform_admin", None))
    requests = [ctx.bookings.submit(f"user-{i}", "whatsapp", {"service": "botox", "when": "el jueves", "name": f"C{i}"})
                for i in range(2)]
    assert client.get("/bookings?status=pending", headers=h(keys["reader"])).get_json()["total"] == 2
    start = day_at(7, "15:00").isoformat()
    barrier = threading.Barrier(2)

    def confirm(req):
        barrier.wait()
        return client.post(f"/bookings/{req['booking_id']}/confirm", json={"service_id": "botox", "start": start,
                                                                            "professional_id": "dra-gomez"},
                           headers=h(keys["writer"]))

    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(confirm, requests))
    assert sorted(r.status_code for r in answers) == [200, 409]
    assert client.get("/bookings?status=pending", headers=h(keys["reader"])).get_json()["total"] == 1
    confirmed = [r.get_json() for r in answers if r.status_code == 200][0]
    assert confirmed["status"] == "confirmed" and confirmed["customer"]["user_id"].startswith("user-")


def test_list_filters_by_day_professional_customer_and_status(client, keys, catalog):
    writer = keys["writer"]
    book(client, writer, day_at(8, "09:00"), professional_id="dra-gomez", customer={"name": "Ana", "user_id": "wa-1"})
    book(client, writer, day_at(8, "09:00"), professional_id="dr-ruiz", customer={"name": "Bea", "user_id": "wa-2"})
    c = book(client, writer, day_at(9, "09:00"), professional_id="dr-ruiz", customer={"name": "Ana", "user_id": "wa-1"})
    client.post(f"/bookings/{c['booking_id']}/cancel", headers=h(writer))
    reader = h(keys["reader"])

    def names(query):
        r = client.get(f"/bookings?{query}", headers=reader)
        assert r.status_code == 200, r.get_json()
        return sorted(b["customer"]["name"] for b in r.get_json()["bookings"])

    assert names(f"day={day_at(8, '00:00').date()}") == ["Ana", "Bea"]
    assert names("professional=dr-ruiz") == ["Ana", "Bea"]
    assert names("customer=wa-1") == ["Ana", "Ana"]
    assert names("status=cancelled") == ["Ana"]
    assert names("per_page=1&page=2") == ["Bea"] or names("per_page=1&page=2") == ["Ana"]
    r = client.get("/bookings?day=2026-02-30", headers=reader)
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "invalid_date"


# -- plans and isolation ------------------------------------------------------------------------------------
def test_the_plans_monthly_booking_limit_is_a_429_with_its_name(client, keys):
    admin = h(keys["gamma"])
    client.post("/catalog/services", json=service("consulta", "Consulta", 30, currency="EUR"), headers=admin)
    client.post("/catalog/professionals", json=professional("dr-g", services=("consulta",), hours=("00:00-24:00",)),
                headers=admin)
    base = day_at(10, "09:00", MADRID)
    for i in range(3):
        book(client, keys["gamma"], base + timedelta(hours=i), service_id="consulta")
    r = book(client, keys["gamma"], base + timedelta(hours=5), status=429, service_id="consulta")
    assert r["error"]["code"] == "monthly_booking_limit_reached" and r["error"]["limit"] == "monthly_bookings"
    assert client.get("/bookings", headers=admin).get_json()["total"] == 3


def test_a_company_never_sees_or_books_anothers_catalog_or_bookings(client, keys, catalog):
    mine = book(client, keys["writer"], day_at(3, "09:00"), professional_id="dra-gomez")
    beta = h(keys["beta"])
    bid = mine["booking_id"]
    for method, path, body in (("get", f"/bookings/{bid}", None), ("post", f"/bookings/{bid}/cancel", None),
                               ("post", f"/bookings/{bid}/reschedule", {"start": day_at(3, "11:00").isoformat()}),
                               ("post", f"/bookings/{bid}/status", {"status": "no_show"}),
                               ("get", "/catalog/services/botox", None), ("get", "/catalog/professionals/dra-gomez", None),
                               ("delete", "/catalog/services/botox", None),
                               ("get", "/availability?service=botox", None)):
        r = getattr(client, method)(path, json=body, headers=beta)
        assert r.status_code == 404, (path, r.get_json())
    r = client.post("/bookings", json={"service_id": "botox", "start": day_at(3, "10:00").isoformat(),
                                       "customer": {"name": "X"}}, headers=beta)
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "unknown_service"
    assert client.get("/bookings", headers=beta).get_json()["total"] == 0
    assert client.get("/catalog/services", headers=beta).get_json()["services"] == []
    r = client.get("/bookings", headers=h(keys["writer"], **{"X-Company-ID": "beta"}))
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "tenant_mismatch"
    assert client.get(f"/bookings/{bid}", headers=h(keys["reader"])).get_json()["status"] == "confirmed"


def test_erasure_removes_the_customers_personal_data_from_bookings(client, keys, catalog, admin_headers):
    customer = {"name": "Ana Pérez", "phone": "+57 300 123 4567", "email": "ana@example.com", "user_id": "wa-573001234567"}
    booked = book(client, keys["writer"], day_at(3, "09:00"), customer=customer)
    exported = client.get("/privacy/users/wa-573001234567/export", headers=catalog)
    assert exported.status_code == 200, exported.get_json()
    assert "ana@example.com" in exported.get_data(as_text=True)
    r = client.delete("/privacy/users/wa-573001234567", headers=catalog)
    assert r.status_code == 200, r.get_json()
    after = client.get(f"/bookings/{booked['booking_id']}", headers=h(keys["reader"])).get_json()
    assert after["customer"] == {"name": None, "phone": None, "email": None, "user_id": None}
    assert after["status"] == "confirmed"            # the slot stays taken in the agenda
    p = client.application.extensions["misybot"]
    dump = " ".join(str(v) for k in p.redis.scan_iter("alpha:*") if p.redis.type(k) == "hash"
                    for v in p.redis.hgetall(k).values())
    assert "Pérez" not in dump and "ana@example.com" not in dump and "300 123" not in dump


# -- calendar feeds and webhooks through the app ------------------------------------------------------------
def test_calendar_feeds_are_secret_urls_that_rotate(client, keys, catalog):
    from icalendar import Calendar
    booked = book(client, keys["writer"], day_at(3, "09:00"), professional_id="dra-gomez",
                  customer={"name": "Ana Pérez", "phone": "+57 300 123 4567", "email": "ana@example.com"})
    assert client.get("/calendar/feeds", headers=h(keys["reader"])).status_code == 403
    feeds = client.get("/calendar/feeds", headers=catalog).get_json()
    company = feeds["company_feed"].replace("http://localhost", "")
    r = client.get(company)
    assert r.status_code == 200 and r.mimetype == "text/calendar"
    events = Calendar.from_ical(r.data).walk("VEVENT")
    assert [str(e["UID"]) for e in events] == [f"{booked['booking_id']}@misybot"]
    assert "Ana" in r.get_data(as_text=True) and "ana@example.com" not in r.get_data(as_text=True)
    other = client.get(feeds["professional_feeds"]["dr-ruiz"].replace("http://localhost", ""))
    assert other.status_code == 200 and not Calendar.from_ical(other.data).walk("VEVENT")
    rotated = client.post("/calendar/feeds/rotate", headers=catalog).get_json()
    assert client.get(company).status_code == 404
    assert client.get(rotated["company_feed"].replace("http://localhost", "")).status_code == 200
    beta_feeds = client.get("/calendar/feeds", headers=h(keys["beta"])).get_json()
    assert client.get(beta_feeds["company_feed"].replace("http://localhost", "")).get_data(as_text=True).count(
        "BEGIN:VEVENT") == 0
    assert client.get("/calendar/not-a-token/company.ics").status_code == 404


@pytest.fixture
def hooked(make_settings, redis_client, config_file):
    """alpha with a booking webhook pointing at a local receiver."""
    from app.factory import create_app
    from tests.test_booking_webhooks import Receiver
    receiver = Receiver()
    text = config_file.read_text().replace("    chatwoot: {account_id: 101}",
                                           f"    chatwoot: {{account_id: 101}}\n    booking: {{webhook_url: '{receiver.url}/hooks'}}")
    config_file.write_text(text)
    application = create_app(make_settings())
    yield application, receiver
    receiver.close()
    application.extensions["misybot"].vectors.close()


def test_booking_events_reach_the_companys_webhook_signed_once_each(hooked):
    from app.bookings.webhooks import verify_webhook
    from app.workers.webhooks import WebhookDeliverer
    from tests.conftest import ADMIN_TOKEN
    application, receiver = hooked
    c = application.test_client()
    key = c.post("/admin/companies/alpha/api-keys", json={}, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}).get_json()
    admin = h(key["api_key"])
    c.post("/catalog/services", json=service(), headers=admin)
    c.post("/catalog/professionals", json=professional(), headers=admin)
    booked = book(c, key["api_key"], day_at(3, "09:00"))
    c.post(f"/bookings/{booked['booking_id']}/reschedule", json={"start": day_at(3, "10:00").isoformat()}, headers=admin)
    c.post(f"/bookings/{booked['booking_id']}/cancel", headers=admin)
    platform = application.extensions["misybot"]
    receiver.fail_next = 1
    deliverer = WebhookDeliverer(platform.redis, platform.webhook_target)
    deliverer.run_once()
    deliverer.run_once(now=time.time() + 3600)
    secret = c.get("/booking-webhook", headers=admin).get_json()["secret"]
    delivered = [r for r in receiver.requests]
    types = [r["headers"]["X-Misy-Event-Type"] for r in delivered]
    assert sorted(set(types)) == ["booking.cancelled", "booking.created", "booking.rescheduled"]
    assert len(receiver.ids()) == 4 and len(set(receiver.ids())) == 3         # one retry, same event id
    for r in delivered:
        assert verify_webhook(secret, r["headers"]["X-Misy-Timestamp"], r["body"], r["headers"]["X-Misy-Signature"])
        assert r["path"] == "/hooks"


def test_the_shipped_companies_catalogs_load_at_start_and_offer_slots(make_settings, redis_client):
    from app.platform import Platform
    from app.security.principal import Principal
    from app.tenancy.onboarding import seed_tenant_catalogs
    from tests.conftest import ROOT
    platform = Platform.from_settings(make_settings(companies_config_file=ROOT / "companies_config.yaml",
                                                    tenants_dir=ROOT / "tenants"))
    try:
        seeded = seed_tenant_catalogs(platform, ROOT / "tenants")
        assert set(seeded) == {"benova", "medispa", "dental", "wellness"}
        assert seed_tenant_catalogs(platform, ROOT / "tenants") == {}          # only into an empty catalog
        for company_id in seeded:
            config = platform.registry.get(company_id)
            ctx = platform.tenant_context(config, Principal("platform_admin", None))
            services = ctx.catalog.services()
            assert {s.name for s in services} == set(config.service_durations), company_id
            assert all(s.duration_minutes == config.service_durations[s.name] for s in services)
            now = int(time.time())
            for s in services:
                assert ctx.bookings.availability(s.id, None, now, now + 14 * 86400, 5), (company_id, s.id)
    finally:
        platform.close()


def test_onboarding_takes_a_catalog(client, admin_headers):
    catalog = {"services": [service("consulta", "Consulta", 30, currency="EUR")],
               "professionals": [professional("dra-x", services=("consulta",))]}
    r = client.post("/admin/companies", json={"company_id": "nueva", "name": "Clínica Nueva", "timezone": "Europe/Madrid",
                                              "catalog": catalog}, headers=admin_headers)
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["catalog"] == {"services": 1, "professionals": 1}
    key = r.get_json()["api_key"]
    assert [s["id"] for s in client.get("/catalog/services", headers=h(key)).get_json()["services"]] == ["consulta"]
    bad = {"services": [], "professionals": [professional("dra-y", services=("laser",))]}
    r = client.post("/admin/companies", json={"company_id": "otra", "name": "Otra", "catalog": bad}, headers=admin_headers)
    assert r.status_code == 400
    assert client.get("/companies", headers=admin_headers).get_json()["companies"][-1]["company_id"] == "nueva"
