"""Rate-limit bypass, injection through ids, secrets at rest and in logs, production start-up rules."""
import io
import logging

import pytest

from app.factory import create_app
from app.platform import SecretsConfigError
from app.security.principal import Principal
from tests.conftest import ADMIN_TOKEN


def _with_limits(config_file, company, **limits):
    text = config_file.read_text()
    block = ", ".join(f"{k}: {v}" for k, v in limits.items())
    marker = f'redis_prefix: "{company}:"'
    config_file.write_text(text.replace(marker, f"{marker}\n    limits: {{{block}}}" if company == "beta"
                                        else marker))


@pytest.fixture
def limited(make_settings, redis_client, config_file):
    config_file.write_text(config_file.read_text().replace(
        '    chatwoot: {account_id: 102}', '    chatwoot: {account_id: 102}\n    limits: {requests_per_minute: 3, requests_per_hour: 100, monthly_messages: 2}'))
    app = create_app(make_settings(auth_attempts_per_minute=3))
    yield app
    app.extensions["misybot"].vectors.close()


def _key(c, cid, perms=None):
    return c.post(f"/admin/companies/{cid}/api-keys", json={} if perms is None else {"permissions": perms},
                  headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}).get_json()["api_key"]


def test_tenant_limit_holds_across_many_keys_and_spares_neighbours(limited):
    c = limited.test_client()
    keys = [_key(c, "beta") for _ in range(3)]
    codes = [c.get("/documents", headers={"X-API-Key": keys[i % 3]}).status_code for i in range(5)]
    assert codes == [200, 200, 200, 429, 429]
    r = c.get("/documents", headers={"X-API-Key": keys[0]})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    assert r.headers["X-RateLimit-Limit"] == "3" and r.headers["X-RateLimit-Remaining"] == "0"
    assert r.get_json()["error"]["code"] == "rate_limited"
    alpha = _key(c, "alpha")
    assert c.get("/documents", headers={"X-API-Key": alpha}).status_code == 200          # other tenants unaffected


def test_unauthenticated_calls_do_not_spend_a_tenants_allowance(limited):
    c = limited.test_client()
    key = _key(c, "beta")
    for _ in range(10):
        assert c.get("/documents", headers={"X-API-Key": "msk_forged", "X-Company-ID": "beta"}).status_code == 401
    assert c.get("/documents", headers={"X-API-Key": key}).status_code == 200


def test_rotating_x_forwarded_for_does_not_bypass_the_ip_limit(limited):
    c = limited.test_client()
    codes = [c.post("/v1/auth/token", json={"client_id": "cli_x", "client_secret": "nope"},
                    headers={"X-Forwarded-For": f"10.0.0.{i}"}).status_code for i in range(5)]
    assert codes == [401, 401, 401, 429, 429]


def test_monthly_message_quota(limited):
    c = limited.test_client()
    key = _key(c, "beta", ["chat"])
    codes = [c.post(f"/conversations/u{i}/test", json={"message": "hola"}, headers={"X-API-Key": key}).status_code
             for i in range(3)]
    assert codes[:2] == [200, 200] and codes[2] == 429


IDS = ["benova:*", "../", "../../etc/passwd", "*", "a" * 5000, "ñandú🙂", "[a-z]", "doc?", "alpha:document:*",
       "%2e%2e%2f", '{"must":[{"key":"company_id"}]}']


@pytest.mark.parametrize("bad", IDS)
def test_injection_through_ids_fails_safe(client, issue_key, redis_client, bad):
    key = issue_key("alpha")
    h = {"X-API-Key": key}
    from urllib.parse import quote
    q = quote(bad, safe="")
    # 308 is werkzeug normalising a "../" path before any of our code runs
    safe = {308, 400, 403, 404}
    calls = [client.get(f"/documents/{q}", headers=h), client.delete(f"/documents/{q}", headers=h),
             client.get(f"/conversations/{q}", headers=h),
             client.post(f"/conversations/{q}/test", json={"message": "hola"}, headers=h),
             client.delete(f"/admin/companies/alpha/api-keys/{q}", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}),
             client.get(f"/company/{q}/status", headers=h)]
    for r in calls:
        assert r.status_code in safe, (r.request.path, r.status_code)
        if r.status_code != 308:
            assert r.get_json()["error"]["code"]
    assert client.get("/documents", headers={**h, "X-Company-ID": bad[:200]}).status_code == 403
    r = client.post("/documents/search", json={"query": bad[:2000]}, headers=h)
    assert r.status_code == 200 and all(res["document_id"] for res in r.get_json()["results"])
    assert all(k.startswith(("{alpha}:", "{beta}:", "misybot:")) for k in redis_client.scan_iter("*"))


