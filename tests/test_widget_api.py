"""The widget channel's server side (the SDK in sdk/ speaks it): branding, sessions that survive page
loads, history, idempotent messages, the Server-Sent Events stream, the SDK files and the demo page."""
from __future__ import annotations

import base64
import hashlib
import json

import pytest

from app.api.sdk import SDK_DIR, VERSION
from app.security.principal import Principal
from tests.fake_openai import FakeOpenAI

ALPHA = "https://alpha.example"


@pytest.fixture
def pk(client, admin_headers):
    creds = client.post("/admin/companies/alpha/credentials", json={}, headers=admin_headers).get_json()
    return creds["publishable_key"]


def session(client, pk, origin=ALPHA, **body):
    r = client.post(f"/v1/widget/session?pk={pk}", json=body, headers={"Origin": origin})
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def auth(s, origin=ALPHA):
    return {"Authorization": f"Bearer {s['token']}", "Origin": origin}


def events(client, pk, s, last_id=None) -> list[tuple[str, str, dict]]:
    """Read the SSE stream until the server ends it (widget_stream_s is short in these tests)."""
    headers = {"Authorization": f"Bearer {s['token']}", **({"Last-Event-ID": last_id} if last_id else {})}
    r = client.get(f"/v1/widget/events?pk={pk}", headers=headers, buffered=True)
    assert r.status_code == 200 and r.mimetype == "text/event-stream"
    assert r.headers["Cache-Control"].startswith("no-cache")
    out = []
    for block in r.get_data(as_text=True).split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line and not line.startswith(":"))
        if "event" in fields:
            out.append((fields["id"], fields["event"], json.loads(fields["data"])))
    return out


@pytest.fixture
def app(make_settings, redis_client):
    from app.factory import create_app
    application = create_app(make_settings(widget_stream_s=1.0))
    yield application
    application.extensions["misybot"].vectors.close()


def test_config_is_public_and_says_whether_the_page_may_chat(client, pk):
    ok = client.get(f"/v1/widget/config?pk={pk}", headers={"Origin": ALPHA})
    assert ok.status_code == 200 and ok.headers["Access-Control-Allow-Origin"] == "*"
    body = ok.get_json()
    assert body["company_id"] == "alpha" and body["origin_allowed"] is True
    assert body["primary_color"].startswith("#") and body["greeting"] and body["agent_name"]
    other = client.get(f"/v1/widget/config?pk={pk}", headers={"Origin": "https://evil.example"}).get_json()
    assert other["origin_allowed"] is False
    assert client.get("/v1/widget/config?pk=pk_live_nope").get_json()["error"]["code"] == "invalid_publishable_key"
    # a session from that page is still refused, with a reason the SDK can show
    refused = client.post(f"/v1/widget/session?pk={pk}", json={}, headers={"Origin": "https://evil.example"})
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "origin_not_allowed"


def test_the_visitor_token_brings_back_the_same_visitor_and_conversation(client, pk):
    first = session(client, pk, user={"name": "Ana Gómez", "phone": "+57 300 555 1234"})
    assert first["status"] == "bot" and first["company_id"] == "alpha"
    r = client.post(f"/v1/widget/messages?pk={pk}", json={"message": "¿cuánto cuesta el bótox?"},
                    headers={**auth(first), "Idempotency-Key": "k-first-visit-01"})
    assert r.status_code == 200 and r.get_json()["bot_response"]
    # next week: the session token is long gone, the page still has its visitor token
    later = session(client, pk, visitor_token=first["visitor_token"])
    assert later["visitor_id"] == first["visitor_id"] and later["token"] != first["token"]
    history = client.get(f"/v1/widget/history?pk={pk}", headers=auth(later)).get_json()
    assert [m["role"] for m in history["messages"]] == ["user", "bot"]
    assert history["messages"][0]["text"] == "¿cuánto cuesta el bótox?"
    # the visitor token only works for the company and origin it was made for
    assert session(client, pk, visitor_token="garbage")["visitor_id"] != first["visitor_id"]
    with_token = client.post(f"/v1/widget/messages?pk={pk}", json={"message": "hola"},
                             headers={"Authorization": f"Bearer {first['visitor_token']}", "Origin": ALPHA})
    assert with_token.status_code == 401          # a visitor token is not a session
    bad = client.post(f"/v1/widget/session?pk={pk}", json={"user": {"email": "not an email"}}, headers={"Origin": ALPHA})
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "invalid_session_request"


