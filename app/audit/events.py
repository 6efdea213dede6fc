"""What the service tells its observers: one event per authenticated request, chat turn, Chatwoot delivery, admin
or credential action and security refusal. The audit trail and the metrics subscribe to the same events, so they
cannot disagree about what happened.

An event never carries customer text or a secret: the end user is a keyed pseudonym, the actor a credential id or
kind. Emitting never fails or blocks the caller: a subscriber that raises is logged and counted, nothing more.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable

log = logging.getLogger("misybot.events")

KINDS = ("request", "turn", "chatwoot_delivery", "admin_action", "security_refusal", "booking", "ingestion_job")


@dataclass(frozen=True)
class Event:
    kind: str                                   # one of KINDS
    company_id: str | None                      # None: no tenant was resolved (a refused request)
    outcome: str                                # ok | refused | error | handoff | retry | dead | …
    request_id: str | None = None
    actor: str | None = None                    # "api_key:key_3f…", "widget", "chatwoot", "platform_admin"
    trace_id: str | None = None
    at: float = field(default_factory=time.time)
    fields: dict[str, Any] = field(default_factory=dict)   # kind-specific, never customer text


class EventHub:
    """Fan-out to subscribers (the audit trail, the metrics). Subscribers are called in the emitting thread and
    must be quick; the audit trail buffers its own writes."""

    def __init__(self) -> None:
        self._subscribers: list[Callable[[Event], None]] = []
        self._lock = threading.Lock()
        self.failures: Counter[str] = Counter()

    def subscribe(self, subscriber: Callable[[Event], None]) -> None:
        with self._lock:
            self._subscribers.append(subscriber)

    def emit(self, event: Event) -> None:
        for subscriber in list(self._subscribers):
            try:
                subscriber(event)
            except Exception as exc:        # an observer must never fail a customer's turn
                self.failures[type(exc).__name__] += 1
                log.error("event subscriber failed: %s", type(exc).__name__)


# Our error codes, grouped into the kinds of refusal an operator watches (metrics, alerts, the audit trail).
_REASONS = {
    "invalid_signature": "bad_signature", "signature_required": "bad_signature", "replayed_request": "replay",
    "origin_not_allowed": "origin_refused", "origin_mismatch": "origin_refused", "token_revoked": "token_revoked",
    "rate_limited": "rate_limited", "invalid_credentials": "invalid_credentials", "invalid_client": "invalid_credentials",
    "invalid_publishable_key": "invalid_credentials", "token_expired": "invalid_credentials",
    "invalid_token": "invalid_credentials", "missing_credentials": "missing_credentials",
    "insufficient_permissions": "insufficient_permissions", "tenant_mismatch": "tenant_mismatch",
    "user_mismatch": "tenant_mismatch", "wrong_tenant": "tenant_mismatch", "stale_webhook": "replay",
    "invalid_url_token": "bad_signature",
}
SECURITY_STATUSES = (401, 403, 429)
# Routes whose state-changing calls are admin or credential actions (besides anything the platform admin does).
ADMIN_ROUTES = ("/admin/", "/catalog/", "/calendar/feeds/rotate", "/booking-webhook/rotate", "/privacy/users/")


def refusal_reason(error_code: str | None) -> str:
    return _REASONS.get(error_code or "", "other")


def actor_of(principal) -> str | None:
    """Who acted, by credential kind and id: never a secret."""
    if principal is None:
        return None
    return f"{principal.kind}:{principal.credential_id}" if principal.credential_id else principal.kind


def request_events(principal, company_id: str | None, method: str, route: str, status: int, duration_ms: float | None,
                   error_code: str | None, request_id: str | None, trace_id: str | None) -> list[Event]:
    """The events one finished HTTP request gives: a security refusal, or an authenticated request (and, for a
    state-changing admin or credential call, an admin action too)."""
    base = {"method": method, "route": route, "status": status}
    outcome = "ok" if status < 400 else "refused" if status < 500 else "error"
    if status in SECURITY_STATUSES:
        return [Event("security_refusal", company_id, "refused", request_id, actor_of(principal), trace_id,
                      fields=base | {"error_code": error_code, "reason": refusal_reason(error_code)})]
    if principal is None:
        return []
    events = [Event("request", company_id, outcome, request_id, actor_of(principal), trace_id,
                    fields=base | {"duration_ms": duration_ms, "error_code": error_code})]
    mutating = method in ("POST", "PUT", "PATCH", "DELETE")
    if mutating and (principal.is_platform_admin or route.startswith(ADMIN_ROUTES)):
        events.append(Event("admin_action", company_id, outcome, request_id, actor_of(principal), trace_id,
                            fields=base | {"target_company": company_id}))
    return events


class Deferred:
    """A subscriber run off the request thread: events wait in a bounded queue for one worker thread. For work that
    needs a Redis round trip per event (analytics counters) and may lag a second behind. A full queue drops the
    event and counts it: observing must never slow a customer's turn."""

    def __init__(self, subscriber: Callable[[Event], None], maxsize: int = 10_000, name: str = "deferred-events",
                 interval_s: float = 0.5):
        self.subscriber = subscriber
        self.interval_s = interval_s
        self.dropped = 0
        self._queue: queue.Queue[Event | None] = queue.Queue(maxsize)
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def __call__(self, event: Event) -> None:
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            self.dropped += 1

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join(5)

    def _run(self) -> None:
        while True:
            # Work in bursts, not per event: one wake-up a while instead of a thread switch inside every turn.
            time.sleep(self.interval_s)
            while True:
                try:
                    event = self._queue.get_nowait()
                except queue.Empty:
                    break
                if event is None:
                    return
                try:
                    self.subscriber(event)
                except Exception as exc:    # keep serving the next events; the subscriber logs its own details
                    log.error("deferred event subscriber failed: %s", type(exc).__name__)
