"""Shared by the pen-test suite: real credentials issued through the admin API, and a signer."""
import secrets
import time

import pytest

from app.security.signatures import sign


@pytest.fixture
def creds(client, admin_headers):
    """Every credential kind for alpha and beta, issued the way operators do."""
    out = {}
    for cid in ("alpha", "beta"):
        c = client.post(f"/admin/companies/{cid}/credentials", json={}, headers=admin_headers).get_json()
        c["api_key"] = client.post(f"/admin/companies/{cid}/api-keys", json={}, headers=admin_headers).get_json()["api_key"]
        out[cid] = c
    return out


@pytest.fixture
def tat(client, creds):
    def get(cid="alpha", origin=None, **extra):
        origin = origin or f"https://{cid}.example"
        body = {"client_id": creds[cid]["client_id"], "client_secret": creds[cid]["client_secret"],
                "site_id": "site-1", "origin": origin, "permissions": ["chat", "documents:read", "documents:write"], **extra}
        r = client.post("/v1/auth/token", json=body)
        assert r.status_code == 200, r.get_json()
        return r.get_json()["access_token"]
    return get


def signed_headers(secret: str, method: str, path: str, body: bytes = b"", token: str | None = None,
                   ts: int | None = None, nonce: str | None = None) -> dict:
    ts = str(ts if ts is not None else int(time.time()))
    nonce = nonce or secrets.token_hex(12)
    h = {"X-Misy-Timestamp": ts, "X-Misy-Nonce": nonce,
         "X-Misy-Signature": sign(secret.encode(), ts, nonce, method, path, body)}
    if token:
        h["Authorization"] = f"Bearer {token}"
    return h