def test_a_retried_message_is_answered_once(client, pk, app):
    s = session(client, pk)
    headers = {**auth(s), "Idempotency-Key": "5b8e1c7a-retry-0001"}
    one = client.post(f"/v1/widget/messages?pk={pk}", json={"message": "¿dónde están ubicados?"}, headers=headers)
    two = client.post(f"/v1/widget/messages?pk={pk}", json={"message": "¿dónde están ubicados?"}, headers=headers)
    assert one.status_code == two.status_code == 200
    assert one.get_json() == two.get_json() and one.get_json()["reply_to"] == "5b8e1c7a-retry-0001"
    history = client.get(f"/v1/widget/history?pk={pk}", headers=auth(s)).get_json()["messages"]
    assert [m["role"] for m in history] == ["user", "bot"]            # the turn ran once
    bad = client.post(f"/v1/widget/messages?pk={pk}", json={"message": "hola"}, headers={**auth(s), "Idempotency-Key": "x"})
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "invalid_idempotency_key"


def test_a_refused_message_can_be_sent_again_with_its_key(client, pk, app):
    s = session(client, pk)
    p = app.extensions["misybot"]
    ctx = p.tenant_context(p.registry.get("alpha"), Principal("platform_admin", None))
    headers = {**auth(s), "Idempotency-Key": "refused-then-ok-01"}
    with ctx.conversations.turn_lock(f"web-{s['visitor_id']}"):
        p.settings.__dict__["conversation_wait_s"] = 0.1
        busy = client.post(f"/v1/widget/messages?pk={pk}", json={"message": "hola"}, headers=headers)
    assert busy.status_code in (409, 503)
    ok = client.post(f"/v1/widget/messages?pk={pk}", json={"message": "hola"}, headers=headers)
    assert ok.status_code == 200 and ok.get_json()["reply_to"] == "refused-then-ok-01"


def test_the_event_stream_carries_typing_the_reply_and_handoff(client, pk, app, creds_api_key):
    s = session(client, pk)
    start = events(client, pk, s)            # nothing yet; the stream ends after widget_stream_s
    assert start == []
    r = client.post(f"/v1/widget/messages?pk={pk}", json={"message": "¿cuánto cuesta el bótox?"},
                    headers={**auth(s), "Idempotency-Key": "k-events-0001"})
    reply = r.get_json()
    seen = events(client, pk, s, last_id="0-0")
    kinds = [kind for _, kind, _ in seen]
    assert kinds == ["typing", "message", "typing"]
    assert seen[0][2] == {"on": True} and seen[2][2] == {"on": False}
    message = seen[1][2]
    assert message["id"] == reply["id"] and message["reply_to"] == "k-events-0001"
    assert message["text"] == reply["bot_response"] and message["role"] == "bot"
    # resume after the last id seen: nothing is repeated
    assert events(client, pk, s, last_id=seen[-1][0]) == []
    # a person takes the conversation (the customer asks), then the company gives it back to the bot
    human = client.post(f"/v1/widget/messages?pk={pk}", json={"message": "quiero hablar con una persona"},
                        headers={**auth(s), "Idempotency-Key": "k-events-0002"}).get_json()
    assert human["status"] == "human" and human["handoff"] is True
    released = client.post(f"/conversations/web-{s['visitor_id']}/release", headers={"X-API-Key": creds_api_key})
    assert released.status_code == 200
    later = events(client, pk, s, last_id=seen[-1][0])
    handoffs = [data["status"] for _, kind, data in later if kind == "handoff"]
    assert handoffs == ["human", "bot"]
    assert client.post(f"/v1/widget/session?pk={pk}", json={"visitor_token": s["visitor_token"]},
                       headers={"Origin": ALPHA}).get_json()["status"] == "bot"


