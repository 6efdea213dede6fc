"""Retrieval benchmark on the four tenants' Spanish knowledge bases.

Ingests tenants/<id>/documents into fresh embedded stores, then asks the labelled questions in
bench/data/retrieval_questions.yaml (informal Spanish, slang, typos, some English). A result counts as
relevant when its chunk contains the question's `answer_contains` text.

    .venv/bin/python bench/retrieval_bench.py [--k 10] [--json out.json] [--misses] [--skip-blind]

Prints hit@1, hit@3 and MRR@k for dense, lexical, hybrid (fused, no reranking) and reranked (hybrid +
app/knowledge/rerank.py, what the API and the chat use) retrieval, side by side for the tuning set
(retrieval_questions.yaml), the old held-out set (retrieval_questions_holdout.yaml) and the blind
held-out set (retrieval_blind7.yaml, only when the file exists and --skip-blind is not given), with
ingestion throughput and search latency p50/p95. --misses lists the reranked misses of the tuning set and
blind sets 1 to 6 (tuned on since),
never of the held-out set (bench/data/README.md).
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

# (label, search mode, glossary query expansion, rerank)
MODES = (("dense", "dense", False, False), ("lexical-plain", "lexical", False, False),
         ("lexical", "lexical", True, False), ("hybrid", "hybrid", True, False), ("reranked", "hybrid", True, True))
# (label, file): tuning, old held-out, blind 1 to 5 (tuned on since), blind held-out (bench/data/README.md)
QUESTION_SETS = (("tuning", "retrieval_questions.yaml"), ("old held-out", "retrieval_questions_holdout.yaml"),
                 ("blind 1 (tuned)", "retrieval_blind1.yaml"), ("blind 2 (tuned)", "retrieval_blind2.yaml"),
                 ("blind 3 (tuned)", "retrieval_blind3.yaml"), ("blind 4 (tuned)", "retrieval_blind4.yaml"),
                 ("blind 5 (tuned)", "retrieval_blind5.yaml"),
                 ("blind 6 (tuned)", "retrieval_blind6.yaml"),
                 ("blind held-out", "retrieval_blind7.yaml"))
TUNING = "tuning"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def evaluate(ctxs, questions, k):
    stats = {label: {"hit1": 0, "hit3": 0, "rr": 0.0, "lat": []} for label, *_ in MODES}
    misses = []
    for q in questions:
        ctx = ctxs[q["company_id"]]
        for label, mode, expand, rerank in MODES:
            t0 = time.perf_counter()
            hits = ctx.knowledge.search(q["question"], k, mode, expand_query=expand, rerank=rerank)
            stats[label]["lat"].append((time.perf_counter() - t0) * 1000)
            rank = next((i for i, h in enumerate(hits, 1) if q["answer_contains"] in h.content), None)
            if rank:
                stats[label]["hit1"] += rank == 1
                stats[label]["hit3"] += rank <= 3
                stats[label]["rr"] += 1 / rank
            if label == "reranked" and (rank is None or rank > 1):
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
    ap.add_argument("--misses", action="store_true", help="list the reranked misses (tuning set and blind 1-6)")
    ap.add_argument("--skip-blind", action="store_true", help="do not load or score the blind held-out set")
    args = ap.parse_args()

    sets = {label: yaml.safe_load((ROOT / "bench/data" / name).read_text(encoding="utf-8"))
            for label, name in QUESTION_SETS
            if (ROOT / "bench/data" / name).exists() and not (args.skip_blind and label == "blind held-out")}
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
    for name, (rows, _, n) in results.items():
        report["sets"][name] = {"questions": n, "modes": rows}
    names = list(results)
    print("\n" + " | ".join(f"{name} ({results[name][2]})" for name in names))
    head = f"{'hit@1':>6} {'hit@3':>6} {'MRR@' + str(args.k):>7}"
    print(f"{'mode':14} " + " | ".join(head for _ in names) + f" | {'p50 ms':>7} {'p95 ms':>7}")
    for label, *_ in MODES:
        cells = [results[name][0][label] for name in names]
        lat = results[TUNING][0][label]
        print(f"{label:14} " + " | ".join(f"{r['hit@1']:6.3f} {r['hit@3']:6.3f} {r['mrr']:7.3f}" for r in cells)
              + f" | {lat['p50_ms']:7.1f} {lat['p95_ms']:7.1f}")
    print("(latency: tuning set, one query at a time, including query embedding)")
    if args.misses:
        for name in (TUNING, "blind 1 (tuned)", "blind 2 (tuned)", "blind 3 (tuned)", "blind 4 (tuned)",
                     "blind 5 (tuned)", "blind 6 (tuned)"):  # never held-out
            misses = results[name][1] if name in results else []
            print(f"\nreranked misses on the {name} set (not first): {len(misses)}")
            for cid, question, rank in misses:
                print(f"  [{cid}] rank={rank} {question}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
