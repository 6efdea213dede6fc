"""Chatwoot webhooks end to end: signatures, exactly-once replies, when to speak, handoff, channels, media."""
import json
import time

import pytest

from app.channels.chatwoot_events import decide, parse_event
from app.channels.chatwoot_webhook import JOBS, RETRY
from app.factory import create_app
from app.workers.chatwoot import ChatwootWorker
from tests.chatwoot_fake import conversation_event, message_event, signed
from tests.conftest import ADMIN_TOKEN

SECRETS = {"alpha": "whsec-alpha-0123456789", "beta": "whsec-beta-0123456789"}
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def setup(cw, make_settings, redis_client, config_file):
    text = config_file.read_text()
    text = text.replace("chatwoot: {account_id: 101}", f"chatwoot: {{account_id: 101, base_url: '{cw.url}'}}")
    text = text.replace("chatwoot: {account_id: 102}", f"chatwoot: {{account_id: 102, base_url: '{cw.url}', "
                                                       "allow_unsigned_webhooks: true}")
    config_file.write_text(text)
    app = create_app(make_settings())
    c = app.test_client()
    for cid in ("alpha", "beta"):
        r = c.put(f"/admin/companies/{cid}/chatwoot", headers=ADMIN, json={
            "api_token": f"token-{cid}", "webhook_secret": SECRETS[cid], "url_token": f"urltok-{cid}"})
        assert r.status_code == 200
    key = c.post("/admin/companies/alpha/api-keys", json={}, headers=ADMIN).get_json()["api_key"]
    c.post("/documents", json={"content": "## Bótox\n- Precio: $850.000 COP por tres zonas"}, headers={"X-API-Key": key})
    worker = ChatwootWorker(app.extensions["misybot"])
    yield app, c, worker
    app.extensions["misybot"].vectors.close()


def send(c, company, payload, path="/webhook/chatwoot", **kw):
    raw, headers = signed(SECRETS[company], payload, **kw)
    return c.post(path, data=raw, headers=headers)


def test_incoming_message_gets_exactly_one_reply(setup, cw):
    app, c, worker = setup
    r = send(c, "alpha", message_event(1001, content="cuánto vale el botox?"))
    assert r.status_code == 200 and r.get_json()["status"] == "queued"
    worker.run_once()
    msgs = cw.messages(101, 5)
    assert len(msgs) == 1 and "$850.000" in msgs[0]["content"] and msgs[0]["message_type"] == "outgoing"
    assert msgs[0]["private"] is False and cw.posts[0]["token"] == "token-alpha"
    assert "**" not in msgs[0]["content"]                            # WhatsApp formatting
    # The handled job (the customer's message and contact) does not linger in the shared stream.
    assert app.extensions["misybot"].redis.xlen(JOBS) == 0


def test_duplicates_by_delivery_and_by_message_id(setup, cw):
    app, c, worker = setup
    payload = message_event(1002, content="hola, precios del botox")
    raw, headers = signed(SECRETS["alpha"], payload, delivery="dlv-1")
    assert c.post("/webhook/chatwoot", data=raw, headers=headers).get_json()["status"] == "queued"
    assert c.post("/webhook/chatwoot", data=raw, headers=headers).get_json() == {"status": "duplicate", "reason": "delivery"}
    # Chatwoot's duplicate message_created for a fast WhatsApp burst: new delivery id, same message
    assert send(c, "alpha", payload).get_json() == {"status": "duplicate", "reason": "message"}
    worker.run_once()
    worker.run_once()
    assert len(cw.messages(101, 5)) == 1


@pytest.mark.parametrize("mutate,status,code", [
    (lambda h, raw: {**h, "X-Chatwoot-Signature": "sha256=" + "0" * 64}, 401, "invalid_signature"),
    (lambda h, raw: {k: v for k, v in h.items() if k != "X-Chatwoot-Signature"}, 401, "signature_required"),
    (lambda h, raw: {**h, "X-Chatwoot-Timestamp": str(int(time.time()) - 400)}, 401, "stale_webhook"),
])
def test_bad_signatures_are_refused(setup, cw, mutate, status, code):
    app, c, worker = setup
    raw, headers = signed(SECRETS["alpha"], message_event(1003))
    r = c.post("/webhook/chatwoot", data=raw, headers=mutate(headers, raw))
    assert r.status_code == status and r.get_json()["error"]["code"] == code
    worker.run_once()
    assert cw.posts == []


def test_body_changed_after_signing_is_refused(setup):
    app, c, _ = setup
    raw, headers = signed(SECRETS["alpha"], message_event(1004, content="hola"))
    r = c.post("/webhook/chatwoot", data=raw.replace(b"hola", b"adios"), headers=headers)
    assert r.status_code == 401


