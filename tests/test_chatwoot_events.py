"""Chatwoot payloads through the pydantic models, and when the bot may speak: a conversation assigned to a
person is a human takeover, whatever its status."""
from __future__ import annotations

import pytest

from app.channels.chatwoot_events import InvalidPayload, account_of, customer_text, decide, parse_event
from tests.chatwoot_fake import conversation_event, message_event

PERSON = {"id": 7, "name": "Laura", "type": "user"}
BOT = {"id": 3, "name": "Misybot", "type": "agent_bot"}


def _assigned(payload: dict, assignee: dict | None = None, **conversation) -> dict:
    conv = payload["conversation"] if payload["event"].startswith("message_") else payload
    if assignee is not None:
        conv["meta"] = {**conv.get("meta", {}), "assignee": assignee}
    conv.update(conversation)
    return payload


@pytest.mark.parametrize("payload", [
    _assigned(message_event(1), PERSON),
    _assigned(message_event(2), {"id": 7, "name": "Laura"}),                 # older payloads: no type
    _assigned(message_event(3), assignee_id=7),
    _assigned(message_event(4), meta={"assignee": {"id": 7, "name": "Laura"}, "assignee_type": "User"}),
    _assigned(message_event(5, content_type="input_select", attrs={"submitted_values": [{"title": "Sí"}]}) | {
        "event": "message_updated"}, PERSON),
])
def test_a_customer_message_in_a_conversation_a_person_has_pauses_the_bot(payload):
    assert parse_event(payload).assignee_is_human
    assert decide(parse_event(payload)) == "pause"


@pytest.mark.parametrize("payload", [
    _assigned(message_event(11), BOT),
    _assigned(message_event(12), meta={"assignee": {"id": 3, "name": "Misybot"}, "assignee_type": "AgentBot"}),
    message_event(13),
])
def test_unassigned_or_bot_assigned_pending_conversations_get_answers(payload):
    ev = parse_event(payload)
    assert not ev.assignee_is_human and decide(ev) == "reply"


@pytest.mark.parametrize("payload", [
    conversation_event("pending", assignee_type="user"),
    conversation_event("pending", event="conversation_status_changed", assignee_type="user"),
    _assigned(conversation_event("pending"), assignee_id=7),
    _assigned(conversation_event("pending"), changed_attributes=[
        {"assignee_id": {"previous_value": None, "current_value": 7}}, {"updated_at": {"current_value": 1}}]),
    _assigned(conversation_event("pending", event="assignee_changed"), PERSON),
    conversation_event("open"),
    conversation_event("open", event="conversation_opened"),
])
def test_assignment_to_a_person_or_opening_is_a_takeover(payload):
    assert decide(parse_event(payload)) == "pause"


@pytest.mark.parametrize("payload", [
    conversation_event("pending"),
    conversation_event("pending", assignee_type="agent_bot"),
    _assigned(conversation_event("pending"), changed_attributes=[
        {"assignee_id": {"previous_value": 7, "current_value": None}}]),
])
def test_pending_again_without_a_person_resumes(payload):
    assert decide(parse_event(payload)) == "resume"


def test_unknown_fields_and_odd_hints_are_tolerated():
    payload = message_event(21, channel="Channel::Email", content="<p>Hola, <b>precio</b>?</p>",
                            attrs={"email": {"subject": "Consulta", "cc": ["a@b.c"]}, "in_reply_to": "x"})
    payload |= {"brand_new_field": {"nested": [1, 2]}, "attachments": [{"file_type": "audio", "data_url": "u",
                                                                        "extension": "ogg"}]}
    payload["conversation"] |= {"labels": ["vip"], "meta": {"sender": {"id": 9}, "team": None}}
    ev = parse_event(payload)
    assert (ev.event, ev.account_id, ev.conversation_id, ev.message_id, ev.channel) == ("message_created", 101, 5, 21,
                                                                                       "email")
    assert ev.attachments == ({"file_type": "audio", "data_url": "u", "extension": "ogg"},)
    assert customer_text(ev) == "Consulta\nHola, \nprecio\n?" and decide(ev) == "reply"
    odd = message_event(22) | {"content_attributes": "{}", "attachments": "none", "sender": "someone"}
    ev = parse_event(odd)
    assert ev.attachments == () and ev.sender_type is None and decide(ev) == "ignore"


@pytest.mark.parametrize("payload", [None, [], "message_created", {}, {"event": 5},
                                     {"event": "message_created", "id": "abc"},
                                     message_event(31) | {"account": {"id": "cuenta"}},
                                     {"event": "conversation_updated", "display_id": [1]}])
def test_bad_payloads_raise_value_error(payload):
    with pytest.raises(InvalidPayload) as exc:
        parse_event(payload)
    assert isinstance(exc.value, ValueError)


def test_account_of_routes_without_raising():
    assert account_of(message_event(41, account=202)) == 202
    assert account_of(message_event(42, with_account=False)) == 101          # from the conversation
    assert account_of({"event": "message_created", "id": "abc"}) is None
    assert account_of([1, 2]) is None
