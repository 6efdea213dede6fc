"""The global meta-agent end to end: consent -> tenant outbox -> anonymize -> second PII check ->
global collection (pseudonymized) -> admin query, tenant insights, erasure. Real Redis, embedded
Qdrant, real Presidio and embeddings; a third tenant (gamma) shares alpha's industry."""
from __future__ import annotations

import json
import shutil

import pytest

from app.privacy.learning_outbox import LearningOutbox
from app.security.principal import Principal
from graphs.meta.graph import consolidate
from tests.conftest import FIXTURES

GAMMA = """
  - company_id: gamma
    company_name: Estética Gamma
    redis_prefix: "gamma:"
    vectorstore_index: gamma_documents
    language: es
    timezone: America/Santiago
    industry: clínica de estética
    services: Bótox y rellenos
    sales_agent_name: Gabi, de Gamma
"""
PARKING_DOC = "# Ubicación\n\nEstamos en el centro. Parqueadero gratuito para pacientes en el sótano."


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / "companies_config.yaml"
    shutil.copy(FIXTURES / "companies_test.yaml", path)
    path.write_text(path.read_text() + GAMMA)
    return path


@pytest.fixture
def keys(client, issue_key):
    out = {}
    for company in ("alpha", "beta", "gamma"):
        out[company] = issue_key(company, ["chat", "documents:write", "documents:read"])
        assert client.post("/documents", json={"content": PARKING_DOC},
                           headers={"X-API-Key": out[company]}).status_code == 201
    return out


def grant(client, key, user, consent_type="global_learning", granted=True):
    r = client.post("/privacy/consent", json={"user_id": user, "consent_type": consent_type, "granted": granted,
                                              "channel": "web"}, headers={"X-API-Key": key})
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def say(client, key, user, text):
    r = client.post(f"/conversations/{user}/test", json={"message": text}, headers={"X-API-Key": key})
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def process(client, admin_headers):
    r = client.post("/admin/meta/process", headers=admin_headers)
    assert r.status_code == 200, r.get_json()
    return r.get_json()["processed"]


def global_points(app):
    return app.extensions["misybot"].global_knowledge.list()


def outbox(app, company):
    p = app.extensions["misybot"]
    return LearningOutbox(p.tenant_context(p.registry.get(company), Principal("test", company)).keyspace)


PII = {"name": "Mariana Restrepo", "phone": "300 555 1234", "cedula": "1.023.456.789", "email": "mari.r@gmail.com"}


def test_only_consented_questions_are_queued_and_they_arrive_anonymized(app, client, keys, admin_headers):
    grant(client, keys["alpha"], "u-yes")
    say(client, keys["alpha"], "u-yes", f"Soy {PII['name']}, cel {PII['phone']}. ¿Tienen parqueadero para pacientes?")
    say(client, keys["alpha"], "u-no", f"Soy Pedro Gómez, cc {PII['cedula']}. ¿Tienen parqueadero para pacientes?")
    grant(client, keys["alpha"], "u-revoked")
    grant(client, keys["alpha"], "u-revoked", granted=False)
    say(client, keys["alpha"], "u-revoked", "¿tienen parqueadero para pacientes?")
    queued = outbox(app, "alpha").for_user("u-yes")
    assert len(queued) == 1 and outbox(app, "alpha").size() == 1          # nobody else's question
    assert process(client, admin_headers) == {"inserted": 1}
    points = global_points(app)
    assert len(points) == 1
    p = points[0].payload
    assert p["text"] == "¿Tienen parqueadero para pacientes?"               # the question, nothing around it
    assert p["industry"] == "aesthetic" and p["status"] == "pending" and p["count"] == 1
    assert p["sources"][0].startswith("t_") and p["contributors"][0].startswith("u_")
    dump = json.dumps([pt.payload for pt in points], ensure_ascii=False)
    for secret in (*PII.values(), "Pedro Gómez", "alpha", "u-yes", "Clínica Alpha"):
        assert secret not in dump
    assert outbox(app, "alpha").size() == 0


def test_emergencies_and_bookings_are_never_learned(app, client, keys):
    grant(client, keys["alpha"], "u1")
    say(client, keys["alpha"], "u1", "me duele mucho el pecho y no puedo respirar")
    say(client, keys["alpha"], "u1", "quiero agendar una limpieza facial el viernes")
    assert outbox(app, "alpha").size() == 0


def test_a_revocation_drops_queued_questions_and_the_worker_rechecks_consent(app, client, keys, admin_headers):
    grant(client, keys["alpha"], "u1")
    say(client, keys["alpha"], "u1", "¿tienen parqueadero para pacientes?")
    revoked = grant(client, keys["alpha"], "u1", granted=False)
    assert revoked["dropped_pending_learnings"] == 1 and outbox(app, "alpha").size() == 0
    # A question queued just before a revocation reached Redis is caught by the worker's own check.
    outbox(app, "alpha").push("u1", "¿tienen parqueadero?", True, "support", "es")
    assert process(client, admin_headers) == {"dropped_no_consent": 1}
    assert global_points(app) == []


def test_the_graph_screens_text_again_and_stores_nothing_flagged(app):
    p = app.extensions["misybot"]
    out = consolidate(p.meta_pipeline().runtime, {
        "text": "¿pueden llamar a María Gómez al 300 555 1234?", "language": "es", "industry": "aesthetic",
        "answered": False, "source": "t_x", "contributor": "u_x"})
    assert out["outcome"] == "dropped_pii" and global_points(app) == []


