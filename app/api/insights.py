"""Tenant API: what a company learns from its own traffic. The tenant is always the credential's own; these
routes take no company id at all.

- GET /insights/knowledge-gaps (documents:read): the questions the knowledge base could not answer, grouped, so
  whoever curates the documents knows what to add. The questions are anonymized when recorded.
- GET /analytics (admin): conversations, bot vs. person, agents, hours and channels. `admin`, not
  `documents:read`: these are the business's volumes, and a documents:read credential is the one handed to
  integrations (site search, a tenant access token), which have no business reading them.
"""
from __future__ import annotations

from flask import Blueprint, g, jsonify

from app.api.contract import TENANT, api, query_args, responses
from app.api.insights_models import Analytics, AnalyticsQuery, KnowledgeGaps, KnowledgeGapsQuery
from app.audit.analytics import knowledge_gaps, usage
from app.security.guard import require_tenant
from app.security.principal import ADMIN, DOCUMENTS_READ

bp = Blueprint("insights", __name__)
TENANT_ERRORS = (401, 403, 429, 503)


@bp.get("/insights/knowledge-gaps")
@require_tenant(DOCUMENTS_READ)
@api.validate(query=KnowledgeGapsQuery, security=TENANT, tags=["insights"],
              resp=responses(*TENANT_ERRORS, HTTP_200=KnowledgeGaps))
def get_knowledge_gaps():
    """Questions the knowledge base could not answer, grouped by similarity, the most asked first

    Each group has one representative question (anonymized), how often a question of the group was asked and
    when last. Add a document that answers it and the group stops growing.
    """
    q = query_args(KnowledgeGapsQuery)
    return jsonify(knowledge_gaps(g.tenant, q.days, q.limit))


@bp.get("/analytics")
@require_tenant(ADMIN)
@api.validate(query=AnalyticsQuery, security=TENANT, tags=["insights"],
              resp=responses(*TENANT_ERRORS, HTTP_200=Analytics))
def get_analytics():
    """The company's usage over the last `days` days, by day and hour of its own timezone

    Counts answered chat turns on every channel: distinct end users per day, turns the bot resolved vs. handed
    to a person, turns per agent and channel, and turns per hour of day.
    """
    q = query_args(AnalyticsQuery)
    return jsonify(usage(g.tenant, q.days))
