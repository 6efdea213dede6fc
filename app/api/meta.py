"""The global meta-agent's API.

Platform admins (MISYBOT_ADMIN_TOKEN): query it, list learnings, validate or reject them, and run the
worker now. Tenants: industry-level insights from validated learnings, never another tenant's text.
"""
from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify, request

from app.api.errors import ApiError
from app.api.validation import int_arg, json_object, pagination, required_text
from app.security.guard import require_platform_admin, require_tenant
from app.security.principal import DOCUMENTS_READ
from graphs.meta.graph import query
from graphs.meta.industries import CATEGORIES, OTHER
from graphs.meta.insights import tenant_insights
from graphs.meta.knowledge import STATUSES

bp = Blueprint("meta", __name__)
INDUSTRIES = (*CATEGORIES, OTHER)


def _platform():
    return current_app.extensions["misybot"]


def _industry(value) -> str | None:
    if value is None:
        return None
    if value not in INDUSTRIES:
        raise ApiError(400, "invalid_industry", f"industry must be one of {', '.join(INDUSTRIES)}")
    return value


def _statuses(value, default: list[str]) -> list[str]:
    if value is None:
        return default
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list) or not items or any(s not in STATUSES for s in items):
        raise ApiError(400, "invalid_status", f"status must be one or more of {', '.join(STATUSES)}")
    return items


@bp.post("/admin/meta/query")
@require_platform_admin
def meta_query():
    body = json_object()
    question = required_text(body, "question", 1000, "invalid_question")
    language = body.get("language", "es")
    if language not in ("es", "en"):
        raise ApiError(400, "invalid_language", "language must be es or en")
    k = int_arg("k", 10, 1, 50, source=body)
    p = _platform()
    out = query(p.meta_pipeline().runtime, question, language, _industry(body.get("industry")),
                _statuses(body.get("status"), ["validated", "pending"]), k)
    return jsonify({"answer": out["answer"], "answered_by": out["answered_by"],
                    "learnings": [h.public() for h in out.get("learnings", [])]})


@bp.get("/admin/meta/learnings")
@require_platform_admin
def list_learnings():
    page, per_page = pagination()
    items = _platform().global_knowledge.list(_industry(request.args.get("industry")),
                                              _statuses(request.args.get("status"), list(STATUSES)))
    items.sort(key=lambda i: (-i.payload["count"], i.id))
    start = (page - 1) * per_page
    return jsonify({"learnings": [i.public() for i in items[start:start + per_page]], "page": page,
                    "per_page": per_page, "total": len(items), "has_more": page * per_page < len(items)})


@bp.post("/admin/meta/learnings/<learning_id>")
@require_platform_admin
def set_learning_status(learning_id: str):
    status = json_object().get("status")
    if status not in STATUSES:
        raise ApiError(400, "invalid_status", f"status must be one of {', '.join(STATUSES)}")
    kb = _platform().global_knowledge
    with kb.writing():
        item = kb.get(learning_id)
        if item is None:
            raise ApiError(404, "learning_not_found", "no such learning")
        payload = {**item.payload, "status": status, "status_by": "admin"}
        kb.save_payload(item.id, payload)
    return jsonify(type(item)(item.id, payload).public())


@bp.post("/admin/meta/process")
@require_platform_admin
def process_now():
    """Run the meta worker once now (it also runs on its own every META_INTERVAL_S seconds)."""
    return jsonify({"processed": dict(_platform().meta_pipeline().run_once())})


@bp.get("/v1/insights")
@require_tenant(DOCUMENTS_READ)
def insights():
    language = request.args.get("language", g.tenant.config.language)
    if language not in ("es", "en"):
        raise ApiError(400, "invalid_language", "language must be es or en")
    return jsonify(tenant_insights(_platform().global_knowledge, g.tenant.config.industry, language,
                                   int_arg("limit", 10, 1, 50)))
