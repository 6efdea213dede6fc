"""Chatwoot webhooks (account webhooks and agent-bot outgoing_url send the same body).

POST /webhook/chatwoot                 the tenant comes from the payload's account id
POST /webhook/chatwoot/<company_id>    the tenant is named in the URL (payloads before 4.14.2 lack `account`)
Either way the signature is checked with that tenant's webhook secret; an unknown account is 404.
"""
from __future__ import annotations

import json

from flask import Blueprint, current_app, g, jsonify, request

from app.api.errors import ApiError
from app.channels.chatwoot_webhook import WebhookRejected, accept_webhook

bp = Blueprint("webhooks", __name__)


def _platform():
    return current_app.extensions["misybot"]


def _accept(config):
    g.company_id = config.company_id
    try:
        result = accept_webhook(_platform(), config, request.headers, request.get_data(cache=True),
                                request.args.get("token"))
    except WebhookRejected as exc:
        raise ApiError(exc.status, exc.code, exc.message) from None
    return jsonify(result)


@bp.post("/webhook/chatwoot")
def chatwoot_by_account():
    try:
        payload = json.loads(request.get_data(cache=True))
    except ValueError:
        raise ApiError(400, "invalid_json", "the body is not JSON") from None
    account = payload.get("account") if isinstance(payload, dict) and isinstance(payload.get("account"), dict) else {}
    conv = payload.get("conversation") if isinstance(payload, dict) and isinstance(payload.get("conversation"), dict) else {}
    account_id = account.get("id") or conv.get("account_id") or (payload.get("account_id") if isinstance(payload, dict) else None)
    try:
        config = _platform().registry.for_chatwoot_account(int(account_id)) if account_id is not None else None
    except (TypeError, ValueError):
        config = None
    if config is None:
        raise ApiError(404, "unknown_account", "no company is configured for this Chatwoot account")
    return _accept(config)


@bp.post("/webhook/chatwoot/<company_id>")
def chatwoot_by_company(company_id: str):
    config = _platform().registry.get(company_id)
    if config is None:
        raise ApiError(404, "unknown_company", "no such company")
    return _accept(config)
