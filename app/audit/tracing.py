"""Distributed traces (OpenTelemetry): a span per request, per chat turn, per pipeline stage, per knowledge search,
per LLM answer and per Redis command.

Two modes, chosen by the environment like any OpenTelemetry service:
- OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) set: spans are recorded and exported over
  OTLP/HTTP by a BatchSpanProcessor, off the request thread. OTEL_TRACES_SAMPLER / _ARG pick the sampling.
- unset: the provider samples nothing. Every span still gets a real trace id (so log lines and audit records of one
  request share it) but records nothing, no processor runs and Redis commands open no span: a few microseconds a
  span, ~0.1 ms of CPU for the 13 spans of a turn on a loaded 2-core machine (bench/tracing_overhead.py).

What a span may carry is decided here, not by each caller. Our spans carry the tenant, channel, agent, stage and
counts, never the message, the reply, a query, a path or a body. Every span is scrubbed on its way to an exporter
(`SafeExporter`): only allow-listed attribute keys survive, Redis statements are reduced to command names,
exception events and status descriptions to the exception type. So an instrumentation that records too much (the
Redis one records FT.SEARCH queries and documents) cannot carry customer text out of the process.

`graphs/` may not import `app/`, so the knowledge search and the chat provider are traced from the outside:
`trace_search(search_fn)` and `trace_provider(provider)` wrap what app/conversations/pipeline.py hands the graph.
"""
from __future__ import annotations

import functools
import logging
import os
import re
import threading
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence, TypeVar

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import Link, Span, SpanKind, Status, StatusCode, Tracer
from opentelemetry.util import types

if TYPE_CHECKING:
    from flask import Flask

    from graphs.llm import Answer, AnswerRequest

log = logging.getLogger("misybot.tracing")

SERVICE_NAME = "misybot"
ENDPOINT_VARS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
TRACER_NAME = "misybot"

# Attribute keys an exported span may keep: ours (misybot.*, llm.*), the HTTP route/method/status, and what the
# Redis instrumentation says about the connection and the command *name*. Anything else is dropped at export.
ALLOWED_PREFIXES = ("misybot.", "llm.", "http.request.method", "http.response.status_code", "http.route",
                    "db.system", "db.redis.database_index", "db.redis.args_length", "db.redis.pipeline_length",
                    "db.namespace", "db.operation.name", "server.", "net.peer.", "net.transport", "network.",
                    "error.type")
STATEMENT_KEYS = ("db.statement", "db.query.text")       # kept as "SET ? ?": command names, never values
_HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"})
_MAX_ATTRIBUTE_LENGTH = 256
_LABEL = re.compile(r"[a-z][a-z0-9_]{0,31}")

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


# -- which tracer is live ------------------------------------------------------------------------------------------
class _Active:
    """The tracer of the latest init_tracing. Module state on purpose: the pipeline's stages run in request threads
    and in the Chatwoot worker alike, with no Flask app at hand. Before init_tracing it follows OpenTelemetry's
    global provider (a no-op unless someone set one)."""
    lock = threading.Lock()
    provider: TracerProvider | None = None
    tracer: Tracer = trace.get_tracer(TRACER_NAME)
    # False while nothing can be sampled (before init_tracing: we never set OpenTelemetry's global provider; or
    # no exporter): span attributes are then not even built and Redis commands open no span.
    recording = False


class _ActiveTracer(Tracer):
    """What the Redis instrumentation holds. It patches redis-py once per process, while every create_app (many
    in the tests) brings its own provider: each command goes to whichever tracer is live now."""

    def start_span(self, *args: Any, **kwargs: Any) -> Span:
        return _Active.tracer.start_span(*args, **kwargs)

    def start_as_current_span(self, *args: Any, **kwargs: Any) -> Any:
        if not _Active.recording:           # a Redis span nobody records is not worth a context switch
            return nullcontext(trace.INVALID_SPAN)
        return _Active.tracer.start_as_current_span(*args, **kwargs)


class _ActiveTracerProvider(trace.TracerProvider):
    def get_tracer(self, *args: Any, **kwargs: Any) -> Tracer:
        return _ActiveTracer()


def active_provider() -> TracerProvider | None:
    """The provider of the latest init_tracing (tests flush it; the lead may shut it down at exit)."""
    return _Active.provider


