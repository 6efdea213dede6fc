"""The front desk's decorators: who may call an endpoint, and for which tenant.

Every tenant endpoint gets its TenantContext from here (flask.g.tenant), built from the
credential. A tenant named by the request (X-Company-ID / X-Tenant-ID header, company_id query
parameter, company_id JSON or form field) must agree with the credential, or the answer is 403.
"""
from __future__ import annotations

import hmac
import time
from functools import wraps

from flask import current_app, g, request

from app.api.errors import ApiError
from app.security.principal import Principal
from app.security.rate_limits import Verdict, tenant_windows, verdict
from app.security.signatures import SignatureError, check_signature, legacy_nonce_key, nonce_key, replayed
from app.security.tenant_secrets import HmacSecrets, hmac_revision_key
from app.security.tokens import TokenError
from app.storage.redis_store import hash_tagged, is_cluster

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


def _open_tenant(principal: Principal, company_id: str, ctx=None):
    """g.tenant; `ctx` is the context the front desk already opened for this principal (a TAT's HMAC check)."""
    config = platform().registry.get(company_id)
    if config is None:
        raise ApiError(401, "invalid_credentials", "the credential's company no longer exists")
    g.company_id = company_id
    g.tenant = ctx if ctx is not None and ctx.config is config else platform().tenant_context(config, principal)
    return g.tenant


def _token_principal(token: str, typ: str) -> tuple[Principal, dict]:
    """The token's signature, expiry, audience, issuer and kind (no Redis while its key is cached); its
    revocation is checked in the front desk's one round trip (`_admit`)."""
    p = platform()
    try:
        claims = p.tokens.verify_claims(token, typ)
    except TokenError as exc:
        raise ApiError(401, exc.code, exc.message) from None
    if p.registry.get(claims["tenant_id"]) is None:
        raise ApiError(401, "invalid_credentials", "the token's company no longer exists")
    origin = request.headers.get("Origin")
    if origin is not None and origin.rstrip("/").lower() != claims.get("origin"):
        raise ApiError(403, "origin_mismatch", "this token was issued for another origin")
    g.token_claims = claims
    return Principal("tenant_token" if typ == "tat" else "widget", claims["tenant_id"],
                     frozenset(claims.get("permissions", [])), claims["jti"]), claims


class _Signed:
    """A request whose HMAC signature verified against this process's copy of the tenant's secrets; the
    copy's revision and the nonce are checked and recorded in the front desk's round trip."""

    def __init__(self, ctx, copy: HmacSecrets, nonce: str):
        self.ctx, self.copy, self.nonce = ctx, copy, nonce


def _check_hmac(ctx) -> _Signed:
    p = platform()
    secrets_ = p.secrets
    copy = secrets_.cached_hmac_secrets(ctx.keyspace)
    for _ in range(2):
        try:
            nonce = check_signature(list(copy.secrets), request.headers, request.method, request.path,
                                    request.get_data(cache=True), p.settings.hmac_window_s)
            return _Signed(ctx, copy, nonce)
        except SignatureError as exc:
            # A secret issued since the copy was read would fail here: on a mismatch (only), make sure the
            # copy is current before refusing. A forged request costs one GET.
            if exc.code != "invalid_signature" or (p.redis.get(hmac_revision_key(ctx.keyspace)) or "") == copy.revision:
                raise ApiError(401, exc.code, exc.message) from None
            copy = secrets_.cached_hmac_secrets(ctx.keyspace, stale_revision=copy.revision)
    raise ApiError(401, "invalid_signature", "the signature does not match")


