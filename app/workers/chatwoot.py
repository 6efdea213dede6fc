"""The Chatwoot worker: takes verified events off the shared stream (app/channels/chatwoot_webhook.py),
turns each customer message into an `Inbound` for the one turn pipeline, and delivers the reply through
Chatwoot's API exactly once.

A failed delivery is retried with backoff (the job survives restarts in a Redis zset); the outbound
record `{prefix}cw:out:{event}:{message_id}` keeps the generated reply, so a retry posts it again
without running the turn (or counting the quota) a second time.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
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
from graphs.tenant.language import detect_language

log = logging.getLogger("misybot.chatwoot")
MAX_ATTEMPTS = 8
MAX_AUDIO_BYTES = 25 * 1024 * 1024
CLAIM_IDLE_MS = 15 * 60 * 1000        # far longer than any job (LLM timeout 20 s), so no job runs twice
HOLD = f"{PLATFORM_REDIS_PREFIX}chatwoot:hold:"     # + company:conversation: a job of it awaits a retry
Q = ":queue"                          # + on a hold key: the conversation's jobs waiting behind it, in order
HOLD_TTL_S = 3600                     # longer than all of a job's retries (MAX_ATTEMPTS with backoff)
ALIVE = f"{PLATFORM_REDIS_PREFIX}chatwoot:alive:"   # + consumer name: set while that worker runs
HEARTBEAT_S = 2.0
ALIVE_TTL_S = 6                       # a killed worker's jobs are taken over within ~6 s
# What can fail for a while and then work again: Chatwoot's API, the network, Redis, a busy conversation.
TRANSIENT = (ChatwootError, httpx.HTTPError, redis.exceptions.RedisError, ConversationBusy, VectorStoreUnavailable,
             OSError)

AUDIO_REPLY = {"es": "Por ahora no puedo escuchar audios. ¿Me lo podrías escribir, por favor?",
               "en": "I can't listen to voice messages yet. Could you type it for me, please?"}
IMAGE_REPLY = {"es": "Recibí tu imagen. No puedo verla, pero si me cuentas en texto qué necesitas, te ayudo.",
               "en": "I got your image. I can't see it, but if you tell me in text what you need, I'll help."}
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


class ChatwootWorker:
    def __init__(self, platform, consumer: str = "w1", client_factory=ChatwootClient):
        self.platform = platform
        self.consumer = consumer
        self.client_factory = client_factory
        self.failures: Counter[str] = Counter()      # unexpected errors by type, for /health and metrics
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._next_takeover = 0.0
        self.ensure_group()

    def ensure_group(self) -> None:
        """The stream's consumer group; made again when Redis came back without it (restarted empty)."""
        try:
            self.platform.redis.xgroup_create(JOBS, GROUP, id="0", mkstream=True)
        except redis.exceptions.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def _recover(self, fn) -> None:
        try:
            fn()
        except redis.exceptions.RedisError as exc:
            log.error("chatwoot worker cannot recover yet: %s", type(exc).__name__)
            self._stop.wait(2)

    # -- liveness: a dead worker's unfinished jobs are taken over within seconds ---------------------
    def _alive_key(self, consumer: str | None = None) -> str:
        return f"{ALIVE}{consumer or self.consumer}"

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            try:
                self.platform.redis.set(self._alive_key(), 1, ex=ALIVE_TTL_S)
            except redis.exceptions.RedisError:
                pass                 # the job loop reports Redis being down

    def take_over_dead_consumers(self) -> int:
        """Claim the pending jobs of consumers whose heartbeat stopped (a process killed or stopped mid-job),
        instead of waiting for CLAIM_IDLE_MS. A live consumer refreshes its key every HEARTBEAT_S, so its
        jobs are never taken while it works on them."""
        r, taken = self.platform.redis, 0
        for info in r.xinfo_consumers(JOBS, GROUP):
            name = info["name"]
            if name == self.consumer or r.exists(self._alive_key(name)):
                continue
            if info["pending"]:
                ids = [p["message_id"] for p in r.xpending_range(JOBS, GROUP, "-", "+", 100, consumername=name)]
                taken += len(r.xclaim(JOBS, GROUP, self.consumer, 0, ids, justid=True)) if ids else 0
            else:
                r.xgroup_delconsumer(JOBS, GROUP, name)
        return taken

    def start(self) -> None:
        self.platform.redis.set(self._alive_key(), 1, ex=ALIVE_TTL_S)
        self._thread = threading.Thread(target=self._loop, name="chatwoot-worker", daemon=True)
        self._thread.start()
        threading.Thread(target=self._beat, name="chatwoot-heartbeat", daemon=True).start()

    def stop(self) -> None:
        """Graceful stop (SIGTERM): finish the job in hand if it ends soon, then say we are gone, so another
        process takes over what is left at once."""
        self._stop.set()
        if self._thread:
            self._thread.join(5)
        try:
            self.platform.redis.delete(self._alive_key())
        except redis.exceptions.RedisError:
            pass

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once(block_ms=1000)
            except redis.exceptions.RedisError as exc:
                if self._stop.is_set():
                    return           # the stores closed at shutdown
                if isinstance(exc, redis.exceptions.ResponseError) and ("NOGROUP" in str(exc)
                                                                       or "no such key" in str(exc)):
                    # Redis came back empty (restarted without its data): the group is made again at once,
                    # instead of failing every poll until the service restarts.
                    log.error("chatwoot jobs stream lost its consumer group: recreating it")
                    self._recover(self.ensure_group)
                    continue
                log.error("chatwoot worker cannot reach Redis: %s", type(exc).__name__)
                self._stop.wait(2)   # the service recovers by itself once Redis is back
            except Exception:        # a bug must not kill the thread: log it once, count it, go on
                if self._stop.is_set():
                    return
                log.exception("chatwoot worker loop error")
                self.failures["loop"] += 1
                self._stop.wait(2)

    _MOVE = """
    if redis.call('zrem', KEYS[1], ARGV[1]) == 1 then
      local job = cjson.decode(ARGV[1])
      redis.call('xadd', KEYS[2], '*', 'company_id', job['company_id'], 'payload', job['payload'],
                 'attempt', tostring(job['attempt']), 'head', tostring(job['head'] or ''))
      return 1
    end
    return 0"""

    def _requeue_due(self) -> None:
        """Move due retries back to the stream; remove-and-add is one Lua step, so a crash loses nothing
        and two workers never both take the same retry."""
        r = self.platform.redis
        move = r.register_script(self._MOVE)
        for raw in r.zrangebyscore(RETRY, "-inf", time.time(), start=0, num=100):
            move(keys=[RETRY, JOBS], args=[raw])

    def run_once(self, block_ms: int = 0, count: int = 32) -> int:
        """Process what is queued (and anything a crashed worker left unacknowledged). Returns jobs done."""
        r = self.platform.redis
        self._requeue_due()
        if time.monotonic() >= self._next_takeover:
            self._next_takeover = time.monotonic() + HEARTBEAT_S
            self.take_over_dead_consumers()
        # Our own pending jobs first: those taken over from a dead consumer, and (a safety net) any left
        # unacknowledged for CLAIM_IDLE_MS by a consumer that still looks alive.
        own = r.xreadgroup(GROUP, self.consumer, {JOBS: "0"}, count=count)
        _, claimed, *_ = r.xautoclaim(JOBS, GROUP, self.consumer, min_idle_time=CLAIM_IDLE_MS, start_id="0-0", count=count)
        if own and own[0][1]:
            batch = own
        elif claimed:
            batch = [(JOBS, claimed)]
        else:
            batch = r.xreadgroup(GROUP, self.consumer, {JOBS: ">"}, count=count, block=block_ms or None)
        done = 0
        for _, entries in batch or []:
            for entry_id, fields in entries:
                if not fields:           # deleted while pending (a handled job's ack and delete raced a crash)
                    r.xack(JOBS, GROUP, entry_id)
                    continue
                self._handle(entry_id, fields)
                done += 1
        return done

    def _handle(self, entry_id: str, fields: dict) -> None:
        r = self.platform.redis
        hold = _hold_key(fields)
        if hold and not fields.get("head") and (r.exists(hold) or r.llen(hold + Q)):
            # An earlier job of this conversation is waiting for a retry: this one waits behind it, so the
            # customer's replies arrive in the order they wrote. (A queue whose hold expired is run now.)
            r.rpush(hold + Q, json.dumps(fields))
            if not r.exists(hold):
                self._drain(hold)
        elif self._run_job(fields) == "retry" and hold:
            r.set(hold, 1, ex=HOLD_TTL_S)            # the conversation waits for this job's retry
        elif hold:
            if fields.get("head"):
                r.delete(hold)
            self._drain(hold)
        # A handled job leaves the stream at once: the payload holds the customer's message and contact,
        # which must not outlive its use in a shared, platform-wide key.
        pipe = r.pipeline(transaction=True)
        pipe.xack(JOBS, GROUP, entry_id)
        pipe.xdel(JOBS, entry_id)
        pipe.execute()

    def _run_job(self, fields: dict) -> str:
        """"ok", "retry" or "dead"."""
        company_id = fields["company_id"]
        attempts = int(fields.get("attempt", 0)) + 1
        try:
            self.process(company_id, json.loads(fields["payload"]))
            outcome, error = "ok", None
        except TRANSIENT as exc:             # retry with backoff, never lose the job
            outcome, error = self._retry_or_bury(fields, exc), exc
        except Exception as exc:             # a bug: retrying would repeat it; keep the job for a person
            log.exception("chatwoot job failed unexpectedly", extra={"company_id": company_id})
            self.failures[type(exc).__name__] += 1
            self.platform.redis.rpush(DEAD, json.dumps({**fields, "error": type(exc).__name__}))
            outcome, error = "dead", exc
        self._event(company_id, outcome, attempts, error)
        return outcome

    def _drain(self, hold: str) -> None:
        """The jobs that waited behind a retried one, in order, until one of them fails in turn (then it
        becomes the one the others wait for)."""
        r = self.platform.redis
        while raw := r.lpop(hold + Q):
            if self._run_job(json.loads(raw)) == "retry":
                r.set(hold, 1, ex=HOLD_TTL_S)
                return

    def _event(self, company_id: str, outcome: str, attempts: int, exc: Exception | None) -> None:
        self.platform.events.emit(Event("chatwoot_delivery", company_id, outcome, actor="chatwoot",
                                        fields={"attempts": attempts, "error": type(exc).__name__ if exc else None}))

    def _retry_or_bury(self, fields: dict, exc: Exception) -> str:
        """"retry" or "dead"."""
        r = self.platform.redis
        attempt = int(fields.get("attempt", 0)) + 1
        job = {**fields, "attempt": attempt, "head": 1}       # its conversation's other jobs wait for it
        if getattr(exc, "retryable", True) and attempt < MAX_ATTEMPTS:
            r.zadd(RETRY, {json.dumps(job): time.time() + min(2 ** attempt, 300)})
            log.warning("chatwoot job failed, will retry: %s", type(exc).__name__,
                        extra={"company_id": fields.get("company_id"), "attempt": attempt})
            return "retry"
        r.rpush(DEAD, json.dumps({**job, "error": type(exc).__name__}))
        log.error("chatwoot job gave up: %s", type(exc).__name__, extra={"company_id": fields.get("company_id")})
        return "dead"

    def process(self, company_id: str, payload: dict) -> None:
        p = self.platform
        config = p.registry.get(company_id)
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
        client, (account, conversation) = self._client(ctx), self._where(ctx, ev)
        if record.get("handoff"):
            reason = "emergencia médica detectada" if record["handoff"] == "emergency" else "el cliente pidió una persona"
            client.toggle_status(account, conversation, "open")
            client.post_message(account, conversation, f"🤖 Bot en pausa: {reason}. Último mensaje: "
                                f"{customer_text(ev)[:300]}", private=True)
        client.post_message(account, conversation, record["reply"])
        self.platform.redis.hset(out_key, "status", "sent")

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