def reset_tracing() -> None:
    """Back to no tracing (test teardown). Shutting the provider down is the caller's business."""
    with _Active.lock:
        _Active.provider, _Active.tracer, _Active.recording = None, trace.get_tracer(TRACER_NAME), False


# -- setup -----------------------------------------------------------------------------------------------------------
def init_tracing(app: Flask | None, settings: Any = None, exporter: SpanExporter | None = None,
                 provider: TracerProvider | None = None) -> Tracer:
    """Make tracing live for this process and, given an app, open a span per request.

    `exporter` (tests: an InMemorySpanExporter) is added beside the OTLP one the environment may ask for; every
    exporter sits behind SafeExporter and a BatchSpanProcessor. `provider` lets a test bring its own provider
    instead of one built here; OpenTelemetry's global provider is never set, so any number of apps can coexist.
    Call it right after `Flask(__name__)`, before other hooks: its request span must open first and close last.
    """
    exporters: list[SpanExporter] = [exporter] if exporter is not None else []
    if any(os.environ.get(var) for var in ENDPOINT_VARS):
        exporters.append(_otlp_exporter())
    recording = bool(exporters) or provider is not None       # a caller's provider may sample: build attributes
    if provider is None:
        provider = build_provider(settings, recording=recording)
    for each in exporters:
        provider.add_span_processor(BatchSpanProcessor(SafeExporter(each)))
    tracer = provider.get_tracer(TRACER_NAME)
    with _Active.lock:
        _Active.provider, _Active.tracer, _Active.recording = provider, tracer, recording
    if recording:
        _instrument_redis()          # once per process, and only once spans are recorded: it costs every command
    if app is not None:
        if "misybot.tracer" not in app.extensions:
            _init_request_spans(app)
        app.extensions["misybot.tracing"] = provider        # a second init_tracing on the same app swaps the tracer
        app.extensions["misybot.tracer"] = tracer
    log.info("tracing on: %s", "exporting" if exporters else "trace ids only, nothing exported")
    return tracer


def build_provider(settings: Any = None, recording: bool = True) -> TracerProvider:
    """service.name is always "misybot" (OTEL_RESOURCE_ATTRIBUTES may add to it). Without an exporter nothing is
    sampled: spans keep real trace ids for logs and audit and cost next to nothing."""
    attributes: dict[str, str] = {"service.name": SERVICE_NAME}
    environment = getattr(settings, "environment", None)
    if isinstance(environment, str):
        attributes["deployment.environment.name"] = environment
    return TracerProvider(resource=Resource.create(attributes),
                          sampler=None if recording else ALWAYS_OFF,        # None: OTEL_TRACES_SAMPLER or always on
                          span_limits=SpanLimits(max_attribute_length=_MAX_ATTRIBUTE_LENGTH),
                          # nothing to flush at exit without an exporter; and no atexit hook keeping every test
                          # app's provider alive
                          shutdown_on_exit=recording)


def _otlp_exporter() -> SpanExporter:
    # Imported here: a process that exports nothing never loads protobuf and requests for it.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    return OTLPSpanExporter()       # endpoint, headers, timeout, compression: from the OTEL_EXPORTER_OTLP_* variables


def _instrument_redis() -> None:
    try:
        from opentelemetry.instrumentation.redis import RedisInstrumentor
    except ImportError:             # optional: without it there are no Redis spans, nothing else changes
        return
    instrumentor = RedisInstrumentor()
    with _Active.lock:
        if not instrumentor.is_instrumented_by_opentelemetry:
            # 0.66b2 already records "SET ? ?" rather than the values; SafeExporter enforces it whatever the version.
            instrumentor.instrument(tracer_provider=_ActiveTracerProvider())


