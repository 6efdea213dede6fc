"""Prometheus metrics, counted from the service's events (app/audit/events.py) and read at scrape time.

    metrics = Metrics(platform, audit=trail)    # trail: anything with int attributes `written` and `dropped`
    metrics.init_app(app)                       # subscribes to platform.events, hooks PII counting, serves GET /metrics
    body, content_type = metrics.scrape()

Every name exported is in EXPORTED_METRICS (the spec's list; the dashboards and alert rules query only these).
Labels stay bounded whatever the input: `tenant` is a company id of the registry, at most MISYBOT_METRICS_MAX_TENANTS
(default 100) of them per process, "other" past the cap and "none" for no or an unknown company; routes are URL rule
patterns and free-form labels (agent, channel, stage, provider, …) keep their first values and call the rest "other".
Nothing customer-written ever becomes a label: PII detections count entity types, never values.

The Chatwoot queue depth (stream + retry set) and dead letters are read from Redis at scrape time; when Redis does
not answer, the scrape leaves those two gauges out rather than failing.

Several processes (gunicorn workers)
------------------------------------
Each worker counts its own events, so a scrape that reaches one worker would see a fraction of the traffic.
prometheus-client's multiprocess mode fixes that: every process writes its numbers to memory-mapped files in one
directory and the scrape adds them up (histograms too). To turn it on:

1. Give gunicorn an empty directory in its environment, before it starts (prometheus-client chooses its mode at
   import time, so setting it from Python later is too late):
       PROMETHEUS_MULTIPROC_DIR=/run/misybot-metrics gunicorn -c gunicorn.conf.py 'app.factory:create_app()'
2. In gunicorn.conf.py, clear the old files at start and tell prometheus-client when a worker exits:
       from app.audit.metrics import gunicorn_child_exit as child_exit, gunicorn_on_starting as on_starting
   (or call `mark_process_dead(worker.pid)` from your own `child_exit(server, worker)` hook.)

Counters and histograms of a worker that exited keep counting in the sum (that is what a counter means). This
module keeps no per-process gauges: the only gauges are the scrape-time ones, read from Redis by the scraping process,
so they are never summed over workers. The tenant cap is per process, so with N workers up to N × cap tenant values
can appear in a sum.
"""
from __future__ import annotations

import glob
import logging
import os
import threading
import time
from collections import Counter as Tally
from typing import Any, Callable, Iterable

import redis
from prometheus_client import CollectorRegistry, Counter, Histogram, values
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector
from redis.backoff import NoBackoff
from redis.retry import Retry

from app.audit.events import Event
from app.channels.chatwoot_webhook import DEAD, JOBS, RETRY
from app.storage.redis_store import is_cluster

log = logging.getLogger("misybot.metrics")

EXTENSION = "misybot_metrics"           # app.extensions key the GET /metrics view reads
DEFAULT_MAX_TENANTS = 100
MAX_TENANTS_ENV = "MISYBOT_METRICS_MAX_TENANTS"

EXPORTED_METRICS: tuple[str, ...] = (
    "misybot_http_requests_total",
    "misybot_http_request_duration_seconds",
    "misybot_turns_total",
    "misybot_turn_stage_duration_seconds",
    "misybot_turn_duration_seconds",
    "misybot_handoffs_total",
    "misybot_emergencies_total",
    "misybot_llm_calls_total",
    "misybot_llm_tokens_total",
    "misybot_llm_duration_seconds",
    "misybot_chatwoot_deliveries_total",
    "misybot_chatwoot_queue_depth",
    "misybot_chatwoot_dead_letters",
    "misybot_ingestion_jobs_total",
    "misybot_security_refusals_total",
    "misybot_rate_limited_total",
    "misybot_pii_detections_total",
    "misybot_bookings_total",
    "misybot_audit_records_dropped_total",
    "misybot_audit_records_written_total",
)

# Fixed label values (spec): pre-created at zero so alerts on a rate see the series before the first event.
DELIVERY_OUTCOMES = ("ok", "retry", "dead", "skipped")
INGESTION_OUTCOMES = ("ok", "error")
REFUSAL_REASONS = ("bad_signature", "replay", "origin_refused", "token_revoked", "rate_limited", "invalid_credentials",
                   "missing_credentials", "insufficient_permissions", "tenant_mismatch", "other")
