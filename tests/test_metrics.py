"""Prometheus metrics (app/audit/metrics.py, GET /metrics): a scripted run of events gives exactly the counts
scraped; labels stay bounded; the scrape survives Redis being down; multiprocess mode adds up over processes."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from app.api import metrics as metrics_api
from app.audit.events import Event
from app.audit.metrics import EXPORTED_METRICS, EXTENSION, Metrics
from app.channels.chatwoot_webhook import DEAD, JOBS, RETRY
from tests.conftest import ADMIN_TOKEN

ROOT = Path(__file__).resolve().parent.parent
COMPANIES = ["alpha", "beta"]
METRICS_TOKEN = "test-metrics-token-0123456789"


def scrape_samples(text: str) -> dict[tuple[str, frozenset], float]:
    """{(sample name, labels): value} of a Prometheus text exposition."""
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(samples: dict, name: str, **labels) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def series(samples: dict, name: str) -> dict[frozenset, float]:
    return {labels: v for (n, labels), v in samples.items() if n == name}


def scraped(metrics: Metrics) -> dict:
    body, content_type = metrics.scrape()
    assert content_type.startswith("text/plain")
    return scrape_samples(body.decode())


def request(company="alpha", method="GET", route="/documents", status=200, ms=10.0, error_code=None) -> Event:
    return Event("request", company, "ok" if status < 400 else "refused" if status < 500 else "error",
                 actor="api_key:k1", fields={"method": method, "route": route, "status": status, "duration_ms": ms,
                                             "error_code": error_code})


def turn(company="alpha", outcome="ok", agent="sales", channel="web", llm=None, handoff=False, reasons=(),
         stages=None, booking_status=None, error_code=None) -> Event:
    stages = stages if stages is not None else {"resolve": 1.0, "run_graph": 40.0, "persist": 2.0}
    return Event("turn", company, outcome, fields={
        "user": "u_pseudonym", "channel": channel, "source": "api", "agent": agent, "route_reasons": list(reasons),
        "stages_ms": stages, "duration_ms": sum(stages.values()), "handoff": handoff, "emergency": agent == "emergency",
        "grounded": None, "llm": llm, "booking_status": booking_status, "error_code": error_code})


def one_of_each_kind() -> list[Event]:
    return [request(method="POST", status=201),
            turn(llm={"provider": "openai", "model": "m", "tokens": 10, "fallback_reason": None}, handoff=True,
                 agent="emergency", outcome="handoff"),
            Event("chatwoot_delivery", "alpha", "ok", actor="chatwoot", fields={"attempts": 1, "error": None}),
            Event("admin_action", "alpha", "ok", actor="platform_admin",
                  fields={"method": "POST", "route": "/admin/companies", "status": 201, "target_company": "alpha"}),
            Event("security_refusal", "alpha", "refused", fields={"method": "GET", "route": "/documents", "status": 429,
                                                                  "error_code": "rate_limited", "reason": "rate_limited"}),
            Event("booking", "alpha", "ok", fields={"event": "booking.created", "channel": "web"})]


# -- a scripted run ---------------------------------------------------------------------------------------------------
def test_a_scripted_run_is_counted_exactly(redis_client):
    audit = SimpleNamespace(written=5, dropped=1)
    m = Metrics(company_ids=lambda: COMPANIES, redis=redis_client, audit=audit)
    openai_ok = {"provider": "openai", "model": "gpt", "tokens": 120, "fallback_reason": None}
    openai_fallback = {"provider": "openai", "model": "gpt", "tokens": 0, "fallback_reason": "timeout"}
    script = [
        request(ms=12.0), request(ms=30.0), request(company="beta", route="/documents/<document_id>", status=404),
        request(method="POST", status=201), request(method="POST", status=200),     # a duplicate: not ingested
        request(method="POST", status=422), request(method="POST", status=503),
        turn(llm=openai_ok, stages={"resolve": 1.0, "run_graph": 800.0, "persist": 3.0}),
        turn(agent="emergency", outcome="handoff", handoff=True, reasons=["emergency:bleeding"]),
        turn(company="beta", agent="human", outcome="handoff", handoff=True, reasons=["asked_for_a_person"],
             channel="whatsapp"),
        turn(company="beta", agent="schedule", outcome="handoff", handoff=True, booking_status="pending",
             llm=openai_fallback),
        turn(company="beta", agent=None, outcome="refused", error_code="monthly_quota_exceeded", stages={"resolve": 1.0}),
        turn(company="zeta", agent="support"),                                      # not in the registry
        Event("chatwoot_delivery", "alpha", "ok"), Event("chatwoot_delivery", "beta", "ok"),
        Event("chatwoot_delivery", "alpha", "retry"), Event("chatwoot_delivery", "alpha", "dead"),
        Event("chatwoot_delivery", None, "skipped"),
        Event("security_refusal", "alpha", "refused", fields={"status": 429, "reason": "rate_limited"}),
        Event("security_refusal", "alpha", "refused", fields={"status": 429, "reason": "rate_limited"}),
        Event("security_refusal", None, "refused", fields={"status": 401, "reason": "invalid_credentials"}),
        Event("security_refusal", None, "refused", fields={"status": 403, "reason": "something_new"}),
        Event("admin_action", None, "ok", actor="platform_admin", fields={"method": "POST", "route": "/admin/companies"}),
        Event("booking", "alpha", "ok", fields={"event": "booking.created"}),
        Event("booking", "alpha", "ok", fields={"event": "booking.cancelled"}),
        Event("ingestion", "alpha", "ok"),                                          # a seed document, outside a request
    ]
    for event in script:
        m(event)
    m.count_pii(["PERSON", "PERSON", "EMAIL_ADDRESS"])
    m.count_pii(["PHONE_NUMBER"])
    audit.written = 7                     # the trail wrote two more after the last event: the scrape catches up
    redis_client.xadd(JOBS, {"company_id": "alpha", "payload": "{}", "attempt": 0})
    redis_client.xadd(JOBS, {"company_id": "beta", "payload": "{}", "attempt": 0})
    redis_client.zadd(RETRY, {"job-1": 1.0})
    redis_client.rpush(DEAD, "job-0")
    s = scraped(m)

    assert series(s, "misybot_http_requests_total") == {
        frozenset({"route": "/documents", "method": "GET", "status": "200"}.items()): 2,
        frozenset({"route": "/documents/<document_id>", "method": "GET", "status": "404"}.items()): 1,
        frozenset({"route": "/documents", "method": "POST", "status": "201"}.items()): 1,
        frozenset({"route": "/documents", "method": "POST", "status": "200"}.items()): 1,
        frozenset({"route": "/documents", "method": "POST", "status": "422"}.items()): 1,
        frozenset({"route": "/documents", "method": "POST", "status": "503"}.items()): 1}
    assert value(s, "misybot_http_request_duration_seconds_count", route="/documents") == 6
    assert value(s, "misybot_http_request_duration_seconds_sum", route="/documents") == pytest.approx(0.082)
    assert value(s, "misybot_http_request_duration_seconds_bucket", route="/documents", le="0.025") == 5
    assert series(s, "misybot_ingestion_jobs_total") == {frozenset({"outcome": "ok"}.items()): 2,
                                                         frozenset({"outcome": "error"}.items()): 2}

    assert series(s, "misybot_turns_total") == {
        frozenset({"tenant": "alpha", "agent": "sales", "channel": "web", "outcome": "ok"}.items()): 1,
        frozenset({"tenant": "alpha", "agent": "emergency", "channel": "web", "outcome": "handoff"}.items()): 1,
        frozenset({"tenant": "beta", "agent": "human", "channel": "whatsapp", "outcome": "handoff"}.items()): 1,
        frozenset({"tenant": "beta", "agent": "schedule", "channel": "web", "outcome": "handoff"}.items()): 1,
        frozenset({"tenant": "beta", "agent": "none", "channel": "web", "outcome": "refused"}.items()): 1,
        frozenset({"tenant": "none", "agent": "support", "channel": "web", "outcome": "ok"}.items()): 1}
    assert value(s, "misybot_turn_stage_duration_seconds_count", stage="resolve") == 6
    assert value(s, "misybot_turn_stage_duration_seconds_count", stage="run_graph") == 5
    assert value(s, "misybot_turn_stage_duration_seconds_sum", stage="run_graph") == pytest.approx(0.8 + 4 * 0.04)
    assert value(s, "misybot_turn_duration_seconds_count", channel="web") == 5
    assert value(s, "misybot_turn_duration_seconds_count", channel="whatsapp") == 1
    assert series(s, "misybot_handoffs_total") == {
        frozenset({"tenant": "alpha", "reason": "emergency"}.items()): 1,
        frozenset({"tenant": "beta", "reason": "asked_for_a_person"}.items()): 1,
        frozenset({"tenant": "beta", "reason": "booking"}.items()): 1}
    assert series(s, "misybot_emergencies_total") == {frozenset({"tenant": "alpha"}.items()): 1}
    assert series(s, "misybot_llm_calls_total") == {frozenset({"provider": "openai", "outcome": "ok"}.items()): 1,
                                                    frozenset({"provider": "openai", "outcome": "timeout"}.items()): 1}
    assert series(s, "misybot_llm_tokens_total") == {frozenset({"tenant": "alpha"}.items()): 120}
    assert value(s, "misybot_llm_duration_seconds_count", provider="openai") == 2
    assert value(s, "misybot_llm_duration_seconds_sum", provider="openai") == pytest.approx(0.84)

    assert series(s, "misybot_chatwoot_deliveries_total") == {frozenset({"outcome": o}.items()): n for o, n in
                                                              (("ok", 2), ("retry", 1), ("dead", 1), ("skipped", 1))}
    assert value(s, "misybot_chatwoot_queue_depth") == 3          # two in the stream, one waiting for a retry
    assert value(s, "misybot_chatwoot_dead_letters") == 1
    refusals = {dict(k)["reason"]: v for k, v in series(s, "misybot_security_refusals_total").items() if v}
    assert refusals == {"rate_limited": 2, "invalid_credentials": 1, "other": 1}
    assert series(s, "misybot_rate_limited_total") == {frozenset({"tenant": "alpha"}.items()): 2}
    assert series(s, "misybot_bookings_total") == {
        frozenset({"tenant": "alpha", "event": "booking.created"}.items()): 1,
        frozenset({"tenant": "alpha", "event": "booking.cancelled"}.items()): 1}
    assert series(s, "misybot_pii_detections_total") == {frozenset({"entity_type": "PERSON"}.items()): 2,
                                                         frozenset({"entity_type": "EMAIL_ADDRESS"}.items()): 1,
                                                         frozenset({"entity_type": "PHONE_NUMBER"}.items()): 1}
    assert value(s, "misybot_audit_records_written_total") == 7
    assert value(s, "misybot_audit_records_dropped_total") == 1
    assert not m.failures


def test_every_exported_name_appears_after_one_event_of_each_kind(redis_client):
    m = Metrics(company_ids=lambda: COMPANIES, redis=redis_client, audit=SimpleNamespace(written=0, dropped=0))
    for event in one_of_each_kind():
        m(event)
    m.count_pii(["PERSON"])
    names = set()
    for family in text_string_to_metric_families(m.scrape()[0].decode()):
        names |= {family.name} | {s.name for s in family.samples}
    assert set(EXPORTED_METRICS) <= names, set(EXPORTED_METRICS) - names
    assert {n for n in names if n.startswith("misybot_") and not n.endswith(("_bucket", "_sum", "_count", "_created"))
            and n not in EXPORTED_METRICS and n + "_total" not in EXPORTED_METRICS} == set()


# -- bounded labels, bad input ----------------------------------------------------------------------------------------
def test_the_tenant_label_is_capped_and_unknown_companies_are_none():
    m = Metrics(company_ids=lambda: ["a", "b", "c", "d"], max_tenants=2)
    for company in ("a", "b", "c", "d", "a", None, "not-a-company"):
        m(turn(company=company))
    tenants = {dict(k)["tenant"]: v for k, v in series(scraped(m), "misybot_turns_total").items()}
    assert tenants == {"a": 2, "b": 1, "other": 2, "none": 2}


def test_the_cap_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("MISYBOT_METRICS_MAX_TENANTS", "1")
    m = Metrics(company_ids=lambda: COMPANIES)
    m(turn(company="alpha"))
    m(turn(company="beta"))
    assert {dict(k)["tenant"] for k in series(scraped(m), "misybot_turns_total")} == {"alpha", "other"}


def test_a_company_onboarded_later_gets_its_label(monkeypatch):
    companies = ["alpha"]
    m = Metrics(company_ids=lambda: list(companies))
    m(turn(company="gamma"))
    companies.append("gamma")
    monkeypatch.setattr(m.tenant, "REFRESH_S", 0.0)
    m(turn(company="gamma"))
    assert {dict(k)["tenant"]: v for k, v in series(scraped(m), "misybot_turns_total").items()} == {"none": 1, "gamma": 1}


def test_free_form_labels_are_bounded_and_odd_events_never_raise():
    m = Metrics(company_ids=lambda: COMPANIES)
    for i in range(400):
        m(request(route=f"/r{i}", method="BREW", status=999))
    m(Event("turn", "alpha", "ok", fields={"stages_ms": "nope", "llm": "nope", "duration_ms": -5}))
    m(Event("turn", "alpha", "ok", fields=None))   # type: ignore[arg-type]
    m(Event("request", "alpha", "ok", fields={"route": None, "duration_ms": True}))
    m(Event("something_else", "alpha", "ok"))
    s = scraped(m)
    routes = {dict(k)["route"] for k in series(s, "misybot_http_requests_total")}
    assert len(routes) == 300 + 2 and {"other", "none"} <= routes        # 300 kept, the rest "other", None "none"
    assert {dict(k)["method"] for k in series(s, "misybot_http_requests_total")} == {"other"}
    assert {dict(k)["status"] for k in series(s, "misybot_http_requests_total")} == {"other"}


# -- Redis at scrape time -----------------------------------------------------------------------------------------------
def test_the_scrape_survives_redis_being_down():
    # The app's client options (app/storage/redis_store.py): retries with backoff would take seconds.
    down = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=2, socket_timeout=5)
    m = Metrics(company_ids=lambda: COMPANIES, redis=down)
    m(request())
    started = time.monotonic()
    s = scraped(m)
    assert time.monotonic() - started < 1.0
    assert value(s, "misybot_http_requests_total", route="/documents", method="GET", status="200") == 1
    assert value(s, "misybot_chatwoot_queue_depth") is None and value(s, "misybot_chatwoot_dead_letters") is None


# -- GET /metrics -------------------------------------------------------------------------------------------------------
def _wire(application) -> Metrics:
    """The lead's wiring, if it is not in the factory yet: a Metrics on the platform, and the blueprint."""
    if EXTENSION not in application.extensions:
        Metrics(application.extensions["misybot"]).init_app(application)
    if "metrics" not in application.blueprints:
        application.register_blueprint(metrics_api.bp)
    return application.extensions[EXTENSION]


