"""Offboarding: remove every key, vector, credential and config block of one tenant, and only its own.

Order: optional export first; then credentials (so nothing can call in while the rest goes), then the
Redis keyspace, the collection, and last the config block. Returns a receipt that states what was
removed and checks that nothing is left.
"""
from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

from app.security.principal import Principal
from app.tenancy.backup import export_tenant
from app.tenancy.config_file import locked, remove_company, without_company


class OffboardingError(ValueError):
    pass


def offboard_company(platform, company_id: str, export_path: Path | None = None) -> dict:
    config = platform.registry.get(company_id)
    if config is None:
        raise OffboardingError(f"no company {company_id!r} in the configuration")
    ctx = platform.tenant_context(config, Principal("platform_admin", None))
    # Fail before deleting anything if the config block cannot be cut out cleanly.
    path = platform.settings.companies_config_file
    try:
        without_company(path.read_text(encoding="utf-8"), company_id)
    except ValueError as exc:
        raise OffboardingError(f"cannot remove the config block: {exc}") from None
    exported = export_tenant(platform, ctx, export_path) if export_path else None

    # Credentials first, so nothing can call in while the rest goes.
    credentials = ctx.platform_keys.delete()
    platform.tokens.revoke_tenant_tokens(company_id)
    redis_keys = 0
    batch: list[str] = []
    for key in ctx.keyspace.scan_keys():
        batch.append(key)
        if len(batch) >= 500:
            redis_keys += platform.redis.delete(*batch)
            batch = []
    if batch:
        redis_keys += platform.redis.delete(*batch)
    points = ctx.knowledge.count()
    collection_existed = ctx.knowledge.exists()
    if collection_existed:
        ctx.knowledge.drop()
    with locked(platform.settings.companies_config_file):
        snapshot = remove_company(platform.settings.companies_config_file, company_id)
        platform.publish_config(snapshot)          # the file was just parsed: no second parse to reload it

    remaining = {"redis_keys": sum(1 for _ in ctx.keyspace.scan_keys()),
                 "collection_exists": ctx.knowledge.exists(),
                 "in_config": platform.registry.get(company_id) is not None}
    receipt = {
        "company_id": company_id, "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "exported_to": str(export_path) if export_path else None,
        "export_manifest": exported,
        "deleted": {"redis_keys": redis_keys, "credential_lookups": credentials, "qdrant_points": points,
                    "collection": config.vectorstore_index if collection_existed else None,
                    "config_block": True},
        "remaining": remaining,
        "complete": remaining == {"redis_keys": 0, "collection_exists": False, "in_config": False},
    }
    if remaining["redis_keys"] == 0:             # nothing left under the prefix: a new company may take it
        platform.prefix_claims.release(config.redis_prefix)
    receipt["receipt_sha256"] = hashlib.sha256(json.dumps(receipt, sort_keys=True, default=str).encode()).hexdigest()
    return receipt