def test_company_id_of_another_type_in_the_body(client, issue_key):
    h = {"X-API-Key": issue_key("alpha")}
    for value in (["alpha"], {"$ne": None}, 1, None, True, "alpha\u0000", "ALPHA"):
        r = client.post("/documents/search", json={"query": "x", "company_id": value}, headers=h)
        assert r.status_code == 403           # only the credential's own id, as a string, is accepted


def test_secrets_are_encrypted_at_rest(client, admin_headers, redis_client):
    issued = client.post("/admin/companies/alpha/credentials", json={}, headers=admin_headers).get_json()
    client.post("/v1/auth/token", json={"client_id": issued["client_id"], "client_secret": issued["client_secret"],
                                        "site_id": "s", "origin": "https://alpha.example"})
    blob = []
    for k in redis_client.scan_iter("*"):
        t = redis_client.type(k)
        blob += [k] + (list(redis_client.hgetall(k).values()) if t == "hash" else
                       [redis_client.get(k)] if t == "string" else [])
    text = "\n".join(str(x) for x in blob)
    assert issued["client_secret"] not in text and issued["hmac_secret"] not in text
    assert "PRIVATE KEY" not in text                         # the JWT signing key is encrypted too


def test_nothing_secret_reaches_the_logs(client, admin_headers):
    handler = next(h for h in logging.getLogger().handlers if h.get_name() == "misybot")
    stream = io.StringIO()
    old = handler.setStream(stream)
    try:
        issued = client.post("/admin/companies/alpha/credentials", json={}, headers=admin_headers).get_json()
        tok = client.post("/v1/auth/token", json={"client_id": issued["client_id"], "client_secret": issued["client_secret"],
                                                  "site_id": "s", "origin": "https://alpha.example"}).get_json()["access_token"]
        client.get("/documents", headers={"Authorization": f"Bearer {tok}"})
        logging.getLogger("misybot.test").warning("careless line with %s and Bearer %s", issued["client_secret"], tok)
    finally:
        handler.setStream(old)
    logs = stream.getvalue()
    for secret in (issued["client_secret"], issued["hmac_secret"], tok, ADMIN_TOKEN):
        assert secret not in logs
    assert "[redacted]" in logs


def test_production_refuses_to_start_without_a_master_key(make_settings, redis_client):
    with pytest.raises(SecretsConfigError):
        create_app(make_settings(misybot_master_key=None, environment="production"))


def test_master_key_rotation_keeps_secrets_readable(make_settings, redis_client, client, admin_headers, app):
    issued = client.post("/admin/companies/alpha/credentials", json={}, headers=admin_headers).get_json()
    p = app.extensions["misybot"]
    from app.security.tenant_secrets import TenantSecrets
    from app.security.vault import Vault, VaultError
    old = p.settings.misybot_master_key.get_secret_value()
    new_key = "a-brand-new-master-key-0123456789abcdef"
    both = TenantSecrets(p.redis, Vault(f"{new_key},{old}"))
    admin = Principal("platform_admin", None)
    assert both.rotate_encryption(p.tenant_context(p.registry.get("alpha"), admin).keyspace) >= 2
    only_new = TenantSecrets(p.redis, Vault(new_key))
    assert only_new.verify_client(issued["client_id"], issued["client_secret"]) == "alpha"
    with pytest.raises(VaultError):
        TenantSecrets(p.redis, Vault(old)).verify_client(issued["client_id"], issued["client_secret"])
