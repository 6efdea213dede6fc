"""Traces (app/audit/tracing.py): the span tree of a request and its turn, what spans may carry (the tenant, labels,
counts; never the customer's words, a path, a query or a Redis value), trace ids for logs, and OTLP/HTTP export.

Every test brings its own provider or exporter; OpenTelemetry's global provider is never touched."""
from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from flask import Flask, g, jsonify
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from app.audit import tracing
from graphs.llm import Answer, AnswerRequest, Passage

CANARY = "Xylofon7Canary"            # stands for customer text: must appear in no span, ever
STAGES = ("resolve", "count_quota", "lock_conversation", "check_consent", "run_graph", "format_reply", "persist",
          "hand_off", "queue_learning", "audit", "deliver")


@pytest.fixture
def exporter(monkeypatch):
    """An in-memory exporter behind init_tracing; no OTLP endpoint from the environment."""
    for var in tracing.ENDPOINT_VARS:
        monkeypatch.delenv(var, raising=False)
    memory = InMemorySpanExporter()
    yield memory
    provider = tracing.active_provider()
    tracing.reset_tracing()
    if provider is not None:
        provider.shutdown()


def finished(memory: InMemorySpanExporter):
    provider = tracing.active_provider()
    assert provider is not None and provider.force_flush()
    return list(memory.get_finished_spans())


def by_name(spans, name):
    found = [s for s in spans if s.name == name]
    assert len(found) == 1, (name, [s.name for s in spans])
    return found[0]


def assert_no_canary(spans):
    assert spans
    for span in spans:
        assert CANARY not in span.to_json(), span.name     # name, attributes, events, status, links, resource


class FakeProvider:
    name = "openai"

    def answer(self, req: AnswerRequest) -> Answer:
        return Answer(f"respuesta para {req.question}", list(req.passages), True, "openai", tokens=42)


def fake_search(query: str, k: int) -> list[Passage]:
    return [Passage("doc-1", "Precios", f"texto sobre {query}", 0.9)]


def request_for(question: str, passages) -> AnswerRequest:
    return AnswerRequest(question=question, search_query=question, passages=passages, agent="sales", language="es",
                         tenant_language="es", company_name="Alpha", agent_name="Ana", persona="amable")


def tiny_app(redis_client, exporter: InMemorySpanExporter) -> Flask:
    """A Flask app that runs a turn the way the pipeline will once wired: turn span, a span per stage, the search
    and the provider wrapped, Redis commands inside persist."""
    app = Flask(__name__)
    tracing.init_tracing(app, None, exporter=exporter)
    search, provider = tracing.trace_search(fake_search), tracing.trace_provider(FakeProvider(), model="qwen-test")

    @app.post("/conversations/<user_id>/test")
    def chat(user_id):
        g.company_id = "alpha"
        record = logging.LogRecord("misybot.chat", logging.INFO, __file__, 1, "chat turn", None, None)
        tracing.TraceContextFilter().filter(record)
        with tracing.turn_span("alpha", "web", "api") as turn:
            for stage in STAGES:
                with tracing.stage_span(stage):
                    if stage == "run_graph":
                        provider.answer(request_for(f"{CANARY} cuánto vale?", search(f"{CANARY} precio", 4)))
                    if stage == "persist":
                        redis_client.rpush(f"{{alpha}}:conversation:{user_id}", json.dumps({"content": CANARY}))
                        redis_client.hset("{alpha}:profile:u", mapping={"name": CANARY})
                        with redis_client.pipeline() as pipe:
                            pipe.set(f"{{alpha}}:last:{CANARY}", CANARY).expire(f"{{alpha}}:last:{CANARY}", 60).execute()
            tracing.set_turn_attributes(turn, agent="sales", handoff=False, route_reasons=["price_question"])
        return jsonify(trace_id=tracing.current_trace_id(), logged=record.trace_id)

    return app