# -- the request span ----------------------------------------------------------------------------------------------
def _init_request_spans(app: Flask) -> None:
    """Our own hooks (opentelemetry-instrumentation-flask 0.66b1 pins an older SDK): named by the URL rule, never
    the path, which can name a user ("/conversations/+573001234567"); no query string, no body, no headers.
    Incoming traceparent headers are not trusted: a request span is a root (public clients could forge them)."""
    from flask import current_app, g, request

    @app.before_request
    def _open_request_span() -> None:
        tracer: Tracer = current_app.extensions["misybot.tracer"]
        rule = request.url_rule.rule if request.url_rule is not None else None
        method = request.method if request.method in _HTTP_METHODS else "_OTHER"
        attributes: dict[str, types.AttributeValue] = {"http.request.method": method}
        if rule is not None:
            attributes["http.route"] = rule
        span = tracer.start_span(f"{method} {rule}" if rule else method, kind=SpanKind.SERVER, attributes=attributes,
                                 record_exception=False, set_status_on_exception=False)
        g.trace_span = span
        g.trace_token = otel_context.attach(trace.set_span_in_context(span))

    @app.after_request
    def _record_status(response):
        span = g.get("trace_span")
        if span is not None and span.is_recording():
            span.set_attribute("http.response.status_code", response.status_code)
            if response.status_code >= 500:
                span.set_status(Status(StatusCode.ERROR))
        return response

    @app.teardown_request
    def _close_request_span(exc: BaseException | None) -> None:
        span, token = g.pop("trace_span", None), g.pop("trace_token", None)
        if span is None:
            return
        if span.is_recording():
            _set(span, {"misybot.tenant": g.get("company_id"), "misybot.request_id": g.get("request_id")})
            if exc is not None:
                _mark_failed(span, exc)
        span.end()
        if token is not None:
            otel_context.detach(token)


# -- spans the pipeline opens --------------------------------------------------------------------------------------
class _SpanScope:
    """`with` a span as the current one. A class rather than a generator: it runs ~14 times a turn, and without an
    exporter the span itself costs next to nothing, so the wrapping should not either."""
    __slots__ = ("name", "attributes", "span", "token")

    def __init__(self, name: str, attributes: Mapping[str, Any]):
        self.name, self.attributes = name, attributes

    def __enter__(self) -> Span:
        # record_exception=False: an exception message may quote the customer; _mark_failed keeps only the type.
        self.span = _Active.tracer.start_span(self.name, attributes=_clean(self.attributes) if _Active.recording else None,
                                              record_exception=False, set_status_on_exception=False)
        self.token = otel_context.attach(trace.set_span_in_context(self.span))
        return self.span

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        try:
            if isinstance(exc, Exception):
                _mark_failed(self.span, exc)
        finally:
            otel_context.detach(self.token)
            self.span.end()


def _span(name: str, attributes: Mapping[str, Any]) -> _SpanScope:
    return _SpanScope(name, attributes)


def turn_span(tenant: str, channel: str, source: str) -> AbstractContextManager[Span]:
    """The parent span of one chat turn (every channel): `with turn_span(company_id, channel, source) as span:`.
    The channel comes from the client and is only validated by the turn's first stage: anything but a short
    label is recorded as "other"."""
    return _span("turn", {"tenant": tenant, "channel": _label(channel), "source": _label(source)})


def stage_span(name: str, **attributes: Any) -> AbstractContextManager[Span]:
    """A span for one pipeline stage, under the current span: `with stage_span(stage.__name__):`. Keyword
    attributes become misybot.<key> (a key with a dot is kept as given); None values are left out."""
    return _span(name, {"stage": name, **attributes})


def traced(name: str, **attributes: Any) -> Callable[[F], F]:
    """Decorator form: each call of the function runs in a span `name`."""
    def wrap(fn: F) -> F:
        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            with _span(name, attributes):
                return fn(*args, **kwargs)
        return run  # type: ignore[return-value]
    return wrap


def set_turn_attributes(span: Span, **attributes: Any) -> None:
    """What is known once the turn ran: set_turn_attributes(span, agent=turn.agent, handoff=turn.handoff,
    outcome="ok", emergency=..., grounded=...). Labels and flags only, never text."""
    if span.is_recording():
        _set(span, attributes)


def trace_search(search: Callable[[str, int], Sequence[T]]) -> Callable[[str, int], Sequence[T]]:
    """The graph's knowledge search, each call in a "retrieve" span with k and the number of hits (not the query)."""
    @functools.wraps(search)
    def traced_search(query: str, k: int) -> Sequence[T]:
        with _span("retrieve", {"k": k}) as span:
            hits = search(query, k)
            if span.is_recording():
                span.set_attribute("misybot.hits", len(hits))
            return hits
    return traced_search