def _parking_round(client, keys, admin_headers):
    for company, user, text in (("alpha", "a1", "¿tienen parqueadero para pacientes?"),
                                ("alpha", "a2", "tienen parqueadero para los pacientes gratis?"),
                                ("gamma", "g1", "¿tienen parqueadero para pacientes en carro?")):
        grant(client, keys[company], user)
        say(client, keys[company], user, text)
    return process(client, admin_headers)


def test_repeated_questions_merge_validate_and_become_industry_insights(app, client, keys, admin_headers):
    assert _parking_round(client, keys, admin_headers) == {"inserted": 1, "merged": 2}
    [learning] = global_points(app)
    p = learning.payload
    assert p["count"] == 3 and len(p["sources"]) == 2 and len(p["contributors"]) == 3
    assert p["status"] == "validated" and p["status_by"] == "auto"

    insights = client.get("/v1/insights", headers={"X-API-Key": keys["gamma"]}).get_json()
    assert insights["industry"] == "aesthetic" and len(insights["insights"]) == 1
    topics = insights["insights"][0]["topics"]
    # Only words customers of both tenants used: alpha's "gratis" and gamma's "carro" stay private.
    assert topics == ["pacientes", "parqueadero"]
    assert "gratis" not in json.dumps(insights) and "carro" not in json.dumps(insights)
    assert "parqueadero" in insights["insights"][0]["text"]
    # A spa is another industry: nothing for beta.
    assert client.get("/v1/insights", headers={"X-API-Key": keys["beta"]}).get_json()["insights"] == []


def test_admin_query_list_and_status(app, client, keys, admin_headers):
    _parking_round(client, keys, admin_headers)
    r = client.post("/admin/meta/query", json={"question": "¿qué preguntan sobre parqueadero?"}, headers=admin_headers)
    assert r.status_code == 200
    body = r.get_json()
    assert body["answered_by"] == "listing" and "parqueadero" in body["answer"]
    [hit] = body["learnings"]
    assert hit["count"] == 3 and hit["sources"] == 2 and "contributors" not in hit
    listed = client.get("/admin/meta/learnings?status=validated", headers=admin_headers).get_json()
    assert listed["total"] == 1
    r = client.post(f"/admin/meta/learnings/{hit['id']}", json={"status": "rejected"}, headers=admin_headers)
    assert r.status_code == 200 and r.get_json()["status"] == "rejected" and r.get_json()["status_by"] == "admin"
    assert client.get("/v1/insights", headers={"X-API-Key": keys["alpha"]}).get_json()["insights"] == []
    assert client.post("/admin/meta/query", json={"question": "parqueadero", "status": ["validated"]},
                       headers=admin_headers).get_json()["learnings"] == []


@pytest.mark.parametrize("path,body,code", [
    ("/admin/meta/query", {}, "invalid_question"),
    ("/admin/meta/query", {"question": "x", "industry": "bakery"}, "invalid_industry"),
    ("/admin/meta/query", {"question": "x", "status": ["approved"]}, "invalid_status"),
    ("/admin/meta/query", {"question": "x", "k": 0}, "invalid_parameter"),
    ("/admin/meta/query", {"question": "x", "language": "fr"}, "invalid_language"),
    ("/admin/meta/learnings/6b1f6a0e-5b7c-4c1e-9d55-8d0c1b6b7a11", {"status": "maybe"}, "invalid_status"),
])
def test_bad_admin_input_is_a_400(client, admin_headers, path, body, code):
    r = client.post(path, json=body, headers=admin_headers)
    assert r.status_code == 400 and r.get_json()["error"]["code"] == code


def test_unknown_learning_is_a_404(client, admin_headers):
    for learning_id in ("6b1f6a0e-5b7c-4c1e-9d55-8d0c1b6b7a11", "not-a-uuid"):
        r = client.post(f"/admin/meta/learnings/{learning_id}", json={"status": "validated"}, headers=admin_headers)
        assert r.status_code == 404 and r.get_json()["error"]["code"] == "learning_not_found"


def test_tenants_cannot_use_the_admin_meta_api(client, keys):
    for method, path in (("post", "/admin/meta/query"), ("get", "/admin/meta/learnings"), ("post", "/admin/meta/process")):
        r = getattr(client, method)(path, json={"question": "x"}, headers={"X-API-Key": keys["alpha"]})
        assert r.status_code == 401
    assert client.get("/v1/insights").status_code == 401


def test_erasure_removes_a_users_part_of_the_global_collection(app, client, keys, admin_headers, issue_key):
    _parking_round(client, keys, admin_headers)
    p = app.extensions["misybot"]
    author, other = p.pseudonyms.user("alpha", "a1"), p.pseudonyms.user("alpha", "a2")
    admin_key = issue_key("alpha", ["admin"])
    exported = client.get("/privacy/users/a2/export", headers={"X-API-Key": admin_key}).get_json()
    assert exported["sections"]["global_learnings"] == [
        {"text": None, "industry": "aesthetic", "status": "validated"}]      # a2 contributed, a1 wrote it
    r = client.delete("/privacy/users/a2", headers={"X-API-Key": admin_key})
    assert r.status_code == 200 and r.get_json()["receipts"]["global_learnings"] == {"deleted_points": 0,
                                                                                      "updated_points": 1}
    [learning] = global_points(app)
    assert other not in learning.payload["contributors"] and learning.payload["count"] == 2
    # The author's erasure takes the learning (their words) away entirely.
    r = client.delete("/privacy/users/a1", headers={"X-API-Key": admin_key})
    assert r.get_json()["receipts"]["global_learnings"] == {"deleted_points": 1, "updated_points": 0}
    assert global_points(app) == []
    assert not any(author in json.dumps(pt.payload) for pt in global_points(app))
