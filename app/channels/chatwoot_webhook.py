"""Chatwoot webhooks, exactly once: verify -> deduplicate -> enqueue (the HTTP answer, well under 5 s),
then a worker runs the tenant's graph and posts the reply.

  misybot:chatwoot:jobs            Redis stream of verified events (consumer group "workers")
  misybot:chatwoot:retry           zset of failed jobs -> due time (exponential backoff; survives restarts)
  misybot:chatwoot:dead            list of jobs that failed MAX_ATTEMPTS times
  {prefix}chatwoot:secrets         hash: api_token, webhook_secret, url_token (encrypted)
  {prefix}cw:seen:{delivery|msg}   dedupe markers (1 day)
  {prefix}cw:out:{message_id}      outbound record: the reply generated for a message, whether it was sent,
                                   and the user_id it belongs to (for data-subject export and erasure)
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import threading
from urllib.parse import urlsplit
import time

import redis

from app.channels.chatwoot_client import ChatwootClient, ChatwootError
from app.channels.chatwoot_events import ChatwootEvent, customer_text, decide, parse_event
from app.security.principal import Principal
from app.tenancy.config import PLATFORM_REDIS_PREFIX

log = logging.getLogger("misybot.chatwoot")
JOBS = f"{PLATFORM_REDIS_PREFIX}chatwoot:jobs"
RETRY = f"{PLATFORM_REDIS_PREFIX}chatwoot:retry"
DEAD = f"{PLATFORM_REDIS_PREFIX}chatwoot:dead"
GROUP = "workers"
SIGNATURE_WINDOW_S = 300
MAX_ATTEMPTS = 8
MAX_AUDIO_BYTES = 25 * 1024 * 1024
CLAIM_IDLE_MS = 15 * 60 * 1000        # far longer than any job (LLM timeout 20 s), so no job runs twice
DEDUPE_TTL_S = 24 * 3600

HANDOFF_TO_CUSTOMER = {
    "es": "Te comunico con una persona del equipo; te responderán por aquí en breve.",
    "en": "I'm connecting you with a person from our team; they'll reply here shortly.",
}
AUDIO_REPLY = {"es": "Por ahora no puedo escuchar audios. ¿Me lo podrías escribir, por favor?",
               "en": "I can't listen to voice messages yet. Could you type it for me, please?"}
IMAGE_REPLY = {"es": "Recibí tu imagen. No puedo verla, pero si me cuentas en texto qué necesitas, te ayudo.",
               "en": "I got your image. I can't see it, but if you tell me in text what you need, I'll help."}


class WebhookRejected(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


# -- secrets ------------------------------------------------------------------------------------------
def set_chatwoot_secrets(platform, keyspace, **values: str | None) -> None:
    enc = {k: platform.vault.encrypt(v) for k, v in values.items() if v}
    if enc:
        platform.redis.hset(keyspace.key("chatwoot", "secrets"), mapping=enc)


def get_chatwoot_secret(platform, keyspace, name: str) -> str | None:
    enc = platform.redis.hget(keyspace.key("chatwoot", "secrets"), name)
    return platform.vault.decrypt(enc) if enc else None


# -- intake (the HTTP side) ---------------------------------------------------------------------------
def verify_chatwoot_signature(secret: str, headers, raw: bytes, now: float | None = None) -> None:
    sig, ts = headers.get("X-Chatwoot-Signature", ""), headers.get("X-Chatwoot-Timestamp", "")
    if not sig or not ts:
        raise WebhookRejected(401, "signature_required", "the webhook is not signed")
    if not re.fullmatch(r"[0-9]{1,12}", ts) or abs((now or time.time()) - int(ts)) > SIGNATURE_WINDOW_S:
        raise WebhookRejected(401, "stale_webhook", "the webhook timestamp is more than 5 minutes off")
    expected = "sha256=" + hmac.new(secret.encode(), ts.encode() + b"." + raw, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), sig.encode("utf-8", "replace")):
        raise WebhookRejected(401, "invalid_signature", "the webhook signature does not match")


def accept_webhook(platform, config, headers, raw: bytes, url_token: str | None) -> dict:
    """Authenticate for this tenant, deduplicate, enqueue. Returns what was done (for the response/log)."""
    keyspace = platform.keyspace(config)
    try:
        payload = json.loads(raw)
    except ValueError:
        raise WebhookRejected(400, "invalid_json", "the body is not JSON") from None
    secret = get_chatwoot_secret(platform, keyspace, "webhook_secret")
    if headers.get("X-Chatwoot-Signature") or not config.chatwoot.allow_unsigned_webhooks:
        if not secret:
            raise WebhookRejected(401, "webhook_secret_missing", "this company has no webhook secret configured")
        verify_chatwoot_signature(secret, headers, raw)
    else:
        expected = get_chatwoot_secret(platform, keyspace, "url_token")
        if not expected or not url_token or not hmac.compare_digest(expected.encode(), url_token.encode("utf-8", "replace")):
            raise WebhookRejected(401, "invalid_url_token", "unsigned webhooks need this company's URL token")
    try:
        ev = parse_event(payload)
    except ValueError as exc:
        raise WebhookRejected(400, "invalid_payload", str(exc)) from None
    if ev.account_id is not None and config.chatwoot.account_id is not None and ev.account_id != config.chatwoot.account_id:
        raise WebhookRejected(403, "wrong_tenant", "this event belongs to another Chatwoot account")
    r = platform.redis
    delivery = headers.get("X-Chatwoot-Delivery")
    if delivery and not r.set(keyspace.key("cw", "seen", "delivery", delivery[:100]), 1, nx=True, ex=DEDUPE_TTL_S):
        return {"status": "duplicate", "reason": "delivery"}
    if ev.message_id is not None and not r.set(keyspace.key("cw", "seen", "msg", ev.event, str(ev.message_id)), 1,
                                               nx=True, ex=DEDUPE_TTL_S):
        return {"status": "duplicate", "reason": "message"}      # Chatwoot's double message_created bursts
    action = decide(ev)
    if action == "ignore":
        return {"status": "ignored"}
    r.xadd(JOBS, {"company_id": config.company_id, "payload": raw.decode("utf-8", "replace"), "attempt": 0},
           maxlen=100_000, approximate=True)
    return {"status": "queued", "action": action}


# -- the worker ---------------------------------------------------------------------------------------
class ChatwootWorker:
    def __init__(self, platform, consumer: str = "w1", client_factory=ChatwootClient):
        self.platform = platform
        self.consumer = consumer
        self.client_factory = client_factory
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        try:
            platform.redis.xgroup_create(JOBS, GROUP, id="0", mkstream=True)
        except redis.exceptions.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="chatwoot-worker", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(5)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once(block_ms=1000)
            except Exception as exc:     # Redis down, a closed connection at shutdown: the thread never dies
                if self._stop.is_set():
                    return
                log.error("chatwoot worker error: %s", type(exc).__name__)
                self._stop.wait(2)       # the service recovers by itself once Redis is back

    _MOVE = """
    if redis.call('zrem', KEYS[1], ARGV[1]) == 1 then
      local job = cjson.decode(ARGV[1])
      redis.call('xadd', KEYS[2], '*', 'company_id', job['company_id'], 'payload', job['payload'],
                 'attempt', tostring(job['attempt']))
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
        _, claimed, *_ = r.xautoclaim(JOBS, GROUP, self.consumer, min_idle_time=CLAIM_IDLE_MS, start_id="0-0", count=count)
        batch = [(JOBS, claimed)] if claimed else r.xreadgroup(GROUP, self.consumer, {JOBS: ">"}, count=count,
                                                               block=block_ms or None)
        done = 0
        for _, entries in batch or []:
            for entry_id, fields in entries:
                self._handle(entry_id, fields)
                done += 1
        return done

    def _handle(self, entry_id: str, fields: dict) -> None:
        r = self.platform.redis
        try:
            self.process(fields["company_id"], json.loads(fields["payload"]))
        except Exception as exc:            # any failure: retry with backoff, never lose the job
            attempt = int(fields.get("attempt", 0)) + 1
            retryable = getattr(exc, "retryable", True)
            job = {**fields, "attempt": attempt}
            if retryable and attempt < MAX_ATTEMPTS:
                r.zadd(RETRY, {json.dumps(job): time.time() + min(2 ** attempt, 300)})
                log.warning("chatwoot job failed, will retry: %s", type(exc).__name__,
                            extra={"company_id": fields.get("company_id"), "attempt": attempt})
            else:
                r.rpush(DEAD, json.dumps({**job, "error": type(exc).__name__}))
                log.error("chatwoot job gave up: %s", type(exc).__name__, extra={"company_id": fields.get("company_id")})
        # A handled job leaves the stream at once: the payload holds the customer's message and contact,
        # which must not outlive its use in a shared, platform-wide key.
        pipe = r.pipeline(transaction=True)
        pipe.xack(JOBS, GROUP, entry_id)
        pipe.xdel(JOBS, entry_id)
        pipe.execute()

    def process(self, company_id: str, payload: dict) -> None:
        p = self.platform
        config = p.registry.get(company_id)
        if config is None:
            return                           # offboarded since: nothing to do
        ctx = p.tenant_context(config, Principal("chatwoot", company_id))
        ev = parse_event(payload)
        action = decide(ev)
        user_id = f"cw-{ev.account_id or config.chatwoot.account_id}-{ev.conversation_id}"
        store = ctx.conversations
        if action == "pause":
            store.hand_off(user_id, "human_takeover")
            return
        if action == "resume":
            store.release(user_id)
            return
        if action != "reply":
            return
        self._reply(ctx, ev, user_id)

    def _client(self, ctx) -> ChatwootClient:
        token = get_chatwoot_secret(self.platform, ctx.keyspace, "api_token")
        if not token or not ctx.config.chatwoot.base_url:
            raise ChatwootError("this company has no Chatwoot URL or API token", retryable=False)
        return self.client_factory(ctx.config.chatwoot.base_url, token)

    def _reply(self, ctx, ev: ChatwootEvent, user_id: str) -> None:
        from app.conversations.chat import chat_turn
        from graphs.tenant.language import detect_language

        r = self.platform.redis
        out_key = ctx.keyspace.key("cw", "out", ev.event, str(ev.message_id))
        record = r.hgetall(out_key)
        if record.get("status") == "sent":
            return                           # a retry after the post went through: never post twice
        account = ev.account_id or ctx.config.chatwoot.account_id
        if not record:
            text = customer_text(ev)
            lang = detect_language(text, ctx.config.language) if text else ctx.config.language
            kinds = {a.get("file_type") for a in ev.attachments}
            if not text and "audio" in kinds:
                text = self._transcribe(ev, ctx.config.chatwoot.base_url)
                if not text:
                    record = {"status": "generated", "reply": AUDIO_REPLY[lang], "handoff": ""}
            elif not text and kinds & {"image", "file", "video"}:
                record = {"status": "generated", "reply": IMAGE_REPLY[lang], "handoff": ""}
            if not record:
                if not text:
                    return
                result = chat_turn(self.platform, ctx, user_id, text, ev.channel)
                if not result.bot_response and not result.handoff:
                    return
                if result.handoff and not result.bot_response:
                    return                   # already with a human: stay quiet
                record = {"status": "generated", "reply": result.bot_response,
                          "handoff": result.agent if result.handoff else "", "lang": lang}
            r.hset(out_key, mapping={**record, "user_id": user_id})
            r.expire(out_key, DEDUPE_TTL_S)
        client = self._client(ctx)
        if record.get("handoff"):
            reason = "emergencia médica detectada" if record["handoff"] == "emergency" else "el cliente pidió una persona"
            client.toggle_status(account, ev.conversation_id, "open")
            client.post_message(account, ev.conversation_id, f"🤖 Bot en pausa: {reason}. Último mensaje: "
                                f"{customer_text(ev)[:300]}", private=True)
        client.post_message(account, ev.conversation_id, record["reply"])
        r.hset(out_key, "status", "sent")

    @staticmethod
    def _from_chatwoot(url: str, base: str | None) -> bool:
        return bool(base) and urlsplit(url).scheme in ("http", "https") and \
            urlsplit(url).netloc == urlsplit(base).netloc

    def _transcribe(self, ev: ChatwootEvent, chatwoot_base_url: str | None) -> str:
        """Audio via an OpenAI-compatible transcription endpoint when TRANSCRIPTION_MODEL is configured."""
        s = self.platform.settings
        if not s.transcription_model or not (s.openai_base_url or s.openai_api_key):
            return ""
        import httpx
        from openai import OpenAI

        url = next((a.get("data_url") for a in ev.attachments if a.get("file_type") == "audio"), None)
        if not isinstance(url, str) or not self._from_chatwoot(url, chatwoot_base_url):
            return ""                          # only fetch media from this tenant's own Chatwoot host
        try:
            with httpx.stream("GET", url, timeout=10) as resp:
                chunks, size = [], 0
                for chunk in resp.iter_bytes():
                    size += len(chunk)
                    if size > MAX_AUDIO_BYTES:
                        return ""
                    chunks.append(chunk)
            audio = b"".join(chunks)
            key = s.openai_api_key.get_secret_value() if s.openai_api_key else "not-needed"
            out = OpenAI(base_url=s.openai_base_url, api_key=key, timeout=20).audio.transcriptions.create(
                model=s.transcription_model, file=("audio.ogg", audio))
            return (out.text or "").strip()
        except Exception as exc:            # transcription is a nicety: fall back to asking for text
            log.warning("transcription failed: %s", type(exc).__name__)
            return ""
