"""End to end through POST /conversations/<user_id>/test with the offline provider."""
import threading

import pytest

ALPHA_PRICES = ("# Servicios y precios\n\n## Toxina botulínica (bótox)\n\n- Precio: $850.000 COP por tres zonas\n"
                "- Duración: 30 minutos\n- El efecto dura entre 4 y 6 meses.\n\n## Limpieza facial\n\n"
                "- Precio: $180.000 COP por sesión\n- Duración: 60 minutos")
ALPHA_INFO = ("# Horarios y ubicación\n\nAtendemos de lunes a viernes de 8:00 a 18:00 y los sábados de 8:00 a "
              "13:00.\n\nDirección: Carrera 43A # 1-50, consultorio 305, Medellín. Parqueadero gratuito para pacientes.")


@pytest.fixture
def key(client, issue_key):
    k = issue_key("alpha", ["chat", "documents:write", "bookings:read"])
    for doc in (ALPHA_PRICES, ALPHA_INFO):
        assert client.post("/documents", json={"content": doc}, headers={"X-API-Key": k}).status_code == 201
    return k


def say(client, key, text, user="cliente-1", channel="web", status=200):
    r = client.post(f"/conversations/{user}/test", json={"message": text, "channel": channel},
                    headers={"X-API-Key": key})
    assert r.status_code == status, r.get_json()
    return r.get_json()


def test_sales_answer_is_grounded_with_persona_and_sources(client, key):
    out = say(client, key, "hola, cuánto vale el botox?")
    assert out["agent"] == "sales" and out["company_id"] == "alpha" and out["handoff"] is False
    assert "$850.000" in out["bot_response"] and "Ana, de Alpha" in out["bot_response"]
    assert out["sources"] and set(out["sources"][0]) == {"document_id", "title"}


def test_follow_up_uses_the_conversation(client, key):
    say(client, key, "cuánto cuesta la limpieza facial?")
    out = say(client, key, "y cuánto dura?")
    assert "60 minutos" in out["bot_response"]


def test_support_answers_hours_and_location(client, key):
    out = say(client, key, "a q hora abren los sabados?")
    assert out["agent"] == "support" and "13:00" in out["bot_response"]
    assert "Carrera 43A" in say(client, key, "donde quedan? hay parqueadero?")["bot_response"]


def test_no_answer_is_honest_and_offers_a_person(client, key):
    out = say(client, key, "hacen tatuajes de henna?")
    assert "No encuentro" in out["bot_response"] and "persona" in out["bot_response"]
    assert out["sources"] == []


def test_english_question_gets_an_english_frame(client, key):
    out = say(client, key, "how much is the botox?")
    assert "$850.000" in out["bot_response"] and "Here is what I have" in out["bot_response"]


def test_booking_is_collected_over_turns_and_never_confirmed(client, key):
    first = say(client, key, "quiero agendar una limpieza facial", user="ana")
    assert first["agent"] == "schedule" and "día" in first["bot_response"]
    second = say(client, key, "el viernes a las 4 de la tarde", user="ana")
    assert second["agent"] == "schedule" and "nombre" in second["bot_response"]
    done = say(client, key, "me llamo Laura Gómez", user="ana")
    assert done["booking"]["status"] == "pending" and done["booking"]["name"] == "Laura Gómez"
    assert "no es una cita confirmada" in done["bot_response"].lower()
    listed = client.get("/bookings?status=pending", headers={"X-API-Key": key}).get_json()
    assert listed["total"] == 1
    b = listed["bookings"][0]
    assert (b["service_name"], b["requested_time"], b["customer"]["name"], b["status"]) == \
        ("limpieza facial", "viernes a las 4 de la tarde", "Laura Gómez", "pending")


def test_availability_without_a_schedule_service_invents_nothing(client, key):
    out = say(client, key, "tienen hora disponible el jueves?")
    assert out["agent"] == "availability"
    assert "no puedo prometerte un horario" in out["bot_response"]
    assert client.get("/bookings?status=pending", headers={"X-API-Key": key}).get_json()["total"] == 0


