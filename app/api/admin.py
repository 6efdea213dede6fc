"""Platform admin API (MISYBOT_ADMIN_TOKEN): companies, config reload, tenant API keys."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from app.api.errors import ApiError
from app.api.validation import json_object, optional_str
from app.security.guard import require_company_or_admin, require_platform_admin
from app.security.principal import TENANT_PERMISSIONS
from app.tenancy.onboarding import (ALL_PERMISSIONS, OnboardingError, SeedDocument, issue_tenant_credentials,
                                    onboard_company)
from app.tenancy.registry import ConfigError

bp = Blueprint("admin", __name__)
MAX_ONBOARDING_DOCUMENTS = 50


def _platform():
    return current_app.extensions["misybot"]


def _company_summary(c) -> dict:
    return {"company_id": c.company_id, "company_name": c.company_name, "industry": c.industry,
            "language": c.language, "timezone": c.timezone}


@bp.get("/companies")
@require_platform_admin
def list_companies():
    reg = _platform().registry
    return jsonify({"companies": [_company_summary(reg.get(cid)) for cid in reg.company_ids()],
                    "config_version": reg.snapshot.version})


@bp.post("/admin/companies")
@require_platform_admin
def create_company():
    body = json_object()
    company_id = optional_str(body, "company_id", 64)
    name = optional_str(body, "name", 200)
    if not company_id or not name:
        raise ApiError(400, "invalid_parameter", "'company_id' and 'name' are required")
    docs_in = body.get("documents") or []
    if not isinstance(docs_in, list) or len(docs_in) > MAX_ONBOARDING_DOCUMENTS:
        raise ApiError(400, "invalid_parameter",
                       f"'documents' must be a list of at most {MAX_ONBOARDING_DOCUMENTS} objects")
    docs = []
    for i, d in enumerate(docs_in):
        if not isinstance(d, dict) or not isinstance(d.get("content"), str) or not d["content"].strip():
            raise ApiError(400, "invalid_parameter", f"documents[{i}] needs a non-empty 'content' string")
        title = d.get("title") if isinstance(d.get("title"), str) else f"Documento {i + 1}"
        docs.append(SeedDocument(title, d["content"], len(d["content"].encode()), d.get("source")))
    chatwoot = body.get("chatwoot") or {}
    if not isinstance(chatwoot, dict) or not set(chatwoot) <= {"account_id", "base_url", "api_token", "webhook_secret"}:
        raise ApiError(400, "invalid_parameter", "chatwoot takes account_id, base_url, api_token, webhook_secret")
    try:
        result = onboard_company(_platform(), company_id, name, chatwoot=chatwoot,
                                 language=optional_str(body, "language", 2) or "es",
                                 industry=optional_str(body, "industry", 100) or "general",
                                 timezone_name=optional_str(body, "timezone", 64), documents=docs)
    except OnboardingError as exc:
        status = 409 if "already" in str(exc) else 400
        raise ApiError(status, "company_exists" if status == 409 else "invalid_company", str(exc)) from None
    return jsonify(result), 201


@bp.post("/admin/companies/reload-config")
@require_platform_admin
def reload_config():
    try:
        snap = _platform().reload_config()
    except ConfigError as exc:
        raise ApiError(422, "invalid_config", f"{exc}; the previous configuration keeps serving") from None
    return jsonify({"reloaded": True, "config_version": snap.version, "companies": sorted(snap.companies)})


def _permissions(body: dict) -> set[str]:
    perms = body.get("permissions", sorted(ALL_PERMISSIONS))
    if not isinstance(perms, list) or not perms or not all(isinstance(p, str) for p in perms):
        raise ApiError(400, "invalid_parameter", "'permissions' must be a non-empty list of strings")
    unknown = set(perms) - TENANT_PERMISSIONS
    if unknown:
        raise ApiError(400, "invalid_parameter", f"unknown permissions {sorted(unknown)}; known: "
                                                 f"{sorted(TENANT_PERMISSIONS)}")
    return set(perms)


@bp.post("/admin/companies/<company_id>/api-keys")
@require_platform_admin
@require_company_or_admin()
def issue_key(tenant):
    body = json_object()
    perms = _permissions(body)
    label = optional_str(body, "label", 100) or ""
    if body.get("rotate") is True:
        key, key_id, revoked = _platform().api_keys.rotate(tenant.company_id, tenant.keyspace, perms, label)
    else:
        key, key_id = _platform().api_keys.issue(tenant.company_id, tenant.keyspace, perms, label)
        revoked = []
    return jsonify({"company_id": tenant.company_id, "api_key": key, "key_id": key_id,
                    "permissions": sorted(perms), "revoked_key_ids": revoked}), 201


@bp.get("/admin/companies/<company_id>/api-keys")
@require_platform_admin
@require_company_or_admin()
def list_keys(tenant):
    return jsonify({"company_id": tenant.company_id, "keys": _platform().api_keys.list_keys(tenant.keyspace)})


@bp.delete("/admin/companies/<company_id>/api-keys/<key_id>")
@require_platform_admin
@require_company_or_admin()
def revoke_key(tenant, key_id: str):
    if not _platform().api_keys.revoke(tenant.keyspace, key_id):
        raise ApiError(404, "key_not_found", "no active key with that id for this company")
    return jsonify({"company_id": tenant.company_id, "key_id": key_id, "revoked": True})


@bp.post("/admin/companies/<company_id>/credentials")
@require_platform_admin
@require_company_or_admin()
def issue_credentials(tenant):
    """Client credentials (for tenant access tokens), an HMAC secret and a publishable widget key.
    The secrets are shown once; they are stored encrypted."""
    body = json_object() if request.data else {}
    kinds = body.get("kinds", ["client", "hmac", "publishable"])
    if not isinstance(kinds, list) or not set(kinds) <= {"client", "hmac", "publishable"} or not kinds:
        raise ApiError(400, "invalid_parameter", "kinds must be a subset of client, hmac, publishable")
    return jsonify(issue_tenant_credentials(_platform(), tenant, kinds)), 201


@bp.post("/admin/companies/<company_id>/tokens/revoke")
@require_platform_admin
@require_company_or_admin()
def revoke_tokens(tenant):
    """{"jti": "...", "exp": 1700000000} revokes one token; {} revokes every token issued until now."""
    body = json_object() if request.data else {}
    tokens = _platform().tokens
    if body.get("jti"):
        if not isinstance(body["jti"], str) or not isinstance(body.get("exp"), int):
            raise ApiError(400, "invalid_parameter", "jti (string) and exp (unix time) are required")
        tokens.revoke_jti(body["jti"], body["exp"])
        return jsonify({"revoked": body["jti"]})
    return jsonify({"company_id": tenant.company_id, "revoked_before": tokens.revoke_tenant_tokens(tenant.company_id)})


@bp.put("/admin/companies/<company_id>/chatwoot")
@require_platform_admin
@require_company_or_admin()
def set_chatwoot(tenant):
    """{"api_token"?, "webhook_secret"?, "url_token"?}: stored encrypted, never in companies_config.yaml."""
    from app.channels.chatwoot_webhook import set_chatwoot_secrets

    body = json_object()
    values = {k: optional_str(body, k, 500) for k in ("api_token", "webhook_secret", "url_token")}
    if not any(values.values()):
        raise ApiError(400, "invalid_parameter", "send at least one of api_token, webhook_secret, url_token")
    set_chatwoot_secrets(_platform(), tenant.keyspace, **values)
    return jsonify({"company_id": tenant.company_id, "updated": sorted(k for k, v in values.items() if v)})
