"""A website visitor handed to a person: the conversation opens in the company's Chatwoot (API inbox),
the visitor's messages go there, the agent's replies come back to the page, and resolving it in Chatwoot
gives the visitor back to the bot. Chatwoot is the local stand-in (tests/chatwoot_fake.py)."""
from __future__ import annotations

import pytest

from app.channels.chatwoot_webhook import RETRY
from app.factory import create_app
from app.security.principal import Principal
from app.workers.chatwoot import ChatwootWorker
from tests.chatwoot_fake import conversation_event, message_event, signed
from tests.conftest import ADMIN_TOKEN
from tests.test_widget_api import events

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
ALPHA = "https://alpha.example"
SECRET = "whsec-alpha-0123456789"


@pytest.fixture
def setup(cw, make_settings, redis_client, config_file):
    config_file.write_text(config_file.read_text().replace(
        "chatwoot: {account_id: 101}", f"chatwoot: {{account_id: 101, base_url: '{cw.url}', widget_inbox_id: 12}}"))
    app = create_app(make_settings(widget_stream_s=1.0))
    c = app.test_client()
    assert c.put("/admin/companies/alpha/chatwoot", headers=ADMIN,
                 json={"api_token": "token-alpha", "webhook_secret": SECRET}).status_code == 200
    pk = c.post("/admin/companies/alpha/credentials", json={}, headers=ADMIN).get_json()["publishable_key"]
    api_key = c.post("/admin/companies/alpha/api-keys", json={}, headers=ADMIN).get_json()["api_key"]
    yield app, c, pk, api_key, ChatwootWorker(app.extensions["misybot"])
    app.extensions["misybot"].vectors.close()


def visitor(c, pk, **user):
    s = c.post(f"/v1/widget/session?pk={pk}", json={"user": user} if user else {}, headers={"Origin": ALPHA}).get_json()
    return s, {"Authorization": f"Bearer {s['token']}", "Origin": ALPHA}


def say(c, pk, auth, text):
    r = c.post(f"/v1/widget/messages?pk={pk}", json={"message": text}, headers=auth)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def webhook(c, payload):
    raw, headers = signed(SECRET, payload)
    r = c.post("/webhook/chatwoot", data=raw, headers=headers)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def page_events(c, pk, s):
    return [(kind, data) for _, kind, data in events(c, pk, s, last_id="0-0")]


def test_a_person_answers_the_widget_visitor_from_chatwoot(setup, cw):
    app, c, pk, api_key, worker = setup
    s, auth = visitor(c, pk, name="Ana Gómez", email="ana@example.com")
    say(c, pk, auth, "hola, ¿hacen limpieza facial?")
    handed = say(c, pk, auth, "quiero hablar con una persona")
    assert handed["status"] == "human"
    worker.run_once()
    contact = cw.created(101, "contacts")
    assert contact == [{"inbox_id": 12, "name": "Ana Gómez", "identifier": f"web-{s['visitor_id']}",
                        "email": "ana@example.com"}]
    [conversation] = cw.created(101, "conversations")
    assert conversation["inbox_id"] == 12 and conversation["status"] == "open"
    [note] = cw.messages(101, 901, private=True)
    assert "hola, ¿hacen limpieza facial?" in note["content"] and "pidió una persona" in note["content"]

    # the visitor writes while the person has it: no bot answer, the message reaches Chatwoot once
    quiet = say(c, pk, auth, "¿me atienden pronto?")
    assert quiet["bot_response"] == "" and quiet["status"] == "human"
    worker.run_once()
    worker.run_once()
    incoming = [m for m in cw.messages(101, 901) if m["message_type"] == "incoming"]
    assert [m["content"] for m in incoming] == ["¿me atienden pronto?"]
    # Chatwoot echoes that message as the contact's: the bot must not answer it
    posts = len(cw.posts)
    webhook(c, message_event(9100, conv=901, content="¿me atienden pronto?", channel="Channel::Api", status="open"))
    worker.run_once()
    assert len(cw.posts) == posts

    # the agent answers in Chatwoot: the page gets it as a person's message, and the history keeps it
    webhook(c, message_event(9101, conv=901, content="Hola Ana, soy Laura. Claro que sí.", message_type="outgoing",
                             sender="user", channel="Channel::Api", status="open"))
    worker.run_once()
    events = page_events(c, pk, s)
    human = [d for kind, d in events if kind == "message" and d["role"] == "human"]
    assert [m["text"] for m in human] == ["Hola Ana, soy Laura. Claro que sí."]
    history = c.get(f"/v1/widget/history?pk={pk}", headers=auth).get_json()
    assert history["messages"][-1] == {**history["messages"][-1], "role": "human", "text": "Hola Ana, soy Laura. Claro que sí."}

    # resolved in Chatwoot: back to the bot, and the page hears it
    webhook(c, conversation_event("resolved", conv=901, event="conversation_status_changed"))
    worker.run_once()
    assert [d["status"] for kind, d in page_events(c, pk, s) if kind == "handoff"] == ["human", "bot"]
    again = say(c, pk, auth, "¿dónde están ubicados?")
    assert again["status"] == "bot" and again["bot_response"]

    # a second handoff of the same visitor reopens the same Chatwoot conversation
    say(c, pk, auth, "necesito hablar con un asesor humano")
    worker.run_once()
    assert len(cw.created(101, "conversations")) == 1 and cw.toggles(101, 901) == ["open"]
    assert len(cw.messages(101, 901, private=True)) == 2


