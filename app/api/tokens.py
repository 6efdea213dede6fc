"""Credential exchange for affiliated sites: client credentials -> tenant access token (JWT), and
the public keys that verify those tokens."""
from __future__ import annotations

import re

from flask import Blueprint, current_app, g, jsonify, request

from app.api.errors import ApiError
from app.api.validation import json_object, optional_str
from app.security.principal import CHAT, DOCUMENTS_READ, DOCUMENTS_WRITE

bp = Blueprint("tokens", __name__)
TOKEN_PERMISSIONS = {CHAT, DOCUMENTS_READ, DOCUMENTS_WRITE}      # never `admin` through a token
_SITE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def _platform():
    return current_app.extensions["misybot"]


def limit_by_ip() -> None:
    """Unauthenticated credential exchanges are limited per client IP (X-Forwarded-For only counts
    behind a configured trusted proxy: see TRUSTED_PROXY_COUNT)."""
    p = _platform()
    verdict = p.rate_limiter.check_ip(request.remote_addr or "unknown", p.settings.auth_attempts_per_minute)
    if not verdict.allowed:
        raise ApiError(429, "rate_limited", "too many attempts from this address", verdict.headers())


@bp.post("/v1/auth/token")
def issue_token():
    limit_by_ip()
    p = _platform()
    body = json_object()
    client_id = optional_str(body, "client_id", 100) or ""
    client_secret = optional_str(body, "client_secret", 200) or ""
    company_id = p.secrets.verify_client(client_id, client_secret)
    if company_id is None or p.registry.get(company_id) is None:
        raise ApiError(401, "invalid_client", "unknown client or wrong secret")
    g.company_id = company_id
    site_id = optional_str(body, "site_id", 64)
    origin = (optional_str(body, "origin", 200) or "").rstrip("/").lower()
    if not site_id or not _SITE_ID.match(site_id):
        raise ApiError(400, "invalid_parameter", "site_id must be 1-64 letters, digits, '.', '_' or '-'")
    config = p.registry.get(company_id)
    if origin not in config.allowed_origins:
        raise ApiError(403, "origin_not_allowed", "origin is not one of this company's allowed origins")
    perms = body.get("permissions", [CHAT, DOCUMENTS_READ])
    if not isinstance(perms, list) or not perms or not all(isinstance(x, str) for x in perms) \
            or not set(perms) <= TOKEN_PERMISSIONS:
        raise ApiError(400, "invalid_parameter", f"permissions must be a subset of {sorted(TOKEN_PERMISSIONS)}")
    ttl = body.get("ttl_s", p.settings.token_ttl_s)
    if not isinstance(ttl, int) or isinstance(ttl, bool) or not 60 <= ttl <= p.settings.token_ttl_s:
        raise ApiError(400, "invalid_parameter", f"ttl_s must be between 60 and {p.settings.token_ttl_s}")
    token, claims = p.tokens.issue(tenant_id=company_id, site_id=site_id, origin=origin, permissions=perms,
                                   ttl_s=ttl)
    return jsonify({"access_token": token, "token_type": "Bearer", "expires_in": ttl, "tenant_id": company_id,
                    "permissions": claims["permissions"], "jti": claims["jti"]})


@bp.get("/.well-known/jwks.json")
def jwks():
    resp = jsonify(_platform().tokens.jwks())
    resp.headers["Cache-Control"] = "public, max-age=300"
    return resp
