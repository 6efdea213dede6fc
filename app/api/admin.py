"""Platform admin API (MISYBOT_ADMIN_TOKEN): companies, config reload, tenant API keys."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from app.api.contract import ADMIN, api, json_body, responses
from app.api.errors import ApiError
from app.api.models import (
    ApiKeyList,
    ApiKeyRevoked,
    ChatwootSecretsIn,
    ChatwootSecretsUpdated,
    CompanyIn,
    CompanyList,
    ConfigReloaded,
    Credentials,
    CredentialsIn,
    IssuedKey,
    IssueKeyIn,
    Onboarded,
    RevokeTokensIn,
    TokensRevoked,
)
from app.security.guard import require_company_or_admin, require_platform_admin
from app.tenancy.onboarding import CompanyExists, OnboardingError, SeedDocument, issue_tenant_credentials, onboard_company
from app.tenancy.registry import ConfigError

bp = Blueprint("admin", __name__)
ADMIN_ERRORS = (401, 503)                 # 503: the server has no admin token configured


def _platform():
    return current_app.extensions["misybot"]


def _admin(*errors: int, json=None, **ok):
    return api.validate(json=json, security=ADMIN, tags=["admin"], resp=responses(*ADMIN_ERRORS, *errors, **ok))


def _company(*errors: int, json=None, **ok):
    """Routes under /admin/companies/<company_id>/: 404 for an unknown company."""
    return _admin(404, *errors, json=json, **ok)


def _company_summary(c) -> dict:
    return {"company_id": c.company_id, "company_name": c.company_name, "industry": c.industry,
            "language": c.language, "timezone": c.timezone}


@bp.get("/companies")
@require_platform_admin
@_admin(HTTP_200=CompanyList)
def list_companies():
    """Every configured company"""
    reg = _platform().registry
    return jsonify({"companies": [_company_summary(reg.get(cid)) for cid in reg.company_ids()],
                    "config_version": reg.snapshot.version})


@bp.post("/admin/companies")
@require_platform_admin
@_admin(409, 422, json=CompanyIn, HTTP_201=Onboarded)
def create_company():
    """Onboard a company: config block, collection, seed documents, credentials (shown once)

    Anything failing rolls everything back. 409 `company_exists` when the id, its collection or its Redis
    prefix is taken.
    """
    body = json_body(CompanyIn)
    docs = [SeedDocument(d.title or f"Documento {i + 1}", d.content, len(d.content.encode()), d.source)
            for i, d in enumerate(body.documents or [])]
    chatwoot = body.chatwoot.model_dump(exclude_none=True) if body.chatwoot else {}
    try:
        result = onboard_company(_platform(), body.company_id, body.name, chatwoot=chatwoot, language=body.language,
                                 industry=body.industry, timezone_name=body.timezone, documents=docs,
                                 catalog=body.catalog)
    except CompanyExists as exc:
        raise ApiError(409, "company_exists", str(exc)) from None
    except OnboardingError as exc:
        raise ApiError(400, "invalid_company", str(exc)) from None
    except ConfigError as exc:           # the file on disk was edited into an invalid state: nothing was added
        raise ApiError(422, "invalid_config", f"{exc}; fix the file, then onboard again") from None
    return jsonify(result), 201


@bp.post("/admin/companies/reload-config")
@require_platform_admin
@_admin(422, HTTP_200=ConfigReloaded)
def reload_config():
    """Re-read companies_config.yaml; an invalid file is refused (422) and the old one keeps serving"""
    try:
        snap = _platform().reload_config()
    except ConfigError as exc:
        raise ApiError(422, "invalid_config", f"{exc}; the previous configuration keeps serving") from None
    return jsonify({"reloaded": True, "config_version": snap.version, "companies": sorted(snap.companies)})


@bp.post("/admin/companies/<company_id>/api-keys")
@require_platform_admin
@require_company_or_admin()
@_company(json=IssueKeyIn, HTTP_201=IssuedKey)
def issue_key(tenant):
    """Issue an API key (shown once); `rotate` revokes the active keys with the same permissions"""
    body = json_body(IssueKeyIn)
    perms, label = set(body.permissions), body.label or ""
    if body.rotate:
        key, key_id, revoked = _platform().api_keys.rotate(tenant.company_id, tenant.keyspace, perms, label)
    else:
        key, key_id = _platform().api_keys.issue(tenant.company_id, tenant.keyspace, perms, label)
        revoked = []
    return jsonify({"company_id": tenant.company_id, "api_key": key, "key_id": key_id,
                    "permissions": sorted(perms), "revoked_key_ids": revoked}), 201


@bp.get("/admin/companies/<company_id>/api-keys")
@require_platform_admin
@require_company_or_admin()
@_company(HTTP_200=ApiKeyList)
def list_keys(tenant):
    """The company's API keys (never the keys themselves)"""
    return jsonify({"company_id": tenant.company_id, "keys": _platform().api_keys.list_keys(tenant.keyspace)})


@bp.delete("/admin/companies/<company_id>/api-keys/<key_id>")
@require_platform_admin
@require_company_or_admin()
@_company(HTTP_200=ApiKeyRevoked)
def revoke_key(tenant, key_id: str):
    """Revoke one API key"""
    if not _platform().api_keys.revoke(tenant.keyspace, key_id):
        raise ApiError(404, "key_not_found", "no active key with that id for this company")
    return jsonify({"company_id": tenant.company_id, "key_id": key_id, "revoked": True})


@bp.post("/admin/companies/<company_id>/credentials")
@require_platform_admin
@require_company_or_admin()
@_company(json=CredentialsIn, HTTP_201=Credentials)
def issue_credentials(tenant):
    """Client credentials (for tenant access tokens), an HMAC secret and a publishable widget key

    The secrets are shown once; they are stored encrypted.
    """
    return jsonify(issue_tenant_credentials(_platform(), tenant, json_body(CredentialsIn).kinds)), 201


@bp.post("/admin/companies/<company_id>/tokens/revoke")
@require_platform_admin
@require_company_or_admin()
@_company(json=RevokeTokensIn, HTTP_200=TokensRevoked)
def revoke_tokens(tenant):
    """Revoke one tenant access token ({"jti", "exp"}), or every token issued until now ({})"""
    body = json_body(RevokeTokensIn)
    tokens = _platform().tokens
    if body.jti is not None:
        tokens.revoke_jti(body.jti, body.exp, tenant_id=tenant.company_id)
        return jsonify({"revoked": body.jti})
    return jsonify({"company_id": tenant.company_id, "revoked_before": tokens.revoke_tenant_tokens(tenant.company_id)})


@bp.put("/admin/companies/<company_id>/chatwoot")
@require_platform_admin
@require_company_or_admin()
@_company(json=ChatwootSecretsIn, HTTP_200=ChatwootSecretsUpdated)
def set_chatwoot(tenant):
    """Set the company's Chatwoot secrets: stored encrypted, never in companies_config.yaml"""
    from app.channels.chatwoot_webhook import set_chatwoot_secrets

    body = json_body(ChatwootSecretsIn)
    values = body.model_dump()
    set_chatwoot_secrets(_platform(), tenant.keyspace, **values)
    return jsonify({"company_id": tenant.company_id, "updated": sorted(k for k, v in values.items() if v)})
