"""Retrieval benchmark on the four tenants' Spanish knowledge bases.

Ingests tenants/<id>/documents into fresh embedded stores, then asks the labelled questions in
bench/data/retrieval_questions.yaml (informal Spanish, slang, typos, some English). A result counts as
relevant when its chunk contains the question's `answer_contains` text.

    .venv/bin/python bench/retrieval_bench.py [--k 10] [--json out.json]

Prints hit@1, hit@3 and MRR@k for dense, lexical and hybrid retrieval, ingestion throughput, and
search latency p50/p95.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from app.knowledge.chunking import split_text  # noqa: E402
from app.platform import Platform  # noqa: E402
from app.security.principal import Principal  # noqa: E402
from app.settings import Settings  # noqa: E402
from app.tenancy.onboarding import ingest_documents, read_documents_dir  # noqa: E402

# (label, search mode, glossary query expansion)
MODES = (("dense", "dense", False), ("lexical-plain", "lexical", False), ("lexical", "lexical", True),
         ("hybrid", "hybrid", True))
QUESTION_SETS = ("retrieval_questions.yaml", "retrieval_questions_holdout.yaml")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def evaluate(ctxs, questions, k):
    stats = {label: {"hit1": 0, "hit3": 0, "rr": 0.0, "lat": []} for label, _, _ in MODES}
    misses = []
    for q in questions:
        ctx = ctxs[q["company_id"]]
        for label, mode, expand in MODES:
            t0 = time.perf_counter()
            hits = ctx.documents.search(q["question"], k, mode, expand_query=expand)
            stats[label]["lat"].append((time.perf_counter() - t0) * 1000)
            rank = next((i for i, h in enumerate(hits, 1) if q["answer_contains"] in h.content), None)
            if rank:
                stats[label]["hit1"] += rank == 1
                stats[label]["hit3"] += rank <= 3
                stats[label]["rr"] += 1 / rank
            if label == "hybrid" and (rank is None or rank > 3):
                misses.append((q["company_id"], q["question"], rank))
    n = len(questions)
    rows = {label: {"hit@1": round(s["hit1"] / n, 3), "hit@3": round(s["hit3"] / n, 3),
                    "mrr": round(s["rr"] / n, 3), "p50_ms": round(statistics.median(s["lat"]), 1),
                    "p95_ms": round(percentile(s["lat"], 95), 1)} for label, s in stats.items()}
    return rows, misses, n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--misses", action="store_true", help="list the hybrid misses")
    args = ap.parse_args()

    sets = {name: yaml.safe_load((ROOT / "bench/data" / name).read_text(encoding="utf-8"))
            for name in QUESTION_SETS}
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), companies_config_file=ROOT / "companies_config.yaml",
                            redis_url=None, qdrant_url=None, _env_file=None)
        platform = Platform.from_settings(settings)
        platform.embedder.embed_query("warm-up")
        split_text("warm-up")        # loads the tokenizer, so ingestion timing is steady-state
        admin = Principal("platform_admin", None)
        ctxs = {cid: platform.tenant_context(platform.registry.get(cid), admin)
                for cid in platform.registry.company_ids()}

        chunks_total, start = 0, time.perf_counter()
        for cid, ctx in ctxs.items():
            ingest_documents(ctx, read_documents_dir(ROOT / "tenants" / cid / "documents"))
            chunks_total += ctx.knowledge.count()
        ingest_s = time.perf_counter() - start

        results = {name: evaluate(ctxs, qs, args.k) for name, qs in sets.items()}
        platform.close()

    report = {"companies": len(ctxs), "chunks": chunks_total, "ingest_seconds": round(ingest_s, 2),
              "ingest_chunks_per_s": round(chunks_total / ingest_s, 1), "sets": {}}
    print(f"{len(ctxs)} companies, {chunks_total} chunks")
    print(f"ingestion: {chunks_total} chunks in {ingest_s:.2f} s = {chunks_total / ingest_s:.1f} chunks/s "
          f"(parse + chunk + embed + embedded Qdrant upsert)")
    for name, (rows, misses, n) in results.items():
        report["sets"][name] = {"questions": n, "modes": rows}
        print(f"\n{name}: {n} questions")
        print(f"{'mode':14} {'hit@1':>6} {'hit@3':>6} {'MRR@' + str(args.k):>7} {'p50 ms':>7} {'p95 ms':>7}")
        for label, row in rows.items():
            print(f"{label:14} {row['hit@1']:6.3f} {row['hit@3']:6.3f} {row['mrr']:7.3f} {row['p50_ms']:7.1f} "
                  f"{row['p95_ms']:7.1f}")
        if args.misses:
            print(f"hybrid misses (not in top 3): {len(misses)}")
            for cid, question, rank in misses:
                print(f"  [{cid}] rank={rank} {question}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
