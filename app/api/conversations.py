"""Tenant API: chat turns for testing, conversation histories, handoff release, booking requests."""
from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify

from app.api.errors import ApiError
from app.api.validation import json_object, paginated, required_text
from app.channels.formatting import CHANNELS
from app.conversations.pipeline import MAX_MESSAGE_CHARS, Inbound, run_pipeline
from app.conversations.history import USER_ID_PATTERN
from app.security.guard import require_tenant
from app.security.principal import CHAT

bp = Blueprint("conversations", __name__)


def _user_id(user_id: str) -> str:
    if not USER_ID_PATTERN.fullmatch(user_id):
        raise ApiError(400, "invalid_user_id", "user_id must be 1-128 characters of letters, digits and ._:@+-")
    return user_id


@bp.post("/conversations/<user_id>/test")
@require_tenant(CHAT)
def test_turn(user_id: str):
    user_id = _user_id(user_id)
    body = json_object()
    message = required_text(body, "message", MAX_MESSAGE_CHARS, "invalid_message")
    channel = body.get("channel", "web")
    if channel not in CHANNELS:
        raise ApiError(400, "invalid_channel", f"channel must be one of {', '.join(CHANNELS)}")
    inbound = Inbound(user_id, message, channel, source="api")
    result = run_pipeline(current_app.extensions["misybot"], g.tenant, inbound)
    return jsonify(result.public())


@bp.get("/conversations")
@require_tenant(CHAT)
def list_conversations():
    return jsonify(paginated("conversations", g.tenant.conversations.list))


@bp.get("/conversations/<user_id>")
@require_tenant(CHAT)
def get_conversation(user_id: str):
    store = g.tenant.conversations
    if not store.exists(_user_id(user_id)):
        raise ApiError(404, "conversation_not_found", "no such conversation")
    status = store.status(user_id)
    return jsonify({"user_id": user_id, "status": status.status, "handoff_reason": status.reason,
                    "messages": store.history(user_id)})


@bp.delete("/conversations/<user_id>")
@require_tenant(CHAT)
def delete_conversation(user_id: str):
    if not g.tenant.conversations.delete(_user_id(user_id)):
        raise ApiError(404, "conversation_not_found", "no such conversation")
    return jsonify({"user_id": user_id, "deleted": True})


@bp.post("/conversations/<user_id>/release")
@require_tenant(CHAT)
def release_conversation(user_id: str):
    released = g.tenant.conversations.release(_user_id(user_id))
    return jsonify({"user_id": user_id, "released": released, "status": "active"})


@bp.get("/bookings")
@require_tenant(CHAT)
def list_booking_requests():
    return jsonify(paginated("bookings", g.tenant.bookings.pending))
