"""Consent through POST/GET /privacy/consent: state, proof, validation, widget scope, tenant isolation,
and a revoked global_learning emptying the user's queued learnings at once."""
import json
import secrets
import time

import pytest

from app.privacy.consent import LOG_LIMIT, ConsentError, ConsentStore
from app.privacy.learning_outbox import LearningOutbox
from app.security.principal import Principal
from app.security.signatures import sign

ALPHA = "https://alpha.example"


@pytest.fixture
def key(issue_key):
    return issue_key("alpha", ["chat"])


@pytest.fixture
def alpha_creds(client, admin_headers):
    return client.post("/admin/companies/alpha/credentials", json={}, headers=admin_headers).get_json()


@pytest.fixture
def widget(client, alpha_creds):
    """A real widget session of alpha, the way the SDK gets one: (token, user_id, publishable key)."""
    pk = alpha_creds["publishable_key"]
    r = client.post(f"/v1/widget/session?pk={pk}", json={}, headers={"Origin": ALPHA})
    assert r.status_code == 200, r.get_json()
    return r.get_json()["token"], f"web-{r.get_json()['visitor_id']}", pk


def keyspace(app, company_id="alpha"):
    p = app.extensions["misybot"]
    return p.tenant_context(p.registry.get(company_id), Principal("platform_admin", None)).keyspace


def post(client, headers, status=200, **body):
    r = client.post("/privacy/consent", json=body, headers=headers)
    assert r.status_code == status, r.get_json()
    return r.get_json()


def test_grant_then_revoke_keeps_the_proof(client, key):
    h = {"X-API-Key": key}
    out = post(client, h, user_id="ana-1", consent_type="marketing", granted=True, channel="whatsapp",
               source="formulario de registro")
    rec = out["consent"]
    assert out["user_id"] == "ana-1" and out["consents"] == {"marketing": rec}
    assert (rec["type"], rec["status"], rec["channel"], rec["source"]) == ("marketing", "granted", "whatsapp",
                                                                           "formulario de registro")
    assert rec["granted_at"] and rec["updated_at"] == rec["granted_at"] and rec["revoked_at"] is None
    assert "dropped_pending_learnings" not in out

    got = client.get("/privacy/consent/ana-1", headers=h).get_json()
    assert got["consents"]["marketing"] == rec and len(got["history"]) == 1

    time.sleep(0.01)
    revoked = post(client, h, user_id="ana-1", consent_type="marketing", granted=False)["consent"]
    assert revoked["status"] == "revoked" and revoked["channel"] == "api" and revoked["source"] is None
    assert revoked["granted_at"] == rec["granted_at"]                    # kept when revoking
    assert revoked["revoked_at"] and revoked["revoked_at"] > rec["granted_at"]
    assert revoked["updated_at"] == revoked["revoked_at"]

    got = client.get("/privacy/consent/ana-1", headers=h).get_json()
    assert got["consents"]["marketing"]["status"] == "revoked"
    assert [(e["type"], e["status"], e["channel"]) for e in got["history"]] == [
        ("marketing", "granted", "whatsapp"), ("marketing", "revoked", "api")]
    assert got["history"][0]["source"] == "formulario de registro" and got["history"][1]["at"] == revoked["revoked_at"]

    time.sleep(0.01)
    again = post(client, h, user_id="ana-1", consent_type="marketing", granted=True)["consent"]
    assert again["revoked_at"] == revoked["revoked_at"]                  # kept when re-granting
    assert again["granted_at"] > revoked["revoked_at"] and again["status"] == "granted"
    time.sleep(0.01)
    repeat = post(client, h, user_id="ana-1", consent_type="marketing", granted=True)["consent"]
    assert repeat["granted_at"] == again["granted_at"] and repeat["updated_at"] > again["updated_at"]
    assert len(client.get("/privacy/consent/ana-1", headers=h).get_json()["history"]) == 4


def test_types_are_independent_and_unknown_users_have_no_consent(client, key):
    h = {"X-API-Key": key}
    post(client, h, user_id="u-2", consent_type="data_processing", granted=True)
    out = post(client, h, user_id="u-2", consent_type="global_learning", granted=True)
    assert set(out["consents"]) == {"data_processing", "global_learning"}
    nobody = client.get("/privacy/consent/nadie", headers=h)
    assert nobody.status_code == 200 and nobody.get_json() == {"user_id": "nadie", "consents": {}, "history": []}


