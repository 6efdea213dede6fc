"""Chat-turn benchmark with the offline (retrieval-only) provider, through the HTTP endpoint.

    .venv/bin/python bench/chat_bench.py [--misses] [--skip-blind]

Seeds the four tenants into fresh embedded stores (Redis via REDIS_URL if set, else embedded), then:
- answer correctness: for every question of the tuning set (retrieval_questions.yaml), the old held-out
  set (retrieval_questions_holdout.yaml) and the blind held-out set (retrieval_blind7.yaml, only when it
  exists and --skip-blind is not given), is the expected fact (`answer_contains`) in the bot's answer?
  Each question is a new conversation. --misses lists the misses of the tuning set and blind sets 1 to 6
  (tuned on since), never of the held-out set (bench/data/README.md).
- latency: p50/p95 of a turn, sequentially, and turns/s with 8 concurrent clients.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from app.factory import create_app  # noqa: E402
from app.settings import Settings  # noqa: E402

# (label, file): tuning, old held-out, blind 1 to 5 (tuned on since), blind held-out (bench/data/README.md)
SETS = (("tuning", "retrieval_questions.yaml"), ("old held-out", "retrieval_questions_holdout.yaml"),
        ("blind 1 (tuned)", "retrieval_blind1.yaml"), ("blind 2 (tuned)", "retrieval_blind2.yaml"),
        ("blind 3 (tuned)", "retrieval_blind3.yaml"), ("blind 4 (tuned)", "retrieval_blind4.yaml"),
        ("blind 5 (tuned)", "retrieval_blind5.yaml"),
        ("blind 6 (tuned)", "retrieval_blind6.yaml"),
        ("blind held-out", "retrieval_blind7.yaml"))
ADMIN = "bench-admin-token-0123456789"


def pct(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--misses", action="store_true", help="list the tuning set's misses")
    ap.add_argument("--skip-blind", action="store_true", help="do not load or score the blind held-out set")
    args = ap.parse_args()
    sets = [(label, name) for label, name in SETS if (ROOT / "bench/data" / name).exists()
            and not (args.skip_blind and label == "blind held-out")]
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(Settings(data_dir=Path(tmp), companies_config_file=ROOT / "companies_config.yaml",
                                  tenants_dir=ROOT / "tenants", redis_url=None, qdrant_url=None,
                                  misybot_admin_token=ADMIN, seed_tenant_documents=True, environment="test",
                                  openai_api_key=None, openai_base_url=None, embeddings_model=None))
        c = app.test_client()
        keys = {cid: c.post(f"/admin/companies/{cid}/api-keys", json={},
                            headers={"Authorization": f"Bearer {ADMIN}"}).get_json()["api_key"]
                for cid in ("benova", "medispa", "dental", "wellness")}

        def turn(client, cid, text, retry=True):
            while True:
                t0 = time.perf_counter()
                r = client.post(f"/conversations/u-{uuid.uuid4().hex[:12]}/test",
                                json={"message": text, "channel": "web"}, headers={"X-API-Key": keys[cid]})
                if r.status_code != 429 or not retry:     # the tenant's rate limit: wait, ask again
                    return r, (time.perf_counter() - t0) * 1000
                time.sleep(min(float(r.headers.get("Retry-After") or 1), 5))

        summary = []
        for label, name in sets:
            qs = yaml.safe_load((ROOT / "bench/data" / name).read_text(encoding="utf-8"))
            ok, lat, agents, misses = 0, [], Counter(), []
            for q in qs:
                r, ms = turn(c, q["company_id"], q["question"])
                body = r.get_json()
                lat.append(ms)
                agents[body["agent"]] += 1
                if q["answer_contains"] in body["bot_response"]:
                    ok += 1
                else:
                    misses.append((q["company_id"], body["agent"], q["question"]))
            summary.append(f"{label} ({name}): answer correctness {ok}/{len(qs)} = {ok / len(qs):.3f}; "
                           f"turn p50 {statistics.median(lat):.1f} ms, p95 {pct(lat, 95):.1f} ms; "
                           f"agents {dict(agents)}")
            if args.misses and label != "blind held-out":       # never the held-out set
                summary.append(f"{label} misses: {len(misses)}")
                summary.extend(f"    {m}" for m in misses)
        print("\n".join(summary))

        qs = yaml.safe_load((ROOT / "bench/data" / SETS[1][1]).read_text(encoding="utf-8")) * 4
        clients = [app.test_client() for _ in range(8)]
        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=8) as pool:
            lat = [ms for _, ms in pool.map(lambda iq: turn(clients[iq[0] % 8], iq[1]["company_id"], iq[1]["question"],
                                                            retry=False),
                                            enumerate(qs))]
        wall = time.perf_counter() - start
        print(f"concurrency 8: {len(qs)} turns in {wall:.2f} s = {len(qs) / wall:.1f} turns/s; "
              f"p50 {statistics.median(lat):.1f} ms, p95 {pct(lat, 95):.1f} ms")
        app.extensions["misybot"].close()


if __name__ == "__main__":
    main()
