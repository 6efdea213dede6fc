"""Chatwoot webhook payloads (v4.x) turned into one small event, and the rules for when the bot speaks.

Facts we rely on (checked in Chatwoot's source): the top-level `message_type` is a string ("incoming",
"outgoing", "template") while inside `conversation.messages[]` it is an int (0, 1, 3); a contact sender
has no `type`, agents are "user", bots "agent_bot", Chatwoot's AI "captain_assistant"; templates and
messages typed on the business phone (`content_attributes.external_echo`) have `sender: null`;
`conversation.id` is per account, so state is keyed on (account, conversation); payloads before 4.14.2
have no `account` key; 4.9-4.12 may send `content` as HTML.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from bs4 import BeautifulSoup

CHANNELS = {"Channel::WebWidget": "web", "Channel::Whatsapp": "whatsapp", "Channel::FacebookPage": "messenger",
            "Channel::Instagram": "instagram", "Channel::Email": "email", "Channel::Api": "api",
            "Channel::TwilioSms": "whatsapp", "Channel::Telegram": "api", "Channel::Line": "api",
            "Channel::Sms": "api"}
_INT_TYPES = {0: "incoming", 1: "outgoing", 2: "activity", 3: "template"}


class InvalidPayload(ValueError):
    pass


@dataclass(frozen=True)
class ChatwootEvent:
    event: str
    account_id: int | None
    conversation_id: int | None
    message_id: int | None = None
    message_type: str | None = None
    private: bool = False
    sender_type: str | None = None          # "contact", "user", "agent_bot", "captain_assistant" or None
    external_echo: bool = False
    content: str = ""
    content_type: str | None = None
    attachments: tuple = ()
    channel: str = "api"
    status: str | None = None
    assignee_is_human: bool = False
    email_subject: str | None = None
    submitted_values: tuple = field(default_factory=tuple)


def _text(content) -> str:
    if not isinstance(content, str):
        return ""
    if "<" in content and re.search(r"</?[a-z][^>]*>", content, re.I):
        content = BeautifulSoup(content, "html.parser").get_text("\n")
    return re.sub(r"\n{3,}", "\n\n", content).strip()


def _message_type(value) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return _INT_TYPES.get(value)
    return value if isinstance(value, str) else None


def parse_event(payload) -> ChatwootEvent:
    if not isinstance(payload, dict) or not isinstance(payload.get("event"), str):
        raise InvalidPayload("not a Chatwoot event")
    conv = payload.get("conversation") if isinstance(payload.get("conversation"), dict) else {}
    if payload["event"].startswith("conversation_"):
        conv = payload if "status" in payload and "messages" in payload else (conv or payload)
    account = payload.get("account") if isinstance(payload.get("account"), dict) else {}
    account_id = account.get("id") or conv.get("account_id") or payload.get("account_id")
    sender = payload.get("sender")
    sender_type = None if sender is None else ((sender.get("type") or "contact") if isinstance(sender, dict) else None)
    attrs = payload.get("content_attributes") if isinstance(payload.get("content_attributes"), dict) else {}
    email = attrs.get("email") if isinstance(attrs.get("email"), dict) else {}
    assignee = (conv.get("meta") or {}).get("assignee") if isinstance(conv.get("meta"), dict) else None
    submitted = attrs.get("submitted_values") if isinstance(attrs.get("submitted_values"), list) else []
    try:
        return ChatwootEvent(
            event=payload["event"],
            account_id=int(account_id) if account_id is not None else None,
            conversation_id=int(conv.get("display_id") or conv.get("id")) if (conv.get("display_id") or conv.get("id")) is not None else None,
            message_id=int(payload["id"]) if payload["event"].startswith("message_") and payload.get("id") is not None else None,
            message_type=_message_type(payload.get("message_type")),
            private=bool(payload.get("private")),
            sender_type=sender_type,
            external_echo=bool(attrs.get("external_echo")),
            content=_text(payload.get("content")),
            content_type=payload.get("content_type"),
            attachments=tuple(a for a in payload.get("attachments") or [] if isinstance(a, dict)),
            channel=CHANNELS.get(conv.get("channel") or payload.get("channel"), "api"),
            status=conv.get("status"),
            assignee_is_human=isinstance(assignee, dict) and assignee.get("type", "user") == "user",
            email_subject=email.get("subject") if isinstance(email.get("subject"), str) else None,
            submitted_values=tuple(v for v in submitted if isinstance(v, dict)),
        )
    except (TypeError, ValueError):
        raise InvalidPayload("a Chatwoot id is not a number") from None


def customer_text(ev: ChatwootEvent) -> str:
    """What the customer said: an answered input_select counts as what they chose; email adds the subject."""
    text = ev.content
    if ev.content_type == "input_select" and ev.submitted_values:
        text = ", ".join(str(v.get("title") or v.get("value")) for v in ev.submitted_values)
    if ev.channel == "email" and ev.email_subject:
        text = f"{ev.email_subject}\n{text}".strip()
    return text


def decide(ev: ChatwootEvent) -> str:
    """"reply", "pause" (a human took over), "resume" (pending again) or "ignore"."""
    if ev.event == "message_created":
        if ev.message_type == "outgoing" and not ev.private and (ev.sender_type == "user" or ev.external_echo):
            return "pause"                  # a human agent (or the business phone) answered
        if ev.message_type != "incoming" or ev.private or ev.sender_type not in ("contact",):
            return "ignore"                 # outgoing, template, private note, bot or echo
        if ev.status not in (None, "pending"):
            return "ignore"                 # open = a human has it; resolved/snoozed: not ours
        return "reply"
    if ev.event == "message_updated" and ev.content_type == "input_select" and ev.submitted_values:
        return "reply" if ev.status in (None, "pending") else "ignore"
    if ev.event in ("conversation_updated", "conversation_status_changed"):
        if ev.status == "pending":
            return "resume"
        if ev.status == "open" or ev.assignee_is_human:
            return "pause"
    return "ignore"
