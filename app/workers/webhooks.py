"""The booking-webhook worker: sends what app/bookings/webhooks.py queued, for every tenant, at least once.

Claiming: one Lua step takes the earliest due member of `misybot:{webhooks}:due` and pushes its score forward by a
lease (it stays in the zset), so two workers never send the same attempt, and a worker that dies mid-send loses
nothing: the event comes due again when the lease runs out. Claims are one at a time, so the lease only has to
cover one request.

Outcome of an attempt: a 2xx acknowledges it (the event key and the member go). Anything else (another status, a
timeout, a refused connection) counts an attempt in the event's hash and re-schedules it with exponential backoff
and jitter (about 10 s, 30 s, 2 min, 10 min, 30 min, 1 h, 2 h, 4 h, then every 6 h); after `max_attempts` the
member moves to `misybot:{webhooks}:dead` and the event key is kept (until its 7-day TTL) for a person to look at.
A tenant that is gone, or no longer has a webhook URL, has its pending events dropped. Logs carry the event id,
type, tenant prefix and HTTP status only: the body holds customer data.
"""
from __future__ import annotations

import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable

import httpx
import redis

from app.bookings.webhooks import DEAD, DUE, EVENT_ID, parse_member, sign_webhook
from app.storage.redis_store import TenantKeyspace, declared_prefix, in_order

log = logging.getLogger("misybot.webhooks")

MAX_ATTEMPTS = 10
TIMEOUT_S = 5.0
BACKOFF_S = (10, 30, 120, 600, 1800, 3600, 7200, 14400, 21600)
JITTER = 0.2                    # ±20 %, so a receiver that was down is not hit by every retry at once
BATCH = 100                     # claims per run_once: stop() is honoured between two of them
USER_AGENT = "Misybot-Webhooks/1"

Resolver = Callable[[str], tuple[str | None, bytes | None] | None]

