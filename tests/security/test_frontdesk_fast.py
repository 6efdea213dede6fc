"""The fast front desk (app/security/frontdesk.py): a signed tenant-access-token request costs one Redis round
trip, and what a process keeps in memory (public keys, verified tokens, HMAC secrets) never outlives a
revocation, a rotation or a retirement made by another process."""
from __future__ import annotations

import json
import time

import jwt
import pytest
import redis.connection
from flask import g
from redis.crc import key_slot

import app.security.tokens as tokens_mod
from app.security.guard import require_tenant
from app.security.principal import CHAT, DOCUMENTS_READ, Principal
from app.security.tenant_secrets import TenantSecrets
from app.security.tokens import TokenError, TokenService
from tests.security.conftest import signed_headers

PATH = "/documents/search"
BODY = json.dumps({"query": "botox"}).encode()


class RoundTrips:
    """Counts writes to Redis connections: one per command, one per pipeline or script call."""

    def __init__(self, monkeypatch):
        self.n = 0
        orig = redis.connection.AbstractConnection.send_packed_command

        def counted(conn, command, check_health=True):
            self.n += 1
            return orig(conn, command, check_health)
        monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", counted)


def _platform(app):
    return app.extensions["misybot"]


def _other_process(app):
    """What another app process has: its own TokenService and TenantSecrets on the same Redis."""
    p = _platform(app)
    return TokenService(p.redis, p.vault, p.tokens.issuer, p.tokens.audience), TenantSecrets(p.redis, p.vault)


def _keyspace(app, cid="alpha"):
    p = _platform(app)
    return p.tenant_context(p.registry.get(cid), Principal("platform_admin", None)).keyspace


def _search(client, secret, token, headers=None):
    h = headers or signed_headers(secret, "POST", PATH, BODY, token=token)
    return client.post(PATH, data=BODY, headers={**h, "Content-Type": "application/json"})


def _front_desk(app, secret, token, headers=None):
    """The guard alone, as a request meets it, in front of a view that does nothing."""
    ran = []
    guarded = require_tenant(DOCUMENTS_READ)(lambda: ran.append(g.tenant.company_id) or ("", 204))
    h = headers or signed_headers(secret, "POST", PATH, BODY, token=token)
    with app.test_request_context(PATH, method="POST", data=BODY, headers={**h, "Content-Type": "application/json"}):
        guarded()
        return ran, g.rate_limit


def test_a_signed_token_request_costs_one_round_trip(app, client, creds, tat, monkeypatch, redis_client):
    token, secret = tat(), creds["alpha"]["hmac_secret"]
    assert _search(client, secret, token).status_code == 200         # the process reads keys and secrets once
    minute = "misybot:rl:{alpha}:tenant:m"
    counted_before = int(redis_client.hget(minute, "c"))
    trips = RoundTrips(monkeypatch)
    for _ in range(5):
        ran, verdict = _front_desk(app, secret, token)
        assert ran == ["alpha"] and verdict.allowed
    assert trips.n == 5                       # token revocation + nonce + the three rate-limit windows: one script
    assert int(redis_client.hget(minute, "c")) == counted_before + 5


def test_the_scripts_keys_share_the_tenants_slot(app, creds, tat, monkeypatch):
    token, secret = tat(), creds["alpha"]["hmac_secret"]
    seen = []
    gate = _platform(app).tokens.gate
    admit = gate.admit
    monkeypatch.setattr(gate, "admit", lambda a, now: seen.append(a) or admit(a, now))
    _front_desk(app, secret, token)
    a = seen[-1]
    legacy = {*a.old_nonces} | {k for k in a.revoked + a.revoked_before if "{" not in k}   # single Redis only
    keys = [*a.revoked, *a.revoked_before, a.revision_key, a.nonce_key, *(k for k, _, _ in a.windows)]
    tagged = [k for k in keys if k not in legacy]
    assert len(tagged) == 7 and all("{alpha}" in k for k in tagged)
    assert {key_slot(k.encode()) for k in tagged} == {key_slot(b"{alpha}:apikey:x")}