HANDOFF_REASONS = ("emergency", "asked_for_a_person", "booking", "other")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
BOOKING_AGENTS = ("schedule", "availability")
# A document upload is an ingestion job: created (201) is "ok"; unreadable (422) or our failure (5xx) is "error".
INGESTION_ROUTE = ("POST", "/documents")

# Seconds. Requests and stages are mostly milliseconds; a turn with an LLM can take tens of seconds.
FAST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
TURN_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0)
LLM_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0)


def multiprocess_dir() -> str | None:
    """The directory of multiprocess mode, or None when this process counts on its own."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not path:
        return None
    if not getattr(values.ValueClass, "_multiprocess", False):
        # Set after prometheus_client was imported: its values already live in this process's memory only.
        log.warning("PROMETHEUS_MULTIPROC_DIR was set too late (after prometheus_client was imported): "
                    "metrics count for this process only")
        return None
    return path


def gunicorn_on_starting(server) -> None:
    """gunicorn `on_starting` hook: a fresh start must not add the previous run's files (nor a reused pid's)."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if path and os.path.isdir(path):
        for stale in glob.glob(os.path.join(path, "*.db")):
            os.remove(stale)


def gunicorn_child_exit(server, worker) -> None:
    """gunicorn `child_exit` hook: prometheus-client's bookkeeping for a worker that is gone."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        mark_process_dead(worker.pid)


class _Bounded:
    """A label's first `cap` distinct values as themselves, later ones as "other": a bug or an odd input must
    not create series without end."""

    def __init__(self, cap: int):
        self.cap = cap
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, value: Any) -> str:
        if value is None or value == "":
            return "none"
        text = str(value)[:64]
        if text in self._seen:
            return text
        with self._lock:
            if len(self._seen) >= self.cap:
                return "other"
            self._seen.add(text)
        return text


class _Tenants:
    """The `tenant` label: a registry company id, at most `cap` of them; "other" past the cap, "none" otherwise."""

    REFRESH_S = 1.0           # how stale the registry's id list may be when an id is not admitted yet

    def __init__(self, company_ids: Callable[[], Iterable[str]] | None, cap: int):
        self._company_ids = company_ids
        self.cap = cap
        self._admitted: set[str] = set()
        self._known: frozenset[str] = frozenset()
        self._known_at = float("-inf")
        self._lock = threading.Lock()

    def _is_company(self, company_id: str) -> bool:
        now = time.monotonic()
        # Not known yet: perhaps onboarded since the last look (an unknown id re-reads the list at most once a second).
        if company_id not in self._known and self._company_ids is not None and now - self._known_at >= self.REFRESH_S:
            self._known, self._known_at = frozenset(self._company_ids()), now
        return company_id in self._known

    def __call__(self, company_id: str | None) -> str:
        if not company_id:
            return "none"
        if company_id in self._admitted:
            return company_id
        with self._lock:
            if not self._is_company(company_id):
                return "none"
            if len(self._admitted) >= self.cap:
                return "other"
            self._admitted.add(company_id)
        return company_id


def _max_tenants(platform, max_tenants: int | None) -> int:
    if max_tenants is not None:
        return max_tenants
    configured = getattr(getattr(platform, "settings", None), "metrics_max_tenants", None)
    if isinstance(configured, int):
        return configured
    try:
        return int(os.environ.get(MAX_TENANTS_ENV, DEFAULT_MAX_TENANTS))
    except ValueError:
        return DEFAULT_MAX_TENANTS


def _seconds(ms: Any) -> float | None:
    return ms / 1000.0 if isinstance(ms, (int, float)) and not isinstance(ms, bool) and ms >= 0 else None


def _status(value: Any) -> str:
    return str(value) if isinstance(value, int) and 100 <= value < 600 else "other"


def _handoff_reason(fields: dict) -> str:
    reason = str(fields.get("handoff_reason") or "")     # in case the event carries the graph's own reason
    if fields.get("emergency") or fields.get("agent") == "emergency" or reason == "emergency":
        return "emergency"
    if "asked_for_a_person" in (fields.get("route_reasons") or ()) or fields.get("agent") == "human" \
            or reason == "requested_by_user":
        return "asked_for_a_person"
    if fields.get("booking_status") or fields.get("agent") in BOOKING_AGENTS or "booking" in reason:
        return "booking"
    return "other"


def _impatient(client: redis.Redis) -> redis.Redis:
    """A client of the same server that gives up at once: with the app's retries and backoff a down Redis takes
    seconds per command, and a scrape has to answer within Prometheus' scrape timeout."""
    if is_cluster(client) or not hasattr(client, "connection_pool") or \
            type(client.connection_pool).__name__ == "SentinelConnectionPool":
        return client        # a cluster or Sentinel client routes by itself: the scrape uses it as it is
    pool = client.connection_pool
    kwargs = {k: v for k, v in pool.connection_kwargs.items() if not k.startswith("maint_notifications")}
    kwargs.update(socket_timeout=1.0, socket_connect_timeout=1.0, retry=Retry(NoBackoff(), 0))
    return redis.Redis(connection_pool=redis.ConnectionPool(connection_class=pool.connection_class, max_connections=2,
                                                            **kwargs))


