"""Many tenants on one node: onboarding cost as tenants accumulate, start-up, memory, cold first requests.

    .venv/bin/python bench/tenants_bench.py [-n 1000] [--cold 50] [--profile-last 0] [--no-baseline] [--keep DIR]
    REDIS_URL=redis://127.0.0.1:6379/5 .venv/bin/python bench/tenants_bench.py -n 100 --cold 20 --no-baseline  # ~1 min

Embedded stores in a temp dir (REDIS_URL, when set, is used instead of the embedded Redis and FLUSHED first).
Each phase runs in its own process, so start-up time and RSS are those of a fresh service:
1. onboard: N companies through the admin HTTP API the operators use (POST /admin/companies, as
   scripts/onboard_company.py does against a running service), each with one tiny seed document; prints the
   time of the 1st, 10th, 100th, 500th, 1000th onboarding, the p50 of each block of 100, and the total.
   --profile-last K runs the last K onboardings in-process (Flask test client) under cProfile and prints the
   top entries.
2. restart: a new create_app over the same data dir: start-up time, RSS before/after (and per tenant against
   an empty deployment, unless --no-baseline), then the first request of cold tenants (not touched since the restart): a chat turn
   for one group and a search for another, p50/p95, and what a second, warm request costs.
3. qdrant: what N collections cost the embedded Qdrant alone: disk, open time, RSS.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ADMIN = "bench-admin-token-0123456789abcdef"
MASTER = "bench-master-key-0123456789abcdef0123456789"


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def pct(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def du_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


def settings_for(base: Path, redis_url: str | None, workers: bool):
    from app.settings import Settings

    off = {} if workers else dict(chatwoot_worker=False, meta_worker=False, booking_webhook_worker=False,
                                  audit_worker=False, ingestion_worker=False)
    return Settings(data_dir=base / "data", companies_config_file=base / "companies_config.yaml",
                    tenants_dir=base / "tenants", redis_url=redis_url, qdrant_url=None, misybot_admin_token=ADMIN,
                    misybot_master_key=MASTER, environment="test", openai_api_key=None, openai_base_url=None,
                    embeddings_model=None, seed_tenant_documents=False, **off)


def serve(app):
    """The app behind a real HTTP server (werkzeug, threaded), as the operators' scripts reach it."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


def company(i: int) -> dict:
    return {"company_id": f"t{i:05d}", "name": f"Tenant {i}", "industry": "spa",
            "documents": [{"title": "Horario", "content": f"Tenant {i} atiende de lunes a viernes de 9:00 a 18:00. "
                                                          f"El masaje relajante cuesta ${i * 10 + 5} y dura 60 minutos."}]}


