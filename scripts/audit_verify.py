"""Verify audit trail hash chains: edited, removed or reordered records, and forged heads or checkpoints.

    python scripts/audit_verify.py --company-id ID     # one company's chain
    python scripts/audit_verify.py --all               # every company in the registry, and the platform chain
    python scripts/audit_verify.py --platform          # the chain of refusals made before a tenant was known

One line per chain; exits 1 if any chain has a problem (saying at which seq and what), 0 otherwise. Add --json for
one JSON object per line. Opens the stores like the other scripts: with the embedded Qdrant, stop the service first.
"""
from __future__ import annotations

import argparse
import json
import sys

import _common  # noqa: F401
from _common import open_platform

from app.audit.trail import PLATFORM_CHAIN, AuditTrail, VerifyResult
from app.settings import Settings


def _line(chain: str, result: VerifyResult) -> str:
    if result.ok:
        return f"{chain}: ok ({result.checked} records checked)"
    return f"{chain}: PROBLEM at seq {result.first_bad_seq}: {result.problem} ({result.checked} records checked before it)"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    which = ap.add_mutually_exclusive_group(required=True)
    which.add_argument("--company-id")
    which.add_argument("--all", action="store_true")
    which.add_argument("--platform", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    p = open_platform(Settings())
    try:
        if args.all:
            chains: list[str | None] = [*p.registry.company_ids(), None]
        else:
            chains = [None if args.platform else args.company_id]
        if args.company_id and p.registry.get(args.company_id) is None:
            print(f"error: no company {args.company_id!r}", file=sys.stderr)
            return 1
        trail = AuditTrail(p)          # not started: it only reads
        failed = False
        for company_id in chains:
            result = trail.verify(company_id)
            failed = failed or not result.ok
            name = company_id or PLATFORM_CHAIN
            print(json.dumps({"chain": name, **result.__dict__}) if args.json else _line(name, result))
        return 1 if failed else 0
    finally:
        p.close()


if __name__ == "__main__":
    sys.exit(main())
