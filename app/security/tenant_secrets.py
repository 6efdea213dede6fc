"""Per-tenant credentials beyond API keys: OAuth-style client credentials (for tenant access tokens),
HMAC signing secrets (server-to-server) and publishable widget keys.

Secrets are stored encrypted with the master key (Vault), because they must be read back to verify a
signature; lookups by id live in the platform namespace (named in app/tenancy/platform_keys.py), and
each tenant lists its own records under its prefix so rotation, backup and offboarding find them.
  misybot:client:{client_id}   -> company_id, secret (encrypted), status
  misybot:pk:{pk_live_…}       -> company_id
  {prefix}client:{client_id}, {prefix}hmac:{key_id}, {prefix}pk:{pk}
  {prefix}hmac_rev             -> a random token, new after every change to the tenant's HMAC secrets

A tenant record and its platform lookup live on different Redis Cluster hash slots: on one server they are one
MULTI, on a cluster two, in an order that is safe at every step (redis_store.in_order): on issue the tenant record first and
the lookup last (a crash in between leaves a record that opens nothing); on revoke the lookup goes first (a
crash in between leaves a revoked credential still listed as active, which a retry completes).

The front desk keeps each tenant's decrypted HMAC secrets in the process and checks, in its one Redis round
trip, that `hmac_rev` is still the one they were read at: a new or retired secret counts at once everywhere.
"""
from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone

import redis

from app.security.vault import Vault
from app.storage.redis_store import TenantKeyspace, in_order
from app.tenancy.platform_keys import client_lookup as _client_key
from app.tenancy.platform_keys import publishable_lookup as _pk_key
from app.tenancy.platform_keys import record_ids

MAX_ACTIVE_HMAC = 2        # the new and the previous secret verify during a rotation
# A process re-reads a tenant's HMAC secrets at least this often even when the revision has not changed: a
# backstop for writes that bypass this class (a restore from backup puts records back as they were).
HMAC_CACHE_S = 60.0


def hmac_revision_key(keyspace: TenantKeyspace) -> str:
    # Not under `hmac:` (the records' kind), so scans of the records never meet it.
    return keyspace.key("hmac_rev")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class HmacSecrets:
    revision: str             # the tenant's hmac_rev when these were read ("" if it has none yet)
    secrets: tuple[bytes, ...]
    read_at: float


class TenantSecrets:
    def __init__(self, client: redis.Redis, vault: Vault):
        self.redis = client
        self.vault = vault
        self._hmac_cache: dict[str, HmacSecrets] = {}         # keyspace prefix -> the tenant's active secrets
        self._lock = threading.Lock()

    # -- client credentials ---------------------------------------------------------------------
    def issue_client(self, company_id: str, keyspace: TenantKeyspace) -> tuple[str, str]:
        client_id = "cli_" + secrets.token_hex(12)
        client_secret = "cs_" + secrets.token_urlsafe(32)
        # Two hash slots (tenant record, platform lookup): the record first, the lookup that opens it last.
        in_order(self.redis,
                 lambda pipe: pipe.hset(keyspace.key("client", client_id), mapping={
                     "client_id": client_id, "created_at": _now(), "status": "active"}),
                 lambda pipe: pipe.hset(_client_key(client_id), mapping={
                     "company_id": company_id, "status": "active", "secret": self.vault.encrypt(client_secret)}))
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
        # Two hash slots: the lookup goes first, so from then on the credential opens nothing.
        in_order(self.redis, lambda pipe: pipe.delete(_client_key(client_id)),
                 lambda pipe: pipe.hset(keyspace.key("client", client_id),
                                        mapping={"status": "revoked", "revoked_at": _now()}))
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
        self._hmac_changed(keyspace)
        return key_id, secret

    def _hmac_changed(self, keyspace: TenantKeyspace) -> None:
        """After (never before) the records change: every process's copy is now stale. A random token, not a
        counter, so a tenant removed and created again can never repeat a revision a process still holds."""
        self.redis.set(hmac_revision_key(keyspace), secrets.token_hex(8))
        with self._lock:
            self._hmac_cache.pop(keyspace.prefix, None)

    def _hmac_records(self, keyspace: TenantKeyspace) -> list[dict]:
        out = []
        for k in keyspace.scan_keys("hmac"):
            h = self.redis.hgetall(k)
            if h.get("status") == "active":
                out.append(h)
        return out

    def hmac_secrets(self, keyspace: TenantKeyspace) -> list[bytes]:
        return [self.vault.decrypt(h["secret"]).encode() for h in self._hmac_records(keyspace)]

    def cached_hmac_secrets(self, keyspace: TenantKeyspace, stale_revision: str | None = None) -> HmacSecrets:
        """The tenant's active secrets as this process last read them (no Redis), read again when older than
        HMAC_CACHE_S or when the front desk found `stale_revision` (the copy's) is no longer current."""
        now = time.monotonic()
        cached = self._hmac_cache.get(keyspace.prefix)
        if cached is not None and now - cached.read_at < HMAC_CACHE_S and cached.revision != stale_revision:
            return cached
        # The revision first, then the records: a change that lands in between leaves the copy under the old
        # revision, which the front desk then finds stale.
        revision = self.redis.get(hmac_revision_key(keyspace)) or ""
        fresh = HmacSecrets(revision, tuple(self.hmac_secrets(keyspace)), now)
        with self._lock:
            self._hmac_cache[keyspace.prefix] = fresh
        return fresh

    # -- publishable widget keys ----------------------------------------------------------------
    def issue_publishable(self, company_id: str, keyspace: TenantKeyspace) -> str:
        pk = "pk_live_" + secrets.token_urlsafe(18)
        # Two hash slots: the tenant record first, the lookup that opens it last.
        in_order(self.redis, lambda pipe: pipe.hset(keyspace.key("pk", pk), mapping={"created_at": _now(), "status": "active"}),
                 lambda pipe: pipe.set(_pk_key(pk), company_id))
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
