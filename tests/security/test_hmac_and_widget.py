"""HMAC spoofing and replay; widget session hijacking; per-tenant CORS."""
import json
import time

import pytest

from app.security.principal import Principal
from tests.security.conftest import signed_headers

ALPHA = "https://alpha.example"


def test_hmac_replay_tamper_stale_and_rotation(client, creds, tat, app):
    token, secret = tat(), creds["alpha"]["hmac_secret"]
    body = json.dumps({"query": "botox"}).encode()
    h = signed_headers(secret, "POST", "/documents/search", body, token=token)
    ok = client.post("/documents/search", data=body, headers={**h, "Content-Type": "application/json"})
    assert ok.status_code == 200
    replay = client.post("/documents/search", data=body, headers={**h, "Content-Type": "application/json"})
    assert replay.status_code == 401 and replay.get_json()["error"]["code"] == "replayed_request"

    def attempt(**kw):
        hh = signed_headers(secret, "POST", "/documents/search", body, token=token, **{k: v for k, v in kw.items()
                                                                                       if k in ("ts", "nonce")})
        hh.update(kw.get("override", {}))
        data = kw.get("data", body)
        return client.post(kw.get("path", "/documents/search"), data=data,
                           headers={**hh, "Content-Type": "application/json"}).get_json()["error"]["code"]

    assert attempt(data=json.dumps({"query": "otra cosa"}).encode()) == "invalid_signature"     # body changed
    assert attempt(ts=int(time.time()) - 301) == "stale_request"
    assert attempt(ts=int(time.time()) + 301) == "stale_request"
    assert attempt(nonce="short") == "invalid_signature"
    assert attempt(override={"X-Misy-Signature": "0" * 64}) == "invalid_signature"
    assert attempt(override={"X-Misy-Signature": "not-hex"}) == "invalid_signature"
    assert attempt(path="/documents") in ("invalid_signature", "method_not_allowed")
    spoof = signed_headers(creds["beta"]["hmac_secret"], "POST", "/documents/search", body, token=token)
    assert client.post("/documents/search", data=body, headers={**spoof, "Content-Type": "application/json"}).status_code == 401

    # rotation: a new secret works and so does the previous one; a third retires the oldest
    p = app.extensions["misybot"]
    ks = p.tenant_context(p.registry.get("alpha"), Principal("platform_admin", None)).keyspace
    _, second = p.secrets.issue_hmac_secret(ks)
    for s in (secret, second):
        hh = signed_headers(s, "GET", "/documents", token=token)
        assert client.get("/documents", headers=hh).status_code == 200
    p.secrets.issue_hmac_secret(ks)
    assert client.get("/documents", headers=signed_headers(secret, "GET", "/documents", token=token)).status_code == 401


def _session(client, pk, origin=ALPHA, token=None, body=None):
    headers = {"Origin": origin, **({"Authorization": f"Bearer {token}"} if token else {})}
    return client.post(f"/v1/widget/session?pk={pk}", json=body or {}, headers=headers)


def test_widget_session_is_bound_to_origin_visitor_and_tenant(client, creds):
    pk_a, pk_b = creds["alpha"]["publishable_key"], creds["beta"]["publishable_key"]
    # a page cannot choose its visitor id (it would read that visitor's conversation)
    r = _session(client, pk_a, body={"visitor_id": "ana@example.com"})
    assert r.status_code == 200 and r.get_json()["visitor_id"].startswith("v_")
    assert r.headers["Access-Control-Allow-Origin"] == ALPHA
    token, visitor = r.get_json()["token"], r.get_json()["visitor_id"]
    # a returning visitor keeps its id by presenting its own session token
    assert _session(client, pk_a, token=token).get_json()["visitor_id"] == visitor
    assert _session(client, pk_b, origin="https://beta.example", token=token).get_json()["visitor_id"] != visitor
    auth = {"Authorization": f"Bearer {token}"}
    ok = client.post(f"/v1/widget/messages?pk={pk_a}", json={"message": "hola"}, headers={**auth, "Origin": ALPHA})
    assert ok.status_code == 200 and ok.get_json()["company_id"] == "alpha"
    assert client.get(f"/conversations/web-{visitor}", headers={"X-API-Key": creds["alpha"]["api_key"]}).status_code == 200
    # hijack: the same token from another origin, or on another tenant's widget
    stolen = client.post(f"/v1/widget/messages?pk={pk_a}", json={"message": "hola"},
                         headers={**auth, "Origin": "https://evil.example"})
    assert stolen.status_code == 403 and "Access-Control-Allow-Origin" not in stolen.headers
    cross = client.post(f"/v1/widget/messages?pk={pk_b}", json={"message": "hola"}, headers={**auth, "Origin": ALPHA})
    assert cross.status_code == 403
    # a widget token is not a server token, and grants nothing else
    assert client.get("/documents", headers=auth).status_code == 401
    assert client.post("/conversations/x/test", json={"message": "hola"}, headers=auth).status_code == 401
    assert client.get("/documents", headers={**auth, **signed_headers(creds["alpha"]["hmac_secret"], "GET", "/documents")}).status_code == 401


@pytest.mark.parametrize("pk_owner,origin,allowed", [
    ("alpha", ALPHA, True), ("alpha", "https://beta.example", False), ("beta", ALPHA, False),
    ("alpha", "https://alpha.example.evil.com", False), ("alpha", "null", False),
])
def test_cors_only_for_that_tenants_origins(client, creds, pk_owner, origin, allowed):
    pk = creds[pk_owner]["publishable_key"]
    pre = client.options(f"/v1/widget/session?pk={pk}", headers={
        "Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"})
    assert ("Access-Control-Allow-Origin" in pre.headers) is allowed
    r = _session(client, pk, origin=origin)
    assert (r.status_code == 200) is allowed
    assert ("Access-Control-Allow-Origin" in r.headers) is allowed
    if allowed:
        assert pre.headers["Access-Control-Allow-Origin"] == origin and "Origin" in pre.headers.get("Vary", "")


def test_unknown_publishable_key_and_no_origin(client, creds):
    assert _session(client, "pk_live_unknown").status_code == 401
    r = client.post(f"/v1/widget/session?pk={creds['alpha']['publishable_key']}", json={})
    assert r.status_code == 403
    assert client.options("/v1/widget/session?pk=pk_live_unknown", headers={"Origin": ALPHA}).headers.get(
        "Access-Control-Allow-Origin") is None
