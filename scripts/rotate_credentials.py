"""Rotate and revoke credentials.

    python scripts/rotate_credentials.py api-key      --company-id ID        # new admin key, old one revoked
    python scripts/rotate_credentials.py revoke-key   --company-id ID --key-id KEY_ID
    python scripts/rotate_credentials.py hmac         --company-id ID        # new secret; the previous stays valid
    python scripts/rotate_credentials.py client       --company-id ID        # new client credentials, old revoked
    python scripts/rotate_credentials.py revoke-tokens --company-id ID [--jti JTI --exp UNIX]
    python scripts/rotate_credentials.py signing-key  [--retire KID]         # new JWT signing key
    python scripts/rotate_credentials.py master-key                          # re-encrypt under the first key

New secrets are printed once (add --json for one JSON object). For master-key, set
MISYBOT_MASTER_KEY="new,old" first; afterwards the old key can be dropped.
"""
from __future__ import annotations

import argparse
import sys

import _common  # noqa: F401
from _common import emit, open_platform

from app.audit.trail import AuditTrail
from app.security.principal import Principal
from app.settings import Settings
from app.tenancy.onboarding import ALL_PERMISSIONS
from app.tenancy.platform_keys import record_ids


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("command", choices=["api-key", "revoke-key", "hmac", "client", "revoke-tokens", "signing-key",
                                        "master-key"])
    ap.add_argument("--company-id")
    ap.add_argument("--key-id")
    ap.add_argument("--jti")
    ap.add_argument("--exp", type=int)
    ap.add_argument("--retire")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    p = open_platform(Settings())
    try:
        if args.command == "signing-key":
            result = {"retired": args.retire, "ok": p.tokens.retire_signing_key(args.retire)} if args.retire \
                else {"kid": p.tokens.rotate_signing_key()}
        elif args.command == "master-key":
            n = p.tokens.rotate_encryption() + AuditTrail(p).rotate_encryption()
            admin = Principal("platform_admin", None)
            for cid in p.registry.company_ids():
                n += p.secrets.rotate_encryption(p.tenant_context(p.registry.get(cid), admin).keyspace)
            result = {"re_encrypted": n}
        else:
            config = p.registry.get(args.company_id or "")
            if config is None:
                print(f"error: no company {args.company_id!r}", file=sys.stderr)
                return 1
            ctx = p.tenant_context(config, Principal("platform_admin", None))
            ks, cid = ctx.keyspace, config.company_id
            if args.command == "api-key":
                key, key_id, revoked = p.api_keys.rotate(cid, ks, ALL_PERMISSIONS, "rotated")
                result = {"company_id": cid, "api_key": key, "key_id": key_id, "revoked_key_ids": revoked}
            elif args.command == "revoke-key":
                result = {"company_id": cid, "key_id": args.key_id, "revoked": p.api_keys.revoke(ks, args.key_id or "")}
            elif args.command == "hmac":
                key_id, secret = p.secrets.issue_hmac_secret(ks)
                result = {"company_id": cid, "hmac_key_id": key_id, "hmac_secret": secret}
            elif args.command == "client":
                old = record_ids(ks, "client")
                client_id, client_secret = p.secrets.issue_client(cid, ks)
                result = {"company_id": cid, "client_id": client_id, "client_secret": client_secret,
                          "revoked_client_ids": [c for c in old if p.secrets.revoke_client(ks, c)]}
            elif args.jti:
                if args.exp is None:
                    print("error: --exp is needed with --jti", file=sys.stderr)
                    return 1
                p.tokens.revoke_jti(args.jti, args.exp, tenant_id=cid)
                result = {"company_id": cid, "revoked_jti": args.jti}
            else:
                result = {"company_id": cid, "revoked_before": p.tokens.revoke_tenant_tokens(cid)}
    finally:
        p.close()
    emit(result, args.json, f"{args.command}: done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
