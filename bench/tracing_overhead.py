"""What tracing costs a turn (app/audit/tracing.py): microseconds per stage span and per Redis command, with no
exporter (the default: trace ids only), and for comparison with spans recorded.

    .venv/bin/python bench/tracing_overhead.py [redis://127.0.0.1:6379/8]

Figures are CPU time of this process (time.process_time, best of 5): what tracing adds, less disturbed by other
load on the machine, and without the wait for Redis' reply. Prints figures only; it keeps nothing in Redis (one
key, deleted at the end). A turn opens ~14 spans (turn, 11 stages, retrieve, generate) and runs some tens of
Redis commands.
"""
from __future__ import annotations

import os
import sys
import time
from typing import Callable

import redis
from flask import Flask
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from app.audit import tracing  # noqa: E402

N = 20_000


def per_call_us(fn: Callable[[], object], n: int = N) -> float:
    for _ in range(min(n, 1000)):          # warm-up
        fn()
    best = float("inf")
    for _ in range(5):
        started = time.process_time()
        for _ in range(n):
            fn()
        best = min(best, (time.process_time() - started) / n)
    return best * 1e6


def stage() -> None:
    with tracing.stage_span("run_graph", tenant="alpha"):
        pass


def nested_turn() -> None:
    with tracing.turn_span("alpha", "web", "api"):
        for name in ("resolve", "count_quota", "lock_conversation", "check_consent", "run_graph", "format_reply",
                     "persist", "hand_off", "queue_learning", "audit", "deliver"):
            with tracing.stage_span(name):
                pass


def flask_get(traced: bool) -> Callable[[], object]:
    app = Flask(__name__)
    if traced:
        tracing.init_tracing(app, None)

    @app.get("/ping/<user_id>")
    def ping(user_id: str) -> str:
        return "ok"

    client = app.test_client()
    return lambda: client.get("/ping/u1")


def main() -> None:
    os.environ.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
    os.environ.pop("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", None)
    url = sys.argv[1] if len(sys.argv) > 1 else "redis://127.0.0.1:6379/8"
    client = redis.Redis.from_url(url)
    client.set("bench:tracing", "x")

    def get() -> object:
        return client.get("bench:tracing")

    rows = [("a Python function call", per_call_us(lambda: None))]
    rows.append(("redis GET, not instrumented", per_call_us(get, 5000)))
    rows.append(("stage_span, tracing never initialised (no-op)", per_call_us(stage)))

    rows.append(("Flask test-client GET, no tracing hooks", per_call_us(flask_get(False), 2000)))
    tracing.init_tracing(None, None)                          # the default: no exporter, trace ids only
    rows.append(("Flask test-client GET, request span, no exporter", per_call_us(flask_get(True), 2000)))
    rows.append(("stage_span, no exporter (default)", per_call_us(stage)))
    rows.append(("turn span + 11 stage spans, no exporter", per_call_us(nested_turn, 2000)))

    tracing.init_tracing(None, None, provider=TracerProvider())   # recorded, but no processor
    rows.append(("stage_span, recorded, no processor", per_call_us(stage)))

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(tracing.SafeExporter(exporter)))
    tracing.init_tracing(None, None, provider=provider)       # recording: Redis gets instrumented from here on
    rows.append(("stage_span, recorded + batch export", per_call_us(stage)))
    rows.append(("turn span + 11 stage spans, recorded + batch", per_call_us(nested_turn, 2000)))
    rows.append(("redis GET, instrumented, recorded + batch", per_call_us(get, 5000)))
    provider.shutdown()

    tracing.init_tracing(None, None)          # back to no exporter in a process where Redis stays instrumented
    rows.append(("redis GET, instrumented, no exporter", per_call_us(get, 5000)))
    tracing.reset_tracing()
    client.delete("bench:tracing")

    for label, us in rows:
        print(f"{label:48s} {us:9.2f} µs")


if __name__ == "__main__":
    main()