@pytest.fixture
def metrics_app(make_settings, redis_client):
    from app.factory import create_app
    application = create_app(make_settings(metrics_token=METRICS_TOKEN))
    _wire(application)
    yield application
    application.extensions["misybot"].vectors.close()


def test_metrics_needs_the_metrics_token_or_the_admin_token(metrics_app):
    client = metrics_app.test_client()
    r = client.get("/metrics")
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "missing_credentials"
    r = client.get("/metrics", headers={"Authorization": "Bearer wrong-token"})
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "invalid_credentials"
    for token in (ADMIN_TOKEN, METRICS_TOKEN):
        r = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200 and r.mimetype == "text/plain"
        assert any(f.name == "misybot_audit_records_written" for f in text_string_to_metric_families(r.get_data(True)))


def test_metrics_is_in_the_api_contract(metrics_app):
    spec = metrics_app.test_client().get("/openapi.json").get_json()
    operation = spec["paths"]["/metrics"]["get"]
    assert operation["security"] == [{"AdminToken": []}]
    assert {"200", "401"} <= set(operation["responses"])


def test_the_endpoint_answers_with_redis_down(metrics_app):
    m = metrics_app.extensions[EXTENSION]
    m._redis = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, socket_timeout=0.2)
    r = metrics_app.test_client().get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert r.status_code == 200
    names = {f.name for f in text_string_to_metric_families(r.get_data(True))}
    assert "misybot_chatwoot_queue_depth" not in names and "misybot_http_requests" in names