def test_a_visitors_stream_is_its_own(client, pk):
    a, b = session(client, pk), session(client, pk)
    client.post(f"/v1/widget/messages?pk={pk}", json={"message": "hola"}, headers=auth(a))
    assert events(client, pk, b, last_id="0-0") == []
    assert len(events(client, pk, a, last_id="0-0")) == 3


@pytest.fixture
def creds_api_key(client, admin_headers):
    return client.post("/admin/companies/alpha/api-keys", json={}, headers=admin_headers).get_json()["api_key"]


@pytest.fixture
def llm():
    server = FakeOpenAI()
    yield server
    server.close()


@pytest.fixture
def llm_widget(make_settings, redis_client, llm, config_file, admin_headers):
    """alpha answered by an OpenAI-compatible server, with a priced passage to ground on."""
    config_file.write_text(config_file.read_text().replace(
        "    chatwoot: {account_id: 101}", "    chatwoot: {account_id: 101}\n    ai: {provider: openai, model: test-model}"))
    from app.factory import create_app
    application = create_app(make_settings(widget_stream_s=1.0, openai_base_url=llm.url, openai_api_key="sk-test",
                                           llm_timeout_s=2.0))
    c = application.test_client()
    api_key = c.post("/admin/companies/alpha/api-keys", json={}, headers=admin_headers).get_json()["api_key"]
    c.post("/documents", json={"content": "## Bótox\n- Precio: $850.000 COP por tres zonas"}, headers={"X-API-Key": api_key})
    key = c.post("/admin/companies/alpha/credentials", json={}, headers=admin_headers).get_json()["publishable_key"]
    yield c, key
    application.extensions["misybot"].vectors.close()


def _ask(c, key, s, message, idem):
    r = c.post(f"/v1/widget/messages?pk={key}", json={"message": message}, headers={**auth(s), "Idempotency-Key": idem})
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def test_an_llm_answer_streams_to_the_page_a_checked_sentence_at_a_time(llm_widget, llm):
    c, key = llm_widget
    s = session(c, key)
    llm.chat_reply = "El bótox cuesta $850.000 COP por tres zonas [1]. ¿Quieres agendar una valoración?"
    reply = _ask(c, key, s, "¿cuánto cuesta el bótox?", "k-stream-0001")
    assert reply["bot_response"].startswith("El bótox cuesta $850.000 COP")
    call = [r for r in llm.requests if r["path"] == "/v1/chat/completions"][-1]
    assert call["body"]["stream"] is True
    seen = events(c, key, s, last_id="0-0")
    deltas = [d["text"] for _, kind, d in seen if kind == "delta"]
    assert deltas == ["El bótox cuesta $850.000 COP por tres zonas [1]. ", "¿Quieres agendar una valoración?"]
    assert [kind for _, kind, _ in seen] == ["typing", "delta", "delta", "message", "typing"]
    assert all(d["reply_to"] == "k-stream-0001" for _, kind, d in seen if kind == "delta")


def test_an_invented_figure_is_never_streamed_and_the_answer_falls_back(llm_widget, llm):
    c, key = llm_widget
    s = session(c, key)
    llm.chat_reply = "Claro, con gusto te ayudo. El bótox cuesta $99.000 COP. Escríbenos al 300 123 4567."
    reply = _ask(c, key, s, "¿cuánto cuesta el bótox?", "k-stream-0002")
    assert "$850.000" in reply["bot_response"] and "99.000" not in reply["bot_response"]
    seen = events(c, key, s, last_id="0-0")
    streamed = "".join(d["text"] for _, kind, d in seen if kind == "delta")
    assert streamed == "Claro, con gusto te ayudo. "          # the sentence before the invented price only
    assert "99.000" not in json.dumps([d for _, _, d in seen])
    final = [d for _, kind, d in seen if kind == "message"][0]
    assert final["text"] == reply["bot_response"]            # the page replaces the provisional text


