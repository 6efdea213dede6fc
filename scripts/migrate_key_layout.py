"""Move a store's Redis keys to the hash-tagged layout this version uses (Redis Cluster ready).

    python scripts/migrate_key_layout.py [--dry-run] [--json]

Stop the service first (every process). Reads REDIS_URL (or the embedded Redis under DATA_DIR) and the
companies file, renames each tenant's keys from `benova:…` to `{benova}:…` and the platform queues and audit chain
to their tagged names (app/tenancy/key_layout.py), then marks the store. Idempotent: run it again after an
interruption. Exit code 0 when done, 2 when some keys exist under both names (listed; nothing was overwritten).
"""
from __future__ import annotations

import argparse
import sys

import _common  # noqa: F401
from _common import emit

from app.settings import Settings
from app.storage.redis_store import connect_redis
from app.tenancy.key_layout import migrate_key_layout
from app.tenancy.registry import load_companies_file


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dry-run", action="store_true", help="count what would move, change nothing")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    settings = Settings()
    snapshot = load_companies_file(settings.companies_config_file)
    prefixes = {cid: cfg.redis_prefix for cid, cfg in snapshot.companies.items()}
    client = connect_redis(settings.redis_url, settings.data_dir)
    report = migrate_key_layout(client, prefixes, dry_run=args.dry_run).as_dict()
    emit(report, args.json, f"{'would move' if args.dry_run else 'moved'} {report['moved']} keys"
                            + (f", {report['conflict_count']} CONFLICTS" if report["conflict_count"] else ""))
    return 2 if report["conflict_count"] else 0


if __name__ == "__main__":
    sys.exit(main())