# -- phase 1 ------------------------------------------------------------------------------------------------
def phase_onboard(args) -> None:
    import httpx

    from app.factory import create_app

    base = Path(args.base)
    app = create_app(settings_for(base, args.redis_url, args.workers))
    server, url = serve(app)
    keys: dict[str, str] = {}
    times: list[float] = []
    profiled_from = args.n - args.profile_last + 1 if args.profile_last else args.n + 1
    headers = {"Authorization": f"Bearer {ADMIN}"}
    start = time.perf_counter()
    with httpx.Client(base_url=url, headers=headers, timeout=120) as client:
        for i in range(1, min(args.n, profiled_from - 1) + 1):
            t0 = time.perf_counter()
            r = client.post("/admin/companies", json=company(i))
            times.append((time.perf_counter() - t0) * 1000)
            if r.status_code != 201:
                raise SystemExit(f"onboarding {i} answered {r.status_code}: {r.text[:300]}")
            keys[f"t{i:05d}"] = r.json()["api_key"]
    if args.profile_last:
        # The last K in-process, in this thread, so cProfile sees the whole request.
        test_client = app.test_client()
        prof = cProfile.Profile()
        for i in range(profiled_from, args.n + 1):
            t0 = time.perf_counter()
            prof.enable()
            r = test_client.post("/admin/companies", json=company(i), headers=headers)
            prof.disable()
            times.append((time.perf_counter() - t0) * 1000)
            if r.status_code != 201:
                raise SystemExit(f"onboarding {i} answered {r.status_code}: {r.get_data(as_text=True)[:300]}")
            keys[f"t{i:05d}"] = r.get_json()["api_key"]
    total = time.perf_counter() - start
    server.shutdown()
    app.extensions["misybot"].close()

    print(f"onboarding {args.n} tenants over HTTP (POST /admin/companies, 1 seed document each): total {total:.1f} s")
    marks = [m for m in (1, 10, 100, 200, 400, 500, 1000, 2000) if m <= len(times)]
    print("  nth onboarding: " + ", ".join(f"#{m} {times[m - 1]:.0f} ms" for m in marks))
    blocks = [times[s:s + 100] for s in range(0, len(times), 100)]
    print("  p50 per block of 100: " + ", ".join(f"{100 * k + 1}-{100 * k + len(b)}: {statistics.median(b):.0f} ms"
                                                 for k, b in enumerate(blocks)))
    cfg = base / "companies_config.yaml"
    print(f"  companies_config.yaml: {cfg.stat().st_size / 1e3:.0f} kB")
    if args.profile_last:
        out = io.StringIO()
        stats = pstats.Stats(prof, stream=out)
        stats.sort_stats("cumulative").print_stats(args.profile_top)
        stats.sort_stats("tottime").print_stats(args.profile_top)
        print(f"cProfile of onboardings {profiled_from}-{args.n} (in-process test client):")
        print("\n".join(ln for ln in out.getvalue().splitlines() if ln.strip()))
    (base / "keys.json").write_text(json.dumps(keys))


# -- phase 2 ------------------------------------------------------------------------------------------------
def phase_restart(args) -> None:
    import httpx

    import app.factory  # noqa: F401  (imports are not start-up of the service)

    base = Path(args.base)
    rss_before = rss_mb()
    t0 = time.perf_counter()
    application = app.factory.create_app(settings_for(base, args.redis_url, args.workers))
    startup = time.perf_counter() - t0
    rss_after = rss_mb()
    platform = application.extensions["misybot"]
    out = {"tenants": len(platform.registry.company_ids()), "startup_s": startup, "rss_before_mb": rss_before,
           "rss_after_mb": rss_after}
    keys = json.loads((base / "keys.json").read_text()) if (base / "keys.json").exists() else {}
    if args.cold and keys:
        ids = sorted(keys)
        step = max(1, len(ids) // (2 * args.cold))
        sample = ids[::step][:2 * args.cold]
        chat_ids, search_ids = sample[0::2], sample[1::2]
        server, url = serve(application)
        lat: dict[str, list[float]] = {"chat_cold": [], "chat_warm": [], "search_cold": [], "search_warm": []}
        with httpx.Client(base_url=url, timeout=120) as client:
            def timed(kind, cid, path, body):
                t = time.perf_counter()
                r = client.post(path, json=body, headers={"X-API-Key": keys[cid]})
                lat[kind].append((time.perf_counter() - t) * 1000)
                if r.status_code != 200:
                    raise SystemExit(f"{kind} {cid} answered {r.status_code}: {r.text[:300]}")
            for cid in chat_ids:
                for kind in ("chat_cold", "chat_warm"):
                    timed(kind, cid, f"/conversations/u-{kind}/test",
                          {"message": "¿Cuánto cuesta el masaje relajante?", "channel": "web"})
            for cid in search_ids:
                for kind in ("search_cold", "search_warm"):
                    timed(kind, cid, "/documents/search", {"query": "precio del masaje"})
        server.shutdown()
        out["rss_after_cold_mb"] = rss_mb()
        out["touched"] = len(chat_ids) + len(search_ids)
        out["latency_ms"] = {k: {"p50": statistics.median(v), "p95": pct(v, 95), "n": len(v)} for k, v in lat.items()}
    platform.close()
    print(json.dumps(out))


# -- phase 3 ------------------------------------------------------------------------------------------------
def phase_qdrant(args) -> None:
    from qdrant_client import QdrantClient

    path = Path(args.base) / "data" / "qdrant"
    rss0 = rss_mb()
    t0 = time.perf_counter()
    client = QdrantClient(path=str(path))
    opened = time.perf_counter() - t0
    n = len(client.get_collections().collections)
    print(json.dumps({"collections": n, "open_s": opened, "rss_delta_mb": rss_mb() - rss0, "disk_mb": du_mb(path)}))
    client.close()


def child(phase: str, args, base: Path, extra=()) -> str:
    cmd = [sys.executable, __file__, "--phase", phase, "--base", str(base), "-n", str(args.n), "--cold", str(args.cold),
           "--profile-last", str(args.profile_last), "--profile-top", str(args.profile_top), *extra]
    if args.redis_url:
        cmd += ["--redis-url", args.redis_url]
    if args.workers:
        cmd.append("--workers")
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-4000:])
        raise SystemExit(f"phase {phase} failed ({proc.returncode})")
    return proc.stdout