def test_a_request_is_a_tree_of_request_turn_stage_and_graph_spans(exporter, redis_client):
    app = tiny_app(redis_client, exporter)
    resp = app.test_client().post(f"/conversations/u-{CANARY}/test?note={CANARY}", json={"message": CANARY})
    assert resp.status_code == 200
    spans = finished(exporter)

    req = by_name(spans, "POST /conversations/<user_id>/test")
    assert req.parent is None
    assert req.attributes["http.route"] == "/conversations/<user_id>/test"
    assert req.attributes["http.request.method"] == "POST"
    assert req.attributes["http.response.status_code"] == 200
    assert req.attributes["misybot.tenant"] == "alpha"
    assert req.resource.attributes["service.name"] == "misybot"

    turn = by_name(spans, "turn")
    assert turn.parent.span_id == req.context.span_id
    assert dict(turn.attributes) == {"misybot.tenant": "alpha", "misybot.channel": "web", "misybot.source": "api",
                                     "misybot.agent": "sales", "misybot.handoff": False,
                                     "misybot.route_reasons": ("price_question",)}
    stages = {name: by_name(spans, name) for name in STAGES}
    assert all(s.parent.span_id == turn.context.span_id for s in stages.values())
    assert [s.name for s in sorted(stages.values(), key=lambda s: s.start_time)] == list(STAGES)

    retrieve, generate = by_name(spans, "retrieve"), by_name(spans, "generate")
    assert retrieve.parent.span_id == generate.parent.span_id == stages["run_graph"].context.span_id
    assert dict(retrieve.attributes) == {"misybot.k": 4, "misybot.hits": 1}
    assert generate.attributes["llm.provider"] == "openai" and generate.attributes["llm.tokens"] == 42
    assert generate.attributes["llm.model"] == "qwen-test" and generate.attributes["llm.grounded"] is True
    assert "llm.fallback_reason" not in generate.attributes            # None is left out

    # Redis: command names under the persist stage, never keys or values.
    redis_spans = [s for s in spans if s.attributes.get("db.system") == "redis"]
    statements = sorted(s.attributes["db.statement"] for s in redis_spans)
    assert statements == ["HSET ? ? ?", "RPUSH ? ?", "SET ? ?\nEXPIRE ? ?"]
    assert all(s.parent.span_id == stages["persist"].context.span_id for s in redis_spans)

    assert len({s.context.trace_id for s in spans}) == 1
    trace_id = format(req.context.trace_id, "032x")
    assert resp.get_json() == {"trace_id": trace_id, "logged": trace_id}      # the log filter saw the same trace
    assert_no_canary(spans)


def test_without_an_exporter_spans_have_trace_ids_but_record_nothing(exporter):
    assert tracing.current_trace_id() is None
    tracing.init_tracing(None, None)
    provider = tracing.active_provider()
    assert provider is not None and provider._active_span_processor._span_processors == ()   # nothing to export to
    with tracing.turn_span("alpha", "web", "api") as turn:
        trace_id = tracing.current_trace_id()
        with tracing.stage_span("run_graph", tenant="alpha") as stage:
            assert tracing.current_trace_id() == trace_id
            assert not stage.is_recording()
    assert not turn.is_recording()
    assert trace_id is not None and len(trace_id) == 32 and int(trace_id, 16) != 0
    assert tracing.current_trace_id() is None


def test_the_log_filter_adds_the_trace_id(exporter):
    tracing.init_tracing(None, None)
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append          # type: ignore[method-assign]
    handler.addFilter(tracing.TraceContextFilter())
    logger = logging.getLogger("misybot.test_tracing")
    logger.addHandler(handler)
    try:
        with tracing.turn_span("alpha", "web", "api"):
            logger.warning("inside")
            inside = tracing.current_trace_id()
        logger.warning("outside")
    finally:
        logger.removeHandler(handler)
    assert [r.trace_id for r in records] == [inside, None]