class _ChatwootQueue(Collector):
    """Scrape-time gauges of the shared Chatwoot queue. Redis down means no sample, never a failed scrape."""

    def __init__(self, redis_client: Callable[[], Any]):
        self._redis_client = redis_client
        self._for: Any = None
        self._client: redis.Redis | None = None

    def _client_now(self) -> redis.Redis | None:
        client = self._redis_client()
        if client is not self._for:         # built once per client the platform has
            self._for, self._client = client, None if client is None else _impatient(client)
        return self._client

    def collect(self):
        try:
            client = self._client_now()
            if client is None:
                return []
            pipe = client.pipeline(transaction=False)
            pipe.xlen(JOBS)
            pipe.zcard(RETRY)
            pipe.llen(DEAD)
            jobs, retries, dead = pipe.execute()
        except Exception as exc:        # any Redis trouble: the rest of the scrape still answers
            log.warning("metrics: chatwoot queue not readable: %s", type(exc).__name__)
            return []
        return [GaugeMetricFamily("misybot_chatwoot_queue_depth",
                                  "Chatwoot jobs not done yet: queued or in progress, plus waiting for a retry",
                                  value=int(jobs) + int(retries)),
                GaugeMetricFamily("misybot_chatwoot_dead_letters", "Chatwoot jobs given up, kept for a person",
                                  value=int(dead))]


def _llm_outcome(reason) -> str:
    """ok, timeout, circuit_open (the breaker skipped the LLM), guard (an answer refused by our guard:
    invented figures, a prompt leak) or error (the endpoint failed otherwise): a bounded label."""
    if not reason:
        return "ok"
    if reason in ("timeout", "circuit_open"):
        return reason
    return "guard" if reason in ("UngroundedAnswer", "PromptLeak") else "error"


