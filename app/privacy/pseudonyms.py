"""Pseudonyms for what crosses into the global collection: tenants as "t_…", end users as "u_…".

Keyed hashes (HMAC-SHA256) under a random platform key kept encrypted in Redis: stable, so a repeat
question from the same tenant is recognized and an erasure can find a user's contributions, yet
meaningless to anyone reading the collection without the key. The key is independent of the master
key, so rotating the master key (which re-encrypts it) keeps every pseudonym.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

from app.security.vault import Vault
from app.tenancy.config import PLATFORM_REDIS_PREFIX

KEY = f"{PLATFORM_REDIS_PREFIX}meta:pseudonym_key"


class Pseudonyms:
    def __init__(self, redis_client, vault: Vault):
        self.redis = redis_client
        self.vault = vault
        self._key: bytes | None = None

    def _secret(self) -> bytes:
        if self._key is None:
            self.redis.set(KEY, self.vault.encrypt(secrets.token_hex(32)), nx=True)   # first process wins
            self._key = bytes.fromhex(self.vault.decrypt(self.redis.get(KEY)))
        return self._key

    def _hash(self, *parts: str) -> str:
        return hmac.new(self._secret(), "\x1f".join(parts).encode(), hashlib.sha256).hexdigest()

    def tenant(self, company_id: str) -> str:
        return "t_" + self._hash("tenant", company_id)[:16]

    def user(self, company_id: str, user_id: str) -> str:
        return "u_" + self._hash("user", company_id, user_id)[:24]
