"""Chatwoot webhooks (account webhooks and agent-bot outgoing_url send the same body).

POST /webhook/chatwoot                 the tenant comes from the payload's account id
POST /webhook/chatwoot/<company_id>    the tenant is named in the URL (payloads before 4.14.2 lack `account`)
Either way the signature is checked with that tenant's webhook secret; an unknown account is 404.
"""
from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify, request

from app.api.contract import CHATWOOT, api, responses
from app.api.errors import ApiError
from app.api.models import WebhookAck, WebhookQuery
from app.channels.chatwoot_events import ChatwootPayload, account_of
from app.channels.chatwoot_webhook import WebhookRejected, accept_webhook
from app.security.principal import Principal

bp = Blueprint("webhooks", __name__)
# The body is read raw (the signature covers its bytes) and checked by accept_webhook, so spectree only
# documents it.
_doc = api.validate(json=ChatwootPayload, query=WebhookQuery, security=CHATWOOT, tags=["chatwoot"],
                    skip_validation=True, resp=responses(400, 401, 403, 404, 503, HTTP_200=WebhookAck))


def _platform():
    return current_app.extensions["misybot"]


def _payload():
    """The body through our strict JSON parser, so hostile JSON (deep nesting, lone surrogates) is a 400
    before anything else reads it."""
    try:
        return current_app.json.loads(request.get_data(cache=True))
    except ValueError as exc:
        raise ApiError(400, "invalid_json", f"the body is not valid JSON: {exc}") from None


def _accept(config):
    g.company_id = config.company_id
    try:
        result = accept_webhook(_platform(), config, request.headers, request.get_data(cache=True),
                                request.args.get("token"))
    except WebhookRejected as exc:
        raise ApiError(exc.status, exc.code, exc.message) from None
    g.principal = Principal("chatwoot", config.company_id)      # the signature proved it: an authenticated call
    return jsonify(result)


@bp.post("/webhook/chatwoot")
@_doc
def chatwoot_by_account():
    """A Chatwoot event; the company is the one configured for the payload's account"""
    account_id = account_of(_payload())
    config = _platform().registry.for_chatwoot_account(account_id) if account_id is not None else None
    if config is None:
        raise ApiError(404, "unknown_account", "no company is configured for this Chatwoot account")
    return _accept(config)


@bp.post("/webhook/chatwoot/<company_id>")
@_doc
def chatwoot_by_company(company_id: str):
    """A Chatwoot event for the company named in the URL"""
    config = _platform().registry.get(company_id)
    if config is None:
        raise ApiError(404, "unknown_company", "no such company")
    _payload()
    return _accept(config)