def test_emergency_stops_the_bot_until_released(client, key):
    out = say(client, key, "me duele muchísimo y está muy hinchado desde el botox de ayer", user="u-emerg")
    assert out["agent"] == "emergency" and out["handoff"] is True
    assert "urgencia" in out["bot_response"] and "123" in out["bot_response"]
    quiet = say(client, key, "hola? cuánto vale el botox?", user="u-emerg")
    assert quiet == {"bot_response": "", "agent": "human", "company_id": "alpha", "sources": [], "handoff": True}
    history = client.get("/conversations/u-emerg", headers={"X-API-Key": key}).get_json()
    assert history["status"] == "handoff" and history["handoff_reason"] == "emergency"
    assert history["messages"][-1]["content"] == "hola? cuánto vale el botox?"     # kept for the human
    released = client.post("/conversations/u-emerg/release", headers={"X-API-Key": key}).get_json()
    assert released["released"] is True
    assert say(client, key, "cuánto vale el botox?", user="u-emerg")["agent"] == "sales"


def test_emergency_in_english_answers_in_english(client, key):
    out = say(client, key, "I can't breathe since the injection", user="u-en")
    assert out["agent"] == "emergency" and "emergency" in out["bot_response"]


def test_asking_for_a_person_hands_off(client, key):
    out = say(client, key, "quiero hablar con una persona", user="u-h")
    assert out["agent"] == "human" and out["handoff"] is True
    assert say(client, key, "sigues ahí?", user="u-h")["bot_response"] == ""


def test_channel_formatting(client, key):
    wa = say(client, key, "cuánto vale el botox?", user="wa", channel="whatsapp")["bot_response"]
    assert "**" not in wa and "#" not in wa and "*" in wa
    mail = say(client, key, "cuánto vale el botox?", user="mail", channel="email")["bot_response"]
    assert mail.startswith("Hola,") and mail.rstrip().endswith("Clínica Alpha")
    ig = say(client, key, "cuánto vale el botox?", user="ig", channel="instagram")["bot_response"]
    assert len(ig) <= 1000


def test_history_is_bounded_and_expires(client, key, redis_client):
    for i in range(5):
        say(client, key, f"pregunta {i}: cuánto vale el botox?", user="larga")
    history = client.get("/conversations/larga", headers={"X-API-Key": key}).get_json()["messages"]
    assert len(history) == 6                                # alpha keeps max_messages: 6
    assert history[-2]["content"] == "pregunta 4: cuánto vale el botox?"
    ttl = redis_client.ttl("{alpha}:conversation:larga")
    assert 0 < ttl <= 2 * 3600


def test_list_get_delete_conversations(client, key):
    say(client, key, "hola", user="a1")
    say(client, key, "hola", user="a2")
    listed = client.get("/conversations", headers={"X-API-Key": key}).get_json()
    assert {c["user_id"] for c in listed["conversations"]} == {"a1", "a2"} and listed["total"] == 2
    assert client.delete("/conversations/a1", headers={"X-API-Key": key}).status_code == 200
    assert client.get("/conversations/a1", headers={"X-API-Key": key}).status_code == 404
    assert client.delete("/conversations/a1", headers={"X-API-Key": key}).status_code == 404


def test_concurrent_messages_of_one_conversation_are_not_interleaved(app, key):
    def send(text):
        c = app.test_client()
        r = c.post("/conversations/mismo/test", json={"message": text}, headers={"X-API-Key": key})
        assert r.status_code == 200

    threads = [threading.Thread(target=send, args=(f"mensaje {i}: cuánto vale el botox?",)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    history = app.test_client().get("/conversations/mismo", headers={"X-API-Key": key}).get_json()["messages"]
    assert len(history) == 6
    roles = [m["role"] for m in history]
    assert roles == ["user", "assistant"] * 3
    assert sorted(m["content"] for m in history[::2]) == [f"mensaje {i}: cuánto vale el botox?" for i in range(3)]


@pytest.mark.parametrize("body,user,code", [
    ({"message": ""}, "u", "invalid_message"), ({}, "u", "invalid_message"), ({"message": 3}, "u", "invalid_message"),
    ({"message": "x" * 4001}, "u", "invalid_message"), ({"message": "hola", "channel": "fax"}, "u", "invalid_channel"),
    ({"message": "hola"}, "bad user!", "invalid_user_id"),
    ({"message": "hola"}, "trailing-newline%0A", "invalid_user_id"),
])
def test_bad_chat_input(client, key, body, user, code):
    r = client.post(f"/conversations/{user}/test", json=body, headers={"X-API-Key": key})
    assert r.status_code == 400 and r.get_json()["error"]["code"] == code


def test_chat_needs_the_chat_permission(client, issue_key):
    reader = issue_key("alpha", ["documents:read"])
    r = client.post("/conversations/u/test", json={"message": "hola"}, headers={"X-API-Key": reader})
    assert r.status_code == 403
    assert client.get("/bookings", headers={"X-API-Key": reader}).status_code == 403