def test_chatwoot_down_delays_the_handoff_but_loses_nothing(setup, cw, redis_client):
    app, c, pk, api_key, worker = setup
    s, auth = visitor(c, pk)
    say(c, pk, auth, "quiero hablar con una persona")
    say(c, pk, auth, "sigo aquí")
    cw.fail_next = 3
    for _ in range(4):
        worker.run_once()
        for raw in redis_client.zrange(RETRY, 0, -1):            # make the backoff due now
            redis_client.zadd(RETRY, {raw: 0})
    worker.run_once()
    worker.run_once()
    assert len(cw.created(101, "conversations")) == 1
    incoming = [m["content"] for m in cw.messages(101, 901) if m["message_type"] == "incoming"]
    assert incoming == ["sigo aquí"] and redis_client.zcard(RETRY) == 0
    assert cw.created(101, "contacts")[0]["name"].startswith("Visitante web")


def test_without_a_widget_inbox_nothing_goes_to_chatwoot(cw, make_settings, redis_client, config_file):
    app = create_app(make_settings())
    try:
        c = app.test_client()
        pk = c.post("/admin/companies/alpha/credentials", json={}, headers=ADMIN).get_json()["publishable_key"]
        s, auth = visitor(c, pk)
        assert say(c, pk, auth, "quiero hablar con una persona")["status"] == "human"
        ChatwootWorker(app.extensions["misybot"]).run_once()
        assert cw.posts == []
    finally:
        app.extensions["misybot"].vectors.close()


def test_erasing_the_visitor_forgets_its_chatwoot_link(setup, cw):
    app, c, pk, api_key, worker = setup
    s, auth = visitor(c, pk, phone="+57 300 555 1234")
    say(c, pk, auth, "quiero hablar con una persona")
    worker.run_once()
    user = f"web-{s['visitor_id']}"
    exported = c.get(f"/privacy/users/{user}/export", headers={"X-API-Key": api_key})
    assert exported.status_code == 200
    widget = exported.get_json()["sections"]["widget"]
    assert widget["chatwoot_conversation"] == [101, 901] and widget["profile"]["phone"] == "+57 300 555 1234"
    erased = c.delete(f"/privacy/users/{user}", headers={"X-API-Key": api_key})
    assert erased.status_code == 200 and erased.get_json()["receipts"]["widget"]["deleted_keys"] >= 4
    p = app.extensions["misybot"]
    ctx = p.tenant_context(p.registry.get("alpha"), Principal("platform_admin", None))
    assert ctx.widget.visitor_of_chatwoot(101, 901) is None and ctx.widget.profile(s["visitor_id"]) == {}