def test_real_requests_and_turns_are_counted(metrics_app):
    """The service's own emission (request events in app/audit/logs.py, turn events in the pipeline) reaches
    the metrics: real requests, a refusal and chat turns, scraped through GET /metrics."""
    platform = metrics_app.extensions["misybot"]
    m = metrics_app.extensions[EXTENSION]
    assert m in platform.events._subscribers
    client = metrics_app.test_client()
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    key = client.post("/admin/companies/alpha/api-keys", json={}, headers=admin).get_json()["api_key"]
    assert client.post("/documents", json={"content": "# Precios\n\nLimpieza facial: $180.000 COP"},
                       headers={"X-API-Key": key}).status_code == 201
    assert client.get("/documents", headers={"X-API-Key": "msk_not_a_real_key_0000000000"}).status_code == 401
    for text in ("hola, cuánto vale la limpieza facial?", "quiero hablar con una persona"):
        assert client.post("/conversations/u-metrics/test", json={"message": text, "channel": "web"},
                           headers={"X-API-Key": key}).status_code == 200
    s = scrape_samples(client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).get_data(True))

    assert value(s, "misybot_http_requests_total", route="/admin/companies/<company_id>/api-keys", method="POST",
                 status="201") == 1
    assert value(s, "misybot_http_requests_total", route="/documents", method="POST", status="201") == 1
    assert value(s, "misybot_ingestion_jobs_total", outcome="ok") == 1
    assert value(s, "misybot_http_requests_total", route="/conversations/<user_id>/test", method="POST",
                 status="200") == 2
    assert value(s, "misybot_security_refusals_total", reason="invalid_credentials") == 1
    turns = series(s, "misybot_turns_total")
    assert sum(turns.values()) == 2 and {dict(k)["tenant"] for k in turns} == {"alpha"}
    assert value(s, "misybot_handoffs_total", tenant="alpha", reason="asked_for_a_person") == 1
    assert value(s, "misybot_turn_stage_duration_seconds_count", stage="run_graph") == 2
    assert not m.failures