def flush(redis_url: str | None) -> None:
    if redis_url:
        import redis

        redis.Redis.from_url(redis_url).flushdb()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=1000, help="tenants to onboard")
    ap.add_argument("--cold", type=int, default=50, help="cold tenants sampled for each first request (chat, search)")
    ap.add_argument("--profile-last", type=int, default=0, help="cProfile the last K onboardings")
    ap.add_argument("--profile-top", type=int, default=25)
    ap.add_argument("--workers", action="store_true", help="run the background workers, as production does")
    ap.add_argument("--redis-url", default=os.environ.get("REDIS_URL") or None)
    ap.add_argument("--no-baseline", action="store_true",
                    help="skip the start-up of an empty deployment (per-tenant RSS is then not printed): quicker")
    ap.add_argument("--keep", help="keep the data in this folder (must not exist)")
    ap.add_argument("--phase", choices=("onboard", "restart", "qdrant"), help=argparse.SUPPRESS)
    ap.add_argument("--base", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.phase:
        {"onboard": phase_onboard, "restart": phase_restart, "qdrant": phase_qdrant}[args.phase](args)
        return

    tmp = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="misybot-tenants-"))
    try:
        print(f"redis: {args.redis_url or 'embedded'}; data: {tmp}; workers: {'on' if args.workers else 'off'}")
        empty, full = tmp / "empty", tmp / "full"
        for base in (empty, full):
            base.mkdir(parents=True)
            (base / "companies_config.yaml").write_text("")
        zero = None
        if not args.no_baseline:
            flush(args.redis_url)
            zero = json.loads(child("restart", args, empty).strip().splitlines()[-1])
        flush(args.redis_url)
        print(child("onboard", args, full), end="")
        r = json.loads(child("restart", args, full).strip().splitlines()[-1])
        line = (f"start-up with {r['tenants']} tenants: {r['startup_s']:.2f} s, RSS {r['rss_before_mb']:.0f} -> "
                f"{r['rss_after_mb']:.0f} MB")
        if zero is not None:
            per_tenant = (r["rss_after_mb"] - zero["rss_after_mb"]) / max(1, r["tenants"])
            print(f"start-up with 0 tenants: {zero['startup_s']:.2f} s, RSS {zero['rss_before_mb']:.0f} -> "
                  f"{zero['rss_after_mb']:.0f} MB")
            line += f"; {per_tenant * 1024:.0f} kB per tenant at start (vs 0 tenants)"
        print(line)
        if "latency_ms" in r:
            grew = (r["rss_after_cold_mb"] - r["rss_after_mb"]) / r["touched"]
            print(f"after the first requests of {r['touched']} cold tenants: RSS {r['rss_after_cold_mb']:.0f} MB "
                  f"(+{grew * 1024:.0f} kB per touched tenant)")
            for kind, v in r["latency_ms"].items():
                print(f"  {kind:<12} p50 {v['p50']:6.1f} ms  p95 {v['p95']:6.1f} ms  (n={v['n']})")
        q = json.loads(child("qdrant", args, full).strip().splitlines()[-1])
        print(f"embedded Qdrant with {q['collections']} collections: open {q['open_s']:.2f} s, "
              f"RSS +{q['rss_delta_mb']:.0f} MB, disk {q['disk_mb']:.0f} MB")
    finally:
        flush(args.redis_url)
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
