"""Liveness/readiness for the platform, and per-company status for that company or the admin."""
from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, current_app, jsonify

from app.api.contract import ADMIN, COMPANY_OR_ADMIN, api, responses
from app.api.models import CompaniesHealth, CompanyStatus, Health
from app.security.guard import require_company_or_admin, require_platform_admin
from app.security.principal import Principal
from app.storage.redis_store import STORE_MARKER, mark_store

bp = Blueprint("health", __name__)


class StoreWiped(Exception):
    """Redis answers without the marker this process saw at start."""


def _platform():
    return current_app.extensions["misybot"]


def _check(fn) -> dict:
    start = time.perf_counter()
    try:
        detail = fn()
        out: dict[str, Any] = {"ok": True}
        if isinstance(detail, dict):
            out.update(detail)
    except StoreWiped:
        out = {"ok": False, "error": "store_wiped",
               "message": "Redis answers but lost its data (it restarted empty): credentials, conversations and "
                          "consents are gone until each company's backup is restored (scripts/tenant_backup.py import)"}
    except Exception as exc:       # a health check reports failures, it never raises them
        out = {"ok": False, "error": type(exc).__name__}
    out["latency_ms"] = round((time.perf_counter() - start) * 1000, 1)
    return out


@bp.get("/health")
@api.validate(tags=["health"], resp=responses(HTTP_200=Health, HTTP_503=(Health, "a dependency is down")))
def health():
    """Liveness and readiness: Redis, Qdrant and the embedder"""
    p = _platform()

    def embedder():
        return {"model": p.embedder.name, "loaded": bool(getattr(p.embedder, "loaded", True))}

    def qdrant():
        with p.vectors as client:
            client.get_collections()
        return {"mode": "embedded" if p.vectors.embedded else "server"}

    def redis_store():
        p.redis.ping()
        expected = current_app.extensions.get("misybot_store_marker")
        if expected is None:               # Redis was down at start: mark it now that it answers
            expected = current_app.extensions["misybot_store_marker"] = mark_store(p.redis)
        if p.redis.get(STORE_MARKER) != expected:
            raise StoreWiped()
        return {"mode": "server" if p.settings.redis_url else "embedded"}

    checks = {"redis": _check(redis_store),
              "qdrant": _check(qdrant), "embedder": _check(embedder)}
    ready = all(c["ok"] for c in checks.values())
    body = {"status": "ok" if ready else "degraded", "live": True, "ready": ready, "checks": checks,
            "companies": len(p.registry.company_ids()), "config_version": p.registry.snapshot.version}
    return jsonify(body), 200 if ready else 503


def company_status(tenant) -> dict:
    usage = tenant.documents.usage()
    conversations = sum(1 for _ in tenant.keyspace.scan_keys("conversation"))
    limits = tenant.config.limits
    return {"company_id": tenant.company_id, "company_name": tenant.config.company_name,
            "status": "active", "documents": usage["documents"], "storage_bytes": usage["storage_bytes"],
            "chunks": tenant.knowledge.count(), "conversations": conversations,
            "collection": tenant.config.vectorstore_index,
            "limits": {"max_documents": limits.max_documents, "storage_limit_mb": limits.storage_limit_mb}}


_company_doc = api.validate(security=COMPANY_OR_ADMIN, tags=["health"],
                           resp=responses(401, 403, 404, 503, HTTP_200=CompanyStatus))


@bp.get("/health/company/<company_id>")
@require_company_or_admin()
@_company_doc
def company_health(tenant):
    """A company's documents, storage and conversations (that company's API key, or the admin)"""
    return jsonify(company_status(tenant))


@bp.get("/company/<company_id>/status")
@require_company_or_admin()
@_company_doc
def company_status_view(tenant):
    """A company's documents, storage and conversations (that company's API key, or the admin)"""
    return jsonify(company_status(tenant))


@bp.get("/health/companies")
@require_platform_admin
@api.validate(security=ADMIN, tags=["health"], resp=responses(401, 503, HTTP_200=CompaniesHealth))
def companies_health():
    """Every company's status; one company's failing store does not hide the others"""
    p = _platform()
    out = []
    for cid in p.registry.company_ids():
        ctx = p.tenant_context(p.registry.get(cid), Principal("platform_admin", None))
        try:
            out.append(company_status(ctx))
        except Exception as exc:     # one company's store failing must not hide the others
            out.append({"company_id": cid, "status": "error", "error": type(exc).__name__})
    return jsonify({"companies": out, "total": len(out)})
