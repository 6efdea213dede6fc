"""The Chatwoot worker: takes verified events off the shared stream (app/channels/chatwoot_webhook.py),
turns each customer message into an `Inbound` for the one turn pipeline, and delivers the reply through
Chatwoot's API exactly once. The stream mechanics (consumer group, retries, takeover of a dead worker's
jobs, order per conversation) are app/workers/jobs.py's.

A failed delivery is retried with backoff (the job survives restarts in a Redis zset); the outbound
record `{prefix}cw:out:{event}:{message_id}` keeps the generated reply, so a retry posts it again
without running the turn (or counting the quota) a second time.
"""
from __future__ import annotations

import json
import logging
import time
from urllib.parse import urlsplit

import httpx
import openai
import redis
from openai import OpenAI

from app.audit.events import Event
from app.channels.chatwoot_client import ChatwootClient, ChatwootError
from app.channels.chatwoot_events import CONVERSATION_EVENTS, ChatwootEvent, customer_text, decide, parse_event
from app.channels.chatwoot_webhook import DEAD, DEDUPE_TTL_S, GROUP, JOBS, RETRY, get_chatwoot_secret
from app.channels.widget_bridge import JOB_KEY, PERSON, transcript
from app.channels.widget_channel import user_id_for
from app.conversations.history import ConversationBusy
from app.conversations.pipeline import Inbound, QuotaExceeded, Turn, TurnRefused, run_pipeline
from app.knowledge.index import VectorStoreUnavailable
from app.security.principal import Principal
from app.tenancy.config import PLATFORM_REDIS_PREFIX
from app.tenancy.context import TenantContext
from app.workers.jobs import StreamWorker
from graphs.tenant.language import detect_language

log = logging.getLogger("misybot.chatwoot")
MAX_ATTEMPTS = 8
MAX_AUDIO_BYTES = 25 * 1024 * 1024
HOLD = f"{PLATFORM_REDIS_PREFIX}chatwoot:hold:"     # + company:conversation: a job of it awaits a retry
ALIVE = f"{PLATFORM_REDIS_PREFIX}chatwoot:alive:"   # + consumer name: set while that worker runs
# What can fail for a while and then work again: Chatwoot's API, the network, Redis, a busy conversation.
TRANSIENT = (ChatwootError, httpx.HTTPError, redis.exceptions.RedisError, ConversationBusy, VectorStoreUnavailable,
             OSError)

AUDIO_REPLY = {"es": "Por ahora no puedo escuchar audios. ¿Me lo podrías escribir, por favor?",
               "en": "I can't listen to voice messages yet. Could you type it for me, please?"}
IMAGE_REPLY = {"es": "Recibí tu imagen. No puedo verla, pero si me cuentas en texto qué necesitas, te ayudo.",
               "en": "I got your image. I can't see it, but if you tell me in text what you need, I'll help."}
POSTED_SKEW_S = 30.0       # clock difference tolerated between us and Chatwoot when finding an earlier post
QUOTA_NOTE = ("🤖 Bot en pausa: la cuota mensual de mensajes de esta empresa está agotada. "
              "Una persona debe responder esta conversación.")


def _hold_key(fields: dict) -> str | None:
    """The conversation a job belongs to (its replies must keep their order), or None."""
    try:
        payload = json.loads(fields["payload"])
        bridge = payload.get(JOB_KEY)
        if isinstance(bridge, dict):
            return f"{HOLD}{fields['company_id']}:widget:{bridge['visitor']}"
        ev = parse_event(payload)
    except (KeyError, ValueError, TypeError):
        return None
    if ev.conversation_id is None:
        return None
    return f"{HOLD}{fields['company_id']}:{ev.account_id or 0}:{ev.conversation_id}"


