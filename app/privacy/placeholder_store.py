"""The placeholder mapping of one conversation (`<PERSON_1>` -> "María Gómez"), kept so that an
external LLM sees placeholders while the customer sees their own data again.

  {prefix}pii_map:{user_id}   Fernet-encrypted JSON (the vault's master key), TTL = conversation memory

The mapping is personal data itself: it is encrypted at rest, expires with the conversation, and is
part of a data-subject export and erasure.
"""
from __future__ import annotations

import json

from app.security.vault import Vault, VaultError
from app.storage.redis_store import TenantKeyspace

KIND = "pii_map"


class PlaceholderStore:
    def __init__(self, keyspace: TenantKeyspace, vault: Vault, ttl_s: int):
        self.keys = keyspace
        self.vault = vault
        self.ttl_s = ttl_s

    def load(self, user_id: str) -> dict:
        raw = self.keys.redis.get(self.keys.key(KIND, user_id))
        if not raw:
            return {}
        try:
            return json.loads(self.vault.decrypt(raw))
        except (VaultError, ValueError):
            return {}      # unreadable (e.g. a retired master key): start a fresh mapping

    def save(self, user_id: str, mapping: dict) -> None:
        if not mapping:
            return
        self.keys.redis.set(self.keys.key(KIND, user_id), self.vault.encrypt(json.dumps(mapping, ensure_ascii=False)),
                            ex=self.ttl_s)

    def delete(self, user_id: str) -> int:
        return int(self.keys.redis.delete(self.keys.key(KIND, user_id)))
