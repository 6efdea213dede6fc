"""A question about the business that the router gives a booking agent ("¿atienden los festivos por la mañana?",
"can I bring my kid to my appointment?") is answered from the company's own documents first, then the booking
goes on; a booking step, a finished booking or a question the documents cannot answer get no lead-in."""
from __future__ import annotations

import pytest

from app.factory import create_app
from graphs.tenant.router import route_message
from tests.conftest import ADMIN_TOKEN

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
HOURS = ("## Horario de atención\n"
         "- Lunes a viernes: 8:00 a 18:00\n"
         "- Sábados: 9:00 a 13:00\n"
         "- Festivos: cerrado, la sede no abre en festivos.\n\n"
         "## Acompañantes\n"
         "Puedes venir con un acompañante adulto. Los niños menores de 12 años no pueden entrar a la sala de "
         "procedimientos; kids under 12 must wait in the lobby with another adult.\n")


def _company(make_settings, documents: tuple[tuple[str, str], ...], agenda: bool = False):
    """Company alpha with these documents (and, with `agenda`, a service and a professional, so the booking agents
    offer free times): the app, and a `say(text, user)` that sends one chat turn."""
    app = create_app(make_settings())
    c = app.test_client()
    key = c.post("/admin/companies/alpha/api-keys", json={}, headers=ADMIN).get_json()["api_key"]
    h = {"X-API-Key": key}
    for title, content in documents:
        assert c.post("/documents", json={"content": content, "title": title}, headers=h).status_code in (200, 201, 202)
    if agenda:
        assert c.post("/catalog/services", headers=h, json={
            "id": "limpieza", "name": "limpieza facial", "duration_minutes": 60, "price": 180000,
            "currency": "COP"}).status_code == 201
        assert c.post("/catalog/professionals", headers=h, json={
            "id": "dra-gomez", "name": "Dra. Laura Gómez", "service_ids": ["limpieza"],
            "weekly_hours": {d: ["08:00-18:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat")}}).status_code == 201

    def say(text: str, user: str = "ana") -> dict:
        r = c.post(f"/conversations/{user}/test", json={"message": text, "channel": "web"}, headers=h)
        assert r.status_code == 200, r.get_json()
        return r.get_json()

    return app, say


@pytest.fixture
def chat(make_settings, redis_client):
    app, say = _company(make_settings, (("Horarios y visitas", HOURS),))
    yield say
    app.extensions["misybot"].vectors.close()


def test_an_availability_question_gets_the_documents_answer_then_the_booking_step(chat):
    text = "¿atienden los festivos por la mañana?"
    assert route_message(text).agent == "availability"      # the case this covers: a booking agent got a question
    out = chat(text)
    assert out["agent"] == "availability"
    reply = out["bot_response"]
    assert "la sede no abre en festivos" in reply
    assert "No tengo acceso a la agenda" in reply               # the booking flow still follows
    assert reply.index("no abre en festivos") < reply.index("No tengo acceso a la agenda")
    assert out["sources"] and out["sources"][0]["title"] == "Horarios y visitas"


def test_a_question_sent_to_the_schedule_agent_is_answered_in_english_too(chat):
    text = "can I bring my kid to my appointment?"
    assert route_message(text).agent == "schedule"
    out = chat(text, user="tom")
    assert out["agent"] == "schedule"
    assert "under 12" in out["bot_response"] or "menores de 12" in out["bot_response"]
    assert out["booking"]["status"] == "collecting"


def test_a_booking_request_that_is_not_a_question_gets_no_lead_in(chat):
    out = chat("agéndame una limpieza facial el viernes a las 3", user="eva")
    assert out["agent"] == "schedule"
    assert "Horario" not in out["bot_response"] and "festivos" not in out["bot_response"]


def test_a_step_of_a_booking_under_way_gets_no_lead_in(chat):
    chat("quiero agendar una cita", user="rosa")
    out = chat("¿el sábado a las 10?", user="rosa")           # a question, but it answers the booking's question
    assert out["agent"] == "schedule"
    assert "9:00 a 13:00" not in out["bot_response"] and "Sábados" not in out["bot_response"]


def test_a_question_the_documents_cannot_answer_gets_no_apology_in_front_of_the_booking(chat):
    text = "¿tienen citas para tatuajes los jueves?"
    assert route_message(text).agent == "availability"
    out = chat(text, user="leo")
    assert out["agent"] == "availability"
    assert out["bot_response"].startswith("No tengo acceso a la agenda")


POLICY = ("## Cancelaciones\n"
          "Puedes cancelar o cambiar tu cita sin costo avisando con al menos 6 horas de anticipación; "
          "con menos aviso se cobra el 50 % del servicio.\n")


@pytest.fixture
def agenda_chat(make_settings, redis_client):
    """The same company with its own agenda, so the booking agents offer free times."""
    app, say = _company(make_settings, (("Horarios y visitas", HOURS), ("Políticas", POLICY)), agenda=True)
    yield say
    app.extensions["misybot"].vectors.close()


def test_a_question_answered_with_free_times_gets_the_documents_answer_first(agenda_chat):
    out = agenda_chat("¿qué horarios tienen el sábado para limpieza facial? salgo tarde del trabajo", "sol")
    assert out["agent"] in ("schedule", "availability")
    assert out["booking"]["status"] == "offering"          # the agenda offers free times ...
    assert "9:00 a 13:00" in out["bot_response"]           # ... after the Saturday hours the customer asked about


def test_a_policy_question_with_no_booking_to_change_gets_the_policy(agenda_chat):
    out = agenda_chat("¿puedo cancelar mi cita 3 horas antes sin que me cobren?", "ines")
    assert out["agent"] in ("schedule", "availability")
    assert out["booking"]["status"] == "none"              # nothing to cancel in this chat ...
    assert "6 horas de anticipación" in out["bot_response"]  # ... but the rule is answered


def test_a_booking_made_this_turn_gets_no_lead_in(agenda_chat):
    agenda_chat("quiero una limpieza facial el lunes a las 10", "rafa")
    out = agenda_chat("la primera", "rafa")
    for step in ("me llamo Rafael Soto", "300 765 4321"):
        if out["booking"].get("status") not in ("confirmed", "pending"):
            out = agenda_chat(step, "rafa")
    assert out["booking"]["status"] in ("confirmed", "pending")
    assert "anticipación" not in out["bot_response"] and "Sábados" not in out["bot_response"]