class ChatwootWorker(StreamWorker):
    NAME = "chatwoot"
    STREAM, GROUP, RETRY, DEAD, ALIVE = JOBS, GROUP, RETRY, DEAD, ALIVE
    MAX_ATTEMPTS = MAX_ATTEMPTS
    TRANSIENT = TRANSIENT

    def __init__(self, platform, consumer: str = "w1", client_factory=ChatwootClient, lanes: int = 1):
        self.client_factory = client_factory
        super().__init__(platform, consumer, lanes)

    def hold_key(self, fields: dict) -> str | None:
        return _hold_key(fields)

    def _event(self, company_id: str, outcome: str, attempts: int, exc: Exception | None) -> None:
        self.platform.events.emit(Event("chatwoot_delivery", company_id, outcome, actor="chatwoot",
                                        fields={"attempts": attempts, "error": type(exc).__name__ if exc else None}))

    def process(self, company_id: str, payload: dict) -> None:
        p = self.platform
        config = self.company(company_id)
        if config is None:
            return                           # offboarded since: nothing to do
        ctx = p.tenant_context(config, Principal("chatwoot", company_id))
        if isinstance(payload.get(JOB_KEY), dict):
            self._to_chatwoot(ctx, payload[JOB_KEY])
            return
        ev = parse_event(payload)
        action = decide(ev)
        account = ev.account_id or config.chatwoot.account_id
        visitor = ctx.widget.visitor_of_chatwoot(account, ev.conversation_id) \
            if account is not None and ev.conversation_id is not None else None
        if visitor is not None:
            self._to_widget(ctx, ev, visitor)
            return
        if action == "ignore":
            return
        user_id = f"cw-{account}-{ev.conversation_id}"
        if action == "pause":
            ctx.conversations.hand_off(user_id, "human_takeover")
        elif action == "resume":
            ctx.conversations.release(user_id)
        elif action == "reply":
            self._reply(ctx, ev, user_id)

    # -- website-widget conversations a person has (app/channels/widget_bridge.py) ----------------------
    def _to_chatwoot(self, ctx: TenantContext, job: dict) -> None:
        """Open the visitor's conversation in the company's inbox, or post the visitor's message there."""
        r, config = self.platform.redis, ctx.config
        out_key = ctx.keyspace.key("cw", "out", "widget", job["job_id"])
        if r.hget(out_key, "status") == "sent":
            return                               # a retry after it went through: never twice
        client, visitor = self._client(ctx), job["visitor"]
        account, inbox = config.chatwoot.account_id, config.chatwoot.widget_inbox_id
        if account is None or inbox is None:
            raise ChatwootError("this company has no Chatwoot inbox for its widget", retryable=False)
        where = ctx.widget.chatwoot_of(visitor)
        user_id = user_id_for(visitor)
        if job["kind"] == "handoff":
            if where is None:
                profile = ctx.widget.profile(visitor)
                contact_id, source_id = client.create_contact(
                    account, inbox, name=profile.get("name") or f"Visitante web {visitor[-6:]}",
                    identifier=user_id, email=profile.get("email"), phone=profile.get("phone"))
                where = (account, client.create_conversation(account, inbox, contact_id, source_id))
                ctx.widget.link_chatwoot(visitor, *where)
            else:
                client.toggle_status(*where, "open")
            note = transcript(ctx.conversations.history(user_id), job.get("reason", ""), config.sales_agent_name)
            client.post_message(*where, note, private=True)
        elif job["kind"] == "message":
            if where is None:            # its handoff job has not created the conversation yet: later
                raise ChatwootError("the visitor's Chatwoot conversation does not exist yet")
            client.post_message(*where, job["text"], message_type="incoming")
        r.hset(out_key, mapping={"status": "sent", "user_id": user_id})
        r.expire(out_key, DEDUPE_TTL_S)

    def _to_widget(self, ctx: TenantContext, ev: ChatwootEvent, visitor: str) -> None:
        """A Chatwoot event of a website visitor's conversation: a person's reply goes to the page; resolved
        (or pending again) gives the visitor back to the bot. The visitor's own messages, which we posted
        there, are not answered again."""
        user_id = user_id_for(visitor)
        if ev.event == "message_created":
            if ev.message_type == "outgoing" and not ev.private and ev.sender_type == "user" and ev.content:
                if not ctx.conversations.status(user_id).handed_off:
                    ctx.conversations.hand_off(user_id, "human_takeover")
                ctx.conversations.append(user_id, {"role": "assistant", "content": ev.content, "agent": PERSON})
                ctx.widget.publish(visitor, "message", {"id": f"cw{ev.message_id}", "role": "human",
                                                        "text": ev.content, "agent": PERSON, "at": time.time()})
        elif ev.event in CONVERSATION_EVENTS and ev.status in ("resolved", "pending") and not ev.assignee_is_human:
            ctx.conversations.release(user_id)

    def _client(self, ctx: TenantContext) -> ChatwootClient:
        token = get_chatwoot_secret(self.platform, ctx.keyspace, "api_token")
        if not token or not ctx.config.chatwoot.base_url:
            raise ChatwootError("this company has no Chatwoot URL or API token", retryable=False)
        return self.client_factory(ctx.config.chatwoot.base_url, token)

    # -- the channel adapter: inbound event -> pipeline -> deliver ---------------------------------------
    def _reply(self, ctx: TenantContext, ev: ChatwootEvent, user_id: str) -> None:
        r = self.platform.redis
        out_key = ctx.keyspace.key("cw", "out", ev.event, str(ev.message_id))
        record = r.hgetall(out_key)
        if record.get("status") == "sent":
            return                           # a retry after the post went through: never post twice
        if record:
            self._post(ctx, ev, out_key, record)      # generated before, not yet posted
            return
        text = customer_text(ev)
        lang = detect_language(text, ctx.config.language) if text else ctx.config.language
        kinds = {a.get("file_type") for a in ev.attachments}
        if not text and "audio" in kinds:
            text = self._transcribe(ev, ctx.config.chatwoot.base_url)
            if not text:
                self._save_and_post(ctx, ev, out_key, user_id, AUDIO_REPLY[lang], "")
                return
        elif not text and kinds & {"image", "file", "video"}:
            self._save_and_post(ctx, ev, out_key, user_id, IMAGE_REPLY[lang], "")
            return
        if not text:
            return
        inbound = Inbound(user_id, text, ev.channel, source="chatwoot")
        try:
            run_pipeline(self.platform, ctx, inbound, deliver_reply=lambda turn: self._deliver(turn, ev, out_key))
        except QuotaExceeded:
            # The customer must not be left unanswered without anyone knowing: a person takes over.
            client, (account, conversation) = self._client(ctx), self._where(ctx, ev)
            client.toggle_status(account, conversation, "open")
            client.post_message(account, conversation, QUOTA_NOTE, private=True)
        except TurnRefused as exc:
            log.warning("chatwoot message refused: %s", exc.code, extra={"company_id": ctx.company_id})

    def _deliver(self, turn: Turn, ev: ChatwootEvent, out_key: str) -> None:
        if not turn.reply:
            return                           # already with a human: stay quiet
        self._save_and_post(turn.tenant, ev, out_key, turn.inbound.user_id, turn.reply,
                            turn.agent if turn.handoff else "")

    def _save_and_post(self, ctx: TenantContext, ev: ChatwootEvent, out_key: str, user_id: str, reply: str,
                       handoff: str) -> None:
        record = {"status": "generated", "reply": reply, "handoff": handoff, "user_id": user_id}
        r = self.platform.redis
        r.hset(out_key, mapping=record)
        r.expire(out_key, DEDUPE_TTL_S)
        self._post(ctx, ev, out_key, record)

    @staticmethod
    def _where(ctx: TenantContext, ev: ChatwootEvent) -> tuple[int, int]:
        """(account, conversation) to post to."""
        account = ev.account_id or ctx.config.chatwoot.account_id
        if account is None or ev.conversation_id is None:
            raise ChatwootError("the event names no Chatwoot account or conversation to answer", retryable=False)
        return account, ev.conversation_id

    def _post(self, ctx: TenantContext, ev: ChatwootEvent, out_key: str, record: dict) -> None:
        """generated -> (noted: the handoff's note is up) -> posting -> sent. Chatwoot's API takes no idempotency
        key, so a job found in "posting" (a crash, a timeout or a 5xx after the post left) first looks for its
        reply among the conversation's latest messages and posts only when it is not there."""
        r = self.platform.redis
        client, (account, conversation) = self._client(ctx), self._where(ctx, ev)
        if record.get("handoff") and record.get("status") == "generated":
            reason = "emergencia médica detectada" if record["handoff"] == "emergency" else "el cliente pidió una persona"
            client.toggle_status(account, conversation, "open")
            client.post_message(account, conversation, f"🤖 Bot en pausa: {reason}. Último mensaje: "
                                f"{customer_text(ev)[:300]}", private=True)
            r.hset(out_key, "status", "noted")
        if record.get("status") == "posting" and self._already_posted(client, account, conversation, record):
            r.hset(out_key, "status", "sent")
            return
        started = time.time()
        r.hset(out_key, mapping={"status": "posting", "posting_at": f"{started:.3f}"})
        client.post_message(account, conversation, record["reply"])
        r.hset(out_key, "status", "sent")

    @staticmethod
    def _already_posted(client: ChatwootClient, account: int, conversation: int, record: dict) -> bool:
        """Is our reply in the conversation since the earlier attempt began? (outgoing, public, same text)"""
        since = float(record.get("posting_at") or 0) - POSTED_SKEW_S
        for m in client.recent_messages(account, conversation):
            created = m.get("created_at")
            outgoing = m.get("message_type") in (1, "outgoing")
            if outgoing and not m.get("private") and m.get("content") == record["reply"] and \
                    (not isinstance(created, (int, float)) or created >= since):
                return True
        return False

    @staticmethod
    def _from_chatwoot(url: str, base: str | None) -> bool:
        return bool(base) and urlsplit(url).scheme in ("http", "https") and \
            urlsplit(url).netloc == urlsplit(base).netloc

    def _transcribe(self, ev: ChatwootEvent, chatwoot_base_url: str | None) -> str:
        """Audio via an OpenAI-compatible transcription endpoint when TRANSCRIPTION_MODEL is configured."""
        s = self.platform.settings
        if not s.transcription_model or not (s.openai_base_url or s.openai_api_key):
            return ""
        url = next((a.get("data_url") for a in ev.attachments if a.get("file_type") == "audio"), None)
        if not isinstance(url, str) or not self._from_chatwoot(url, chatwoot_base_url):
            return ""                          # only fetch media from this tenant's own Chatwoot host
        try:
            with httpx.stream("GET", url, timeout=10) as resp:
                resp.raise_for_status()
                chunks, size = [], 0
                for chunk in resp.iter_bytes():
                    size += len(chunk)
                    if size > MAX_AUDIO_BYTES:
                        return ""
                    chunks.append(chunk)
            key = s.openai_api_key.get_secret_value() if s.openai_api_key else "not-needed"
            out = OpenAI(base_url=s.openai_base_url, api_key=key, timeout=20).audio.transcriptions.create(
                model=s.transcription_model, file=("audio.ogg", b"".join(chunks)))
            return (out.text or "").strip()
        except (httpx.HTTPError, openai.OpenAIError) as exc:    # a nicety: fall back to asking for text
            log.warning("transcription failed: %s", type(exc).__name__)
            return ""
