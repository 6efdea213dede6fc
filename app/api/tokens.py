"""Credential exchange for affiliated sites: client credentials -> tenant access token (JWT), and
the public keys that verify those tokens."""
from __future__ import annotations

from functools import wraps

from flask import Blueprint, current_app, g, jsonify, request

from app.api.contract import api, json_body, responses
from app.api.errors import ApiError
from app.api.models import AccessToken, Jwks, TokenIn
from app.api.validation import json_object

bp = Blueprint("tokens", __name__)


def _platform():
    return current_app.extensions["misybot"]


def limit_by_ip() -> None:
    """Unauthenticated credential exchanges are limited per client IP (X-Forwarded-For only counts
    behind a configured trusted proxy: see TRUSTED_PROXY_COUNT)."""
    p = _platform()
    verdict = p.rate_limiter.check_ip(request.remote_addr or "unknown", p.settings.auth_attempts_per_minute)
    if not verdict.allowed:
        raise ApiError(429, "rate_limited", "too many attempts from this address", verdict.headers())


def client_credentials(view):
    """As the guard does for the other routes: every attempt counts against the IP limit, and the
    credentials are checked before the rest of the request (a wrong secret is a 401 whatever else is sent)."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        limit_by_ip()
        body = json_object()
        client_id, secret = body.get("client_id"), body.get("client_secret")
        p = _platform()
        company_id = p.secrets.verify_client(client_id, secret) \
            if isinstance(client_id, str) and isinstance(secret, str) else None
        if company_id is None or p.registry.get(company_id) is None:
            raise ApiError(401, "invalid_client", "unknown client or wrong secret")
        g.company_id = company_id
        return view(*args, **kwargs)
    return wrapper


@bp.post("/v1/auth/token")
@client_credentials
@api.validate(json=TokenIn, tags=["auth"], resp=responses(401, 403, 429, HTTP_200=AccessToken))
def issue_token():
    """Exchange client credentials (in the body) for a tenant access token (RS256 JWT, see the JWKS)

    The token never carries `admin`; every call made with it is also HMAC-signed.
    """
    p = _platform()
    body = json_body(TokenIn)
    company_id = g.company_id
    origin = body.origin.rstrip("/").lower()
    if origin not in p.registry.get(company_id).allowed_origins:
        raise ApiError(403, "origin_not_allowed", "origin is not one of this company's allowed origins")
    ttl = p.settings.token_ttl_s if body.ttl_s is None else body.ttl_s
    if ttl > p.settings.token_ttl_s:
        raise ApiError(400, "invalid_parameter", f"ttl_s must be between 60 and {p.settings.token_ttl_s}")
    token, claims = p.tokens.issue(tenant_id=company_id, site_id=body.site_id, origin=origin,
                                   permissions=body.permissions, ttl_s=ttl)
    return jsonify({"access_token": token, "token_type": "Bearer", "expires_in": ttl, "tenant_id": company_id,
                    "permissions": claims["permissions"], "jti": claims["jti"]})


@bp.get("/.well-known/jwks.json")
@api.validate(tags=["auth"], resp=responses(HTTP_200=Jwks))
def jwks():
    """The public keys that verify tenant access tokens (by `kid`)"""
    resp = jsonify(_platform().tokens.jwks())
    resp.headers["Cache-Control"] = "public, max-age=300"
    return resp
