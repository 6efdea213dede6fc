"""Remove a company: every Redis key, vector, credential and its config block, and nothing else.

    python scripts/offboard_company.py --company-id ID --confirm [--export backup.tar.gz] [--json]

Prints a receipt of what was removed and a check that nothing of the tenant is left. With the
embedded stores, stop the service first; a running service with server stores should then call
POST /admin/companies/reload-config.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import _common  # noqa: F401
from _common import emit, open_platform

from app.settings import Settings
from app.tenancy.offboarding import OffboardingError, offboard_company


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--company-id", required=True)
    ap.add_argument("--confirm", action="store_true", help="required: this deletes the company's data")
    ap.add_argument("--export", type=Path, help="write a backup archive before deleting")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if not args.confirm:
        print("error: offboarding deletes all of the company's data; pass --confirm", file=sys.stderr)
        return 1
    platform = open_platform(Settings())
    try:
        receipt = offboard_company(platform, args.company_id, args.export)
    except OffboardingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        platform.close()
    emit(receipt, args.json, f"company {args.company_id} removed" if receipt["complete"] else "INCOMPLETE")
    return 0 if receipt["complete"] else 2


if __name__ == "__main__":
    sys.exit(main())