def test_store_state_allows_log_cap_and_erase(app, redis_client):
    store = ConsentStore(keyspace(app))
    assert store.state("u", "marketing") == "unknown" and store.allows("u", "marketing") is False
    store.record("u", "marketing", False, "email", None)
    assert store.state("u", "marketing") == "revoked" and store.allows("u", "marketing") is False
    store.record("u", "global_learning", True, "web", "widget")
    assert store.allows("u", "global_learning") is True and store.allows("u", "data_processing") is False
    with pytest.raises(ConsentError):
        store.record("u", "newsletter", True, "api", None)
    with pytest.raises(ConsentError):
        store.record("u", "marketing", True, "fax", None)
    with pytest.raises(ConsentError):
        store.state("u", "newsletter")
    for i in range(LOG_LIMIT + 5):
        store.record("u", "marketing", i % 2 == 0, "api", f"n{i}")
    log = store.history("u")
    assert len(log) == LOG_LIMIT and log[-1]["source"] == f"n{LOG_LIMIT + 4}"     # newest kept, oldest trimmed
    assert store.erase("u") == 2 and store.get("u") == {} and store.history("u") == []
    assert store.erase("u") == 0


def test_a_migrated_consent_key_is_never_read_as_a_grant(app, redis_client):
    """Single-tenant deployments stored `consent:{user}` in their own shape; migration copies it verbatim."""
    redis_client.set("{alpha}:consent:legado", "yes")
    redis_client.hset("{alpha}:consent:legado2", mapping={"marketing": "true", "global_learning": "{\"ok\": 1}"})
    store = ConsentStore(keyspace(app))
    assert store.get("legado") == {} and not store.allows("legado", "marketing")
    assert store.get("legado2") == {} and not store.allows("legado2", "global_learning")
    rec = store.record("legado", "marketing", True, "api", "re-consent")
    assert store.get("legado") == {"marketing": rec}
    first, second = store.history("legado")
    assert (first["type"], first["value"]) == ("legacy_record", "yes") and second["status"] == "granted"


@pytest.mark.parametrize("body,code", [
    ({"consent_type": "marketing", "granted": True}, "invalid_user_id"),
    ({"user_id": "bad user!", "consent_type": "marketing", "granted": True}, "invalid_user_id"),
    ({"user_id": 42, "consent_type": "marketing", "granted": True}, "invalid_user_id"),
    ({"user_id": "x" * 129, "consent_type": "marketing", "granted": True}, "invalid_user_id"),
    ({"user_id": "ana\n", "consent_type": "marketing", "granted": True}, "invalid_user_id"),
    ({"user_id": "u", "granted": True}, "invalid_consent_type"),
    ({"user_id": "u", "consent_type": "newsletter", "granted": True}, "invalid_consent_type"),
    ({"user_id": "u", "consent_type": ["marketing"], "granted": True}, "invalid_consent_type"),
    ({"user_id": "u", "consent_type": "marketing"}, "invalid_granted"),
    ({"user_id": "u", "consent_type": "marketing", "granted": "true"}, "invalid_granted"),
    ({"user_id": "u", "consent_type": "marketing", "granted": 1}, "invalid_granted"),
    ({"user_id": "u", "consent_type": "marketing", "granted": 0}, "invalid_granted"),
    ({"user_id": "u", "consent_type": "marketing", "granted": None}, "invalid_granted"),
    ({"user_id": "u", "consent_type": "marketing", "granted": True, "channel": "fax"}, "invalid_channel"),
    ({"user_id": "u", "consent_type": "marketing", "granted": True, "channel": None}, "invalid_channel"),
    ({"user_id": "u", "consent_type": "marketing", "granted": True, "source": "x" * 201}, "invalid_source"),
    ({"user_id": "u", "consent_type": "marketing", "granted": True, "source": 5}, "invalid_source"),
])
def test_bad_consent_input_is_a_400(client, key, body, code):
    r = client.post("/privacy/consent", json=body, headers={"X-API-Key": key})
    assert r.status_code == 400 and r.get_json()["error"]["code"] == code
    assert client.get("/privacy/consent/u", headers={"X-API-Key": key}).get_json()["consents"] == {}