def test_unknown_account_and_wrong_tenant(setup):
    app, c, _ = setup
    r = send(c, "alpha", message_event(1005, account=999))
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "unknown_account"
    # signed with beta's secret, addressed to beta, but the event is alpha's account
    r = send(c, "beta", message_event(1006, account=101), path="/webhook/chatwoot/beta")
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "wrong_tenant"
    # addressed to alpha but signed with beta's secret
    r = send(c, "beta", message_event(1007, account=101), path="/webhook/chatwoot/alpha")
    assert r.status_code == 401
    assert c.post("/webhook/chatwoot/nadie", data=b"{}", headers={"Content-Type": "application/json"}).status_code == 404


def test_payload_without_account_key_uses_the_url(setup, cw):
    app, c, worker = setup
    r = send(c, "alpha", message_event(1008, with_account=False, content="cuánto vale el botox?"),
             path="/webhook/chatwoot/alpha")
    assert r.get_json()["status"] == "queued"
    worker.run_once()
    assert len(cw.messages(101, 5)) == 1


def test_same_conversation_id_in_two_accounts(setup, cw):
    app, c, worker = setup
    send(c, "alpha", message_event(2001, account=101, conv=7, content="cuánto vale el botox?"))
    send(c, "beta", message_event(2001, account=102, conv=7, content="hola"))
    worker.run_once()
    assert len(cw.messages(101, 7)) == 1 and len(cw.messages(102, 7)) == 1
    # a human takes alpha's conversation 7; beta's conversation 7 is unaffected
    send(c, "alpha", message_event(2002, account=101, conv=7, message_type="outgoing", sender="user", content="Hola, soy Laura"))
    send(c, "alpha", message_event(2003, account=101, conv=7, content="gracias"))
    send(c, "beta", message_event(2004, account=102, conv=7, content="y el masaje?"))
    worker.run_once()
    assert len(cw.messages(101, 7)) == 1 and len(cw.messages(102, 7)) == 2


@pytest.mark.parametrize("kwargs", [
    dict(message_type="outgoing", sender="agent_bot"),
    dict(message_type="template", sender=None),
    dict(message_type="incoming", private=True, sender="user"),
    dict(message_type="outgoing", sender="captain"),
    dict(status="open"),
    dict(status="resolved"),
])
def test_messages_the_bot_must_not_answer(setup, cw, kwargs):
    app, c, worker = setup
    send(c, "alpha", message_event(3001, **kwargs))
    worker.run_once()
    assert cw.posts == []


def test_human_takeover_pauses_and_pending_resumes(setup, cw):
    app, c, worker = setup
    for i, pause in enumerate([
        message_event(4001, message_type="outgoing", sender="user", content="Te atiendo yo"),
        message_event(4001 + 10, message_type="outgoing", sender=None, attrs={"external_echo": True}),
        conversation_event("open"),
        conversation_event("pending", assignee_type="user"),
    ]):
        conv = 20 + i
        pause.setdefault("conversation", {})
        if pause["event"] == "message_created":
            pause["conversation"]["id"] = pause["conversation"]["display_id"] = conv
        else:
            pause["id"] = pause["display_id"] = conv
        send(c, "alpha", pause)
        send(c, "alpha", message_event(4100 + i, conv=conv, content="hola?"))
        worker.run_once()
        # A pending conversation assigned to a person is a human takeover too: the bot stays quiet.
        assert cw.messages(101, conv) == [], pause
    # resolved conversation comes back as pending: the bot resumes
    send(c, "alpha", conversation_event("pending", conv=22))
    send(c, "alpha", message_event(4200, conv=22, content="cuánto vale el botox?"))
    worker.run_once()
    assert len(cw.messages(101, 22)) == 1


def test_emergency_hands_off_in_chatwoot(setup, cw):
    app, c, worker = setup
    send(c, "alpha", message_event(5001, conv=30, content="no puedo respirar desde que me pusieron el relleno"))
    worker.run_once()
    assert cw.toggles(101, 30) == ["open"]
    notes = cw.messages(101, 30, private=True)
    public = cw.messages(101, 30, private=False)
    assert len(notes) == 1 and "emergencia" in notes[0]["content"]
    assert len(public) == 1 and "urgencia" in public[0]["content"]
    send(c, "alpha", message_event(5002, conv=30, content="hola??"))
    worker.run_once()
    assert len(cw.messages(101, 30)) == 2                           # quiet after the handoff


def test_request_for_a_person_hands_off_in_english(setup, cw):
    app, c, worker = setup
    send(c, "alpha", message_event(5101, conv=31, content="I want to talk to a human"))
    worker.run_once()
    assert cw.toggles(101, 31) == ["open"]
    assert "team" in cw.messages(101, 31, private=False)[0]["content"]