# -- several processes --------------------------------------------------------------------------------------------------
WORKER = textwrap.dedent("""
    import json, sys
    from app.audit.events import Event
    from app.audit.metrics import Metrics
    m = Metrics(company_ids=lambda: ["alpha", "beta"], audit=type("T", (), {"written": int(sys.argv[2]), "dropped": 0})())
    assert m.multiprocess_dir, "not in multiprocess mode"
    for i in range(int(sys.argv[1])):
        m(Event("request", "alpha", "ok", fields={"method": "GET", "route": "/documents", "status": 200,
                                                  "duration_ms": 5.0}))
        m(Event("turn", "beta", "ok", fields={"agent": "sales", "channel": "web", "stages_ms": {"run_graph": 20.0},
                                              "duration_ms": 20.0}))
    m.count_pii(["PERSON"])
""")

SCRAPER = textwrap.dedent("""
    import sys
    from types import SimpleNamespace
    from app.audit.metrics import Metrics, gunicorn_child_exit
    for pid in sys.argv[1:]:
        gunicorn_child_exit(None, SimpleNamespace(pid=int(pid)))     # what gunicorn's hook does for exited workers
    sys.stdout.write(Metrics(company_ids=lambda: ["alpha", "beta"]).scrape()[0].decode())
""")


def _run(code: str, env: dict, *args) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-c", code, *map(str, args)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done


