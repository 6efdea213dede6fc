"""The global meta-agent's API.

Platform admins (MISYBOT_ADMIN_TOKEN): query it, list learnings, validate or reject them, and run the
worker now. Tenants: industry-level insights from validated learnings, never another tenant's text.
"""
from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify

from app.api.contract import ADMIN, TENANT, api, json_body, query_args, responses
from app.api.errors import ApiError
from app.api.models import (
    Insights,
    InsightsQuery,
    Learning,
    LearningList,
    LearningsQuery,
    LearningStatusIn,
    MetaAnswer,
    MetaProcessed,
    MetaQueryIn,
)
from app.knowledge.global_knowledge import STATUSES
from app.security.guard import require_platform_admin, require_tenant
from app.security.principal import DOCUMENTS_READ
from graphs.meta.graph import query
from graphs.meta.insights import tenant_insights

bp = Blueprint("meta", __name__)
ADMIN_ERRORS = (401, 503)


def _platform():
    return current_app.extensions["misybot"]


def _statuses(value: str | list[str] | None, default: list[str]) -> list[str]:
    if value is None:
        return default
    return value.split(",") if isinstance(value, str) else value


def _admin(*errors: int, json=None, query=None, **ok):
    return api.validate(json=json, query=query, security=ADMIN, tags=["meta-agent"],
                        resp=responses(*ADMIN_ERRORS, *errors, **ok))


@bp.post("/admin/meta/query")
@require_platform_admin
@_admin(json=MetaQueryIn, HTTP_200=MetaAnswer)
def meta_query():
    """Ask the global meta-agent about what customers ask across companies"""
    body = json_body(MetaQueryIn)
    out = query(_platform().meta_pipeline().runtime, body.question, body.language, body.industry,
                _statuses(body.status, ["validated", "pending"]), body.k)
    return jsonify({"answer": out["answer"], "answered_by": out["answered_by"],
                    "learnings": [h.public() for h in out.get("learnings", [])]})


@bp.get("/admin/meta/learnings")
@require_platform_admin
@_admin(query=LearningsQuery, HTTP_200=LearningList)
def list_learnings():
    """Learnings in the global collection, most asked first"""
    q = query_args(LearningsQuery)
    items = _platform().global_knowledge.list(q.industry, _statuses(q.status, list(STATUSES)))
    items.sort(key=lambda i: (-i.payload["count"], i.id))
    start = (q.page - 1) * q.per_page
    return jsonify({"learnings": [i.public() for i in items[start:start + q.per_page]], "page": q.page,
                    "per_page": q.per_page, "total": len(items), "has_more": q.page * q.per_page < len(items)})


@bp.post("/admin/meta/learnings/<learning_id>")
@require_platform_admin
@_admin(404, json=LearningStatusIn, HTTP_200=Learning)
def set_learning_status(learning_id: str):
    """Validate or reject a learning"""
    status = json_body(LearningStatusIn).status
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
@_admin(HTTP_200=MetaProcessed)
def process_now():
    """Run the meta worker once now (it also runs on its own every META_INTERVAL_S seconds)"""
    return jsonify({"processed": dict(_platform().meta_pipeline().run_once())})


@bp.get("/v1/insights")
@require_tenant(DOCUMENTS_READ)
@api.validate(query=InsightsQuery, security=TENANT, tags=["meta-agent"],
              resp=responses(401, 403, 429, 503, HTTP_200=Insights))
def insights():
    """What customers of the company's industry ask about, from validated learnings of several companies"""
    q = query_args(InsightsQuery)
    return jsonify(tenant_insights(_platform().global_knowledge, g.tenant.config.industry,
                                   q.language or g.tenant.config.language, q.limit))
