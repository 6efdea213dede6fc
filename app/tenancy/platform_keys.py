"""The platform-namespace keys that belong to one tenant, named here and nowhere else.

  misybot:apikey:{sha256 of the key}   -> company_id, key_id, permissions      (app/security/api_keys.py)
  misybot:client:{client_id}           -> company_id, secret (encrypted), status (app/security/tenant_secrets.py)
  misybot:pk:{pk_live_…}               -> company_id                            (publishable widget keys)
  misybot:icalfeed:{sha256 of token}   -> company_id                            (calendar feeds, app/bookings/ical_feeds.py)
  misybot:migration:{company_id}       the run log of a migration into the tenant (app/tenancy/migration.py)
  misybot:tenants:prefixes             the declared redis_prefix of every tenant that may hold keys (a set;
                                       app/tenancy/prefixes.py), and misybot:tenants:prefixes:tracked, set once
                                       that set covers every key in the store

A tenant's lookups are found from the records it keeps under its own prefix ({prefix}apikey:{key_id}
holds the key's hash, {prefix}client:{client_id}, {prefix}pk:{pk}), so one tenant's records can only
name its own lookups. Backup, restore and offboarding reach them through `TenantContext.platform_keys`.
"""
from __future__ import annotations

from app.bookings.ical_feeds import feed_lookup_key
from app.storage.redis_store import TenantKeyspace
from app.tenancy.config import PLATFORM_REDIS_PREFIX

LOOKUP_KINDS = ("apikey", "client", "pk", "icalfeed")


def api_key_lookup(key_hash: str) -> str:
    return f"{PLATFORM_REDIS_PREFIX}apikey:{key_hash}"


def client_lookup(client_id: str) -> str:
    return f"{PLATFORM_REDIS_PREFIX}client:{client_id}"


def publishable_lookup(pk: str) -> str:
    return f"{PLATFORM_REDIS_PREFIX}pk:{pk}"


def migration_state(company_id: str) -> str:
    return f"{PLATFORM_REDIS_PREFIX}migration:{company_id}"


PREFIXES_IN_USE = f"{PLATFORM_REDIS_PREFIX}tenants:prefixes"
PREFIXES_TRACKED = f"{PLATFORM_REDIS_PREFIX}tenants:prefixes:tracked"


def is_lookup(key: str) -> bool:
    """A credential lookup (API key, client, publishable key): its value names the company it opens."""
    return key.startswith(tuple(f"{PLATFORM_REDIS_PREFIX}{kind}:" for kind in LOOKUP_KINDS))


def record_ids(keyspace: TenantKeyspace, kind: str) -> list[str]:
    """The ids of a tenant's `{prefix}{kind}:{id}` records (client ids, publishable keys, key ids)."""
    start = len(keyspace.prefix) + len(kind) + 1
    return [k[start:] for k in keyspace.scan_keys(kind)]


def tenant_lookups(keyspace: TenantKeyspace) -> list[str]:
    """The platform lookups of a tenant's API keys, clients and publishable keys that still exist."""
    r = keyspace.redis
    hashes = [r.hget(k, "key_hash") for k in keyspace.scan_keys("apikey")]
    found = [api_key_lookup(h) for h in hashes if h]
    found += [client_lookup(c) for c in record_ids(keyspace, "client")]
    found += [publishable_lookup(pk) for pk in record_ids(keyspace, "pk")]
    feed_token = r.get(keyspace.key("calendar", "feed_token"))
    if feed_token:
        found.append(feed_lookup_key(feed_token))
    return [k for k in found if r.exists(k)]


class TenantPlatformKeys:
    def __init__(self, keyspace: TenantKeyspace, company_id: str):
        self.keys = keyspace
        self.company_id = company_id

    def lookups(self) -> list[str]:
        return tenant_lookups(self.keys)

    @property
    def migration(self) -> str:
        return migration_state(self.company_id)

    def owned(self) -> list[str]:
        """Every platform key of this tenant that exists."""
        return self.lookups() + ([self.migration] if self.keys.redis.exists(self.migration) else [])

    def delete(self) -> int:
        """Offboarding: after this no credential of the tenant opens anything."""
        owned = self.owned()
        return int(self.keys.redis.delete(*owned)) if owned else 0
