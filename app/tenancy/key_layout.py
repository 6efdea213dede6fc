"""The move to hash-tagged keys (Redis Cluster): every key is renamed once, in place, by
scripts/migrate_key_layout.py.

Before: a tenant's keys were `benova:conversation:ana`, and the platform queues `misybot:chatwoot:jobs`, ….
After:  `{benova}:conversation:ana` (the tenant is the hash tag: all its keys share one slot), and the
platform keys that a script or transaction uses together share a tag (`misybot:{chatwoot}:jobs` with
`misybot:{chatwoot}:retry`, …). A cluster can then run every multi-key operation.

The store marker says which layout a store holds: a store made by this version starts in the new layout; a
store from before refuses to start (app/storage/redis_store.py, mark_store) until this migration ran. The move is
idempotent (a key already moved is skipped; run it again after an interruption) and needs the service stopped:
a write under an old name while it runs would be left behind (the script's second pass reports any).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from app.storage.redis_store import STORE_MARKER, hash_tagged, is_cluster, layout_marker, scan_all

# Platform keys renamed as they are (old -> new), and platform prefixes whose keys are all renamed.
PLATFORM_KEYS = {
    "misybot:chatwoot:jobs": "misybot:{chatwoot}:jobs",
    "misybot:chatwoot:retry": "misybot:{chatwoot}:retry",
    "misybot:chatwoot:dead": "misybot:{chatwoot}:dead",
    "misybot:ingest:jobs": "misybot:{ingest}:jobs",
    "misybot:ingest:retry": "misybot:{ingest}:retry",
    "misybot:ingest:dead": "misybot:{ingest}:dead",
    "misybot:webhooks:due": "misybot:{webhooks}:due",
    "misybot:webhooks:dead": "misybot:{webhooks}:dead",
    "misybot:jwks": "misybot:{jwks}",                       # the token signing keys: without them no token verifies
    "misybot:jwks:current": "misybot:{jwks}:current",
}
# Per company (old -> new, {c} = company_id). A revoked token id (`misybot:tat:revoked:<jti>`) does not name its
# company and cannot be renamed: a single Redis keeps honouring the old name until it expires (at most a day);
# before moving the data to a cluster, revoke the tenant's tokens again if one was revoked that day.
COMPANY_KEYS = {
    "misybot:tat:revoked_before:{c}": "misybot:tat:{{{c}}}:revoked_before",
}
PLATFORM_PREFIXES = {
    # the platform's own audit chain; its signing key (misybot:audit:mac_key) stays where it is
    "misybot:audit:": ("misybot:{audit}:", ("misybot:audit:mac_key",)),
}


@dataclass
class LayoutReport:
    moved: int = 0
    already: int = 0                                  # the new name existed and the old did not: done before
    conflicts: list[str] = field(default_factory=list)   # both names exist: left for a person to look at
    by_owner: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"moved": self.moved, "already_moved": self.already, "conflicts": self.conflicts[:50],
                "conflict_count": len(self.conflicts), "by_owner": self.by_owner}


def _move(client, old: str, new: str, report: LayoutReport, owner: str, dry_run: bool) -> None:
    if dry_run:
        report.moved += 1
        report.by_owner[owner] = report.by_owner.get(owner, 0) + 1
        return
    if not is_cluster(client):
        # One server: RENAMENX is atomic and keeps the value, TTL and (for a stream) its consumer groups.
        if client.renamenx(old, new):
            report.moved += 1
            report.by_owner[owner] = report.by_owner.get(owner, 0) + 1
        elif client.exists(new):
            report.conflicts.append(old)
        return
    # A cluster cannot RENAME across slots: copy the serialized value with its TTL (DUMP/RESTORE keeps a stream's
    # groups too), then delete the old name. RESTORE refuses an existing key, so a rerun never overwrites.
    dumped, ttl = client.dump(old), client.pttl(old)
    if dumped is None:
        return                                        # gone meanwhile (expired)
    try:
        client.restore(new, max(int(ttl), 0), dumped)
    except Exception as exc:                          # BUSYKEY: the new name exists
        if "BUSYKEY" in str(exc):
            report.conflicts.append(old)
            return
        raise
    client.delete(old)
    report.moved += 1
    report.by_owner[owner] = report.by_owner.get(owner, 0) + 1


def migrate_key_layout(client, redis_prefixes: dict[str, str], dry_run: bool = False) -> LayoutReport:
    """Rename every tenant key (`{company_id: redis_prefix}`) and the platform keys above to the new layout,
    then mark the store as holding it (not in a dry run, nor when a conflict was left)."""
    report = LayoutReport()
    for company_id, prefix in sorted(redis_prefixes.items()):
        tagged = hash_tagged(prefix)
        for old in list(scan_all(client, prefix + "*")):
            _move(client, old, tagged + old[len(prefix):], report, company_id, dry_run)
    for company_id in sorted(redis_prefixes):
        for old, new in COMPANY_KEYS.items():
            old, new = old.format(c=company_id), new.format(c=company_id)
            if client.exists(old):
                _move(client, old, new, report, company_id, dry_run)
    for old, new in PLATFORM_KEYS.items():
        if client.exists(old):
            _move(client, old, new, report, "platform", dry_run)
    for old_prefix, (new_prefix, keep) in PLATFORM_PREFIXES.items():
        for old in list(scan_all(client, old_prefix + "*")):
            if old not in keep:
                _move(client, old, new_prefix + old[len(old_prefix):], report, "platform", dry_run)
    if not dry_run and not report.conflicts:
        marker = client.get(STORE_MARKER)
        if marker is not None:
            client.set(STORE_MARKER, layout_marker(marker))
    return report
