"""Per-tenant credentials beyond API keys: OAuth-style client credentials (for tenant access tokens),
HMAC signing secrets (server-to-server) and publishable widget keys.

Secrets are stored encrypted with the master key (Vault), because they must be read back to verify a
signature; lookups by id live in the platform namespace (named in app/tenancy/platform_keys.py), and
each tenant lists its own records under its prefix so rotation, backup and offboarding find them.
  misybot:client:{client_id}   -> company_id, secret (encrypted), status
  misybot:pk:{pk_live_…}       -> company_id
  {prefix}client:{client_id}, {prefix}hmac:{key_id}, {prefix}pk:{pk}
"""
from __future__ import annotations

import hmac
import secrets
import time
from datetime import datetime, timezone

import redis

from app.security.vault import Vault
from app.storage.redis_store import TenantKeyspace
from app.tenancy.platform_keys import client_lookup as _client_key
from app.tenancy.platform_keys import publishable_lookup as _pk_key
from app.tenancy.platform_keys import record_ids

MAX_ACTIVE_HMAC = 2        # the new and the previous secret verify during a rotation


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class TenantSecrets:
    def __init__(self, client: redis.Redis, vault: Vault):
        self.redis = client
        self.vault = vault

    # -- client credentials ---------------------------------------------------------------------
    def issue_client(self, company_id: str, keyspace: TenantKeyspace) -> tuple[str, str]:
        client_id = "cli_" + secrets.token_hex(12)
        client_secret = "cs_" + secrets.token_urlsafe(32)
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(_client_key(client_id), mapping={"company_id": company_id, "status": "active",
                                                   "secret": self.vault.encrypt(client_secret)})
        pipe.hset(keyspace.key("client", client_id), mapping={"client_id": client_id, "created_at": _now(),
                                                               "status": "active"})
        pipe.execute()
        return client_id, client_secret

    def verify_client(self, client_id: str, client_secret: str) -> str | None:
        """The company of valid, active client credentials; None otherwise (same work either way)."""
        h = self.redis.hgetall(_client_key(client_id)) if client_id and len(client_id) < 100 else {}
        expected = self.vault.decrypt(h["secret"]) if h.get("secret") else secrets.token_urlsafe(32)
        ok = hmac.compare_digest(expected.encode(), (client_secret or "").encode())
        return h["company_id"] if ok and h.get("status") == "active" else None

    def revoke_client(self, keyspace: TenantKeyspace, client_id: str) -> bool:
        if not self.redis.exists(keyspace.key("client", client_id)):
            return False
        pipe = self.redis.pipeline(transaction=True)
        pipe.delete(_client_key(client_id))
        pipe.hset(keyspace.key("client", client_id), mapping={"status": "revoked", "revoked_at": _now()})
        pipe.execute()
        return True

    # -- HMAC secrets ---------------------------------------------------------------------------
    def issue_hmac_secret(self, keyspace: TenantKeyspace) -> tuple[str, str]:
        """A new secret; the oldest active ones beyond MAX_ACTIVE_HMAC are retired."""
        key_id = "hk_" + secrets.token_hex(6)
        secret = secrets.token_hex(32)
        self.redis.hset(keyspace.key("hmac", key_id), mapping={
            "key_id": key_id, "created_at": _now(), "created_ts": repr(time.time()), "status": "active",
            "secret": self.vault.encrypt(secret)})
        active = sorted(self._hmac_records(keyspace), key=lambda h: float(h.get("created_ts", 0)), reverse=True)
        for old in active[MAX_ACTIVE_HMAC:]:
            self.redis.hset(keyspace.key("hmac", old["key_id"]), "status", "retired")
        return key_id, secret

    def _hmac_records(self, keyspace: TenantKeyspace) -> list[dict]:
        out = []
        for k in keyspace.scan_keys("hmac"):
            h = self.redis.hgetall(k)
            if h.get("status") == "active":
                out.append(h)
        return out

    def hmac_secrets(self, keyspace: TenantKeyspace) -> list[bytes]:
        return [self.vault.decrypt(h["secret"]).encode() for h in self._hmac_records(keyspace)]

    # -- publishable widget keys ----------------------------------------------------------------
    def issue_publishable(self, company_id: str, keyspace: TenantKeyspace) -> str:
        pk = "pk_live_" + secrets.token_urlsafe(18)
        pipe = self.redis.pipeline(transaction=True)
        pipe.set(_pk_key(pk), company_id)
        pipe.hset(keyspace.key("pk", pk), mapping={"created_at": _now(), "status": "active"})
        pipe.execute()
        return pk

    def company_for_publishable(self, pk: str) -> str | None:
        if not pk or not pk.startswith("pk_live_") or len(pk) > 100:
            return None
        return self.redis.get(_pk_key(pk))

    # -- lifecycle ------------------------------------------------------------------------------
    def rotate_encryption(self, keyspace: TenantKeyspace) -> int:
        """Re-encrypt every stored secret of a tenant under the first master key."""
        n = 0
        for k in list(keyspace.scan_keys("hmac")):
            enc = self.redis.hget(k, "secret")
            if enc:
                self.redis.hset(k, "secret", self.vault.rotate(enc))
                n += 1
        for client_id in record_ids(keyspace, "client"):
            enc = self.redis.hget(_client_key(client_id), "secret")
            if enc:
                self.redis.hset(_client_key(client_id), "secret", self.vault.rotate(enc))
                n += 1
        chatwoot = keyspace.key("chatwoot", "secrets")          # api_token, webhook_secret, url_token
        for field, enc in self.redis.hgetall(chatwoot).items():
            self.redis.hset(chatwoot, field, self.vault.rotate(enc))
            n += 1
        return n