class TracedProvider:
    """A chat provider whose every answer runs in a "generate" span: which provider answered, the tokens it cost,
    whether it was grounded and why an LLM answer fell back. Everything else is the wrapped provider's."""

    def __init__(self, inner: Any, model: str | None = None):
        self.inner = inner
        self.name: str = inner.name
        self.model = model

    def answer(self, req: AnswerRequest) -> Answer:
        with _span("generate", {"llm.configured_provider": self.name, "llm.model": self.model, "agent": req.agent,
                                "passages": len(req.passages)}) as span:
            out = self.inner.answer(req)
            if span.is_recording():
                _set(span, {"llm.provider": out.provider, "llm.tokens": out.tokens, "llm.grounded": out.grounded,
                            "llm.fallback_reason": out.fallback_reason})
            return out

    def __getattr__(self, attr: str) -> Any:
        return getattr(self.inner, attr)


def trace_provider(provider: Any, model: str | None = None) -> TracedProvider:
    return TracedProvider(provider, model)


# -- trace ids for logs and audit ----------------------------------------------------------------------------------
def current_trace_id() -> str | None:
    """The current trace id as 32 hex digits, or None outside any span."""
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else None


class TraceContextFilter(logging.Filter):
    """Adds `trace_id` to every log record, so a log line leads to its trace (and to the audit records of the same
    request). A record that already carries one (logged with extra=) keeps it when no span is current."""

    def filter(self, record: logging.LogRecord) -> bool:
        trace_id = current_trace_id()
        record.trace_id = trace_id if trace_id is not None else getattr(record, "trace_id", None)
        return True


# -- attribute hygiene ---------------------------------------------------------------------------------------------
def _label(value: str) -> str:
    return value if _LABEL.fullmatch(value) else "other"


def _key(name: str) -> str:
    return name if "." in name else f"misybot.{name}"


def _clean(attributes: Mapping[str, Any]) -> dict[str, types.AttributeValue]:
    out: dict[str, types.AttributeValue] = {}
    for name, value in attributes.items():
        if value is None:
            continue
        if isinstance(value, (str, bool, int, float)):
            out[_key(name)] = value
        elif isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
            out[_key(name)] = tuple(value)          # e.g. route_reasons: labels
        else:
            out[_key(name)] = str(value)
    return out


def _set(span: Span, attributes: Mapping[str, Any]) -> None:
    span.set_attributes(_clean(attributes))


def _mark_failed(span: Span, exc: BaseException) -> None:
    """The exception's type, never its message. A refusal (quota, a bad request: status < 500) is not an error."""
    if not span.is_recording():
        return
    span.set_attribute("error.type", type(exc).__name__)
    status = getattr(exc, "status", None)
    if isinstance(status, int) and status < 500:
        span.set_attribute("misybot.outcome", "refused")
    else:
        span.set_status(Status(StatusCode.ERROR, type(exc).__name__))


def _allowed(key: str) -> bool:
    return key.startswith(ALLOWED_PREFIXES) or key in STATEMENT_KEYS


def _command_names(statement: str) -> str:
    """"SET k v\\nEXPIRE k 5" → "SET ? ?\\nEXPIRE ? ?": the first word of each command, a "?" for each argument."""
    lines = []
    for line in statement.split("\n"):
        words = line.split(" ")
        lines.append(" ".join([words[0]] + ["?"] * (len(words) - 1)))
    return "\n".join(lines)


def scrub_attributes(attributes: types.Attributes) -> dict[str, types.AttributeValue]:
    out: dict[str, types.AttributeValue] = {}
    for key, value in (attributes or {}).items():
        if key in STATEMENT_KEYS and isinstance(value, str):
            out[key] = _command_names(value)
        elif _allowed(key):
            out[key] = value
    return out


def scrub_span(span: ReadableSpan) -> ReadableSpan:
    status = span.status
    if status.description:              # "ValueError: <message>" → "ValueError"
        status = Status(status.status_code, status.description.split(":", 1)[0][:100])
    events = [Event(e.name, {k: v for k, v in (e.attributes or {}).items() if k == "exception.type"}, e.timestamp)
              for e in span.events]
    links = [Link(link.context) for link in span.links]
    return ReadableSpan(name=span.name, context=span.context, parent=span.parent, resource=span.resource,
                        attributes=scrub_attributes(span.attributes), events=events, links=links, kind=span.kind,
                        status=status, start_time=span.start_time, end_time=span.end_time,
                        instrumentation_scope=span.instrumentation_scope)


class SafeExporter(SpanExporter):
    """Every exporter sits behind this: what leaves the process is scrubbed (runs in the batch thread, not the
    request's)."""

    def __init__(self, inner: SpanExporter):
        self.inner = inner

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self.inner.export([scrub_span(s) for s in spans])

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)
