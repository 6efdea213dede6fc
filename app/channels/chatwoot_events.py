"""Chatwoot webhook payloads (v4.x) turned into one small event, and the rules for when the bot speaks.

Facts we rely on (checked in Chatwoot's source): the top-level `message_type` is a string ("incoming",
"outgoing", "template") while inside `conversation.messages[]` it is an int (0, 1, 3); a contact sender
has no `type`, agents are "user", bots "agent_bot", Chatwoot's AI "captain_assistant"; templates and
messages typed on the business phone (`content_attributes.external_echo`) have `sender: null`;
`conversation.id` is per account, so state is keyed on (account, conversation); payloads before 4.14.2
have no `account` key; 4.9-4.12 may send `content` as HTML. The conversation (a `conversation_*` event's
body, a message event's `conversation`) carries who has it in `meta.assignee` (`type` "user" for a person,
"agent_bot" for a bot; newer versions add `meta.assignee_type`, "User" or "AgentBot") and, in some
versions, `assignee_id` (people only); `conversation_updated` lists what changed in `changed_attributes`,
e.g. [{"assignee_id": {"previous_value": null, "current_value": 7}}].

Chatwoot adds fields every release: the models ignore what they do not name, and a field we only use as a
hint (a subject, an attachment list) that arrives in another shape is dropped rather than failing the event.
Only a missing event name or an id that is not a number makes a payload invalid.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Annotated, Any

from bs4 import BeautifulSoup
from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, WrapValidator

CHANNELS = {"Channel::WebWidget": "web", "Channel::Whatsapp": "whatsapp", "Channel::FacebookPage": "messenger",
            "Channel::Instagram": "instagram", "Channel::Email": "email", "Channel::Api": "api",
            "Channel::TwilioSms": "whatsapp", "Channel::Telegram": "api", "Channel::Line": "api",
            "Channel::Sms": "api"}
_INT_TYPES = {0: "incoming", 1: "outgoing", 2: "activity", 3: "template"}
# Events whose body is the conversation itself; the agent-bot webhook sends conversation_opened.
CONVERSATION_EVENTS = {"conversation_updated", "conversation_status_changed", "conversation_opened",
                       "assignee_changed"}


class InvalidPayload(ValueError):
    pass


def _or_none(value, handler):
    """A hint in an unexpected shape is dropped, not fatal."""
    try:
        return handler(value)
    except ValidationError:
        return None


def _object_or_none(value, handler):
    """A part that is not an object is absent; an object is validated (its ids must be numbers)."""
    return handler(value) if isinstance(value, dict) else None


def _message_type(value) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return _INT_TYPES.get(value)
    return value if isinstance(value, str) else None


Hint = WrapValidator(_or_none)
Part = WrapValidator(_object_or_none)
Truthy = BeforeValidator(bool)


class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Party(_Loose):
    type: Any = None


class Account(_Loose):
    id: int | None = None


class Meta(_Loose):
    assignee: Annotated[Party | None, Part] = None
    assignee_type: Annotated[str | None, Hint] = None


class Change(_Loose):
    current_value: Any = None


class Conversation(_Loose):
    id: int | None = None
    display_id: int | None = None
    account_id: int | None = None
    status: Annotated[str | None, Hint] = None
    channel: Annotated[str | None, Hint] = None
    meta: Annotated[Meta | None, Part] = None
    assignee_id: Annotated[int | None, Hint] = None
    messages: Any = None
    changed_attributes: Annotated[list[dict[str, Annotated[Change | None, Hint]]] | None, Hint] = None

    def has_person_assigned(self) -> bool:
        if self.assignee_id is not None:
            return True
        if self.meta and self.meta.assignee and (self.meta.assignee.type or "user") == "user" \
                and self.meta.assignee_type in (None, "User"):
            return True
        changes = [c.get("assignee_id") for c in self.changed_attributes or []]
        return any(change is not None and change.current_value is not None for change in changes)


class Email(_Loose):
    subject: Annotated[str | None, Hint] = None


class ContentAttributes(_Loose):
    external_echo: Annotated[bool, Truthy] = False
    email: Annotated[Email | None, Hint] = None
    submitted_values: Annotated[list[dict[str, Any]] | None, Hint] = None


class ChatwootPayload(Conversation):
    """An account webhook's or agent bot's body: a message event (conversation nested) or a conversation
    event (the body is the conversation)."""
    event: str
    account: Annotated[Account | None, Part] = None
    conversation: Annotated[Conversation | None, Part] = None
    message_type: Annotated[str | None, BeforeValidator(_message_type)] = None
    private: Annotated[bool, Truthy] = False
    sender: Annotated[Party | None, Part] = None
    content: Annotated[str | None, Hint] = None
    content_type: Annotated[str | None, Hint] = None
    content_attributes: Annotated[ContentAttributes | None, Part] = None
    attachments: Annotated[list[dict[str, Any]] | None, Hint] = None


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


def _text(content: str | None) -> str:
    if not content:
        return ""
    if "<" in content and re.search(r"</?[a-z][^>]*>", content, re.I):
        content = BeautifulSoup(content, "html.parser").get_text("\n")
    return re.sub(r"\n{3,}", "\n\n", content).strip()


def _conversation(p: ChatwootPayload) -> Conversation:
    if p.event.startswith("conversation_") or p.event in CONVERSATION_EVENTS:
        body_is_conversation = {"status", "messages"} <= p.model_fields_set
        return p if body_is_conversation or p.conversation is None else p.conversation
    return p.conversation or Conversation()


def account_of(payload) -> int | None:
    """The Chatwoot account an event belongs to, or None; never raises (it routes an unverified body)."""
    try:
        p = ChatwootPayload.model_validate(payload)
    except ValidationError:
        return None
    return (p.account and p.account.id) or _conversation(p).account_id or p.account_id


def parse_event(payload) -> ChatwootEvent:
    try:
        p = ChatwootPayload.model_validate(payload)
    except ValidationError as exc:
        problem = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in problem["loc"]) or "the payload"
        raise InvalidPayload(f"not a Chatwoot event: {where}: {problem['msg']}") from None
    conv = _conversation(p)
    attrs = p.content_attributes or ContentAttributes()
    return ChatwootEvent(
        event=p.event,
        account_id=(p.account and p.account.id) or conv.account_id or p.account_id,
        conversation_id=conv.display_id or conv.id,
        message_id=p.id if p.event.startswith("message_") else None,
        message_type=p.message_type,
        private=p.private,
        sender_type=None if p.sender is None else (p.sender.type or "contact"),
        external_echo=attrs.external_echo,
        content=_text(p.content),
        content_type=p.content_type,
        attachments=tuple(p.attachments or ()),
        channel=CHANNELS.get(conv.channel or p.channel or "", "api"),
        status=conv.status,
        assignee_is_human=conv.has_person_assigned(),
        email_subject=attrs.email.subject if attrs.email else None,
        submitted_values=tuple(attrs.submitted_values or ()),
    )


def customer_text(ev: ChatwootEvent) -> str:
    """What the customer said: an answered input_select counts as what they chose; email adds the subject."""
    text = ev.content
    if ev.content_type == "input_select" and ev.submitted_values:
        text = ", ".join(str(v.get("title") or v.get("value")) for v in ev.submitted_values)
    if ev.channel == "email" and ev.email_subject:
        text = f"{ev.email_subject}\n{text}".strip()
    return text


def decide(ev: ChatwootEvent) -> str:
    """"reply", "pause" (a human took over), "resume" (pending again) or "ignore".

    A conversation assigned to a person is theirs, whatever its status: the bot pauses, as after an agent's
    reply, and does not answer it even while it is pending.
    """
    if ev.event == "message_created":
        if ev.message_type == "outgoing" and not ev.private and (ev.sender_type == "user" or ev.external_echo):
            return "pause"                  # a human agent (or the business phone) answered
        if ev.message_type != "incoming" or ev.private or ev.sender_type not in ("contact",):
            return "ignore"                 # outgoing, template, private note, bot or echo
        if ev.assignee_is_human:
            return "pause"
        if ev.status not in (None, "pending"):
            return "ignore"                 # open = a human has it; resolved/snoozed: not ours
        return "reply"
    if ev.event == "message_updated" and ev.content_type == "input_select" and ev.submitted_values:
        if ev.assignee_is_human:
            return "pause"
        return "reply" if ev.status in (None, "pending") else "ignore"
    if ev.event in CONVERSATION_EVENTS:
        if ev.assignee_is_human or ev.status == "open":
            return "pause"
        if ev.status == "pending":
            return "resume"
    return "ignore"
