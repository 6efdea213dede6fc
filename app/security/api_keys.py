"""Per-tenant API keys (X-API-Key). Only SHA-256 hashes are stored; the plaintext is shown once.

Keys are random 256-bit tokens, so a fast hash is enough (nothing to brute-force); lookups are by
hash in the platform keyspace, and each tenant also lists its own key records under its prefix so
rotation and offboarding find them.

The tenant record and the platform lookup live on different Redis Cluster hash slots: on one server they are
one MULTI, on a cluster two, in an order that keeps every crash point safe (redis_store.in_order): issue
writes the record first and the lookup last (a crash in between leaves a record whose key opens nothing);
revoke and purge delete the lookup first (a crash in between leaves a key that opens nothing, still listed
as active until the revoke is retried).
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timezone

import redis

from app.security.principal import TENANT_PERMISSIONS, Principal
from app.storage.redis_store import TenantKeyspace, in_order
from app.tenancy.platform_keys import api_key_lookup as _lookup_key

KEY_PREFIX = "msk_"       # secret keys; publishable widget keys will be pk_live_…


def hash_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class ApiKeyStore:
    def __init__(self, client: redis.Redis):
        self.redis = client

    def issue(self, company_id: str, keyspace: TenantKeyspace, permissions: set[str],
              label: str = "") -> tuple[str, str]:
        """Returns (plaintext, key_id). The plaintext is never stored."""
        unknown = set(permissions) - TENANT_PERMISSIONS
        if unknown or not permissions:
            raise ValueError(f"unknown permissions: {sorted(unknown)}" if unknown else "no permissions")
        plaintext = KEY_PREFIX + secrets.token_urlsafe(32)
        key_id = "key_" + secrets.token_hex(8)
        key_hash = hash_key(plaintext)
        perms = " ".join(sorted(permissions))
        # Record first, lookup last (two hash slots; see the module's docstring).
        in_order(self.redis,
                 lambda pipe: pipe.hset(keyspace.key("apikey", key_id), mapping={
                     "key_id": key_id, "key_hash": key_hash, "permissions": perms, "label": label,
                     "last4": plaintext[-4:], "created_at": _now(), "status": "active"}),
                 lambda pipe: pipe.hset(_lookup_key(key_hash), mapping={"company_id": company_id, "key_id": key_id,
                                                                        "permissions": perms}))
        return plaintext, key_id

    def authenticate(self, plaintext: str) -> Principal | None:
        if not plaintext or not plaintext.startswith(KEY_PREFIX) or len(plaintext) > 200:
            return None
        h = self.redis.hgetall(_lookup_key(hash_key(plaintext)))
        if not h:
            return None
        return Principal("api_key", h["company_id"], frozenset(h["permissions"].split()), h["key_id"])

    def list_keys(self, keyspace: TenantKeyspace) -> list[dict]:
        out = []
        for k in keyspace.scan_keys("apikey"):
            h = self.redis.hgetall(k)
            if h:
                out.append({f: h.get(f) for f in ("key_id", "permissions", "label", "last4", "created_at",
                                                   "status", "revoked_at")})
        return sorted(out, key=lambda r: r["created_at"] or "")

    def revoke(self, keyspace: TenantKeyspace, key_id: str) -> bool:
        try:
            record_key = keyspace.key("apikey", key_id)
        except ValueError:
            return False
        h = self.redis.hgetall(record_key)
        if not h or h.get("status") != "active":
            return False
        # Lookup first: from this point the key opens nothing, whatever happens next.
        in_order(self.redis, lambda pipe: pipe.delete(_lookup_key(h["key_hash"])),
                 lambda pipe: pipe.hset(record_key, mapping={"status": "revoked", "revoked_at": _now()}))
        return True

    def rotate(self, company_id: str, keyspace: TenantKeyspace, permissions: set[str],
               label: str = "") -> tuple[str, str, list[str]]:
        """Issue a new key with `permissions` and revoke every active key that had exactly those."""
        wanted = " ".join(sorted(permissions))
        old = [k["key_id"] for k in self.list_keys(keyspace)
               if k["status"] == "active" and k["permissions"] == wanted]
        plaintext, key_id = self.issue(company_id, keyspace, permissions, label)
        for old_id in old:
            self.revoke(keyspace, old_id)
        return plaintext, key_id, old

    def purge_tenant(self, keyspace: TenantKeyspace) -> int:
        """Delete every key of a tenant, active or revoked (offboarding, failed onboarding)."""
        records = list(keyspace.scan_keys("apikey"))
        hashes = [self.redis.hget(k, "key_hash") for k in records]
        # One key per DEL (the lookups are on other hash slots than the records and than each other), the
        # lookups first so that a crash midway leaves no key that still opens the tenant.
        return sum(int(self.redis.delete(k)) for k in [_lookup_key(h) for h in hashes if h] + records)
