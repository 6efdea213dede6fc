"""Which Redis prefixes may hold keys, so onboarding knows in O(1) that a new company's prefix is empty.

Onboarding refuses to adopt a prefix that already holds keys (its rollback must only ever remove what it made).
Asking Redis directly means a SCAN of the whole keyspace (a MATCH pattern filters after the walk): O(all keys of
all tenants) per onboarding. Instead the platform keeps one set of prefixes in use, PREFIXES_IN_USE:

- every prefix in a configuration any process serves is added (at start-up, on reload, by onboarding's claim),
  so a prefix whose keys exist is in the set before its first key is written;
- once per store, before the set is trusted, one SCAN adds the prefix of every key already there (a store from
  before this set, or a company removed from the file by hand), then PREFIXES_TRACKED is set; a store that lost
  its data loses the marker too and is walked again (it is empty by then);
- offboarding removes a prefix once its keys are gone (and a rolled-back onboarding removes its own claim).

A prefix not in the set has never held keys since the store was walked: onboarding claims it with one SADD.
A prefix in the set (a company id used before) still gets the exact check, a SCAN of its pattern: rare.
"""
from __future__ import annotations

import logging
from typing import Iterable

from app.storage.redis_store import declared_prefix, scan_all
from app.tenancy.platform_keys import PREFIXES_IN_USE, PREFIXES_TRACKED

log = logging.getLogger("misybot.onboarding")


def key_owner_prefix(key: str) -> str | None:
    """The declared prefix a key was written under (`{benova}:x` and the older `benova:x` -> `benova:`).
    Declared prefixes end in their only ':' (REDIS_PREFIX_PATTERN), so the owner is the key up to its first ':'."""
    cut = key.find(":")
    return declared_prefix(key[:cut + 1]) if cut > 0 else None


class PrefixClaims:
    def __init__(self, client):
        self.redis = client

    def note(self, prefixes: Iterable[str]) -> None:
        """These prefixes may hold keys from now on (a configuration about to be served)."""
        batch = list(prefixes)
        for start in range(0, len(batch), 1000):
            self.redis.sadd(PREFIXES_IN_USE, *batch[start:start + 1000])

    def ensure_tracked(self, configured: Iterable[str]) -> None:
        """Once per store: walk every key and note its prefix (the only whole-keyspace SCAN)."""
        if self.redis.exists(PREFIXES_TRACKED):
            return
        found: set[str] = set(configured)
        for key in scan_all(self.redis):
            owner = key_owner_prefix(key)
            if owner:
                found.add(owner)
        self.note(found)
        self.redis.set(PREFIXES_TRACKED, "1")
        log.info("tenant prefixes in use noted", extra={"prefixes": len(found)})

    def claim(self, prefix: str) -> bool:
        """True when the prefix was not in use (nothing can be stored under it); it is in use from now on."""
        return bool(self.redis.sadd(PREFIXES_IN_USE, prefix))

    def release(self, prefix: str) -> None:
        """The prefix holds no key any more (offboarded, or an onboarding rolled back)."""
        self.redis.srem(PREFIXES_IN_USE, prefix)
