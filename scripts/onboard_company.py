"""Onboard a company: config block, Qdrant collection, Redis keyspace, seed documents, admin API key.

    python scripts/onboard_company.py --company-id ID --name NAME [--language es] [--industry ...]
                                      [--timezone TZ] [--docs DIR] [--json]
    python scripts/onboard_company.py --company-id ID --rotate-key [--json]

With the service stopped it works on the stores directly. The embedded Qdrant admits one process at a
time, so when the service is running (it answers at --service-url, default http://$HOST:$PORT) the
script goes through it: POST /admin/companies with the platform admin token (MISYBOT_ADMIN_TOKEN, or
DATA_DIR/admin_token written by run.py in development).

Exit codes: 0 done, 1 refused (invalid or duplicate id, bad documents; nothing changed), 2 unreachable.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402

from app.settings import Settings  # noqa: E402
from app.tenancy.config import is_valid_company_id  # noqa: E402
from app.tenancy.onboarding import ALL_PERMISSIONS, OnboardingError, read_documents_dir  # noqa: E402
from app.tenancy.registry import ConfigError  # noqa: E402


class Refused(Exception):
    pass


def _admin_token(settings: Settings) -> str | None:
    if settings.misybot_admin_token:
        return settings.misybot_admin_token.get_secret_value()
    path = settings.data_dir / "admin_token"
    return path.read_text().strip() if path.exists() else None


def _service_running(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=2).status_code in (200, 503)
    except httpx.HTTPError:
        return False


def _chatwoot(args) -> dict:
    values = {"account_id": args.chatwoot_account_id, "base_url": args.chatwoot_url,
              "api_token": args.chatwoot_token, "webhook_secret": args.chatwoot_webhook_secret}
    return {k: v for k, v in values.items() if v is not None}


def via_service(args, settings: Settings, url: str) -> dict:
    token = _admin_token(settings)
    if not token:
        raise Refused("the service is running; set MISYBOT_ADMIN_TOKEN so the script can call it")
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=headers, timeout=600) as client:
        if args.rotate_key:
            resp = client.post(f"/admin/companies/{args.company_id}/api-keys",
                               json={"permissions": sorted(ALL_PERMISSIONS), "label": "rotated", "rotate": True})
        else:
            docs = read_documents_dir(Path(args.docs)) if args.docs else []
            resp = client.post("/admin/companies", json={
                "company_id": args.company_id, "name": args.name, "language": args.language,
                "industry": args.industry, "timezone": args.timezone, "chatwoot": _chatwoot(args),
                "documents": [{"title": d.title, "content": d.text, "source": d.source} for d in docs]})
    body = resp.json() if resp.headers.get("content-type", "").startswith("application/json") else {}
    if resp.status_code >= 400:
        raise Refused(body.get("error", {}).get("message", f"the service answered {resp.status_code}"))
    return body


def direct(args, settings: Settings) -> dict:
    from app.platform import Platform
    from app.security.principal import Principal
    from app.tenancy.onboarding import onboard_company

    platform = Platform.from_settings(settings)
    try:
        if args.rotate_key:
            config = platform.registry.get(args.company_id)
            if config is None:
                raise Refused(f"no company {args.company_id!r}")
            ctx = platform.tenant_context(config, Principal("platform_admin", None))
            key, key_id, revoked = platform.api_keys.rotate(args.company_id, ctx.keyspace, ALL_PERMISSIONS,
                                                            "rotated")
            return {"company_id": args.company_id, "api_key": key, "key_id": key_id,
                    "permissions": sorted(ALL_PERMISSIONS), "revoked_key_ids": revoked}
        docs = read_documents_dir(Path(args.docs)) if args.docs else []
        return onboard_company(platform, args.company_id, args.name, args.language, args.industry,
                               args.timezone, docs, chatwoot=_chatwoot(args))
    finally:
        platform.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--company-id", required=True)
    ap.add_argument("--name")
    ap.add_argument("--language", default="es", choices=["es", "en"])
    ap.add_argument("--industry", default="general")
    ap.add_argument("--timezone")
    ap.add_argument("--docs", help="folder of .txt/.md/.html/.pdf/.docx files to ingest")
    ap.add_argument("--chatwoot-account-id", type=int)
    ap.add_argument("--chatwoot-url", help="the company's Chatwoot base URL")
    ap.add_argument("--chatwoot-token", help="Chatwoot API access token (stored encrypted)")
    ap.add_argument("--chatwoot-webhook-secret", help="Chatwoot webhook signing secret (stored encrypted)")
    ap.add_argument("--rotate-key", action="store_true", help="issue a new admin key and revoke the old one")
    ap.add_argument("--service-url", help="the running service (default http://$HOST:$PORT)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)

    def fail(message: str, code: int = 1) -> int:
        if args.json:
            print(json.dumps({"error": message}, ensure_ascii=False))
        else:
            print(f"error: {message}", file=sys.stderr)
        return code

    if not is_valid_company_id(args.company_id):
        return fail("company id must be 2-64 characters: lowercase letters, digits, '-' or '_'")
    if not args.rotate_key and not args.name:
        return fail("--name is required to onboard a company")
    try:
        settings = Settings()
        url = (args.service_url or f"http://{settings.host}:{settings.port}").rstrip("/")
        if args.docs and not Path(args.docs).is_dir():
            return fail(f"{args.docs} is not a folder")
        result = via_service(args, settings, url) if _service_running(url) else direct(args, settings)
    except (Refused, OnboardingError, ConfigError) as exc:
        return fail(str(exc))
    except httpx.HTTPError as exc:
        return fail(f"the service did not answer: {exc}", 2)

    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        print(f"Company {result['company_id']} is ready.")
        if "documents" in result:
            print(f"  documents ingested: {result['documents']}")
        print(f"  admin API key (shown once, store it now): {result['api_key']}")
        for label, field in (("client id", "client_id"), ("client secret", "client_secret"),
                             ("HMAC secret", "hmac_secret"), ("publishable widget key", "publishable_key")):
            if result.get(field):
                print(f"  {label}: {result[field]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
