"""The service's events (app/audit/events.py): a turn on every channel, a Chatwoot delivery, an admin action, each
security refusal and a booking each give their event, with no customer text in any of them."""
from __future__ import annotations

import json
import time

import pytest

from app.factory import create_app
from app.workers.chatwoot import ChatwootWorker
from tests.chatwoot_fake import message_event, signed
from tests.conftest import ADMIN_TOKEN

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
SECRET = "whsec-alpha-0123456789"
CANARY = "Zacarías Canario 3001234567 canary@example.com"


@pytest.fixture
def env(cw, make_settings, redis_client, config_file):
    config_file.write_text(config_file.read_text().replace("    chatwoot: {account_id: 101}",
                                                           f"    chatwoot: {{account_id: 101, base_url: '{cw.url}'}}"))
    app = create_app(make_settings())
    c = app.test_client()
    events = []
    app.extensions["misybot"].events.subscribe(events.append)
    c.put("/admin/companies/alpha/chatwoot", headers=ADMIN, json={"api_token": "token-alpha", "webhook_secret": SECRET})
    key = c.post("/admin/companies/alpha/api-keys", json={}, headers=ADMIN).get_json()["api_key"]
    assert [e.kind for e in events] == ["request", "admin_action"] * 2
    events.clear()
    yield app, c, key, events
    app.extensions["misybot"].vectors.close()


def of(events, kind):
    return [e for e in events if e.kind == kind]


def test_a_turn_gives_one_event_without_customer_text(env):
    app, c, key, events = env
    r = c.post("/conversations/cliente-canary/test", json={"message": f"hola, soy {CANARY}, cuánto vale el bótox?"},
               headers={"X-API-Key": key})
    assert r.status_code == 200
    (turn,) = of(events, "turn")
    assert turn.company_id == "alpha" and turn.outcome == "ok" and turn.request_id
    f = turn.fields
    assert f["channel"] == "web" and f["source"] == "api" and f["agent"] == "sales" and f["user"].startswith("u_")
    assert set(f["stages_ms"]) >= {"resolve", "count_quota", "run_graph", "persist", "queue_learning"}
    assert f["llm"] is None and f["grounded"] is False and f["handoff"] is False
    (request,) = [e for e in of(events, "request") if e.fields["route"] == "/conversations/<user_id>/test"]
    assert request.actor.startswith("api_key:") and request.outcome == "ok"
    everything = json.dumps([e.__dict__ for e in events], default=str)
    for piece in ("Zacarías", "3001234567", "canary@example.com", "cliente-canary", "bótox", key):
        assert piece not in everything


def test_a_refused_turn_and_an_emergency_are_events_too(env, redis_client):
    app, c, key, events = env
    out = c.post("/conversations/u2/test", json={"message": "me puse botox ayer y no puedo respirar bien"},
                 headers={"X-API-Key": key}).get_json()
    assert out["agent"] == "emergency"
    (turn,) = of(events, "turn")
    assert turn.outcome == "handoff" and turn.fields["emergency"] is True and turn.fields["handoff"] is True
    r = c.post("/conversations/bad%20user/test", json={"message": "hola"}, headers={"X-API-Key": key})
    assert r.status_code == 400
    refused = of(events, "turn")[-1]
    assert refused.outcome == "refused" and refused.fields["error_code"] == "invalid_user_id"


def test_a_chatwoot_delivery_and_its_turn(env, cw):
    app, c, key, events = env
    raw, headers = signed(SECRET, message_event(501, content="cuánto vale el bótox?"))
    assert c.post("/webhook/chatwoot", data=raw, headers=headers).status_code == 200
    webhook = [e for e in of(events, "request") if e.fields["route"].startswith("/webhook/chatwoot")]
    assert webhook and webhook[0].actor == "chatwoot"
    ChatwootWorker(app.extensions["misybot"]).run_once()
    (delivery,) = of(events, "chatwoot_delivery")
    assert delivery.outcome == "ok" and delivery.fields == {"attempts": 1, "error": None}
    assert of(events, "turn")[0].fields["source"] == "chatwoot"


