"""Burst of Chatwoot webhooks across the four shipped tenants: acknowledgement latency and exactly-once.

    .venv/bin/python bench/chatwoot_bench.py [--n 200] [--duplicates 0.1]

Sends N signed message_created webhooks (spread over 4 accounts x 10 conversations, plus a share of
re-deliveries and Chatwoot-style duplicate events), measures how fast each is acknowledged, then lets
the worker drain the queue against a local stand-in for Chatwoot's API and checks that every distinct
message got exactly one reply.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.channels.chatwoot_webhook import JOBS, set_chatwoot_secrets  # noqa: E402
from app.factory import create_app  # noqa: E402
from app.security.principal import Principal  # noqa: E402
from app.settings import Settings  # noqa: E402
from app.workers.chatwoot import ChatwootWorker  # noqa: E402
from tests.chatwoot_fake import FakeChatwoot, message_event, signed  # noqa: E402

ADMIN = Principal("platform_admin", None)

QUESTIONS = ["cuánto vale el tratamiento?", "a qué hora abren?", "dónde quedan?", "tienen promociones?",
             "cuánto dura la sesión?", "aceptan tarjeta?"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--duplicates", type=float, default=0.1)
    args = ap.parse_args()
    fake = FakeChatwoot()
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "companies_config.yaml"
        text = (ROOT / "companies_config.yaml").read_text()
        for host in ("chat.benova.example", "chat.medispa-elite.example", "chat.sonrisadental.example",
                     "chat.wellnessspa.example"):
            text = text.replace(f"https://{host}", fake.url)
        config.write_text(text)
        app = create_app(Settings(data_dir=Path(tmp) / "data", companies_config_file=config, tenants_dir=ROOT / "tenants",
                                  redis_url=None, misybot_admin_token="bench-admin-0123456789", environment="test",
                                  seed_tenant_documents=True, chatwoot_worker=False, openai_api_key=None,
                                  openai_base_url=None, embeddings_model=None))
        p = app.extensions["misybot"]
        accounts = {}
        for cid in p.registry.company_ids():
            cfg = p.registry.get(cid)
            set_chatwoot_secrets(p, p.tenant_context(cfg, ADMIN).keyspace, api_token=f"tok-{cid}", webhook_secret=f"whsec-{cid}")
            accounts[cfg.chatwoot.account_id] = cid
        c = app.test_client()
        rng = random.Random(1)
        sent, lat, distinct = [], [], set()
        for i in range(args.n):
            account = list(accounts)[i % 4]
            conv = 100 + (i // 4) % 10
            payload = message_event(10_000 + i, account=account, conv=conv, content=rng.choice(QUESTIONS))
            raw, headers = signed(f"whsec-{accounts[account]}", payload)
            sent.append((raw, headers))
            distinct.add((account, conv, 10_000 + i))
        burst = list(sent)
        for raw, headers in rng.sample(sent, int(args.n * args.duplicates)):      # re-deliveries
            burst.append((raw, headers))
        rng.shuffle(burst)
        statuses = Counter()
        start = time.perf_counter()
        for raw, headers in burst:
            t = time.perf_counter()
            r = c.post("/webhook/chatwoot", data=raw, headers=headers)
            lat.append((time.perf_counter() - t) * 1000)
            statuses[(r.status_code, r.get_json().get("status"))] += 1
        ack_wall = time.perf_counter() - start
        worker = ChatwootWorker(p)
        t0 = time.perf_counter()
        while worker.run_once() or p.redis.xpending(JOBS, "workers")["pending"]:
            pass
        work_s = time.perf_counter() - t0
        posted = Counter((int(x["path"].split("/")[4]), int(x["path"].split("/")[6])) for x in fake.posts
                         if x["path"].endswith("/messages") and not x["body"]["private"])
        expected = Counter((a, conv) for a, conv, _ in distinct)
        lat.sort()
        print(f"{len(burst)} webhooks ({args.n} distinct messages, {len(burst) - args.n} re-deliveries) over 4 tenants")
        print(f"acknowledgement: p50 {statistics.median(lat):.1f} ms, p99 {lat[int(0.99 * (len(lat) - 1))]:.1f} ms, "
              f"{len(burst) / ack_wall:.0f} webhooks/s; statuses {dict(statuses)}")
        print(f"worker: {args.n} replies in {work_s:.1f} s = {args.n / work_s:.1f} replies/s (one worker, offline provider)")
        exact = posted == expected
        print(f"exactly once: {'yes' if exact else 'NO'} — {sum(posted.values())} replies posted for {len(distinct)} messages")
        p.close()
    fake.close()
    sys.exit(0 if exact else 1)


if __name__ == "__main__":
    main()