class Metrics:
    """An event subscriber that keeps the Prometheus metrics, and the scrape of them."""

    def __init__(self, platform=None, *, redis=None, company_ids: Callable[[], Iterable[str]] | None = None,
                 audit=None, max_tenants: int | None = None):
        self.platform = platform
        self.audit = audit                              # duck-typed: int attributes `written` and `dropped`
        self._redis = redis
        registry_ids = getattr(getattr(platform, "registry", None), "company_ids", None)
        self.tenant = _Tenants(company_ids or registry_ids, _max_tenants(platform, max_tenants))
        self._route, self._agent, self._channel = _Bounded(300), _Bounded(50), _Bounded(50)
        self._stage, self._provider, self._entity, self._booking = _Bounded(50), _Bounded(20), _Bounded(100), _Bounded(20)
        self.failures: Tally[str] = Tally()              # events we could not count, by exception type
        self._audit_seen = {"written": 0, "dropped": 0}
        self._audit_lock = threading.Lock()
        self.multiprocess_dir = multiprocess_dir()
        # Multiprocess: the metric objects write to the shared files and the scrape reads the files. Otherwise they
        # live in a registry of their own (so two apps in one process never collide).
        if self.multiprocess_dir:
            self._define(None)
            self.registry = CollectorRegistry()
            MultiProcessCollector(self.registry, path=self.multiprocess_dir)
        else:
            self.registry = CollectorRegistry()
            self._define(self.registry)
        # Read by the scraping process only: Redis is shared, so one reading is the platform's number.
        self.registry.register(_ChatwootQueue(self._redis_client))

    def _define(self, registry: CollectorRegistry | None) -> None:
        def counter(name: str, doc: str, labels: tuple[str, ...] = ()) -> Counter:
            return Counter(name, doc, labels, registry=registry)

        def histogram(name: str, doc: str, labels: tuple[str, ...], buckets: tuple[float, ...]) -> Histogram:
            return Histogram(name, doc, labels, registry=registry, buckets=buckets)

        self.http_requests = counter("misybot_http_requests_total", "Authenticated requests",
                                     ("route", "method", "status"))
        self.http_duration = histogram("misybot_http_request_duration_seconds", "Authenticated request latency",
                                       ("route",), FAST_BUCKETS)
        self.turns = counter("misybot_turns_total", "Chat turns", ("tenant", "agent", "channel", "outcome"))
        self.stage_duration = histogram("misybot_turn_stage_duration_seconds", "Time in each turn pipeline stage",
                                        ("stage",), FAST_BUCKETS)
        self.turn_duration = histogram("misybot_turn_duration_seconds", "Chat turn latency", ("channel",), TURN_BUCKETS)
        self.handoffs = counter("misybot_handoffs_total", "Turns handed to a person", ("tenant", "reason"))
        self.emergencies = counter("misybot_emergencies_total", "Turns the emergency agent answered", ("tenant",))
        self.llm_calls = counter("misybot_llm_calls_total", "Turns that used an LLM", ("provider", "outcome"))
        self.llm_tokens = counter("misybot_llm_tokens_total", "LLM tokens used", ("tenant",))
        self.llm_duration = histogram("misybot_llm_duration_seconds", "Graph time of turns that used an LLM",
                                      ("provider",), LLM_BUCKETS)
        self.deliveries = counter("misybot_chatwoot_deliveries_total", "Chatwoot reply deliveries", ("outcome",))
        self.ingestions = counter("misybot_ingestion_jobs_total", "Documents ingested", ("outcome",))
        self.refusals = counter("misybot_security_refusals_total", "401/403/429 answers", ("reason",))
        self.rate_limited = counter("misybot_rate_limited_total", "Requests refused by a rate limit", ("tenant",))
        self.pii = counter("misybot_pii_detections_total", "PII spans anonymized, by entity type", ("entity_type",))
        self.bookings = counter("misybot_bookings_total", "Booking events", ("tenant", "event"))
        self.audit_dropped = counter("misybot_audit_records_dropped_total", "Audit records lost")
        self.audit_written = counter("misybot_audit_records_written_total", "Audit records written")
        for family, outcomes in ((self.deliveries, DELIVERY_OUTCOMES), (self.ingestions, INGESTION_OUTCOMES),
                                 (self.refusals, REFUSAL_REASONS)):
            for outcome in outcomes:
                family.labels(outcome)

    # -- wiring ---------------------------------------------------------------------------------------------------
    def init_app(self, app) -> "Metrics":
        """Serve this instance at GET /metrics, subscribe it to the platform's events and count PII detections."""
        # Imported here: it loads the spaCy stack, which only the app (not a scrape or a test of counting) needs.
        from app.privacy import pii

        app.extensions[EXTENSION] = self
        platform = self.platform or app.extensions.get("misybot")
        if self.platform is None:
            self.platform = platform
        if platform is not None:
            platform.events.subscribe(self)
        # One counting Metrics per process: a newer app (tests build many) replaces the hook of an older one.
        pii.detection_observers[:] = [o for o in pii.detection_observers
                                      if not isinstance(getattr(o, "__self__", None), Metrics)]
        pii.detection_observers.append(self.count_pii)
        return self

    def _redis_client(self):
        return self._redis if self._redis is not None else getattr(self.platform, "redis", None)

    # -- counting -------------------------------------------------------------------------------------------------
    def __call__(self, event: Event) -> None:
        """The event subscriber: quick, and never raises (a bad event is counted in `failures`, and logged once)."""
        try:
            handler = self._HANDLERS.get(event.kind)
            if handler is not None:
                handler(self, event, event.fields if isinstance(event.fields, dict) else {})
            self._sync_audit()
        except Exception as exc:
            name = type(exc).__name__
            self.failures[name] += 1
            if self.failures[name] == 1:
                log.error("metrics could not count a %s event: %s", getattr(event, "kind", "?"), name)

    def count_pii(self, entity_types: Iterable[str]) -> None:
        """The PII hook (app/privacy/pii.py): the entity types one anonymization found."""
        try:
            for entity_type, n in Tally(entity_types).items():
                self.pii.labels(self._entity(entity_type)).inc(n)
        except Exception as exc:
            self.failures[type(exc).__name__] += 1

    def _request(self, event: Event, fields: dict) -> None:
        route = self._route(fields.get("route"))
        method = str(fields.get("method") or "").upper()
        method = method if method in METHODS else "other"
        status = fields.get("status")
        self.http_requests.labels(route, method, _status(status)).inc()
        seconds = _seconds(fields.get("duration_ms"))
        if seconds is not None:
            self.http_duration.labels(route).observe(seconds)
        if (method, fields.get("route")) == INGESTION_ROUTE and isinstance(status, int):
            if status == 201:
                self.ingestions.labels("ok").inc()
            elif status == 422 or status >= 500:
                self.ingestions.labels("error").inc()

    def _turn(self, event: Event, fields: dict) -> None:
        tenant, channel = self.tenant(event.company_id), self._channel(fields.get("channel"))
        outcome = event.outcome if event.outcome in ("ok", "handoff", "refused", "error") else "other"
        self.turns.labels(tenant, self._agent(fields.get("agent")), channel, outcome).inc()
        stages: dict = fields.get("stages_ms") or {}
        stages = stages if isinstance(stages, dict) else {}
        for stage, ms in stages.items():
            seconds = _seconds(ms)
            if seconds is not None:
                self.stage_duration.labels(self._stage(stage)).observe(seconds)
        seconds = _seconds(fields.get("duration_ms"))
        if seconds is not None:
            self.turn_duration.labels(channel).observe(seconds)
        if fields.get("handoff") or event.outcome == "handoff":
            self.handoffs.labels(tenant, _handoff_reason(fields)).inc()
        if fields.get("emergency"):
            self.emergencies.labels(tenant).inc()
        llm = fields.get("llm")
        if isinstance(llm, dict):
            provider = self._provider(llm.get("provider"))
            self.llm_calls.labels(provider, _llm_outcome(llm.get("fallback_reason"))).inc()
            tokens = llm.get("tokens")
            if isinstance(tokens, int) and not isinstance(tokens, bool) and tokens > 0:
                self.llm_tokens.labels(tenant).inc(tokens)
            seconds = _seconds(stages.get("run_graph"))
            if seconds is not None:
                self.llm_duration.labels(provider).observe(seconds)

    def _delivery(self, event: Event, fields: dict) -> None:
        self.deliveries.labels(event.outcome if event.outcome in DELIVERY_OUTCOMES else "other").inc()

    def _refusal(self, event: Event, fields: dict) -> None:
        reason = fields.get("reason")
        reason = reason if reason in REFUSAL_REASONS else "other"
        self.refusals.labels(reason).inc()
        if reason == "rate_limited":
            self.rate_limited.labels(self.tenant(event.company_id)).inc()

    def _booking_event(self, event: Event, fields: dict) -> None:
        self.bookings.labels(self.tenant(event.company_id), self._booking(fields.get("event"))).inc()

    def _ingestion(self, event: Event, fields: dict) -> None:
        """Ingestion outside a POST /documents request (seed documents, a worker): kind "ingestion", outcome ok|error."""
        self.ingestions.labels("ok" if event.outcome == "ok" else "error").inc()

    _HANDLERS: dict[str, Callable[["Metrics", Event, dict], None]] = {
        "request": _request, "turn": _turn, "chatwoot_delivery": _delivery, "security_refusal": _refusal,
        "booking": _booking_event, "ingestion": _ingestion,
    }

    def _sync_audit(self) -> None:
        """Carry the audit trail's own tallies into counters. Counters (not a scrape-time read) because in
        multiprocess mode each worker has its own trail, and only counters written by every worker add up."""
        audit = self.audit
        if audit is None:
            return
        with self._audit_lock:
            for attr, counter in (("written", self.audit_written), ("dropped", self.audit_dropped)):
                now = getattr(audit, attr, 0)
                if not isinstance(now, int):
                    continue
                if now > self._audit_seen[attr]:
                    counter.inc(now - self._audit_seen[attr])
                self._audit_seen[attr] = now          # a smaller number: a new trail, counted from here on

    # -- the scrape -----------------------------------------------------------------------------------------------
    def scrape(self, accept: str | None = None) -> tuple[bytes, str]:
        """The exposition for an Accept header: Prometheus text by default, OpenMetrics when asked for."""
        self._sync_audit()
        encoder, content_type = choose_encoder(accept or "")
        return encoder(self.registry), content_type