def test_bad_bodies_and_ids(client, key):
    h = {"X-API-Key": key}
    form = {**h, "Content-Type": "application/x-www-form-urlencoded"}
    r = client.post("/privacy/consent", data="user_id=u", headers=form)
    assert r.status_code == 415 and r.get_json()["error"]["code"] == "unsupported_media_type"
    r = client.post("/privacy/consent", data="[1]", headers={**h, "Content-Type": "application/json"})
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "invalid_json"
    r = client.post("/privacy/consent", data="{nope", headers={**h, "Content-Type": "application/json"})
    assert r.status_code == 400
    for bad in ("bad%20user!", "ana%0A"):
        r = client.get(f"/privacy/consent/{bad}", headers=h)
        assert r.status_code == 400 and r.get_json()["error"]["code"] == "invalid_user_id"
    ok = post(client, h, user_id="u", consent_type="marketing", granted=True, source="x" * 200)
    assert len(ok["consent"]["source"]) == 200


def test_credentials_and_permissions(client, issue_key):
    body = {"user_id": "u", "consent_type": "marketing", "granted": True}
    assert client.post("/privacy/consent", json=body).status_code == 401
    assert client.get("/privacy/consent/u").status_code == 401
    reader = issue_key("alpha", ["documents:read"])
    r = client.post("/privacy/consent", json=body, headers={"X-API-Key": reader})
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "insufficient_permissions"
    assert client.get("/privacy/consent/u", headers={"X-API-Key": reader}).status_code == 403
    bogus = client.post("/privacy/consent", json=body, headers={"Authorization": "Bearer not-a-token"})
    assert bogus.status_code == 401


def test_tat_with_hmac_records_consent(client, alpha_creds):
    r = client.post("/v1/auth/token", json={"client_id": alpha_creds["client_id"],
                                            "client_secret": alpha_creds["client_secret"], "site_id": "site-1",
                                            "origin": ALPHA, "permissions": ["chat"]})
    token = r.get_json()["access_token"]
    body = json.dumps({"user_id": "tat-user", "consent_type": "data_processing", "granted": True}).encode()
    ts, nonce = str(int(time.time())), secrets.token_hex(12)
    h = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "X-Misy-Timestamp": ts,
         "X-Misy-Nonce": nonce,
         "X-Misy-Signature": sign(alpha_creds["hmac_secret"].encode(), ts, nonce, "POST", "/privacy/consent", body)}
    ok = client.post("/privacy/consent", data=body, headers=h)
    assert ok.status_code == 200 and ok.get_json()["consent"]["status"] == "granted"
    unsigned = client.post("/privacy/consent", data=body, headers={"Authorization": f"Bearer {token}",
                                                                    "Content-Type": "application/json"})
    assert unsigned.status_code == 401


def test_widget_acts_only_for_its_own_visitor(client, key, widget):
    token, own, pk = widget
    h = {"Authorization": f"Bearer {token}", "Origin": ALPHA}
    out = post(client, h, consent_type="data_processing", granted=True)
    assert out["user_id"] == own and out["consent"]["channel"] == "web"       # the widget is the web channel
    assert post(client, h, user_id=own, consent_type="marketing", granted=False)["user_id"] == own
    # another visitor (or any user) cannot be named by the page
    for other in ("web-v_someoneelse", "ana-1", "bad user!"):
        r = client.post("/privacy/consent", json={"user_id": other, "consent_type": "marketing", "granted": True},
                        headers=h)
        assert r.status_code == 403 and r.get_json()["error"]["code"] == "user_mismatch"
    post(client, {"X-API-Key": key}, user_id="ana-1", consent_type="marketing", granted=True)
    r = client.get("/privacy/consent/ana-1", headers=h)
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "user_mismatch"
    mine = client.get(f"/privacy/consent/{own}", headers=h)
    assert mine.status_code == 200 and set(mine.get_json()["consents"]) == {"data_processing", "marketing"}
    # what the widget recorded, the business sees for that user
    assert client.get(f"/privacy/consent/{own}", headers={"X-API-Key": key}).get_json()["consents"] == \
        mine.get_json()["consents"]
    # the session is bound to its page: no Origin, or another one, is refused
    assert client.get(f"/privacy/consent/{own}", headers={"Authorization": f"Bearer {token}"}).status_code == 403
    evil = client.get(f"/privacy/consent/{own}", headers={"Authorization": f"Bearer {token}",
                                                          "Origin": "https://evil.example"})
    assert evil.status_code == 403 and "Access-Control-Allow-Origin" not in evil.headers
    # never the admin routes
    assert client.get(f"/privacy/users/{own}/export", headers=h).status_code == 401
    assert client.delete(f"/privacy/users/{own}", headers=h).status_code == 401