def test_a_failed_stage_keeps_the_exception_type_not_its_message(exporter):
    tracing.init_tracing(None, None, exporter=exporter)

    class QuotaExceeded(Exception):
        status = 429

    with pytest.raises(ValueError):
        with tracing.turn_span("alpha", "web", "api"), tracing.stage_span("run_graph"):
            raise ValueError(f"could not parse {CANARY}")
    with pytest.raises(QuotaExceeded):
        with tracing.stage_span("count_quota"):
            raise QuotaExceeded(CANARY)
    spans = finished(exporter)
    failed, refused = by_name(spans, "run_graph"), by_name(spans, "count_quota")
    assert failed.status.status_code is StatusCode.ERROR and failed.status.description == "ValueError"
    assert failed.attributes["error.type"] == "ValueError" and not failed.events
    assert refused.status.status_code is StatusCode.UNSET          # a refusal is not a server error
    assert refused.attributes["misybot.outcome"] == "refused"
    assert_no_canary(spans)


def test_the_exporter_scrubs_whatever_an_instrumentation_recorded():
    """The Redis instrumentation records FT.SEARCH queries and documents; an exception event carries its message:
    none of it may leave the process."""
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(tracing.SafeExporter(memory)))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("redis.search") as span:
        span.set_attributes({"db.system": "redis", "db.statement": f"FT.SEARCH idx {CANARY}",
                             "redis.search.query": CANARY, f"redis.search.xdoc_1.{CANARY}": CANARY,
                             "http.url": f"/conversations/{CANARY}", "misybot.tenant": "alpha",
                             "server.port": 6379})
        span.record_exception(RuntimeError(CANARY))
        span.set_status(StatusCode.ERROR, f"RuntimeError: {CANARY}")
    (out,) = memory.get_finished_spans()
    assert dict(out.attributes) == {"db.system": "redis", "db.statement": "FT.SEARCH ? ?", "misybot.tenant": "alpha",
                                    "server.port": 6379}
    assert [dict(e.attributes) for e in out.events] == [{"exception.type": "RuntimeError"}]
    assert out.status.description == "RuntimeError"
    assert_no_canary([out])


def test_a_channel_the_client_made_up_is_not_recorded(exporter):
    tracing.init_tracing(None, None, exporter=exporter)
    with tracing.turn_span("alpha", f"mi número es {CANARY}", "api"):
        pass
    assert by_name(finished(exporter), "turn").attributes["misybot.channel"] == "other"


def test_traced_wraps_any_callable_in_a_span(exporter):
    tracing.init_tracing(None, None, exporter=exporter)

    @tracing.traced("format", channel="whatsapp")
    def shout(text: str) -> str:
        return text.upper()

    assert shout.__name__ == "shout" and shout("hola") == "HOLA"
    assert dict(by_name(finished(exporter), "format").attributes) == {"misybot.channel": "whatsapp"}


def test_the_provider_proxy_is_the_provider_to_its_callers(exporter):
    tracing.init_tracing(None, None, exporter=exporter)

    class Fallback(FakeProvider):
        temperature = 0.2

        def answer(self, req):
            return Answer("x", [], False, "retrieval", fallback_reason="APITimeoutError", tokens=7)

    wrapped = tracing.trace_provider(Fallback())
    assert wrapped.name == "openai" and wrapped.temperature == 0.2
    wrapped.answer(request_for(CANARY, []))
    generate = by_name(finished(exporter), "generate")
    assert generate.attributes["llm.provider"] == "retrieval"
    assert generate.attributes["llm.configured_provider"] == "openai"
    assert generate.attributes["llm.fallback_reason"] == "APITimeoutError"
    assert generate.attributes["misybot.passages"] == 0 and generate.attributes["misybot.agent"] == "sales"


