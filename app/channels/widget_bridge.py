"""A website-widget conversation that a person takes goes to the company's Chatwoot, and the person's
replies come back to the visitor's page: the widget is a channel like the others.

When the company names an API-channel inbox (`chatwoot.widget_inbox_id`, with `base_url` and its API token):
- a handoff (the customer asked for a person, an emergency) queues a job that creates the visitor's contact
  (with what the page passed to misy.init) and an open conversation in that inbox, and posts the transcript
  as a private note; a later handoff of the same visitor reopens that conversation;
- while a person has it, each visitor message is queued and posted there as the contact's message;
- Chatwoot's webhooks for that conversation come back through the usual intake: an agent's reply is
  appended to the history and sent to the page as a `message` from a person; the conversation resolved (or
  set pending) gives the visitor back to the bot.

The jobs ride the Chatwoot worker's stream (app/workers/chatwoot.py), so they are retried with backoff,
survive restarts and are posted once (an outbound record per job). Only ids and the message travel in the
shared stream; the transcript and contact details are read from the tenant's own keyspace when posting.
"""
from __future__ import annotations

import json
import secrets

from app.channels.chatwoot_webhook import JOBS
from app.channels.widget_channel import visitor_of

JOB_KEY = "widget_bridge"       # a job's payload {"widget_bridge": {...}} (Chatwoot's events never have it)
TRANSCRIPT_TURNS = 20
HANDOFF_REASONS = {"emergency": "posible emergencia médica", "requested_by_user": "el cliente pidió una persona",
                   "booking_change_inside_window": "cambio de cita dentro del plazo de cancelación"}
PERSON = "person"               # the `agent` of a turn a person wrote (in Chatwoot), in history and events


def bridged(config) -> bool:
    return bool(config.chatwoot.widget_inbox_id and config.chatwoot.base_url and config.chatwoot.account_id)


def _enqueue(redis_client, company_id: str, job: dict) -> None:
    job = {**job, "job_id": secrets.token_hex(12)}
    redis_client.xadd(JOBS, {"company_id": company_id, "payload": json.dumps({JOB_KEY: job}, ensure_ascii=False),
                             "attempt": 0}, maxlen=100_000, approximate=True)


def on_handoff(redis_client, config, user_id: str, reason: str | None) -> None:
    """A person takes a widget conversation: open it in Chatwoot. A takeover that started in Chatwoot
    (an agent answered there) needs nothing from us."""
    visitor = visitor_of(user_id)
    if visitor and bridged(config) and reason != "human_takeover":
        _enqueue(redis_client, config.company_id, {"kind": "handoff", "visitor": visitor, "reason": reason or ""})


def forward(redis_client, config, user_id: str, text: str) -> None:
    """The visitor wrote while a person has the conversation: post it there."""
    visitor = visitor_of(user_id)
    if visitor and bridged(config):
        _enqueue(redis_client, config.company_id, {"kind": "message", "visitor": visitor, "text": text})


def transcript(history: list[dict], reason: str, company_agent: str) -> str:
    lines = [f"🤖 Conversación del chat web pasada a una persona ({HANDOFF_REASONS.get(reason, reason or 'handoff')})."]
    for turn in history[-TRANSCRIPT_TURNS:]:
        who = "Cliente" if turn["role"] == "user" else ("Persona" if turn.get("agent") == PERSON else company_agent)
        lines.append(f"{who}: {turn['content'][:500]}")
    return "\n".join(lines)
