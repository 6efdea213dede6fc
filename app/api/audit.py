"""The audit trail, read back: a tenant credential with `admin` reads its own company's trail; the platform admin
reads the trail of the company it names with ?company_id=. The company always comes from the credential (or, for
the platform admin, from that one parameter), so a tenant can never read another's records."""
from __future__ import annotations

import json
from functools import wraps

from flask import Blueprint, g, jsonify
from werkzeug.wrappers import Response as StreamedResponse

from app.api.audit_models import AuditExportQuery, AuditPage, AuditQuery
from app.api.contract import ADMIN as ADMIN_TOKEN
from app.api.contract import TENANT, api, query_args, responses
from app.api.errors import ApiError
from app.api.validation import paginated
from app.audit.trail import AuditFilter, AuditReader, ChainKeys
from app.security.guard import claimed_company_ids, platform, platform_admin_principal, require_tenant
from app.security.principal import ADMIN

bp = Blueprint("audit", __name__)
TENANT_OR_ADMIN = [*TENANT, *ADMIN_TOKEN]
ERRORS = (400, 401, 403, 404, 429, 503)


def tenant_or_platform_admin(view):
    """A tenant credential with `admin` (its own company), or the platform admin naming exactly one company."""
    as_tenant = require_tenant(ADMIN)(view)

    @wraps(view)
    def wrapper(*args, **kwargs):
        principal = platform_admin_principal()
        if principal is None:
            return as_tenant(*args, **kwargs)
        named = {claim.strip() for claim in claimed_company_ids()}
        if not named:
            raise ApiError(400, "company_id_required", "the platform admin names the company: ?company_id=…")
        if len(named) > 1:
            raise ApiError(403, "tenant_mismatch", "the request names more than one company")
        company_id = named.pop()
        config = platform().registry.get(company_id)
        if config is None:
            raise ApiError(404, "company_not_found", f"no company {company_id!r}")
        g.principal, g.company_id = principal, company_id
        g.tenant = platform().tenant_context(config, principal)
        return view(*args, **kwargs)
    return wrapper


def _reader() -> AuditReader:
    tenant = g.tenant
    return AuditReader(tenant.keyspace.redis, ChainKeys(tenant.company_id, tenant.keyspace.key))


def _filter(q: AuditExportQuery) -> AuditFilter:
    return AuditFilter(since=q.since.timestamp() if q.since else None, until=q.until.timestamp() if q.until else None,
                       kind=q.kind, outcome=q.outcome, agent=q.agent, channel=q.channel, user=q.user)


@bp.get("/audit")
@tenant_or_platform_admin
@api.validate(query=AuditQuery, security=TENANT_OR_ADMIN, tags=["audit"], resp=responses(*ERRORS, HTTP_200=AuditPage))
def list_audit():
    """The company's audit records, newest first, filtered by time (`since` inclusive, `until` exclusive), kind,
    outcome, agent, channel or user pseudonym (a tenant `admin` credential, or the platform admin with
    `?company_id=`)"""
    q = query_args(AuditQuery)
    reader, flt = _reader(), _filter(q)
    return jsonify(paginated("records", lambda page, per_page: reader.page(flt, page, per_page), q.page, q.per_page))


@bp.get("/audit/export")
@tenant_or_platform_admin
@api.validate(query=AuditExportQuery, security=TENANT_OR_ADMIN, tags=["audit"], resp=responses(*ERRORS, HTTP_200=None))
def export_audit():
    """Every matching record as JSON Lines (application/x-ndjson), oldest first, streamed; same filters as
    GET /audit. Each line is one record, so a reader can re-check the `prev`/`hash` links."""
    q = query_args(AuditExportQuery)
    reader, flt = _reader(), _filter(q)
    lines = (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n" for record in reader.export(flt))
    # A plain werkzeug Response: spectree buffers a flask.Response's body to validate it, which would load the
    # whole trail into memory; this one passes through and streams.
    return StreamedResponse(lines, mimetype="application/x-ndjson",
                            headers={"Cache-Control": "no-store",
                                     "Content-Disposition": f'attachment; filename="audit-{g.company_id}.jsonl"'})
