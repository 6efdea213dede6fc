"""Onboarding a company: config block, collection, keyspace, seed documents, first admin key.

Used by scripts/onboard_company.py (service stopped) and POST /admin/companies (service running).
All-or-nothing: if any step fails, the config file, collection, keys and documents are rolled back.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

from app.bookings.catalog import Catalog, CatalogError, read_catalog_file
from app.knowledge.parsing import SUPPORTED_EXTENSIONS, extract_text
from app.security.principal import ADMIN, BOOKINGS_READ, BOOKINGS_WRITE, CHAT, DOCUMENTS_READ, DOCUMENTS_WRITE, Principal
from app.tenancy.config import is_valid_company_id
from app.tenancy.config_file import locked, with_block_appended, write_atomically
from app.tenancy.prefixes import PrefixClaims
from app.tenancy.registry import ConfigError

log = logging.getLogger("misybot.onboarding")

ALL_PERMISSIONS = {ADMIN, DOCUMENTS_READ, DOCUMENTS_WRITE, CHAT, BOOKINGS_READ, BOOKINGS_WRITE}
DEFAULT_TIMEZONE = {"es": "America/Bogota", "en": "America/New_York"}


class OnboardingError(ValueError):
    """The request cannot be honoured; nothing was changed."""


class CompanyExists(OnboardingError):
    """The company, its collection or its Redis prefix is already there."""


@dataclass(frozen=True)
class SeedDocument:
    title: str
    text: str
    size_bytes: int
    source: str | None = None


def read_documents_dir(directory: Path) -> list[SeedDocument]:
    """Parse every supported file in a folder up front, so a bad file fails before anything is written."""
    if not directory.is_dir():
        raise OnboardingError(f"{directory} is not a folder")
    docs = []
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        if path.suffix.lower() not in SUPPORTED_EXTENSIONS:
            continue
        data = path.read_bytes()
        try:
            text = extract_text(path.name, data)
        except ValueError as exc:
            raise OnboardingError(f"{path}: {exc}") from None
        if text:
            docs.append(SeedDocument(_title_of(path, text), text, len(data), path.name))
    return docs


def _title_of(path: Path, text: str) -> str:
    first = text.split("\n", 1)[0].strip()
    if first.startswith("# "):
        return first[2:].strip()
    return path.stem.replace("-", " ").replace("_", " ").capitalize()


def default_block(company_id: str, name: str, language: str = "es", industry: str = "general",
                  timezone_name: str | None = None) -> dict:
    spanish = language == "es"
    return {
        "company_id": company_id,
        "company_name": name,
        "redis_prefix": f"{company_id}:",
        "vectorstore_index": f"{company_id}_documents",
        "language": language,
        "timezone": timezone_name or DEFAULT_TIMEZONE[language],
        "industry": industry,
        "services": f"Servicios de {name}" if spanish else f"Services of {name}",
        "sales_agent_name": f"Asistente de {name}" if spanish else f"{name} assistant",
        "persona": "cercano, claro y profesional" if spanish else "warm, clear and professional",
        "branding": {"greeting_message": f"¡Hola! Soy el asistente de {name}. ¿En qué te puedo ayudar?"
                     if spanish else f"Hi! I'm the {name} assistant. How can I help?"},
    }


def onboard_company(platform, company_id: str, name: str, language: str = "es", industry: str = "general",
                    timezone_name: str | None = None, documents: Sequence[SeedDocument] = (),
                    chatwoot: dict | None = None, catalog: Catalog | None = None) -> dict:
    """chatwoot: {"account_id", "base_url", "api_token", "webhook_secret"}; the first two go into the
    config block, the secrets only into Redis, encrypted."""
    if not is_valid_company_id(company_id):
        raise OnboardingError("company_id must be 2-64 characters: lowercase letters, digits, '-' or '_'")
    if language not in ("es", "en"):
        raise OnboardingError("language must be 'es' or 'en'")
    if not name or not name.strip():
        raise OnboardingError("name must not be empty")
    path = platform.settings.companies_config_file
    with locked(path):
        # Follow what other processes published (one block each, no re-parse); reload() then finds the file
        # unchanged and only reads it again if someone edited it by hand.
        platform.sync_config(force=True)
        platform.registry.reload()
        base = platform.registry.snapshot
        if base.companies.get(company_id) is not None:
            raise CompanyExists(f"company {company_id!r} already exists; nothing was changed")
        block = default_block(company_id, name.strip(), language, industry, timezone_name)
        chatwoot = chatwoot or {}
        public = {k: chatwoot[k] for k in ("account_id", "base_url") if chatwoot.get(k) is not None}
        if public:
            block["chatwoot"] = public
        previous_text = path.read_text(encoding="utf-8") if path.exists() else ""
        try:                 # the new block alone, against the others (the file was just re-read if it changed)
            new_text = with_block_appended(previous_text, block)
            snapshot = base.plus(block, new_text, str(path))
        except (ConfigError, ValueError) as exc:
            raise OnboardingError(str(exc)) from None
        config = snapshot.companies[company_id]
        ctx = platform.tenant_context(config, Principal("platform_admin", None))
        # Refuse to adopt storage that already holds data: rollback must only ever remove what we made.
        if ctx.knowledge.exists():
            raise CompanyExists(f"collection {config.vectorstore_index!r} already exists; nothing was changed")
        claims = PrefixClaims(platform.redis)
        claims.ensure_tracked(c.redis_prefix for c in base.companies.values())     # once per store
        # O(1): a prefix never used cannot hold keys. One used before (a company id that comes back) is looked at.
        fresh = claims.claim(config.redis_prefix)
        if not fresh and any(True for _ in ctx.keyspace.scan_keys()):
            raise CompanyExists(f"redis prefix {config.redis_prefix!r} already holds keys; nothing was changed")
        try:
            write_atomically(path, new_text)
        except BaseException:
            if fresh:
                claims.release(config.redis_prefix)
            raise
        try:
            ctx.knowledge.ensure_collection()
            ctx.keyspace.redis.hset(ctx.keyspace.key("tenant", "meta"), mapping={
                "company_id": company_id, "onboarded_at": datetime.now(timezone.utc).isoformat()})
            ingested = ingest_documents(ctx, documents)
            catalog_loaded = ctx.catalog.replace(catalog) if catalog is not None else None
            api_key, key_id = platform.api_keys.issue(company_id, ctx.keyspace, ALL_PERMISSIONS, "onboarding")
            credentials = issue_tenant_credentials(platform, ctx, ["client", "hmac", "publishable"])
            if chatwoot.get("api_token") or chatwoot.get("webhook_secret"):
                from app.channels.chatwoot_webhook import set_chatwoot_secrets

                set_chatwoot_secrets(platform, ctx.keyspace, api_token=chatwoot.get("api_token"),
                                     webhook_secret=chatwoot.get("webhook_secret"))
        except BaseException:
            _rollback(platform, ctx, path, previous_text, claims if fresh else None)
            raise
        # Other processes replay this one block on their next request (Platform.sync_config).
        platform.publish_config(snapshot, added=(base, block))
    log.info("company onboarded", extra={"company_id": company_id, "documents": ingested})
    return {"company_id": company_id, "company_name": config.company_name, "api_key": api_key,
            "key_id": key_id, "permissions": sorted(ALL_PERMISSIONS), "documents": ingested,
            "catalog": catalog_loaded,
            "redis_prefix": config.redis_prefix, "vectorstore_index": config.vectorstore_index, **credentials}


def issue_tenant_credentials(platform, ctx, kinds) -> dict:
    """Secrets are returned once and stored encrypted (hashes for API keys)."""
    out: dict = {"company_id": ctx.company_id}
    if "client" in kinds:
        out["client_id"], out["client_secret"] = platform.secrets.issue_client(ctx.company_id, ctx.keyspace)
    if "hmac" in kinds:
        out["hmac_key_id"], out["hmac_secret"] = platform.secrets.issue_hmac_secret(ctx.keyspace)
    if "publishable" in kinds:
        out["publishable_key"] = platform.secrets.issue_publishable(ctx.company_id, ctx.keyspace)
    return out


def ingest_documents(ctx, documents) -> int:
    count = 0
    for doc in documents:
        ctx.documents.ingest(doc.text, doc.title, size_bytes=doc.size_bytes, source=doc.source,
                             content_type="text/markdown" if (doc.source or "").endswith(".md")
                             else "text/plain")
        count += 1
    return count


def _rollback(platform, ctx, path: Path, previous_text: str, claims: PrefixClaims | None) -> None:
    """Undo a half-done onboarding. Only storage this onboarding created exists under these names."""
    try:
        if ctx.knowledge.exists():
            ctx.knowledge.drop()
        lookups = ctx.platform_keys.lookups()
        keys = list(ctx.keyspace.scan_keys()) + lookups
        if keys:
            ctx.keyspace.redis.delete(*keys)
        if claims is not None:                 # the prefix was free before: it is again
            claims.release(ctx.config.redis_prefix)
    finally:
        write_atomically(path, previous_text)


def seed_tenant_catalogs(platform, tenants_dir: Path) -> dict[str, dict]:
    """At start-up: load tenants/<id>/catalog.yaml into any tenant whose booking catalog is empty. A bad file
    is logged and skipped: it must not keep the other companies (or this one's chat) down."""
    seeded = {}
    for company_id in platform.registry.company_ids():
        path = tenants_dir / company_id / "catalog.yaml"
        if not path.is_file():
            continue
        ctx = platform.tenant_context(platform.registry.get(company_id), Principal("platform_admin", None))
        if not ctx.catalog.is_empty():
            continue
        try:
            seeded[company_id] = ctx.catalog.replace(read_catalog_file(path))
        except CatalogError as exc:
            log.error("seed catalog refused", extra={"company_id": company_id, "error": str(exc)})
            continue
        log.info("seed catalog loaded", extra={"company_id": company_id, **seeded[company_id]})
    return seeded


def seed_tenant_documents(platform, tenants_dir: Path) -> dict[str, int]:
    """At start-up (run.py): load tenants/<id>/documents into any tenant whose knowledge base is empty."""
    seeded = {}
    for company_id in platform.registry.company_ids():
        config = platform.registry.get(company_id)
        folder = tenants_dir / company_id / "documents"
        if not folder.is_dir():
            continue
        ctx = platform.tenant_context(config, Principal("platform_admin", None))
        if ctx.documents.usage()["documents"] > 0:
            continue
        seeded[company_id] = ingest_documents(ctx, read_documents_dir(folder))
        log.info("seed documents loaded", extra={"company_id": company_id, "documents": seeded[company_id]})
    return seeded


