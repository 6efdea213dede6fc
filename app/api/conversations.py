"""Tenant API: chat turns for testing, conversation histories, handoff release, booking requests."""
from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify

from app.api.contract import TENANT, api, json_body, query_args, responses
from app.api.errors import ApiError
from app.api.models import (
    Conversation,
    ConversationDeleted,
    ConversationList,
    ConversationReleased,
    PageQuery,
    TurnIn,
    TurnResult,
)
from app.api.validation import paginated
from app.conversations.history import USER_ID_PATTERN
from app.conversations.pipeline import Inbound, run_pipeline
from app.security.guard import require_tenant
from app.security.principal import CHAT

bp = Blueprint("conversations", __name__)
TENANT_ERRORS = (401, 403, 429, 503)
USER_ID = {"user_id": "the end user within the company: 1-128 of letters, digits and ._:@+-"}


def _doc(*errors: int, **ok):
    return api.validate(security=TENANT, tags=["conversations"], path_parameter_descriptions=USER_ID,
                        resp=responses(*TENANT_ERRORS, *errors, **ok))


def _user_id(user_id: str) -> str:
    if not USER_ID_PATTERN.fullmatch(user_id):
        raise ApiError(400, "invalid_user_id", "user_id must be 1-128 characters of letters, digits and ._:@+-")
    return user_id


@bp.post("/conversations/<user_id>/test")
@require_tenant(CHAT)
@api.validate(json=TurnIn, security=TENANT, tags=["conversations"], path_parameter_descriptions=USER_ID,
              resp=responses(*TENANT_ERRORS, HTTP_200=TurnResult))
def test_turn(user_id: str):
    """One chat turn, as a customer on `channel` would get it

    429 `monthly_quota_exceeded` when the company's monthly messages are used up.
    """
    body = json_body(TurnIn)
    # The pipeline's resolve stage checks the user id (400 invalid_user_id) for every channel alike.
    result = run_pipeline(current_app.extensions["misybot"], g.tenant, Inbound(user_id, body.message, body.channel, "api"))
    return jsonify(result.public())


@bp.get("/conversations")
@require_tenant(CHAT)
@api.validate(query=PageQuery, security=TENANT, tags=["conversations"],
              resp=responses(*TENANT_ERRORS, HTTP_200=ConversationList))
def list_conversations():
    """Conversations, most recently active first"""
    q = query_args(PageQuery)
    return jsonify(paginated("conversations", g.tenant.conversations.list, q.page, q.per_page))


@bp.get("/conversations/<user_id>")
@require_tenant(CHAT)
@_doc(404, HTTP_200=Conversation)
def get_conversation(user_id: str):
    """A conversation's history and whether the bot or a human has it"""
    store = g.tenant.conversations
    if not store.exists(_user_id(user_id)):
        raise ApiError(404, "conversation_not_found", "no such conversation")
    status = store.status(user_id)
    return jsonify({"user_id": user_id, "status": status.status, "handoff_reason": status.reason,
                    "messages": store.history(user_id)})


@bp.delete("/conversations/<user_id>")
@require_tenant(CHAT)
@_doc(404, HTTP_200=ConversationDeleted)
def delete_conversation(user_id: str):
    """Forget a conversation"""
    if not g.tenant.conversations.delete(_user_id(user_id)):
        raise ApiError(404, "conversation_not_found", "no such conversation")
    return jsonify({"user_id": user_id, "deleted": True})


@bp.post("/conversations/<user_id>/release")
@require_tenant(CHAT)
@_doc(HTTP_200=ConversationReleased)
def release_conversation(user_id: str):
    """Hand a conversation back to the bot after a handoff"""
    released = g.tenant.conversations.release(_user_id(user_id))
    return jsonify({"user_id": user_id, "released": released, "status": "active"})
