"""Booking, rescheduling and cancelling over chat in Spanish (and English), end to end through the test API and
a Chatwoot webhook, against the company's real agenda in Redis."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.bookings.dates import parse_when
from app.factory import create_app
from app.workers.chatwoot import ChatwootWorker
from tests.chatwoot_fake import message_event, signed
from tests.conftest import ADMIN_TOKEN

BOGOTA = ZoneInfo("America/Bogota")
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
SECRET = "whsec-alpha-0123456789"
EVERY_DAY = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# How customers say when; each must end in a real booking inside what they asked for (or the nearest free time).
PHRASINGS = [
    "mañana a las 3", "mañana a las 10 de la mañana", "pasado mañana a las 11:30", "el jueves en la tarde",
    "el viernes a las 4 de la tarde", "el sábado por la mañana", "el lunes que viene a las 9", "el próximo martes",
    "el 15 de enero a las 10", "la próxima semana", "mañana tipo 3", "pasado mañana como a las 4",
    "el miercoles a las 5 de la tarde", "manana en la tarde", "mañana después de las 4", "el viernes antes de las 11",
    "el 20/1 a las 12", "mañana a las 4 y media", "el domingo al mediodía", "pasado mañana a la tarde",
    "mañana a las 16:00", "el jueves a eso de las 5",
]


@pytest.fixture
def env(cw, make_settings, redis_client, config_file):
    text = config_file.read_text().replace("    chatwoot: {account_id: 101}",
                                           f"    chatwoot: {{account_id: 101, base_url: '{cw.url}'}}\n"
                                           "    booking: {location: 'Carrera 43A # 1-50, Medellín'}")
    config_file.write_text(text)
    app = create_app(make_settings())
    c = app.test_client()
    assert c.put("/admin/companies/alpha/chatwoot", headers=ADMIN, json={
        "api_token": "token-alpha", "webhook_secret": SECRET}).status_code == 200
    key = c.post("/admin/companies/alpha/api-keys", json={}, headers=ADMIN).get_json()["api_key"]
    h = {"X-API-Key": key}
    assert c.post("/catalog/services", headers=h, json={
        "id": "botox", "name": "toxina botulínica", "duration_minutes": 30, "price": 850000, "currency": "COP",
        "buffer_after_minutes": 10}).status_code == 201
    assert c.post("/catalog/services", headers=h, json={
        "id": "limpieza", "name": "limpieza facial", "duration_minutes": 60, "price": 180000,
        "currency": "COP"}).status_code == 201
    for pid, name in (("dra-gomez", "Dra. Laura Gómez"), ("dr-ruiz", "Dr. Andrés Ruiz")):
        assert c.post("/catalog/professionals", headers=h, json={
            "id": pid, "name": name, "service_ids": ["botox", "limpieza"],
            "weekly_hours": {d: ["08:00-13:00", "14:00-19:00"] for d in EVERY_DAY}}).status_code == 201
    yield app, c, h
    app.extensions["misybot"].vectors.close()


def say(c, h, text, user="ana"):
    r = c.post(f"/conversations/{user}/test", json={"message": text, "channel": "whatsapp"}, headers=h)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def book_over_chat(c, h, opening: str, user: str) -> tuple[dict, list[str], str | None]:
    """Drive the dialogue like a customer: pick the second offer (when offered), give a name, then a bare phone
    number (a Colombian mobile starts with 3: it must not be read as "option 3")."""
    replies, chosen = [], None
    out = say(c, h, opening, user)
    for answer in ("pick", "me llamo Laura Gómez", "300 123 4567"):
        replies.append(out["bot_response"])
        if out.get("booking", {}).get("status") == "confirmed":
            break
        assert out["agent"] in ("schedule", "availability"), (opening, out)
        if answer == "pick":
            if out["booking"]["status"] != "offering":
                continue
            slots = out["booking"]["slots"]
            answer, chosen = ("2", slots[1]) if len(slots) > 1 else ("1", slots[0])
        out = say(c, h, answer, user)
    replies.append(out["bot_response"])
    return out, replies, chosen


@pytest.mark.parametrize("when", PHRASINGS)
def test_book_end_to_end_for_many_ways_of_saying_when(env, when):
    app, c, h = env
    user = "u" + str(abs(hash(when)) % 10**8)
    out, replies, chosen = book_over_chat(c, h, f"hola, quiero agendar toxina botulínica {when}", user)
    assert out["booking"]["status"] == "confirmed", replies
    assert chosen is None or out["booking"]["start"] == chosen, (chosen, replies)
    booking = c.get(f"/bookings/{out['booking']['booking_id']}", headers=h).get_json()
    assert booking["status"] == "confirmed" and booking["customer"]["name"] == "Laura Gómez"
    assert booking["customer"]["phone"] and booking["customer"]["user_id"] == user and booking["channel"] == "whatsapp"
    start = datetime.fromisoformat(booking["start"])
    wish = parse_when(when, datetime.now(BOGOTA), "es")
    assert wish is not None
    # Inside the window asked for, or (a full or past window) the nearest free time within two weeks.
    assert wish.start - timedelta(days=14) <= start < max(wish.end, wish.start + timedelta(days=15)), (when, booking)
    if wish.exact and wish.start.timestamp() > datetime.now(BOGOTA).timestamp() + 3600:
        assert start == wish.start, (when, booking["start"])
    confirmation = out["bot_response"]
    assert "confirmada" in confirmation and "$850.000 COP" in confirmation and "Carrera 43A" in confirmation
    assert start.strftime("%H:%M") in confirmation


def test_a_taken_slot_is_never_claimed_and_the_next_ones_are_offered(env):
    app, c, h = env
    tomorrow = (datetime.now(BOGOTA) + timedelta(days=1)).replace(hour=15, minute=0, second=0, microsecond=0)
    out = say(c, h, "quiero agendar toxina botulínica mañana a las 3", "maria")
    assert out["booking"]["status"] == "collecting" and "15:00" in out["bot_response"]
    say(c, h, "Soy María López", "maria")
    # Meanwhile both doctors' 15:00 is booked through the API.
    for pid in ("dra-gomez", "dr-ruiz"):
        r = c.post("/bookings", headers=h, json={"service_id": "botox", "professional_id": pid,
                                                 "start": tomorrow.isoformat(), "customer": {"name": "Otra"}})
        assert r.status_code == 201
    out = say(c, h, "3109876543", "maria")
    assert out["booking"]["status"] == "offering" and "se acaba de ocupar" in out["bot_response"]
    assert "15:00" not in out["bot_response"] and out["booking"]["slots"]
    assert c.get("/bookings?customer=maria", headers=h).get_json()["total"] == 0
    out = say(c, h, "la primera", "maria")
    assert out["booking"]["status"] == "confirmed", out


def test_reschedule_and_cancel_my_own_booking_over_chat(env):
    app, c, h = env
    out, _, _ = book_over_chat(c, h, "quiero una limpieza facial el viernes a las 10", "pedro")
    booking_id = out["booking"]["booking_id"]
    out = say(c, h, "necesito cambiar mi cita", "pedro")
    assert out["agent"] == "schedule" and "¿Para qué día" in out["bot_response"]
    out = say(c, h, "el sábado a las 11", "pedro")
    if out["booking"]["status"] == "offering":
        out = say(c, h, "1", "pedro")
    assert out["booking"]["status"] == "confirmed" and out["booking"]["booking_id"] == booking_id
    moved = c.get(f"/bookings/{booking_id}", headers=h).get_json()
    assert datetime.fromisoformat(moved["start"]).weekday() == 5 and moved["sequence"] == 1
    out = say(c, h, "quiero cancelar mi cita", "pedro")
    assert out["booking"]["status"] == "cancelled" and "cancelé" in out["bot_response"]
    assert c.get(f"/bookings/{booking_id}", headers=h).get_json()["status"] == "cancelled"
    out = say(c, h, "quiero cancelar mi cita", "pedro")
    assert out["booking"]["status"] == "none"


def test_a_customer_cannot_touch_someone_elses_booking(env):
    app, c, h = env
    book_over_chat(c, h, "quiero agendar toxina botulínica el jueves a las 10", "ana")
    out = say(c, h, "quiero cancelar mi cita", "intruso")
    assert out["booking"]["status"] == "none"
    assert c.get("/bookings?status=confirmed", headers=h).get_json()["total"] == 1


def test_english_booking(env):
    app, c, h = env
    out = say(c, h, "I would like to book a botox appointment next Monday morning, please", "john")
    assert out["booking"]["status"] == "offering" and "Which one" in out["bot_response"]
    out = say(c, h, "the second one", "john")
    out = say(c, h, "my name is John Smith", "john")
    out = say(c, h, "+1 415 555 0100", "john")
    assert out["booking"]["status"] == "confirmed" and "Your appointment is confirmed" in out["bot_response"]
    assert c.get(f"/bookings/{out['booking']['booking_id']}", headers=h).get_json()["customer"]["name"] == "John Smith"


@pytest.mark.parametrize("when", PHRASINGS[:6])
def test_book_through_a_chatwoot_webhook(env, cw, when):
    app, c, h = env
    worker = ChatwootWorker(app.extensions["misybot"])
    replies = []
    for i, text in enumerate((f"quiero agendar toxina botulínica {when}", "1", "me llamo Laura Gómez", "3001234567")):
        raw, headers = signed(SECRET, message_event(1000 + i, content=text, conv=77))
        assert c.post("/webhook/chatwoot", data=raw, headers=headers).get_json()["status"] == "queued"
        worker.run_once()
        replies = [m["content"] for m in cw.messages(101, 77, private=False)]
        if "confirmada" in replies[-1]:
            break
    assert "confirmada" in replies[-1], replies
    listed = c.get("/bookings?status=confirmed", headers=h).get_json()["bookings"]
    assert len(listed) == 1 and listed[0]["channel"] == "whatsapp" and listed[0]["customer"]["name"] == "Laura Gómez"


def test_a_professional_named_by_the_customer_is_the_one_booked(env):
    app, c, h = env
    out = say(c, h, "quiero agendar toxina botulínica con el Dr. Ruiz mañana en la tarde", "lucia")
    assert out["booking"]["status"] == "offering" and "Dra. Laura Gómez" not in out["bot_response"]
    say(c, h, "la primera", "lucia")
    say(c, h, "me llamo Lucía Díaz", "lucia")
    out = say(c, h, "3151234567", "lucia")
    assert out["booking"]["status"] == "confirmed" and out["booking"]["professional"] == "Dr. Andrés Ruiz"


def test_a_booking_dialogue_never_reaches_logs_or_the_meta_agents_outbox(env, caplog):
    app, c, h = env
    r = c.post("/privacy/consent", headers=h, json={"user_id": "sofia", "consent_type": "global_learning",
                                                     "granted": True, "channel": "whatsapp"})
    assert r.status_code in (200, 201), r.get_json()
    with caplog.at_level("DEBUG"):
        out, replies, _ = book_over_chat(c, h, "tienen hora disponible para toxina botulínica mañana en la tarde?", "sofia")
    assert out["booking"]["status"] == "confirmed", replies
    from app.security.principal import Principal
    platform = app.extensions["misybot"]
    ctx = platform.tenant_context(platform.registry.get("alpha"), Principal("platform_admin", None))
    assert ctx.outbox.for_user("sofia") == []
    assert "Sofía" not in caplog.text and "Laura Gómez" not in caplog.text and "300 123 4567" not in caplog.text


def test_the_same_time_can_be_booked_again_over_chat_after_a_cancellation(env):
    app, c, h = env
    first, _, _ = book_over_chat(c, h, "quiero agendar toxina botulínica el jueves a las 10", "rosa")
    say(c, h, "quiero cancelar mi cita", "rosa")
    again, replies, _ = book_over_chat(c, h, "quiero agendar toxina botulínica el jueves a las 10", "rosa")
    assert again["booking"]["status"] == "confirmed", replies
    assert again["booking"]["booking_id"] != first["booking"]["booking_id"]
    assert c.get(f"/bookings/{again['booking']['booking_id']}", headers=h).get_json()["status"] == "confirmed"
