"""What the audit trail, metrics, analytics and traces add to a chat turn.

    .venv/bin/python bench/observability_bench.py [--turns 300] [--redis-url redis://127.0.0.1:6379/9]

One app on the shipped companies (benova's seed documents), the same question each turn through
POST /conversations/<id>/test. Turns alternate in blocks of 10 between
  bare      : no event subscribers, tracing back to OpenTelemetry's no-op tracer;
  observed  : the app as it ships (audit trail subscriber + its writer thread, metrics, analytics, trace ids, the
              events themselves; no OTLP endpoint, as on a machine without a collector)
so drift in the machine's load hits both alike. Prints p50/p95 per mode and the difference of the medians.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402

from app.audit import tracing  # noqa: E402
from bench._shipped import pct, shipped_app  # noqa: E402

ADMIN = "bench-admin-token-0123456789"
QUESTION = "¿Cuánto cuesta la limpieza facial profunda?"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--turns", type=int, default=300)
    ap.add_argument("--redis-url", default="redis://127.0.0.1:6379/9")
    args = ap.parse_args()
    print("command:", " ".join(sys.argv), "| cpus:", os.cpu_count())
    redis.Redis.from_url(args.redis_url).flushdb()
    with tempfile.TemporaryDirectory() as tmp:
        app = shipped_app(Path(tmp), args.redis_url, misybot_admin_token=ADMIN)
        platform = app.extensions["misybot"]
        c = app.test_client()
        key = c.post("/admin/companies/benova/api-keys", json={"permissions": ["chat"]},
                     headers={"Authorization": f"Bearer {ADMIN}"}).get_json()["api_key"]
        subscribers = list(platform.events._subscribers)
        # The in-turn cost of the subscribers themselves, measured directly: immune to the machine's load drift.
        emit_ms: list[float] = []
        real_emit = platform.events.emit

        def timed_emit(event):
            t0 = time.perf_counter()
            real_emit(event)
            emit_ms.append((time.perf_counter() - t0) * 1000)
        platform.events.emit = timed_emit
        provider, tracer, recording = tracing._Active.provider, tracing._Active.tracer, tracing._Active.recording

        def mode(observed: bool) -> None:
            platform.events._subscribers[:] = subscribers if observed else []
            if observed:
                tracing._Active.provider, tracing._Active.tracer, tracing._Active.recording = provider, tracer, recording
            else:
                tracing.reset_tracing()

        def turn() -> float:
            t0 = time.perf_counter()
            r = c.post(f"/conversations/u-{uuid.uuid4().hex[:10]}/test", json={"message": QUESTION},
                       headers={"X-API-Key": key})
            assert r.status_code == 200, r.get_json()
            return (time.perf_counter() - t0) * 1000

        for _ in range(20):            # warm caches, the classifier and the embedder
            turn()
        times: dict[str, list[float]] = {"bare": [], "observed": []}
        for block in range(args.turns // 10):
            name = "observed" if block % 2 else "bare"
            mode(name == "observed")
            if name == "bare":
                platform.events.emit = real_emit
            else:
                platform.events.emit = timed_emit
            times[name] += [turn() for _ in range(10)]
        mode(True)
        platform.audit.flush(30)
        per_turn = sum(emit_ms) / max(1, len(times["observed"]))
        print(f"events: {len(emit_ms)} emitted in observed mode, {per_turn:.3f} ms of subscriber work per turn "
              f"(request + turn events: audit buffer, metrics, analytics)")
        for name, values in times.items():
            print(f"{name:9s} turns {len(values):4d}  p50 {statistics.median(values):7.2f} ms  p95 {pct(values, 95):7.2f} ms")
        delta = statistics.median(times["observed"]) - statistics.median(times["bare"])
        print(f"observability adds {delta:+.2f} ms at p50 (target <= 1 ms); audit records written {platform.audit.written}, "
              f"dropped {platform.audit.dropped}")
        platform.close()
    redis.Redis.from_url(args.redis_url).flushdb()


if __name__ == "__main__":
    main()
