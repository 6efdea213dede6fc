"""Tenant access tokens: every tampering attempt fails safe (401/403), never a 500 or another tenant."""
import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.security.conftest import signed_headers


def _b64(d: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()


def _parts(token):
    h, p, s = token.split(".")
    pad = lambda x: x + "=" * (-len(x) % 4)
    return json.loads(base64.urlsafe_b64decode(pad(h))), json.loads(base64.urlsafe_b64decode(pad(p))), s


def _get_docs(client, creds, token, cid="alpha"):
    return client.get("/documents", headers=signed_headers(creds[cid]["hmac_secret"], "GET", "/documents", token=token))


def test_a_valid_token_with_its_signature_works(client, creds, tat):
    r = _get_docs(client, creds, tat())
    assert r.status_code == 200 and r.headers["X-RateLimit-Limit"]


def test_token_without_signature_is_refused(client, tat):
    r = client.get("/documents", headers={"Authorization": f"Bearer {tat()}"})
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "signature_required"


def test_changed_claim_is_refused(client, creds, tat):
    header, claims, sig = _parts(tat())
    claims["tenant_id"] = "beta"
    forged = f"{_b64(header)}.{_b64(claims)}.{sig}"
    for cid in ("alpha", "beta"):
        r = _get_docs(client, creds, forged, cid)
        assert r.status_code == 401 and r.get_json()["error"]["code"] == "invalid_token"


def test_token_signed_with_another_key_is_refused(client, creds, tat):
    header, claims, _ = _parts(tat())
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(claims, other, algorithm="RS256", headers={"kid": header["kid"]})
    assert _get_docs(client, creds, forged).status_code == 401


def test_alg_none_and_hs256_confusion_are_refused(app, client, creds, tat):
    header, claims, _ = _parts(tat())
    none_token = f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': header['kid']})}.{_b64(claims)}."
    assert _get_docs(client, creds, none_token).status_code == 401
    public_pem = app.extensions["misybot"].tokens._load(header["kid"])[1].public_bytes(
        __import__("cryptography.hazmat.primitives.serialization", fromlist=["x"]).Encoding.PEM,
        __import__("cryptography.hazmat.primitives.serialization", fromlist=["x"]).PublicFormat.SubjectPublicKeyInfo)
    signing_input = f"{_b64({'alg': 'HS256', 'typ': 'JWT', 'kid': header['kid']})}.{_b64(claims)}"
    mac = base64.urlsafe_b64encode(hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()).rstrip(b"=")
    assert _get_docs(client, creds, f"{signing_input}.{mac.decode()}").status_code == 401


def test_expired_and_wrong_audience_are_refused(app, client, creds):
    tokens = app.extensions["misybot"].tokens
    expired, _ = tokens.issue(tenant_id="alpha", site_id="s", origin="https://alpha.example", permissions=["chat"],
                              ttl_s=-120)
    r = _get_docs(client, creds, expired)
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "token_expired"
    tokens.audience = "some-other-api"
    try:
        other_aud, _ = tokens.issue(tenant_id="alpha", site_id="s", origin="https://alpha.example",
                                    permissions=["documents:read"], ttl_s=300)
    finally:
        tokens.audience = "misybot-api"
    assert _get_docs(client, creds, other_aud).status_code == 401


def test_another_tenants_token_cannot_reach_this_tenant(client, creds, tat):
    alpha_token = tat("alpha")
    # signed with beta's secret: the token says alpha, so alpha's secret is the one that counts
    assert _get_docs(client, creds, alpha_token, "beta").status_code == 401
    h = signed_headers(creds["alpha"]["hmac_secret"], "GET", "/documents", token=alpha_token)
    assert client.get("/documents", headers={**h, "X-Company-ID": "beta"}).status_code == 403


def test_revocation_by_jti_and_per_tenant(app, client, creds, tat, admin_headers):
    token = tat()
    claims = jwt.decode(token, options={"verify_signature": False})
    assert client.post("/admin/companies/alpha/tokens/revoke", json={"jti": claims["jti"], "exp": claims["exp"]},
                       headers=admin_headers).status_code == 200
    r = _get_docs(client, creds, token)
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "token_revoked"
    other = tat()
    time.sleep(1.1)          # iat has one-second resolution
    client.post("/admin/companies/alpha/tokens/revoke", json={}, headers=admin_headers)
    assert _get_docs(client, creds, other).status_code == 401
    time.sleep(1.1)
    assert _get_docs(client, creds, tat()).status_code == 200          # issued after T: fine


def test_signing_key_rotation_and_jwks(app, client, creds, tat):
    old = tat()
    old_kid = jwt.get_unverified_header(old)["kid"]
    tokens = app.extensions["misybot"].tokens
    new_kid = tokens.rotate_signing_key()
    new = tat()
    assert jwt.get_unverified_header(new)["kid"] == new_kid
    kids = {k["kid"] for k in client.get("/.well-known/jwks.json").get_json()["keys"]}
    assert {old_kid, new_kid} <= kids
    assert _get_docs(client, creds, old).status_code == 200
    assert tokens.retire_signing_key(old_kid)
    assert _get_docs(client, creds, old).status_code == 401 and _get_docs(client, creds, new).status_code == 200
    assert all("d" not in k for k in client.get("/.well-known/jwks.json").get_json()["keys"])   # no private parts


@pytest.mark.parametrize("change,status,code", [
    ({"client_secret": "cs_wrong"}, 401, "invalid_client"),
    ({"client_id": "cli_unknown"}, 401, "invalid_client"),
    ({"origin": "https://evil.example"}, 403, "origin_not_allowed"),
    ({"origin": "https://beta.example"}, 403, "origin_not_allowed"),
    ({"permissions": ["admin"]}, 400, "invalid_parameter"),
    ({"site_id": "../../etc"}, 400, "invalid_parameter"),
    ({"ttl_s": 10 ** 9}, 400, "invalid_parameter"),
])
def test_token_endpoint_refusals(client, creds, change, status, code):
    body = {"client_id": creds["alpha"]["client_id"], "client_secret": creds["alpha"]["client_secret"],
            "site_id": "site-1", "origin": "https://alpha.example", **change}
    r = client.post("/v1/auth/token", json=body)
    assert r.status_code == status and r.get_json()["error"]["code"] == code