def test_email_html_audio_image_and_input_select(setup, cw):
    app, c, worker = setup
    send(c, "alpha", message_event(6001, conv=40, channel="Channel::Email", content="<p>Hola, <b>precio</b>?</p>",
                                   attrs={"email": {"subject": "Consulta bótox"}}))
    send(c, "alpha", message_event(6002, conv=41, content=None, attachments=[
        {"file_type": "audio", "data_url": "http://127.0.0.1:9/audio.ogg"}]))
    send(c, "alpha", message_event(6003, conv=42, content="", attachments=[
        {"file_type": "image", "data_url": "http://127.0.0.1:9/foto.jpg"}]))
    select = message_event(6004, conv=43, message_type="outgoing", sender="agent_bot", content_type="input_select",
                           attrs={"submitted_values": [{"title": "Precio del bótox", "value": "precio_botox"}]})
    select["event"] = "message_updated"
    send(c, "alpha", select)
    worker.run_once()
    email = cw.messages(101, 40)[0]["content"]
    assert email.startswith("Hola,") and "$850.000" in email and "<p>" not in email
    assert "escribir" in cw.messages(101, 41)[0]["content"]
    assert "imagen" in cw.messages(101, 42)[0]["content"]
    assert "$850.000" in cw.messages(101, 43)[0]["content"]


def test_failed_posts_are_retried_and_sent_once(setup, cw, redis_client):
    app, c, worker = setup
    cw.fail_next = 2
    send(c, "alpha", message_event(7001, conv=50, content="cuánto vale el botox?"))
    for _ in range(3):
        worker.run_once()
        for raw in redis_client.zrange(RETRY, 0, -1):           # make the backoff due now
            redis_client.zadd(RETRY, {raw: 0})
    worker.run_once()
    assert len(cw.messages(101, 50)) == 1 and redis_client.zcard(RETRY) == 0
    history = c.get("/conversations/cw-101-50", headers={"X-API-Key": c.post(
        "/admin/companies/alpha/api-keys", json={}, headers=ADMIN).get_json()["api_key"]}).get_json()["messages"]
    assert [m["role"] for m in history] == ["user", "assistant"]     # the graph ran once, not per retry


def test_legacy_unsigned_mode_needs_the_url_token(setup, cw):
    app, c, worker = setup
    raw = json.dumps(message_event(8001, account=102, conv=60, content="hola")).encode()
    h = {"Content-Type": "application/json"}
    assert c.post("/webhook/chatwoot/beta?token=urltok-beta", data=raw, headers=h).status_code == 200
    assert c.post("/webhook/chatwoot/beta?token=wrong", data=raw, headers=h).status_code == 401
    assert c.post("/webhook/chatwoot/beta", data=raw, headers=h).status_code == 401
    alpha_raw = json.dumps(message_event(8002, conv=61)).encode()
    assert c.post("/webhook/chatwoot/alpha?token=urltok-alpha", data=alpha_raw, headers=h).status_code == 401


def test_both_message_type_forms_parse():
    ev = parse_event(message_event(1, content="hola"))
    assert ev.message_type == "incoming" and ev.sender_type == "contact" and decide(ev) == "reply"
    p = message_event(2)
    p["message_type"] = 0
    assert parse_event(p).message_type == "incoming"
    p["message_type"] = 3
    assert decide(parse_event(p)) == "ignore"


def test_secrets_are_not_in_the_config_file(setup, config_file, redis_client):
    text = config_file.read_text()
    assert "whsec-alpha" not in text and "token-alpha" not in text
    blob = " ".join(str(v) for k in redis_client.scan_iter("{alpha}:chatwoot:*") for v in redis_client.hgetall(k).values())
    assert blob and "whsec-alpha" not in blob and "token-alpha" not in blob


def test_voice_note_is_transcribed_when_an_endpoint_is_configured(cw, make_settings, redis_client, config_file):
    from tests.fake_openai import FakeOpenAI

    llm = FakeOpenAI()
    config_file.write_text(config_file.read_text().replace(
        "chatwoot: {account_id: 101}", f"chatwoot: {{account_id: 101, base_url: '{cw.url}'}}"))
    app = create_app(make_settings(openai_base_url=llm.url, openai_api_key="sk-test", transcription_model="whisper-1"))
    try:
        c = app.test_client()
        c.put("/admin/companies/alpha/chatwoot", headers=ADMIN, json={"api_token": "t", "webhook_secret": SECRETS["alpha"]})
        key = c.post("/admin/companies/alpha/api-keys", json={}, headers=ADMIN).get_json()["api_key"]
        c.post("/documents", json={"content": "## Bótox\n- Precio: $850.000 COP por tres zonas"}, headers={"X-API-Key": key})
        audio_url = cw.url + "/rails/active_storage/blobs/nota.ogg"
        send(c, "alpha", message_event(9001, conv=70, content=None, attachments=[{"file_type": "audio", "data_url": audio_url}]))
        # a data_url on any other host is never fetched (no server-side request forgery)
        foreign = llm.url.replace("/v1", "") + "/internal/secret"
        send(c, "alpha", message_event(9002, conv=71, content=None, attachments=[{"file_type": "audio", "data_url": foreign}]))
        ChatwootWorker(app.extensions["misybot"]).run_once()
        calls = [r for r in llm.requests if r["path"] == "/v1/audio/transcriptions"]
        assert len(calls) == 1 and calls[0]["body"]["has_audio"] and calls[0]["auth"] == "Bearer sk-test"
        assert "$850.000" in cw.messages(101, 70)[0]["content"]
        assert "escribir" in cw.messages(101, 71)[0]["content"]
    finally:
        llm.close()
        app.extensions["misybot"].vectors.close()