def test_a_revoked_token_is_refused_at_once_though_the_process_remembers_it(app, client, creds, tat,
                                                                            admin_headers):
    token, secret = tat(), creds["alpha"]["hmac_secret"]
    for _ in range(2):                                   # the second use comes from the verified-token cache
        assert _search(client, secret, token).status_code == 200
    claims = jwt.decode(token, options={"verify_signature": False})
    other_tokens, _ = _other_process(app)
    other_tokens.revoke_jti(claims["jti"], claims["exp"], tenant_id="alpha")
    r = _search(client, secret, token)
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "token_revoked"

    # the admin API (which does not name the tenant yet) and revocation of the whole tenant, likewise
    second = tat()
    assert _search(client, secret, second).status_code == 200
    c2 = jwt.decode(second, options={"verify_signature": False})
    assert client.post("/admin/companies/alpha/tokens/revoke", json={"jti": c2["jti"], "exp": c2["exp"]},
                       headers=admin_headers).status_code == 200
    assert _search(client, secret, second).get_json()["error"]["code"] == "token_revoked"
    third = tat()
    assert _search(client, secret, third).status_code == 200
    time.sleep(1.1)                                      # iat has one-second resolution
    other_tokens.revoke_tenant_tokens("alpha")
    assert _search(client, secret, third).get_json()["error"]["code"] == "token_revoked"
    with pytest.raises(TokenError):
        _platform(app).tokens.verify(third, "tat")      # the direct check (widget endpoints) agrees


def test_a_key_rotated_elsewhere_verifies_and_a_retired_one_stops(app, client, creds, tat, monkeypatch):
    secret = creds["alpha"]["hmac_secret"]
    old = tat()
    assert _search(client, secret, old).status_code == 200          # this process now trusts the old key
    other_tokens, _ = _other_process(app)
    new_kid = other_tokens.rotate_signing_key()
    new, _ = other_tokens.issue(tenant_id="alpha", site_id="s", origin="https://alpha.example",
                                permissions=["documents:read"], ttl_s=300)
    assert jwt.get_unverified_header(new)["kid"] == new_kid
    assert _search(client, secret, new).status_code == 200          # an unknown kid is looked up at once
    monkeypatch.setattr(tokens_mod, "KEY_CACHE_S", 0.2)
    assert other_tokens.retire_signing_key(jwt.get_unverified_header(old)["kid"])
    time.sleep(0.25)                                                 # a retirement elsewhere counts within KEY_CACHE_S
    r = _search(client, secret, old)
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "invalid_token"
    assert _search(client, secret, new).status_code == 200


def test_a_remembered_token_still_expires(app, monkeypatch):
    tokens = _platform(app).tokens
    token, claims = tokens.issue(tenant_id="alpha", site_id="s", origin="https://alpha.example",
                                 permissions=[CHAT], ttl_s=60)
    assert tokens.verify_claims(token, "tat")["jti"] == claims["jti"]
    monkeypatch.setattr(tokens_mod.time, "time", lambda: claims["exp"] + tokens_mod.LEEWAY_S + 1)
    with pytest.raises(TokenError) as exc:
        tokens.verify_claims(token, "tat")
    assert exc.value.code == "token_expired"
    with pytest.raises(TokenError):
        tokens.verify_claims(token, "widget")          # and a remembered token is still only good for its kind


def test_the_nonce_replay_guard_still_refuses_a_replay_and_counts_nothing(app, client, creds, tat, redis_client):
    token, secret = tat(), creds["alpha"]["hmac_secret"]
    h = signed_headers(secret, "POST", PATH, BODY, token=token)
    assert _search(client, secret, token, h).status_code == 200
    counted = redis_client.hget("misybot:rl:{alpha}:tenant:m", "c")
    replay = _search(client, secret, token, h)
    assert replay.status_code == 401 and replay.get_json()["error"]["code"] == "replayed_request"
    assert redis_client.hget("misybot:rl:{alpha}:tenant:m", "c") == counted
    assert redis_client.exists(f"misybot:nonce:{{alpha}}:{h['X-Misy-Nonce']}")
    # a nonce recorded under the name from before the hash tags is a replay too (single Redis)
    h2 = signed_headers(secret, "POST", PATH, BODY, token=token)
    redis_client.set(f"misybot:nonce:alpha:{h2['X-Misy-Nonce']}", 1, ex=600)
    assert _search(client, secret, token, h2).get_json()["error"]["code"] == "replayed_request"


def test_hmac_secrets_changed_by_another_process_count_at_once(app, client, creds, tat):
    token, first = tat(), creds["alpha"]["hmac_secret"]
    assert _search(client, first, token).status_code == 200          # this process now holds [first]
    _, other_secrets = _other_process(app)
    ks = _keyspace(app)
    _, second = other_secrets.issue_hmac_secret(ks)
    assert _search(client, second, token).status_code == 200         # a new secret verifies at once
    assert _search(client, first, token).status_code == 200          # the previous one still does (rotation)
    other_secrets.issue_hmac_secret(ks)                              # a third: the first is retired
    r = _search(client, first, token)
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "invalid_signature"
