"""Browser widget API. A publishable key (safe in a page) plus an allowed Origin buys a short-lived
session token bound to that origin and one visitor; no secret ever reaches the browser.

Both calls carry the publishable key in the query string (`?pk=pk_live_…`), so even a CORS preflight
(which has no body or credentials) can be answered for that tenant alone.
"""
from __future__ import annotations

import secrets

from flask import Blueprint, current_app, g, jsonify, request

from app.api.contract import WIDGET, api, json_body, responses
from app.api.errors import ApiError
from app.api.models import PublishableKeyQuery, TurnResult, WidgetMessageIn, WidgetSession
from app.api.tokens import limit_by_ip
from app.conversations.pipeline import Inbound, run_pipeline
from app.security.guard import bearer_token, require_tenant
from app.security.principal import CHAT
from app.security.tokens import TokenError

bp = Blueprint("widget", __name__)


def _platform():
    return current_app.extensions["misybot"]


def widget_tenant():
    """The tenant named by ?pk=, or None."""
    company_id = _platform().secrets.company_for_publishable(request.args.get("pk", ""))
    return _platform().registry.get(company_id) if company_id else None


def _allowed_origin(config) -> str:
    origin = (request.headers.get("Origin") or "").rstrip("/").lower()
    if not origin or origin not in config.allowed_origins:
        raise ApiError(403, "origin_not_allowed", "this page's origin is not allowed for this company")
    return origin


def _returning_visitor(config) -> str | None:
    token = bearer_token()
    if not token:
        return None
    try:
        claims = _platform().tokens.verify(token, "widget")
    except TokenError:
        return None
    same = claims["tenant_id"] == config.company_id and claims.get("origin") == request.headers.get(
        "Origin", "").rstrip("/").lower()
    return claims.get("visitor_id") if same else None


@bp.post("/v1/widget/session")
@api.validate(query=PublishableKeyQuery, tags=["widget"], resp=responses(401, 403, 429, HTTP_200=WidgetSession))
def widget_session():
    """Start (or keep) a visitor's session, from a page of an allowed Origin

    A returning visitor sends its still-valid token as `Authorization: Bearer` to keep its visitor id.
    """
    limit_by_ip()
    config = widget_tenant()
    if config is None:
        raise ApiError(401, "invalid_publishable_key", "unknown publishable key")
    g.company_id = config.company_id
    origin = _allowed_origin(config)
    # The visitor id is always ours: a page (or anyone holding the public key) must not be able to name
    # another visitor and read that conversation. A returning visitor keeps its id by presenting its
    # still-valid session token.
    visitor = _returning_visitor(config) or "v_" + secrets.token_hex(12)
    ttl = _platform().settings.widget_token_ttl_s
    token, _ = _platform().tokens.issue(tenant_id=config.company_id, site_id="widget", origin=origin,
                                        permissions=[CHAT], ttl_s=ttl, typ="widget", visitor_id=visitor)
    return jsonify({"token": token, "expires_in": ttl, "visitor_id": visitor,
                    "greeting": config.branding.greeting_message, "primary_color": config.branding.primary_color})


@bp.post("/v1/widget/messages")
@require_tenant(CHAT, allowed=("widget",))
@api.validate(query=PublishableKeyQuery, json=WidgetMessageIn, security=WIDGET, tags=["widget"],
              resp=responses(401, 403, 429, 503, HTTP_200=TurnResult))
def widget_message():
    """The visitor's message; the answer is formatted for the web"""
    config = widget_tenant()
    if config is None or config.company_id != g.tenant.company_id:
        raise ApiError(403, "tenant_mismatch", "this session belongs to another company's widget")
    _allowed_origin(config)            # the token's origin was already checked against the request's
    message = json_body(WidgetMessageIn).message
    inbound = Inbound(f"web-{g.token_claims['visitor_id']}", message, "web", source="widget")
    result = run_pipeline(_platform(), g.tenant, inbound)
    return jsonify(result.public())


def add_cors_headers(response):
    """Per-tenant CORS: only that tenant's allowed origins get CORS headers, on widget routes only."""
    if not request.path.startswith("/v1/widget/"):
        return response
    return tenant_cors(response, "POST, OPTIONS")


def tenant_cors(response, methods: str):
    """CORS headers for the page's origin when it is one of the ?pk= tenant's allowed origins."""
    origin = (request.headers.get("Origin") or "").rstrip("/").lower()
    config = widget_tenant() if origin else None
    if config is not None and origin in config.allowed_origins:
        response.headers["Access-Control-Allow-Origin"] = request.headers["Origin"]
        response.headers["Access-Control-Allow-Methods"] = methods
        response.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type"
        response.headers["Access-Control-Max-Age"] = "600"
    response.headers.add("Vary", "Origin")
    return response
