"""Hot-path benchmark: how fast is one offline (retrieval-only, no LLM) chat turn, alone and under load?

    .venv/bin/python bench/hot_path_bench.py [--turns 120] [--rounds 2] [--redis-url URL]
                                             [--threads N] [--profile N] [--no-cache]

Builds the app on the four shipped tenants (seeded, rate limits lifted: bench/_shipped.py) over embedded
Qdrant and the given Redis (default: the embedded one under a temp dir), then, through the real Flask endpoint
POST /conversations/<user>/test (the pipeline every channel runs) with the test client:
- sequential: p50/p95 of one turn over the customer questions of the tuning set (retrieval_questions.yaml;
  never a blind set), each question in a new conversation, after a short warm-up on other text;
- concurrent: turns/s and p50/p95 with 8 customers at once (threads, each its own conversation per tenant, so
  history is read and written and grows), in --rounds rounds that each ask every question once;
- the hit rate of the query-embedding cache (app/storage/embeddings.py) in each phase. The cache is cleared
  before each phase and round and every question is asked once in it, so the hit rate is ~0 and the figures
  are what distinct questions cost (a bench that repeats queries would flatter the cache).
--profile N runs cProfile over N sequential turns (distinct questions) and prints the top 25 entries by
cumulative and by own time. --threads sets torch's intra-op threads; --no-cache turns the embedding cache off.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from bench._shipped import pct, shipped_app  # noqa: E402

ADMIN = "bench-admin-token-0123456789"
TENANTS = ("benova", "medispa", "dental", "wellness")
WARMUP = ("hola", "buenas tardes, una pregunta", "gracias!")     # not in the question set: loads the model


def clear_cache(platform) -> None:
    clear = getattr(platform.embedder, "clear_query_cache", None)
    if clear:
        clear()


def cache_stats(platform) -> tuple[int, int]:
    """(hits, misses) of the offline embedder's query cache, or (0, 0) when there is none."""
    stats = getattr(platform.embedder, "query_cache_stats", None)
    return stats() if stats else (0, 0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--turns", type=int, default=120, help="sequential turns (distinct questions, cycled if more)")
    ap.add_argument("--rounds", type=int, default=2,
                    help="concurrent rounds; each asks every question once, on a cleared cache")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--redis-url", default=None, help="a Redis server (default: the embedded one)")
    ap.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: the app's choice)")
    ap.add_argument("--profile", type=int, default=0, metavar="N", help="cProfile N sequential turns")
    ap.add_argument("--save", metavar="PATH", help="with --profile: also write the raw profile there")
    ap.add_argument("--no-cache", action="store_true", help="turn the query-embedding cache off")
    args = ap.parse_args()
    questions = [(q["company_id"], q["question"]) for q in
                 yaml.safe_load((ROOT / "bench/data/retrieval_questions.yaml").read_text(encoding="utf-8"))]
    print(f"command: {' '.join(sys.argv)} | cpus: {os.cpu_count()} | load avg {os.getloadavg()[0]:.2f} | "
          f"{len(questions)} distinct questions (tuning set)")
    if args.redis_url:
        import redis
        redis.Redis.from_url(args.redis_url).flushdb()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        app = shipped_app(Path(tmp), args.redis_url, misybot_admin_token=ADMIN)
        platform = app.extensions["misybot"]
        print(f"app built and seeded in {time.perf_counter() - t0:.1f} s")
        if args.no_cache and hasattr(platform.embedder, "query_cache_size"):
            platform.embedder.query_cache_size = 0
        if args.threads:
            import torch
            torch.set_num_threads(args.threads)
        c = app.test_client()
        keys = {cid: c.post(f"/admin/companies/{cid}/api-keys", json={},
                            headers={"Authorization": f"Bearer {ADMIN}"}).get_json()["api_key"] for cid in TENANTS}

        def turn(client, cid, text, user=None):
            user = user or f"u-{uuid.uuid4().hex[:12]}"
            t = time.perf_counter()
            r = client.post(f"/conversations/{user}/test", json={"message": text, "channel": "web"},
                            headers={"X-API-Key": keys[cid]})
            ms = (time.perf_counter() - t) * 1000
            if r.status_code != 200:
                raise SystemExit(f"turn failed: {r.status_code} {r.get_data(as_text=True)[:300]}")
            return ms

        for cid in TENANTS:
            for text in WARMUP:
                turn(c, cid, text)
        try:
            import torch
            print(f"torch threads: {torch.get_num_threads()}")
        except ImportError:
            pass

        if args.profile:
            h0, m0 = cache_stats(platform)
            prof = cProfile.Profile()
            prof.enable()
            t = time.perf_counter()
            for i in range(args.profile):
                cid, text = questions[i % len(questions)]
                turn(c, cid, text)
            wall = time.perf_counter() - t
            prof.disable()
            if args.save:
                prof.dump_stats(args.save)
            h1, m1 = cache_stats(platform)
            print(f"profiled {args.profile} turns: {wall * 1000 / args.profile:.1f} ms/turn under the profiler; "
                  f"embedding cache hits {h1 - h0}/{(h1 - h0) + (m1 - m0)}")
            for key in ("cumulative", "tottime"):
                out = io.StringIO()
                pstats.Stats(prof, stream=out).sort_stats(key).print_stats(25)
                text = out.getvalue()
                print(f"--- top 25 by {key} ---")
                print(text[text.index("ncalls"):].rstrip() if "ncalls" in text else text)
            app.extensions["misybot"].close()
            return

        # Sequential: each distinct question once (cold cache), a new conversation each.
        # CPU time of this process too: other work on the machine inflates wall times, not this.
        clear_cache(platform)
        h0, m0 = cache_stats(platform)
        cpu = time.process_time()
        lat = [turn(c, *questions[i % len(questions)]) for i in range(args.turns)]
        cpu = (time.process_time() - cpu) * 1000 / len(lat)
        h1, m1 = cache_stats(platform)
        n = (h1 - h0) + (m1 - m0)
        print(f"sequential: {len(lat)} turns, p50 {statistics.median(lat):.1f} ms, p95 {pct(lat, 95):.1f} ms, "
              f"mean {statistics.fmean(lat):.1f} ms, CPU {cpu:.1f} ms/turn; embedding cache hits {h1 - h0}/{n}"
              f" = {(h1 - h0) / n if n else 0:.0%}")

        # Concurrent: 8 customers, each its own conversation of several turns, questions dealt round-robin.
        # Every round asks each question once on a cleared cache: no turn is served a vector it asked for before.
        clients = [app.test_client() for _ in range(args.clients)]
        users = [f"c{i}-{uuid.uuid4().hex[:8]}" for i in range(args.clients)]
        per_client = [questions[i::args.clients] for i in range(args.clients)]
        rates, lat, hits, looked, cpu = [], [], 0, 0, time.process_time()
        for _ in range(args.rounds):
            results: list[list[float]] = [[] for _ in range(args.clients)]
            go = threading.Barrier(args.clients + 1)

            def customer(i, results=results, go=go):
                go.wait()
                for cid, text in per_client[i]:
                    # one conversation per customer and tenant (a user id lives in one tenant's keyspace)
                    results[i].append(turn(clients[i], cid, text, user=f"{users[i]}-{cid}"))

            clear_cache(platform)
            h0, m0 = cache_stats(platform)
            with ThreadPoolExecutor(max_workers=args.clients) as pool:
                futures = [pool.submit(customer, i) for i in range(args.clients)]
                go.wait()
                start = time.perf_counter()
                for f in futures:
                    f.result()
            wall = time.perf_counter() - start
            h1, m1 = cache_stats(platform)
            hits, looked = hits + h1 - h0, looked + (h1 - h0) + (m1 - m0)
            done = [ms for r in results for ms in r]
            rates.append(len(done) / wall)
            lat.extend(done)
        cpu = (time.process_time() - cpu) * 1000 / len(lat)
        print(f"concurrency {args.clients}: {args.rounds} rounds of {len(questions)} turns: "
              f"{', '.join(f'{r:.1f}' for r in rates)} turns/s (median {statistics.median(rates):.1f}); "
              f"p50 {statistics.median(lat):.1f} ms, p95 {pct(lat, 95):.1f} ms, CPU {cpu:.1f} ms/turn; "
              f"embedding cache hits {hits}/{looked}"
              f" = {hits / looked if looked else 0:.0%} (distinct questions, cache cleared each round)")
        app.extensions["misybot"].close()


if __name__ == "__main__":
    main()
