"""Migrate a single-tenant deployment's Redis keys and Qdrant collection into one company.

    python scripts/setup_multitenant.py [--default-company benova] [--legacy-collection documents]
                                        [--dry-run] [--keep-source] [--json]

Creates companies_config.yaml (or the company's block) when missing and validates it; copies
`conversation:*`, `document:*`, `bot_status:*`, `booking:*`, `session:*` and `consent:*` to the
company's prefix and the legacy collection's points into the company's collection; deletes the
source only after every copy is verified by count and checksum. Idempotent and resumable.
"""
from __future__ import annotations

import argparse
import sys

import _common  # noqa: F401  (puts the repo on sys.path)
from _common import emit, open_platform

from app.settings import Settings
from app.tenancy.config import is_valid_company_id
from app.tenancy.config_file import append_company, locked
from app.tenancy.migration import LEGACY_KINDS, migrate
from app.tenancy.onboarding import default_block
from app.tenancy.registry import ConfigError, load_companies_file


def ensure_config(settings: Settings, company_id: str, dry_run: bool) -> tuple[bool, bool]:
    """(file created, block added). Validates the result either way."""
    path = settings.companies_config_file
    created = not path.exists()
    if not created and company_id in load_companies_file(path).companies:
        return False, False
    if dry_run:
        return created, True
    with locked(path):
        append_company(path, default_block(company_id, company_id.replace("-", " ").title()))
    return created, True


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--default-company", default="benova")
    ap.add_argument("--legacy-collection", default="documents")
    ap.add_argument("--kinds", default=",".join(LEGACY_KINDS), help="legacy Redis key kinds to move")
    ap.add_argument("--dry-run", action="store_true")
    ap.add_argument("--keep-source", action="store_true", help="copy and verify, but delete nothing")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if not is_valid_company_id(args.default_company):
        print("error: invalid company id", file=sys.stderr)
        return 1
    settings = Settings()
    try:
        created, added = ensure_config(settings, args.default_company, args.dry_run)
    except (ConfigError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.dry_run and added:
        # Nothing may be written: report what the config step would do and what data is there.
        emit({"company_id": args.default_company, "dry_run": True, "config_created": created,
              "config_block_added": added, "note": "run without --dry-run to create the config block first"},
             args.json, "dry run")
        return 0
    platform = open_platform(settings)
    try:
        report = migrate(platform, args.default_company, args.legacy_collection,
                         tuple(k for k in args.kinds.split(",") if k), args.dry_run, not args.keep_source)
    except ValueError as exc:           # e.g. the "legacy" collection is a company's own
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        platform.close()
    report.config_created, report.config_block_added = created, added
    result = report.as_dict()
    emit(result, args.json, "dry run: nothing was changed" if args.dry_run else
         ("migration complete" if report.source_deleted else "copied; source kept (see conflicts)"))
    return 0 if not report.conflicts else 3


if __name__ == "__main__":
    sys.exit(main())