def test_admin_actions_and_every_security_refusal(env):
    app, c, key, events = env
    c.post("/admin/companies/alpha/api-keys", json={}, headers=ADMIN)
    (action,) = of(events, "admin_action")
    assert action.actor == "platform_admin" and action.fields["route"] == "/admin/companies/<company_id>/api-keys"
    reader = c.post("/admin/companies/alpha/api-keys", json={"permissions": ["documents:read"]}, headers=ADMIN).get_json()
    events.clear()
    c.get("/documents")                                                            # missing_credentials
    c.get("/documents", headers={"X-API-Key": "msk_not_a_key_0123456789"})        # invalid_credentials
    c.post("/conversations/u/test", json={"message": "hola"}, headers={"X-API-Key": reader["api_key"]})
    c.get("/documents", headers={"X-API-Key": key, "X-Company-ID": "beta"})        # tenant_mismatch
    raw, headers = signed("wrong-secret", message_event(502))
    c.post("/webhook/chatwoot", data=raw, headers=headers)                         # bad signature
    raw, headers = signed(SECRET, message_event(503), ts=int(time.time()) - 3600)
    c.post("/webhook/chatwoot", data=raw, headers=headers)                         # stale: replay window
    reasons = [e.fields["reason"] for e in of(events, "security_refusal")]
    assert reasons[:4] == ["missing_credentials", "invalid_credentials", "insufficient_permissions", "tenant_mismatch"]
    assert reasons[4:] == ["bad_signature", "replay"]
    assert all(e.outcome == "refused" and e.fields["status"] in (401, 403, 429) for e in of(events, "security_refusal"))


def test_booking_changes_are_events(env):
    app, c, key, events = env
    h = {"X-API-Key": key}
    c.post("/catalog/services", headers=h, json={"id": "botox", "name": "Bótox", "duration_minutes": 30})
    c.post("/catalog/professionals", headers=h, json={"id": "dra-a", "name": "Dra. A", "service_ids": ["botox"],
                                                      "weekly_hours": {"mon": ["00:00-24:00"], "tue": ["00:00-24:00"],
                                                                       "wed": ["00:00-24:00"], "thu": ["00:00-24:00"],
                                                                       "fri": ["00:00-24:00"], "sat": ["00:00-24:00"],
                                                                       "sun": ["00:00-24:00"]}})
    start = time.strftime("%Y-%m-%dT10:00:00-05:00", time.gmtime(time.time() + 3 * 86400))
    b = c.post("/bookings", headers=h, json={"service_id": "botox", "start": start, "customer": {"name": CANARY}}).get_json()
    c.post(f"/bookings/{b['booking_id']}/cancel", headers=h)
    assert [e.fields["event"] for e in of(events, "booking")] == ["booking.created", "booking.cancelled"]
    assert [e.kind for e in events if e.fields.get("route") == "/catalog/services"] == ["request", "admin_action"]
    assert CANARY not in json.dumps([e.__dict__ for e in events], default=str)


def test_the_audit_trail_records_them_and_the_chain_verifies(env, cw):
    app, c, key, events = env
    platform = app.extensions["misybot"]
    c.post("/conversations/cliente-canary/test", json={"message": f"soy {CANARY}, cuánto vale el bótox?"},
           headers={"X-API-Key": key})
    raw, headers = signed(SECRET, message_event(601, content=f"hola soy {CANARY}"))
    c.post("/webhook/chatwoot", data=raw, headers=headers)
    ChatwootWorker(platform).run_once()
    c.post("/admin/companies/alpha/api-keys", json={}, headers=ADMIN)
    c.get("/documents", headers={"X-API-Key": key, "X-Company-ID": "beta"})
    platform.audit.flush(10)
    rows = c.get("/audit?per_page=100", headers={"X-API-Key": key}).get_json()
    kinds = {r["kind"] for r in rows["records"]}
    assert {"turn", "request", "chatwoot_delivery", "admin_action", "security_refusal"} <= kinds
    dump = json.dumps(rows, ensure_ascii=False)
    for piece in ("Zacarías", "3001234567", "canary@example.com", "cliente-canary", key):
        assert piece not in dump
    assert platform.audit.verify("alpha").ok
    assert c.get("/audit", headers={"X-API-Key": key}).status_code == 200
    beta_key = c.post("/admin/companies/beta/api-keys", json={}, headers=ADMIN).get_json()["api_key"]
    platform.audit.flush(10)
    beta_rows = c.get("/audit?per_page=100", headers={"X-API-Key": beta_key}).get_json()
    assert beta_rows["records"] and all(r["company_id"] == "beta" for r in beta_rows["records"])


def test_a_deferred_subscriber_works_off_the_request_thread_and_drops_when_full():
    import threading

    from app.audit.events import Deferred, Event, EventHub
    seen, threads = [], set()

    def slow(event):
        threads.add(threading.current_thread().name)
        if event.outcome == "boom":
            raise RuntimeError("a subscriber bug")
        seen.append(event.outcome)

    deferred = Deferred(slow, maxsize=3, interval_s=0.05)
    hub = EventHub()
    hub.subscribe(deferred)
    for outcome in ("a", "boom", "b", "c", "d"):        # the queue holds 3 until the worker wakes: 2 dropped
        hub.emit(Event("turn", "alpha", outcome))
    assert deferred.dropped == 2 and seen == []
    deferred.start()
    deadline = time.time() + 5
    while len(seen) < 2 and time.time() < deadline:
        time.sleep(0.02)
    deferred.stop()
    assert seen == ["a", "b"] and threads == {"deferred-events"}
