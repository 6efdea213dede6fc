"""Turn latency with a hanging LLM endpoint, before and after the circuit breaker opens (LLM_TIMEOUT_S=3).

    .venv/bin/python bench/llm_faults_bench.py [--timeout 3] [--closed-turns 8] [--open-turns 50]

A tenant answered by tests/fake_openai.py, which accepts chat completions and never answers. Each turn goes
through the app (POST /conversations/<user>/test: quota, lock, retrieval, graph, persistence, audit):
- healthy: the endpoint answers at once (the baseline);
- hanging, breaker closed: every turn waits for the budget (LLM_BREAKER_FAILURES set out of reach);
- hanging, breaker open: after LLM_BREAKER_FAILURES timeouts the turns stop calling the endpoint.
Prints p50/p95/max per phase, the fallback reasons and how many requests reached the endpoint.
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.factory import create_app  # noqa: E402
from app.settings import Settings  # noqa: E402
from tests.fake_openai import FakeOpenAI  # noqa: E402

ADMIN = "bench-admin-token-0123456789abcdef"
PRICES = "## Bótox\n- Precio: $850.000 COP por tres zonas\n- Duración: 30 minutos"
GOOD = "El bótox cuesta $850.000 COP por tres zonas [1]."


def _app(tmp: Path, llm: FakeOpenAI, timeout_s: float, failures: int):
    config = tmp / "companies_config.yaml"
    shutil.copy(ROOT / "tests/fixtures/companies_test.yaml", config)
    config.write_text(config.read_text().replace(
        "    chatwoot: {account_id: 101}", "    chatwoot: {account_id: 101}\n    ai: {provider: openai, model: bench-model}"))
    return create_app(Settings(data_dir=tmp / "data", companies_config_file=config, tenants_dir=tmp / "tenants",
                               redis_url=None, qdrant_url=None, misybot_admin_token=ADMIN, environment="test",
                               openai_api_key="sk-bench", openai_base_url=llm.url, embeddings_model=None,
                               llm_timeout_s=timeout_s, llm_breaker_failures=failures, llm_breaker_reset_s=600.0,
                               chatwoot_worker=False, meta_worker=False, booking_webhook_worker=False,
                               audit_worker=False, log_level="ERROR"))


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _report(label: str, seconds: list[float], reasons: Counter, requests: int) -> None:
    print(f"{label:32s} n={len(seconds):3d}  p50={statistics.median(seconds):6.3f} s  "
          f"p95={_percentile(seconds, 0.95):6.3f} s  max={max(seconds):6.3f} s  "
          f"requests to the LLM={requests:3d}  reasons={dict(reasons)}")


def _phase(client, key: str, llm: FakeOpenAI, events: list, users: str, n: int):
    seconds, reasons, before = [], Counter(), llm.chat_requests()
    for i in range(n):
        started = time.perf_counter()
        r = client.post(f"/conversations/{users}{i}/test", json={"message": "cuánto vale el botox?"},
                        headers={"X-API-Key": key})
        seconds.append(time.perf_counter() - started)
        assert r.status_code == 200, r.get_json()
        reasons[(events[-1].fields.get("llm") or {}).get("fallback_reason") or "answered"] += 1
    return seconds, reasons, llm.chat_requests() - before


def run(timeout_s: float, failures: int, phases: list[tuple[str, str | None, int]]) -> None:
    llm = FakeOpenAI()
    llm.chat_reply = GOOD
    tmp = Path(tempfile.mkdtemp(prefix="misybot-llm-faults-"))
    app = _app(tmp, llm, timeout_s, failures)
    try:
        c = app.test_client()
        key = c.post("/admin/companies/alpha/api-keys", json={},
                     headers={"Authorization": f"Bearer {ADMIN}"}).get_json()["api_key"]
        c.post("/documents", json={"content": PRICES, "title": "Precios"}, headers={"X-API-Key": key})
        events: list = []
        app.extensions["misybot"].events.subscribe(lambda e: events.append(e) if e.kind == "turn" else None)
        _phase(c, key, llm, events, "warm", 2)            # models loaded, caches warm
        for label, fault, n in phases:
            llm.chat_fault = fault
            _report(label, *_phase(c, key, llm, events, f"{len(events)}-", n))
    finally:
        app.extensions["misybot"].vectors.close()
        llm.close()
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--timeout", type=float, default=3.0, help="LLM_TIMEOUT_S")
    ap.add_argument("--failures", type=int, default=3, help="LLM_BREAKER_FAILURES")
    ap.add_argument("--closed-turns", type=int, default=8)
    ap.add_argument("--open-turns", type=int, default=50)
    args = ap.parse_args()
    print(f"LLM_TIMEOUT_S={args.timeout}  LLM_BREAKER_FAILURES={args.failures}  (turn wall time through the app)")
    # Breaker out of reach: what every turn costs while the endpoint hangs and nothing stops calling it.
    run(args.timeout, 10**6, [("healthy endpoint", None, args.open_turns),
                              ("hanging, breaker closed", "hang", args.closed_turns)])
    # The breaker at its setting: the first failures pay the budget, then the turns answer at once.
    run(args.timeout, args.failures, [("hanging, until the breaker opens", "hang", args.failures),
                                      ("hanging, breaker open", "hang", args.open_turns)])


if __name__ == "__main__":
    main()
