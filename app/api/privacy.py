"""Privacy API: end-user consent (server credentials or the user's own widget session), and the
data-subject export and erasure (a key of the tenant with the `admin` permission)."""
from __future__ import annotations

from functools import wraps

import jwt
from flask import Blueprint, current_app, g, jsonify, request

from app.api.contract import TENANT, WIDGET, api, json_body, responses
from app.api.errors import ApiError
from app.api.models import ConsentIn, ConsentRecorded, ConsentState, ErasureIncomplete, ErasureReceipt, UserExport
from app.api.widget import tenant_cors
from app.conversations.history import USER_ID_PATTERN
from app.privacy.consent import ConsentStore
from app.privacy.learning_outbox import LearningOutbox, OutboxBusy
from app.privacy.subject_rights import erase_user, export_user
from app.security.guard import bearer_token, require_tenant
from app.security.principal import ADMIN, CHAT

bp = Blueprint("privacy", __name__)
TENANT_ERRORS = (401, 403, 429, 503)
USER_ID = {"user_id": "the end user within the company: 1-128 of letters, digits and ._:@+-"}


def _platform():
    return current_app.extensions["misybot"]


def _presents_widget_token() -> bool:
    """Only picks which check runs, from the token's unverified `typ`: the guard verifies the signature
    and pins the kind either way. (Given both "tat" and "widget", the guard tries every bearer token as
    a TAT and refuses widget sessions.)"""
    token = bearer_token()
    if not token or request.headers.get("X-API-Key") or len(token) > 8192:
        return False
    try:
        return jwt.decode(token, options={"verify_signature": False}).get("typ") == "widget"
    except jwt.PyJWTError:
        return False


def require_chat_or_widget(view):
    """`chat` with an API key or a TAT + HMAC, or the end user's own widget session."""
    server = require_tenant(CHAT)(view)
    widget = require_tenant(CHAT, allowed=("widget",))(view)

    @wraps(view)
    def wrapper(*args, **kwargs):
        return (widget if _presents_widget_token() else server)(*args, **kwargs)
    return wrapper


def _valid_user_id(user_id) -> str:
    # fullmatch: the pattern's `$` would let a trailing newline through to the key builder (a 500).
    if not isinstance(user_id, str) or not USER_ID_PATTERN.fullmatch(user_id):
        raise ApiError(400, "invalid_user_id", "user_id must be 1-128 characters of letters, digits and ._:@+-")
    return user_id


def _subject(requested) -> str:
    """The user a request may act for. A widget session speaks only for its own visitor, from a page of an
    allowed origin; server credentials name any user of their tenant."""
    if g.principal.kind != "widget":
        return _valid_user_id(requested)
    origin = (request.headers.get("Origin") or "").rstrip("/").lower()
    if not origin or origin not in g.tenant.config.allowed_origins:
        raise ApiError(403, "origin_not_allowed", "this page's origin is not allowed for this company")
    own = f"web-{g.token_claims['visitor_id']}"
    if requested is not None and requested != own:
        raise ApiError(403, "user_mismatch", "a widget session can only act for its own visitor")
    return own


@bp.post("/privacy/consent")
@require_chat_or_widget
@api.validate(json=ConsentIn, security=TENANT + WIDGET, tags=["privacy"],
              resp=responses(*TENANT_ERRORS, HTTP_200=ConsentRecorded))
def record_consent():
    """Record an end user's choice for one consent type

    Revoking `global_learning` drops the user's queued learnings before the answer (503
    `learning_outbox_busy`: the revocation is recorded, retry to drop them).
    """
    body = json_body(ConsentIn)
    user_id = _subject(body.user_id)
    consent_type, granted, source = body.consent_type, body.granted, body.source
    # The widget is the web channel; a server call says where the choice was made, or it is "api".
    channel = body.channel or ("web" if g.principal.kind == "widget" else "api")

    store = ConsentStore(g.tenant.keyspace)
    record = store.record(user_id, consent_type, granted, channel, source)
    out = {"user_id": user_id, "consent": record, "consents": store.get(user_id)}
    if consent_type == "global_learning" and not granted:
        # Queued learnings stop now, not when a worker next checks: they are dropped before we answer.
        try:
            out["dropped_pending_learnings"] = LearningOutbox(g.tenant.keyspace).drop_user(user_id)
        except OutboxBusy:
            raise ApiError(503, "learning_outbox_busy", "the revocation is recorded; retry to drop the queued "
                                                        "learnings", {"Retry-After": "5"}) from None
    return jsonify(out)


@bp.get("/privacy/consent/<user_id>")
@require_chat_or_widget
@api.validate(security=TENANT + WIDGET, tags=["privacy"], path_parameter_descriptions=USER_ID,
              resp=responses(*TENANT_ERRORS, HTTP_200=ConsentState))
def get_consent(user_id: str):
    """An end user's consents and their log (no record means no consent)"""
    user_id = _subject(user_id)
    store = ConsentStore(g.tenant.keyspace)
    # An unknown user is an answer too (no consent), not a 404.
    return jsonify({"user_id": user_id, "consents": store.get(user_id), "history": store.history(user_id)})


@bp.get("/privacy/users/<user_id>/export")
@require_tenant(ADMIN)
@api.validate(security=TENANT, tags=["privacy"], path_parameter_descriptions=USER_ID,
              resp=responses(*TENANT_ERRORS, HTTP_200=UserExport))
def export_user_data(user_id: str):
    """Everything held about an end user in this company"""
    return jsonify(export_user(_platform(), g.tenant, _valid_user_id(user_id)))


@bp.delete("/privacy/users/<user_id>")
@require_tenant(ADMIN)
@api.validate(security=TENANT, tags=["privacy"], path_parameter_descriptions=USER_ID,
              resp=responses(401, 403, 429, HTTP_200=ErasureReceipt,
                             HTTP_503=(ErasureIncomplete, "some stores failed, the others were erased: retry"),
                             HTTP_500=(ErasureIncomplete, "some stores failed and a retry will not help")))
def erase_user_data(user_id: str):
    """Erase everything held about an end user in this company, with a receipt per store"""
    result = erase_user(_platform(), g.tenant, _valid_user_id(user_id))
    body = {"user_id": result["user_id"], "erased_at": result["erased_at"], "receipts": result["receipts"]}
    if result["complete"]:
        return jsonify(body)
    retryable = all(f["retryable"] for f in result["failed"].values())
    resp = jsonify({"error": {"code": "erasure_incomplete",
                              "message": "some sections could not be erased; the others were. "
                                         + ("Retry the request to finish." if retryable else "Contact support."),
                              "failed_sections": sorted(result["failed"])},
                    "failed": result["failed"], **body})
    resp.status_code = 503 if retryable else 500
    if retryable:
        resp.headers["Retry-After"] = "5"
    return resp


@bp.after_request
def widget_cors(response):
    """The widget records consent from the customer's page: the consent routes get the same per-tenant
    CORS as /v1/widget/ (the page names its tenant with ?pk=); nothing else under /privacy does."""
    if not request.path.startswith("/privacy/consent"):
        return response
    return tenant_cors(response, "GET, POST, OPTIONS")