# KEYS: due zset. ARGV: now, lease_until. Returns the claimed member, or nil when nothing is due.
_CLAIM = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 1)
if #due == 0 then return false end
redis.call('ZADD', KEYS[1], ARGV[2], due[1])
return due[1]
"""


def backoff_s(attempt: int) -> float:
    """The wait after the attempt-th failed attempt (1-based), with jitter."""
    base = BACKOFF_S[min(max(attempt, 1), len(BACKOFF_S)) - 1]
    return base * random.uniform(1 - JITTER, 1 + JITTER)


class WebhookDeliverer:
    def __init__(self, redis_client: redis.Redis, resolve: Resolver, http: httpx.Client | None = None,
                 max_attempts: int = MAX_ATTEMPTS, timeout_s: float = TIMEOUT_S, interval_s: float = 1.0):
        """`resolve(redis_prefix)` gives (url, secret) of the tenant with that prefix, or None when it is gone."""
        self.redis = redis_client
        self.resolve = resolve
        self._own_http = http is None
        self.http = http or httpx.Client(follow_redirects=False, headers={"User-Agent": USER_AGENT})
        self.max_attempts = max_attempts
        self.timeout_s = timeout_s
        self.interval_s = interval_s
        self.lease_s = max(60.0, 6 * timeout_s)   # far longer than one request may take
        self.failures: Counter[str] = Counter()   # unexpected errors by type, for health and metrics
        self._claim = redis_client.register_script(_CLAIM)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle (the ChatwootWorker pattern) -----------------------------------------------------------------
    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="webhook-deliverer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(self.timeout_s + 5)
        if self._own_http:
            self.http.close()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except redis.exceptions.RedisError as exc:
                if self._stop.is_set():
                    return           # the stores closed at shutdown
                log.error("webhook worker cannot reach Redis: %s", type(exc).__name__)
                self._stop.wait(2)   # claimed events come due again when their lease ends: nothing is lost
                continue
            except Exception:        # a bug must not kill the thread: log it, count it, go on
                if self._stop.is_set():
                    return
                log.exception("webhook worker loop error")
                self.failures["loop"] += 1
                self._stop.wait(2)
                continue
            self._stop.wait(self.interval_s)

    # -- delivery -----------------------------------------------------------------------------------------------
    def run_once(self, now: float | None = None) -> int:
        """Send every due event (up to BATCH); returns how many were acknowledged with a 2xx.

        `now` is the queue's clock (tests move it forward past a backoff); the signed timestamp is always the
        wall clock, because the receiver checks it against its own."""
        delivered = 0
        for _ in range(BATCH):
            if self._stop.is_set():
                break
            clock = time.time() if now is None else now
            member = self._claim(keys=[DUE], args=[repr(clock), repr(clock + self.lease_s)])
            if member is None:
                break
            if isinstance(member, bytes):
                member = member.decode()
            delivered += self._attempt(member, clock)
        return delivered

    def _attempt(self, member: str, now: float) -> int:
        prefix, event_id = parse_member(member)
        if not EVENT_ID.match(event_id):
            self.redis.zrem(DUE, member)
            log.error("webhook queue member dropped: malformed event id (tenant %s)", prefix)
            return 0
        key = TenantKeyspace(self.redis, prefix).key("webhook", "event", event_id)
        record = self.redis.hgetall(key)
        if not record:
            self.redis.zrem(DUE, member)
            log.warning("webhook %s (tenant %s) expired before delivery", event_id, prefix)
            return 0
        event_type = record.get("type", "")
        target = self.resolve(declared_prefix(prefix))
        if target is None or not target[0]:
            in_order(self.redis, lambda pipe: pipe.zrem(DUE, member), lambda pipe: pipe.delete(key))
            log.info("webhook %s %s dropped: tenant %s is gone or has no webhook URL", event_id, event_type, prefix)
            return 0
        url, secret = target
        attempt = int(record.get("attempts") or 0) + 1
        outcome = self._post(str(url), secret, event_id, event_type, record["body"].encode(), attempt)
        if isinstance(outcome, int) and 200 <= outcome < 300:
            in_order(self.redis, lambda pipe: pipe.zrem(DUE, member), lambda pipe: pipe.delete(key))
            log.info("webhook %s %s delivered (tenant %s, status %s, attempt %d)", event_id, event_type, prefix,
                     outcome, attempt)
            return 1
        self._fail(member, key, event_id, event_type, prefix, attempt, outcome, now)
        return 0

    def _post(self, url: str, secret: bytes | None, event_id: str, event_type: str, body: bytes,
              attempt: int) -> int | str:
        """The HTTP status, or the name of what went wrong before there was one."""
        if not secret:
            return "no_secret"
        timestamp = str(int(time.time()))
        headers = {"Content-Type": "application/json", "X-Misy-Event-Id": event_id, "X-Misy-Event-Type": event_type,
                   "X-Misy-Timestamp": timestamp, "X-Misy-Signature": sign_webhook(secret, timestamp, body),
                   "X-Misy-Attempt": str(attempt)}
        try:
            # Streamed and never read: only the status matters, and a receiver cannot make us buffer a huge reply.
            with self.http.stream("POST", url, content=body, headers=headers, timeout=self.timeout_s) as resp:
                return resp.status_code
        except httpx.HTTPError as exc:
            return type(exc).__name__
        except ValueError:      # a URL httpx cannot use (no scheme, bad port): the company must fix it
            return "invalid_url"

    def _fail(self, member: str, key: str, event_id: str, event_type: str, prefix: str, attempt: int,
              outcome: int | str, now: float) -> None:
        record = {"attempts": attempt, "last_status": str(outcome), "last_attempt_at": repr(now)}
        if attempt >= self.max_attempts:
            in_order(self.redis, lambda pipe: pipe.hset(key, mapping=record),
                     lambda pipe: (pipe.zrem(DUE, member), pipe.zadd(DEAD, {member: now})))
            log.error("webhook %s %s gave up after %d attempts (tenant %s, last status %s)", event_id, event_type,
                      attempt, prefix, outcome)
            return
        in_order(self.redis, lambda pipe: pipe.hset(key, mapping=record),
                 lambda pipe: pipe.zadd(DUE, {member: now + backoff_s(attempt)}, xx=True))
        log.warning("webhook %s %s failed (tenant %s, status %s, attempt %d), will retry", event_id, event_type,
                    prefix, outcome, attempt)
