"""Back up one company to a single archive, or restore an archive into this deployment.

    python scripts/tenant_backup.py export --company-id ID --output benova.tar.gz [--json]
    python scripts/tenant_backup.py import --input benova.tar.gz [--json]

The archive holds the company's Redis keys (and its API-key lookups), its Qdrant points and its config
block, with checksums. Import refuses, before writing, if any of it already exists here.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import _common  # noqa: F401
from _common import emit, open_platform

from app.security.principal import Principal
from app.settings import Settings
from app.tenancy.backup import BackupError, export_tenant, import_tenant
from app.tenancy.registry import ConfigError


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("export")
    ex.add_argument("--company-id", required=True)
    ex.add_argument("--output", type=Path, required=True)
    im = sub.add_parser("import")
    im.add_argument("--input", type=Path, required=True)
    for p in (ex, im):
        p.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    platform = open_platform(Settings())
    try:
        if args.command == "export":
            config = platform.registry.get(args.company_id)
            if config is None:
                print(f"error: no company {args.company_id!r}", file=sys.stderr)
                return 1
            result = export_tenant(platform, platform.tenant_context(config, Principal("platform_admin", None)),
                                   args.output)
            emit(result, args.json, f"exported {args.company_id} to {args.output}")
        else:
            result = import_tenant(platform, args.input)
            emit(result, args.json, f"restored {result['company_id']}")
    except (BackupError, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        platform.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
