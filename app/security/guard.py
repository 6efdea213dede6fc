"""The front desk's decorators: who may call an endpoint, and for which tenant.

Every tenant endpoint gets its TenantContext from here (flask.g.tenant), built from the
credential. A tenant named by the request (X-Company-ID / X-Tenant-ID header, company_id query
parameter, company_id JSON or form field) must agree with the credential, or the answer is 403.
"""
from __future__ import annotations

import hmac
from functools import wraps

from flask import current_app, g, request

from app.api.errors import ApiError
from app.security.principal import Principal
from app.security.signatures import SignatureError, verify_signature
from app.security.tokens import TokenError

CLAIM_HEADERS = ("X-Company-ID", "X-Tenant-ID")


def platform():
    return current_app.extensions["misybot"]


def bearer_token() -> str | None:
    auth = request.headers.get("Authorization", "")
    return auth[7:].strip() if auth[:7].lower() == "bearer " else None


def _admin_token_from_request() -> str | None:
    return bearer_token() or request.headers.get("X-Admin-Token")


def platform_admin_principal() -> Principal | None:
    """The platform admin, if the request carries the right MISYBOT_ADMIN_TOKEN."""
    presented = _admin_token_from_request()
    configured = platform().settings.misybot_admin_token
    if not presented or configured is None:
        return None
    if hmac.compare_digest(presented.encode(), configured.get_secret_value().encode()):
        return Principal("platform_admin", None)
    return None


def _api_key_principal() -> Principal:
    key = request.headers.get("X-API-Key")
    if not key:
        raise ApiError(401, "missing_credentials", "send your API key in the X-API-Key header")
    principal = platform().api_keys.authenticate(key)
    if principal is None or platform().registry.get(principal.company_id) is None:
        raise ApiError(401, "invalid_credentials", "the API key is unknown or revoked")
    return principal


def claimed_company_ids() -> list[str]:
    """Every place a request may name a tenant. They are only ever compared with the credential."""
    claims = [request.headers[h] for h in CLAIM_HEADERS if h in request.headers]
    claims += request.args.getlist("company_id")
    if request.is_json:
        body = request.get_json(silent=True)
        if isinstance(body, dict) and "company_id" in body:
            claims.append(body["company_id"])
    elif request.form:
        claims += request.form.getlist("company_id")
    return [str(c) for c in claims]


def _enforce_claims(company_id: str) -> None:
    for claim in claimed_company_ids():
        if claim.strip() != company_id:
            raise ApiError(403, "tenant_mismatch", "the company named in the request does not match the "
                                                   "credential")


def _require(principal: Principal, permission: str | None) -> None:
    if permission and not principal.allows(permission):
        raise ApiError(403, "insufficient_permissions", f"this credential lacks the {permission!r} permission")


def _open_tenant(principal: Principal, company_id: str):
    config = platform().registry.get(company_id)
    if config is None:
        raise ApiError(401, "invalid_credentials", "the credential's company no longer exists")
    g.company_id = company_id
    g.tenant = platform().tenant_context(config, principal)
    return g.tenant


def _token_principal(token: str, typ: str) -> Principal:
    try:
        claims = platform().tokens.verify(token, typ)
    except TokenError as exc:
        raise ApiError(401, exc.code, exc.message) from None
    if platform().registry.get(claims["tenant_id"]) is None:
        raise ApiError(401, "invalid_credentials", "the token's company no longer exists")
    origin = request.headers.get("Origin")
    if origin is not None and origin.rstrip("/").lower() != claims.get("origin"):
        raise ApiError(403, "origin_mismatch", "this token was issued for another origin")
    g.token_claims = claims
    return Principal("tenant_token" if typ == "tat" else "widget", claims["tenant_id"],
                     frozenset(claims.get("permissions", [])), claims["jti"])


def _verify_hmac(principal: Principal) -> None:
    p = platform()
    # The secrets are read through a context of the principal the token just proved, like any tenant data.
    ctx = p.tenant_context(p.registry.get(principal.company_id), principal)
    try:
        verify_signature(p.redis, ctx.company_id, p.secrets.hmac_secrets(ctx.keyspace), request.headers,
                         request.method, request.path, request.get_data(cache=True), p.settings.hmac_window_s)
    except SignatureError as exc:
        raise ApiError(401, exc.code, exc.message) from None


def authenticate_tenant(allowed: tuple[str, ...]) -> Principal:
    """The credential kinds an endpoint accepts (README's table): "api_key" (X-API-Key), "tat" (a tenant
    access token together with an HMAC signature of the request), "widget" (a widget session token)."""
    if request.headers.get("X-API-Key") and "api_key" in allowed:
        return _api_key_principal()
    token = bearer_token()
    if token and "tat" in allowed:
        principal = _token_principal(token, "tat")
        _verify_hmac(principal)                 # a TAT alone is not enough for server-to-server calls
        return principal
    if token and "widget" in allowed:
        return _token_principal(token, "widget")
    raise ApiError(401, "missing_credentials", "this endpoint takes: " + ", ".join(allowed))


def _rate_limit(principal: Principal) -> None:
    config = platform().registry.get(principal.company_id)
    verdict = platform().rate_limiter.check_tenant(principal.company_id, principal.credential_id or principal.kind,
                                                   config.limits.requests_per_minute,
                                                   config.limits.requests_per_hour)
    g.rate_limit = verdict
    if not verdict.allowed:
        raise ApiError(429, "rate_limited", "too many requests for this company; slow down", verdict.headers())


def require_tenant(permission: str, allowed: tuple[str, ...] = ("api_key", "tat")):
    """A tenant credential with `permission`; counted against the tenant's limits after it is proven.
    The view reads its TenantContext from g.tenant."""
    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            principal = authenticate_tenant(allowed)
            g.company_id = principal.company_id
            g.principal = principal
            _enforce_claims(principal.company_id)
            _require(principal, permission)
            _rate_limit(principal)
            _open_tenant(principal, principal.company_id)
            return view(*args, **kwargs)
        return wrapper
    return decorator


def require_platform_admin(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if platform().settings.misybot_admin_token is None:
            raise ApiError(503, "admin_disabled", "MISYBOT_ADMIN_TOKEN is not configured on this server")
        principal = platform_admin_principal()
        if principal is None:
            raise ApiError(401, "invalid_credentials", "a valid platform admin token is required")
        g.principal = principal
        return view(*args, **kwargs)
    return wrapper


def require_company_or_admin(permission: str | None = None):
    """For /…/<company_id>/… routes: the platform admin, or a key of that very company."""
    def decorator(view):
        @wraps(view)
        def wrapper(company_id: str, *args, **kwargs):
            principal = platform_admin_principal() if _admin_token_from_request() else None
            if principal is None:
                if _admin_token_from_request() and not request.headers.get("X-API-Key"):
                    raise ApiError(401, "invalid_credentials", "a valid platform admin token is required")
                principal = _api_key_principal()
                g.company_id = principal.company_id
                if company_id != principal.company_id:
                    raise ApiError(403, "tenant_mismatch", "this credential belongs to another company")
                _enforce_claims(principal.company_id)
                _require(principal, permission)
            elif platform().registry.get(company_id) is None:
                raise ApiError(404, "company_not_found", f"no company {company_id!r}")
            g.principal = principal
            return view(_open_tenant(principal, company_id), *args, **kwargs)
        return wrapper
    return decorator