def test_multiprocess_mode_adds_up_over_processes(tmp_path):
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    workers = [subprocess.Popen([sys.executable, "-c", WORKER, str(n), str(w)], cwd=ROOT, env=env,
                                stderr=subprocess.PIPE, text=True) for n, w in ((3, 4), (5, 6))]
    pids = []
    for proc in workers:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        pids.append(proc.pid)
    assert len(list(tmp_path.glob("*.db"))) >= 2          # one file per process and kind
    s = scrape_samples(_run(SCRAPER, env, *pids).stdout)
    assert value(s, "misybot_http_requests_total", route="/documents", method="GET", status="200") == 8
    assert value(s, "misybot_http_request_duration_seconds_count", route="/documents") == 8
    assert value(s, "misybot_http_request_duration_seconds_bucket", route="/documents", le="+Inf") == 8
    assert value(s, "misybot_turns_total", tenant="beta", agent="sales", channel="web", outcome="ok") == 8
    assert value(s, "misybot_turn_stage_duration_seconds_sum", stage="run_graph") == pytest.approx(0.16)
    assert value(s, "misybot_pii_detections_total", entity_type="PERSON") == 2
    assert value(s, "misybot_audit_records_written_total") == 10
    assert value(s, "misybot_chatwoot_deliveries_total", outcome="dead") == 0


def test_anonymization_counts_entity_types_never_values(metrics_app):
    from app.privacy import pii
    m = metrics_app.extensions[EXTENSION]
    assert pii.detection_observers.count(m.count_pii) == 1
    masked = pii.anonymize("Me llamo María Gómez y mi correo es maria.gomez@example.com", "es")
    assert "example.com" not in masked
    body = m.scrape()[0].decode()
    counted = {dict(k)["entity_type"]: v for k, v in series(scrape_samples(body), "misybot_pii_detections_total").items()}
    assert counted.get("EMAIL_ADDRESS") == 1 and counted.get("PERSON") == 1
    assert "María" not in body and "example.com" not in body
