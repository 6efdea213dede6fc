"""Chatwoot webhooks, exactly once: verify -> deduplicate -> enqueue (the HTTP answer, well under 5 s),
then a worker (app/workers/chatwoot.py) runs the turn pipeline and posts the reply.

  misybot:{chatwoot}:jobs          Redis stream of verified events (consumer group "workers")
  misybot:{chatwoot}:retry         zset of failed jobs -> due time (exponential backoff; survives restarts)
  misybot:{chatwoot}:dead          list of jobs that failed MAX_ATTEMPTS times
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
import time

from app.channels.chatwoot_events import CONVERSATION_EVENTS, decide, parse_event
from app.security.principal import Principal
from app.tenancy.config import PLATFORM_REDIS_PREFIX

log = logging.getLogger("misybot.chatwoot")
# One hash tag for the queue's keys: moving a due retry back to the stream is one Lua step over both (Cluster).
JOBS = f"{PLATFORM_REDIS_PREFIX}{{chatwoot}}:jobs"
RETRY = f"{PLATFORM_REDIS_PREFIX}{{chatwoot}}:retry"
DEAD = f"{PLATFORM_REDIS_PREFIX}{{chatwoot}}:dead"
GROUP = "workers"
SIGNATURE_WINDOW_S = 300
DEDUPE_TTL_S = 24 * 3600


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
    # The webhook's own credential is checked below with this tenant's secrets; the context is opened
    # for the tenant its URL names, and nothing is enqueued unless the signature or URL token holds.
    keyspace = platform.tenant_context(config, Principal("chatwoot", config.company_id)).keyspace
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
    # A resolved conversation matters when it is a website visitor's that a person had: the worker gives
    # it back to the bot (app/channels/widget_bridge.py); for the others it is a no-op there.
    if action == "ignore" and not (ev.event in CONVERSATION_EVENTS and ev.status == "resolved"):
        return {"status": "ignored"}
    r.xadd(JOBS, {"company_id": config.company_id, "payload": raw.decode("utf-8", "replace"), "attempt": 0},
           maxlen=100_000, approximate=True)
    return {"status": "queued", "action": action}