def _admit(principal: Principal, claims: dict | None, signed: _Signed | None, windows) -> Verdict | None:
    """One Redis round trip for the token's revocation, the request's nonce and its rate-limit windows
    (app/security/frontdesk.py). Returns the rate-limit verdict (None without windows)."""
    p = platform()
    window_s = p.settings.hmac_window_s
    for _ in range(3):
        a = p.tokens.revocation(claims)
        if signed is not None:
            company = str(principal.company_id)        # a signed request is always a tenant's
            a.nonce_key, a.nonce_ttl_s = nonce_key(company, signed.nonce), 2 * window_s
            revision_key = hmac_revision_key(signed.ctx.keyspace)
            if not is_cluster(p.redis):
                a.old_nonces = [legacy_nonce_key(company, signed.nonce)]
            if not is_cluster(p.redis) or signed.ctx.keyspace.prefix == hash_tagged(f"{company}:"):
                a.revision_key, a.revision = revision_key, signed.copy.revision
            elif (p.redis.get(revision_key) or "") != signed.copy.revision:
                # A tenant whose prefix is not its company id (hand-written config) on a cluster: its revision
                # lives on another slot, so it costs a GET of its own.
                signed = _recheck(signed)
                continue
        a.windows = windows
        now = time.time()
        outcome = p.tokens.gate.admit(a, now)
        if outcome.status == "stale" and signed is not None:     # the secrets changed since this process read them
            signed = _recheck(signed)
            continue
        try:
            p.tokens.refuse_revoked(outcome)
        except TokenError as exc:
            raise ApiError(401, exc.code, exc.message) from None
        if outcome.status == "replayed":
            refusal = replayed()
            raise ApiError(401, refusal.code, refusal.message)
        return verdict(windows, now, outcome.allowed, list(outcome.counts)) if windows else None
    raise ApiError(503, "secrets_changing", "this company's signing secrets are being changed; try again")


def _recheck(signed: _Signed) -> _Signed:
    """The signature again, against the secrets as they are now."""
    platform().secrets.cached_hmac_secrets(signed.ctx.keyspace, stale_revision=signed.copy.revision)
    return _check_hmac(signed.ctx)


def _tenant_windows(principal: Principal):
    company = str(principal.company_id)
    config = platform().registry.get(company)
    return tenant_windows(company, principal.credential_id or principal.kind,
                          config.limits.requests_per_minute, config.limits.requests_per_hour)


def _rate_limited(verdict_: Verdict) -> None:
    g.rate_limit = verdict_
    if not verdict_.allowed:
        raise ApiError(429, "rate_limited", "too many requests for this company; slow down", verdict_.headers())


def _credential(allowed: tuple[str, ...]):
    """(principal, claims, signed, ctx) of the credential kinds an endpoint accepts (README's table):
    "api_key" (X-API-Key), "tat" (a tenant access token together with an HMAC signature of the request),
    "widget" (a widget session token). Everything here runs in the process, but the API key lookup."""
    if request.headers.get("X-API-Key") and "api_key" in allowed:
        return _api_key_principal(), None, None, None
    token = bearer_token()
    if token and "tat" in allowed:
        principal, claims = _token_principal(token, "tat")
        # The secrets are read through a context of the principal the token just proved, like any tenant data.
        p = platform()
        ctx = p.tenant_context(p.registry.get(principal.company_id), principal)
        return principal, claims, _check_hmac(ctx), ctx    # a TAT alone is not enough for server-to-server calls
    if token and "widget" in allowed:
        principal, claims = _token_principal(token, "widget")
        return principal, claims, None, None
    raise ApiError(401, "missing_credentials", "this endpoint takes: " + ", ".join(allowed))


def authenticate_tenant(allowed: tuple[str, ...]) -> Principal:
    """The credential, fully checked (revocation and replay included), without counting rate limits."""
    principal, claims, signed, _ = _credential(allowed)
    if claims is not None:
        _admit(principal, claims, signed, [])
    return principal


def _rate_limit(principal: Principal) -> None:
    config = platform().registry.get(principal.company_id)
    _rate_limited(platform().rate_limiter.check_tenant(principal.company_id, principal.credential_id or principal.kind,
                                                       config.limits.requests_per_minute,
                                                       config.limits.requests_per_hour))


def require_tenant(permission: str, allowed: tuple[str, ...] = ("api_key", "tat")):
    """A tenant credential with `permission`; counted against the tenant's limits after it is proven.
    The view reads its TenantContext from g.tenant.

    A token's request costs one Redis round trip: the checks that need no Redis come first (token, HMAC
    signature, tenant claims, permission), then revocation, nonce and rate limits in one script."""
    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            principal, claims, signed, ctx = _credential(allowed)
            g.company_id = principal.company_id
            g.principal = principal
            _enforce_claims(principal.company_id)
            _require(principal, permission)
            if claims is None:
                _rate_limit(principal)               # API key: its lookup, then the limits' script
            else:
                _rate_limited(_admit(principal, claims, signed, _tenant_windows(principal)))
            _open_tenant(principal, principal.company_id, ctx)
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
