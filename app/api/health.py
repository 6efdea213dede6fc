"""Liveness/readiness for the platform, and per-company status for that company or the admin."""
from __future__ import annotations

import time

from flask import Blueprint, current_app, jsonify

from app.security.guard import require_company_or_admin, require_platform_admin
from app.security.principal import Principal

bp = Blueprint("health", __name__)


def _platform():
    return current_app.extensions["misybot"]


def _check(fn) -> dict:
    start = time.perf_counter()
    try:
        detail = fn()
        out = {"ok": True}
        if isinstance(detail, dict):
            out.update(detail)
    except Exception as exc:       # a health check reports failures, it never raises them
        out = {"ok": False, "error": type(exc).__name__}
    out["latency_ms"] = round((time.perf_counter() - start) * 1000, 1)
    return out


@bp.get("/health")
def health():
    p = _platform()

    def embedder():
        return {"model": p.embedder.name, "loaded": bool(getattr(p.embedder, "loaded", True))}

    def qdrant():
        with p.vectors as client:
            client.get_collections()
        return {"mode": "embedded" if p.vectors.embedded else "server"}

    checks = {"redis": _check(lambda: p.redis.ping() and {"mode": "server" if p.settings.redis_url
                                                              else "embedded"}),
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


@bp.get("/health/company/<company_id>")
@require_company_or_admin()
def company_health(tenant):
    return jsonify(company_status(tenant))


@bp.get("/company/<company_id>/status")
@require_company_or_admin()
def company_status_view(tenant):
    return jsonify(company_status(tenant))


@bp.get("/health/companies")
@require_platform_admin
def companies_health():
    p = _platform()
    out = []
    for cid in p.registry.company_ids():
        ctx = p.tenant_context(p.registry.get(cid), Principal("platform_admin", None))
        try:
            out.append(company_status(ctx))
        except Exception as exc:     # one company's store failing must not hide the others
            out.append({"company_id": cid, "status": "error", "error": type(exc).__name__})
    return jsonify({"companies": out, "total": len(out)})