class _Collector(BaseHTTPRequestHandler):
    received: list[tuple[str, str, bytes]] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.received.append((self.path, self.headers.get("Content-Type", ""), body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_spans_are_exported_over_otlp_http_when_the_endpoint_is_set(monkeypatch):
    server = HTTPServer(("127.0.0.1", 0), _Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Collector.received = []
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{server.server_port}")
    for var in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    try:
        tracing.init_tracing(None, None)
        with tracing.turn_span("alpha", "web", "api"), tracing.stage_span("run_graph", **{"http.url": CANARY}):
            pass
        provider = tracing.active_provider()
        assert provider is not None and provider.force_flush(10_000)
    finally:
        tracing.reset_tracing()
        if provider is not None:
            provider.shutdown()
        server.shutdown()
        server.server_close()
    assert _Collector.received
    path, content_type, body = _Collector.received[0]
    assert path == "/v1/traces" and content_type == "application/x-protobuf"
    assert b"run_graph" in body and b"misybot" in body and CANARY.encode() not in body


def test_the_real_app_traces_a_chat_request_without_customer_text(exporter, app, client, issue_key):
    """The real service: a request span per request with the tenant once authenticated, Redis spans with command
    names only. Once the pipeline is wired, its turn and stage spans are checked by the same canary."""
    tracing.init_tracing(app, None, exporter=exporter)
    key = issue_key("alpha", ["chat", "documents:write"])
    doc = "# Precios\n\n## Limpieza facial\n\n- Precio: $180.000 COP por sesión\n- Duración: 60 minutos"
    assert client.post("/documents", json={"content": doc}, headers={"X-API-Key": key}).status_code == 201
    finished(exporter)
    exporter.clear()
    resp = client.post(f"/conversations/u-{CANARY}/test?note={CANARY}", headers={"X-API-Key": key},
                       json={"message": f"cuánto cuesta la limpieza facial? me llamo {CANARY}", "channel": "web"})
    assert resp.status_code == 200, resp.get_json()
    spans = finished(exporter)

    req = by_name(spans, "POST /conversations/<user_id>/test")
    assert req.attributes["http.route"] == "/conversations/<user_id>/test"
    assert req.attributes["misybot.tenant"] == "alpha" and req.attributes["http.response.status_code"] == 200
    # Redis commands of this request: under its span, command names only (the history RPUSH holds the message).
    redis_spans = [s for s in spans if s.attributes.get("db.system") == "redis" and s.context.trace_id == req.context.trace_id]
    assert redis_spans
    assert all(word == "?" for s in redis_spans for line in s.attributes["db.statement"].split("\n")
               for word in line.split(" ")[1:])
    for turn in (s for s in spans if s.name == "turn"):
        assert turn.attributes["misybot.tenant"] == "alpha"
    assert_no_canary(spans)


def test_failed_and_unmatched_requests_get_spans_without_path_or_message(exporter):
    app = Flask(__name__)
    tracing.init_tracing(app, None, exporter=InMemorySpanExporter())
    tracing.init_tracing(app, None, exporter=exporter)      # again on the same app: swaps the tracer, no second span

    @app.get("/boom/<user_id>")
    def boom(user_id):
        raise RuntimeError(f"bad {user_id}")

    client = app.test_client()
    assert client.get(f"/boom/{CANARY}").status_code == 500
    assert client.get(f"/nothing/{CANARY}").status_code == 404
    spans = finished(exporter)
    failed, unmatched = by_name(spans, "GET /boom/<user_id>"), by_name(spans, "GET")
    assert failed.status.status_code is StatusCode.ERROR and failed.status.description == "RuntimeError"
    assert failed.attributes["http.response.status_code"] == 500 and failed.attributes["error.type"] == "RuntimeError"
    assert "misybot.tenant" not in failed.attributes                  # no credential, no tenant
    assert "http.route" not in unmatched.attributes and unmatched.attributes["http.response.status_code"] == 404
    assert unmatched.status.status_code is StatusCode.UNSET
    assert_no_canary(spans)