def test_sdk_files_are_served_with_cache_headers_and_integrity(client):
    latest = client.get("/sdk/misy.js")
    assert latest.status_code == 200 and latest.mimetype == "application/javascript"
    assert "max-age=3600" in latest.headers["Cache-Control"] and latest.headers.get("ETag")
    versioned = client.get(f"/sdk/{VERSION}/misy.js")
    assert "immutable" in versioned.headers["Cache-Control"] and "max-age=31536000" in versioned.headers["Cache-Control"]
    built = (SDK_DIR / "dist" / "misy.js").read_bytes()
    assert versioned.data == built
    sri = "sha384-" + base64.b64encode(hashlib.sha384(built).digest()).decode()
    info = client.get("/sdk/integrity.json").get_json()
    assert info["files"]["misy.js"] == {"url": f"/sdk/{VERSION}/misy.js", "integrity": sri}
    assert client.get("/sdk/misy.d.ts").status_code == 200
    assert client.get("/sdk/0.0.1/misy.js").status_code == 404
    again = client.get("/sdk/misy.js", headers={"If-None-Match": latest.headers["ETag"]})
    assert again.status_code == 304


def test_the_readme_snippet_has_the_current_integrity_hash():
    built = (SDK_DIR / "dist" / "misy.js").read_bytes()
    sri = "sha384-" + base64.b64encode(hashlib.sha384(built).digest()).decode()
    readme = (SDK_DIR.parent / "README.md").read_text()
    assert f"/sdk/{VERSION}/misy.js" in readme and sri in readme, "README's snippet is stale: rebuild and update it"


def test_the_demo_page_embeds_the_snippet_under_a_strict_csp(client, make_settings, redis_client):
    page = client.get("/demo/alpha")
    assert page.status_code == 200
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    html = page.get_data(as_text=True)
    assert f'src="http://localhost/sdk/{VERSION}/misy.js"' in html and 'integrity="sha384-' in html
    assert 'data-public-key="pk_live_' in html
    assert client.get("/demo/nobody").status_code == 404
    assert client.get("/demo/alpha?lang=fr").status_code == 400


def test_the_demo_page_and_dev_origins_do_not_exist_in_production(make_settings, redis_client):
    from app.factory import create_app
    application = create_app(make_settings(environment="production"))
    try:
        assert application.test_client().get("/demo/alpha").status_code == 404
        assert application.extensions["misybot"].settings.dev_widget_origins() == ()
    finally:
        application.extensions["misybot"].vectors.close()


def test_bookings_of_the_visitor_reach_its_page_without_contact_details(client, pk, creds_api_key):
    from tests.test_bookings_api import day_at, professional, service
    admin = {"X-API-Key": creds_api_key}
    assert client.post("/catalog/services", json=service(), headers=admin).status_code == 201
    assert client.post("/catalog/professionals", json=professional(), headers=admin).status_code == 201
    s = session(client, pk)
    start = day_at(2, "10:00")
    made = client.post("/bookings", headers=admin, json={
        "service_id": "botox", "start": start.isoformat(),
        "customer": {"name": "Ana Pérez", "phone": "+57 300 123 4567", "user_id": f"web-{s['visitor_id']}"}})
    assert made.status_code == 201, made.get_json()
    booking_id = made.get_json()["booking_id"]
    assert client.post(f"/bookings/{booking_id}/cancel", headers=admin, json={}).status_code == 200
    seen = [(kind, d) for _, kind, d in events(client, pk, s, last_id="0-0") if kind == "booking"]
    assert [(d["event"], d["booking"]["status"]) for _, d in seen] == [("booking.created", "confirmed"),
                                                                       ("booking.cancelled", "cancelled")]
    card = seen[0][1]["booking"]
    assert card["id"] == booking_id and card["service"] == "Toxina botulínica" and card["professional"] == "Dra Gomez"
    assert card["start"] == start.isoformat()
    assert "+57 300" not in json.dumps(seen) and "Pérez" not in json.dumps(seen)
    # another visitor's page hears nothing of it
    other = session(client, pk)
    assert [kind for _, kind, _ in events(client, pk, other, last_id="0-0")] == []