def test_widget_cors_on_the_consent_routes_only(client, widget):
    _, own, pk = widget
    pre = client.options(f"/privacy/consent?pk={pk}", headers={
        "Origin": ALPHA, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"})
    assert pre.headers["Access-Control-Allow-Origin"] == ALPHA and "POST" in pre.headers["Access-Control-Allow-Methods"]
    other = client.options(f"/privacy/consent?pk={pk}", headers={"Origin": "https://beta.example",
                                                                 "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in other.headers
    admin = client.options(f"/privacy/users/{own}?pk={pk}", headers={"Origin": ALPHA,
                                                                     "Access-Control-Request-Method": "DELETE"})
    assert "Access-Control-Allow-Origin" not in admin.headers


def test_another_tenant_sees_only_its_own_keyspace(client, key, issue_key):
    post(client, {"X-API-Key": key}, user_id="shared-7", consent_type="marketing", granted=True, source="alpha")
    beta = {"X-API-Key": issue_key("beta", ["chat"])}
    got = client.get("/privacy/consent/shared-7", headers=beta).get_json()
    assert got == {"user_id": "shared-7", "consents": {}, "history": []}
    r = client.get("/privacy/consent/shared-7", headers={**beta, "X-Company-ID": "alpha"})
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "tenant_mismatch"
    r = client.post("/privacy/consent", json={"user_id": "shared-7", "consent_type": "marketing", "granted": False,
                                              "company_id": "alpha"}, headers=beta)
    assert r.status_code == 403
    post(client, beta, user_id="shared-7", consent_type="marketing", granted=False)
    alpha_view = client.get("/privacy/consent/shared-7", headers={"X-API-Key": key}).get_json()
    assert alpha_view["consents"]["marketing"]["status"] == "granted" and len(alpha_view["history"]) == 1


def test_revoking_global_learning_drops_only_that_users_queued_learnings(app, client, key):
    outbox = LearningOutbox(keyspace(app))
    beta_outbox = LearningOutbox(keyspace(app, "beta"))
    for i in range(3):
        outbox.push("lu-1", f"pregunta {i} de lu", True, "sales", "es")
    outbox.push("lu-2", "pregunta de otra persona", False, "support", "es")
    beta_outbox.push("lu-1", "pregunta en beta", True, "sales", "es")
    h = {"X-API-Key": key}

    granted = post(client, h, user_id="lu-1", consent_type="global_learning", granted=True)
    assert "dropped_pending_learnings" not in granted and len(outbox.for_user("lu-1")) == 3
    other_type = post(client, h, user_id="lu-1", consent_type="marketing", granted=False)
    assert "dropped_pending_learnings" not in other_type and len(outbox.for_user("lu-1")) == 3

    out = post(client, h, user_id="lu-1", consent_type="global_learning", granted=False)
    assert out["dropped_pending_learnings"] == 3 and out["consent"]["status"] == "revoked"
    assert outbox.for_user("lu-1") == [] and [i["question"] for i in outbox.for_user("lu-2")] == [
        "pregunta de otra persona"]
    assert outbox.size() == 1 and beta_outbox.size() == 1                   # another tenant's queue is not ours
    # revoking again is harmless, and a user with nothing queued gets 0
    assert post(client, h, user_id="lu-1", consent_type="global_learning", granted=False)[
        "dropped_pending_learnings"] == 0
    assert ConsentStore(keyspace(app)).allows("lu-1", "global_learning") is False
