"""Load and soak: 50 tenants' customers chatting, uploading, searching and writing on Chatwoot at once.

    .venv/bin/python bench/load/run_load.py [--minutes 10] [--users 200] [--spawn-rate 20] [--tenants 50]
                                            [--redis-url redis://127.0.0.1:6379/8] [--out DIR]

Builds a temporary companies_config.yaml of N tenants (t01..tNN, each a copy of the shipped benova block with
its own redis_prefix, vectorstore_index, allowed origin, Chatwoot account and limits high enough that the
scenario is never throttled), starts a local stand-in for Chatwoot's API, and starts the service as a real
separate process (run.py on a free loopback port, Redis at --redis-url, embedded Qdrant, the Chatwoot worker
on). It onboards each tenant through the admin API (an API key; Chatwoot api_token + webhook_secret), seeds
two documents per tenant, then runs Locust headless (bench/load/locustfile.py) for the given time while
sampling the service process's RSS every 10 s. When Locust stops it waits for the Chatwoot worker to drain
and prints: requests, throughput, p50/p95/p99 and failures per endpoint, the error rate, RSS over time with
its slope, and Chatwoot replies posted against webhooks accepted (each message answered exactly once).

The Redis database at --redis-url is FLUSHED first: give the bench a database of its own.
Exit status 0 only with no failed request, exactly one reply per accepted webhook, and the service alive.
"""
from __future__ import annotations

import argparse
import copy
import csv
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import psutil  # noqa: E402
import redis  # noqa: E402
import yaml  # noqa: E402

from tests.chatwoot_fake import FakeChatwoot  # noqa: E402

ADMIN = "load-admin-token-0123456789abcdef"
TEMPLATE = "benova"                     # the shipped block every bench tenant is a copy of
SEED_DOCS = ("servicios-y-precios.md", "horarios-y-ubicacion.md")
RSS_EVERY_S = 10.0
DRAIN_QUIET_S = 60.0                    # stop waiting for Chatwoot replies after this long without a new one
DRAIN_MAX_S = 600.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(path: Path, tenants_dir: Path, n: int, chatwoot_url: str) -> list[dict]:
    """N copies of the template block; its catalog goes to each copy's tenants/<id>/ (seeded at start-up)."""
    shipped = yaml.safe_load((ROOT / "companies_config.yaml").read_text())
    template = next(c for c in shipped["companies"] if c["company_id"] == TEMPLATE)
    companies, tenants = [], []
    for i in range(1, n + 1):
        cid = f"t{i:02d}"
        block = copy.deepcopy(template)
        block.update(company_id=cid, company_name=f"Clínica de carga {cid}", redis_prefix=f"{cid}:",
                     vectorstore_index=f"{cid}_documents", allowed_origins=[f"https://www.{cid}.example"],
                     ai={"provider": "offline", "model": "gpt-4o-mini"},
                     chatwoot={"account_id": 1000 + i, "base_url": chatwoot_url})
        # Throttling is tested elsewhere (tests/security); here every request must reach the service.
        block["limits"] = {**block.get("limits", {}), "requests_per_minute": 100_000, "requests_per_hour": 1_000_000,
                           "monthly_messages": 1_000_000, "max_documents": 1_000, "storage_limit_mb": 500}
        companies.append(block)
        (tenants_dir / cid).mkdir(parents=True)
        shutil.copy(ROOT / "tenants" / TEMPLATE / "catalog.yaml", tenants_dir / cid / "catalog.yaml")
        tenants.append({"company_id": cid, "account_id": 1000 + i})
    path.write_text(yaml.safe_dump({"companies": companies}, allow_unicode=True, sort_keys=False))
    return tenants


def start_service(port: int, data_dir: Path, config: Path, tenants_dir: Path, redis_url: str, log: Path):
    env = {k: v for k, v in os.environ.items()
           if k not in ("QDRANT_URL", "EMBEDDINGS_MODEL", "OPENAI_API_KEY", "OPENAI_BASE_URL", "MISYBOT_ENV",
                        "OTEL_EXPORTER_OTLP_ENDPOINT")}
    env.update(PORT=str(port), DATA_DIR=str(data_dir), REDIS_URL=redis_url, MISYBOT_ADMIN_TOKEN=ADMIN,
               COMPANIES_CONFIG_FILE=str(config), TENANTS_DIR=str(tenants_dir), CHATWOOT_WORKER="true",
               MISYBOT_ENV="development")
    out = log.open("w")
    proc = subprocess.Popen([sys.executable, "run.py"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 300
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit(f"the service exited with {proc.returncode}; see {log}")
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    proc.kill()
    sys.exit(f"the service did not become healthy in 300 s; see {log}")


def onboard(base: str, tenants: list[dict]) -> None:
    admin = {"Authorization": f"Bearer {ADMIN}"}
    docs = [(name, (ROOT / "tenants" / TEMPLATE / "documents" / name).read_text()) for name in SEED_DOCS]
    with httpx.Client(base_url=base, timeout=120) as c:
        for t in tenants:
            cid = t["company_id"]
            r = c.post(f"/admin/companies/{cid}/api-keys", json={"label": "load"}, headers=admin)
            r.raise_for_status()
            t["api_key"] = r.json()["api_key"]
            t["webhook_secret"] = f"whsec-{cid}-{os.urandom(8).hex()}"
            c.put(f"/admin/companies/{cid}/chatwoot", headers=admin,
                  json={"api_token": f"cw-token-{cid}", "webhook_secret": t["webhook_secret"]}).raise_for_status()
            for name, text in docs:
                c.post("/documents", json={"title": name, "content": text},
                       headers={"X-API-Key": t["api_key"]}).raise_for_status()


class RssSampler(threading.Thread):
    """The service process's RSS (with any children) every RSS_EVERY_S seconds, into a CSV; with its CPU and
    the whole machine's since the last sample, so a run that shared the cores with other work shows it."""

    def __init__(self, pid: int, path: Path, chatwoot_counts):
        super().__init__(daemon=True)
        self.proc, self.path, self.samples = psutil.Process(pid), path, []
        self.chatwoot_counts = chatwoot_counts       # () -> (webhooks accepted, replies posted) so far
        self.stop_event, self.t0 = threading.Event(), time.time()
        self.proc.cpu_percent(None)
        psutil.cpu_percent(None)

    def sample(self) -> None:
        try:
            procs = [self.proc, *self.proc.children(recursive=True)]
            rss = sum(p.memory_info().rss for p in procs)
            threads = self.proc.num_threads()
            cpu = self.proc.cpu_percent(None)         # 100 = one core
        except psutil.Error:
            return
        machine = psutil.cpu_percent(None) * psutil.cpu_count()
        self.samples.append((time.time() - self.t0, rss / 2**20, threads, cpu, machine, *self.chatwoot_counts()))

    def run(self) -> None:
        while not self.stop_event.wait(RSS_EVERY_S):
            self.sample()

    def stop(self) -> None:
        self.stop_event.set()
        self.join()

    def write_csv(self) -> None:
        with self.path.open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["elapsed_s", "rss_mb", "threads", "service_cpu_pct", "machine_cpu_pct", "webhooks_accepted",
                        "replies_posted"])
            w.writerows((round(t, 1), round(m, 1), n, round(c), round(mc), a, p) for t, m, n, c, mc, a, p in self.samples)


def slope_mb_per_min(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MB), in MB per minute."""
    if len(points) < 2:
        return 0.0
    n = len(points)
    mx, my = sum(p[0] for p in points) / n, sum(p[1] for p in points) / n
    sxx = sum((p[0] - mx) ** 2 for p in points)
    return 60 * sum((p[0] - mx) * (p[1] - my) for p in points) / sxx if sxx else 0.0


def replies_by_conversation(fake: FakeChatwoot) -> Counter:
    return Counter((int(p["path"].split("/")[4]), int(p["path"].split("/")[6])) for p in list(fake.posts)
                   if p["path"].endswith("/messages") and not p["body"].get("private"))


def wait_for_replies(fake: FakeChatwoot, expected: int) -> float:
    t0 = last_change = time.time()
    seen = -1
    while time.time() - t0 < DRAIN_MAX_S:
        now = sum(replies_by_conversation(fake).values())
        if now >= expected:
            time.sleep(5)           # a little longer: a duplicate reply would arrive now
            break
        if now != seen:
            seen, last_change = now, time.time()
        elif time.time() - last_change > DRAIN_QUIET_S:
            break
        time.sleep(1)
    return time.time() - t0


def fmt_ms(v: str) -> str:
    return "-" if v in ("", "N/A") else f"{float(v):.0f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--users", type=int, default=200)
    ap.add_argument("--spawn-rate", type=float, default=20)
    ap.add_argument("--tenants", type=int, default=50)
    ap.add_argument("--redis-url", default="redis://127.0.0.1:6379/8", help="FLUSHED at start")
    ap.add_argument("--out", type=Path, default=None, help="where CSVs and logs go (default: a new temp dir)")
    args = ap.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="misybot-load-"))
    out.mkdir(parents=True, exist_ok=True)
    redis.Redis.from_url(args.redis_url).flushdb()
    fake = FakeChatwoot()
    work = Path(tempfile.mkdtemp(prefix="misybot-load-work-"))
    proc = None
    try:
        tenants = write_config(work / "companies_config.yaml", work / "tenants", args.tenants, fake.url)
        port = free_port()
        t = time.time()
        proc, base = start_service(port, work / "data", work / "companies_config.yaml", work / "tenants",
                                   args.redis_url, out / "service.log")
        print(f"service pid {proc.pid} healthy at {base} after {time.time() - t:.0f} s", flush=True)
        t = time.time()
        onboard(base, tenants)
        print(f"onboarded {len(tenants)} tenants (API key, Chatwoot secrets, {len(SEED_DOCS)} documents each) "
              f"in {time.time() - t:.0f} s", flush=True)
        (out / "tenants.json").write_text(json.dumps(tenants))
        sent_log = out / "webhooks_sent.log"
        sent_log.write_text("")
        sampler = RssSampler(proc.pid, out / "rss.csv", lambda: (
            sum(1 for _ in sent_log.open()), sum(replies_by_conversation(fake).values())))
        sampler.sample()
        sampler.start()
        minutes = f"{args.minutes:g}m" if float(args.minutes).is_integer() else f"{int(args.minutes * 60)}s"
        cmd = [sys.executable, "-m", "locust", "-f", str(ROOT / "bench/load/locustfile.py"), "--headless",
               "-u", str(args.users), "-r", str(args.spawn_rate), "-t", minutes, "--host", base,
               "--csv", str(out / "locust"), "--stop-timeout", "30", "--loglevel", "WARNING"]
        print("locust:", " ".join(cmd[2:]), flush=True)
        t_run = time.time()
        with (out / "locust.log").open("w") as llog:
            rc = subprocess.run(cmd, cwd=ROOT, stdout=llog, stderr=subprocess.STDOUT,
                                env={**os.environ, "LOAD_TENANTS": str(out / "tenants.json"),
                                     "LOAD_SENT_LOG": str(sent_log)}).returncode
        run_s = time.time() - t_run
        sampler.stop()
        under_load = list(sampler.samples)
        alive = proc.poll() is None
        sent = [tuple(map(int, line.split())) for line in sent_log.read_text().splitlines() if line.strip()]
        expected = Counter((a, c) for a, c, _ in sent)
        drain_s = wait_for_replies(fake, len(sent)) if alive else 0.0
        posted = replies_by_conversation(fake)
        sampler.sample()                                   # after the drain: what the service keeps when idle
        sampler.write_csv()
        after = sampler.samples[-1] if len(sampler.samples) > len(under_load) else None
        report(out, args, run_s, rc, under_load, after, sent, expected, posted, drain_s, alive, fake)
        ok = alive and posted == expected and _failures(out) == 0
    finally:
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        fake.close()
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(0 if ok else 1)


def _stats_rows(out: Path) -> list[dict]:
    with (out / "locust_stats.csv").open() as f:
        return list(csv.DictReader(f))


def _failures(out: Path) -> int:
    """Failed requests, plus exceptions raised in the scenario's own code (each one lost a request's
    outcome, so it counts as a failure here)."""
    agg = next(r for r in _stats_rows(out) if r["Name"] == "Aggregated")
    return int(agg["Failure Count"]) + sum(n for n, _ in _exceptions(out))


def _exceptions(out: Path) -> list[tuple[int, str]]:
    path = out / "locust_exceptions.csv"
    if not path.exists():
        return []
    with path.open() as f:
        rows = [(int(r["Count"]), r["Message"], r["Traceback"].splitlines()) for r in csv.DictReader(f)]
    return [(n, f"{msg[:150]} (at {next((ln.strip() for ln in reversed(tb) if 'locustfile.py' in ln), '?')})")
            for n, msg, tb in rows]


def report(out, args, run_s, rc, samples, after, sent, expected, posted, drain_s, alive, fake) -> None:
    rows = _stats_rows(out)
    agg = next(r for r in rows if r["Name"] == "Aggregated")
    total, failed = int(agg["Request Count"]), int(agg["Failure Count"])
    lost = sum(n for n, _ in _exceptions(out))     # requests whose outcome an exception kept out of the stats
    print(f"\n== {args.tenants} tenants, {args.users} users (spawn {args.spawn_rate:g}/s), {args.minutes:g} min; "
          f"locust exit {rc}; outputs in {out}")
    print(f"requests {total}, failures {failed}, scenario exceptions {lost}, "
          f"error rate {100 * (failed + lost) / max(total + lost, 1):.3f} %, "
          f"throughput {float(agg['Requests/s']):.1f} req/s (locust wall {run_s:.0f} s)")
    print(f"{'endpoint':34} {'requests':>9} {'fail':>5} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'max ms':>7}")
    for r in rows:
        name = "all" if r["Name"] == "Aggregated" else f"{r['Type']} {r['Name'].split(' ', 1)[-1]}"
        print(f"{name:34} {int(r['Request Count']):>9} {int(r['Failure Count']):>5} {float(r['Requests/s']):>7.1f} "
              f"{fmt_ms(r['50%']):>7} {fmt_ms(r['95%']):>7} {fmt_ms(r['99%']):>7} {fmt_ms(r['Max Response Time']):>7}")
    fails = out / "locust_failures.csv"
    if failed and fails.exists():
        print("failures (locust_failures.csv):")
        with fails.open() as f:
            for r in csv.DictReader(f):
                print(f"  {r['Occurrences']} x {r['Method']} {r['Name']}: {r['Error'][:200]}")
    for n, where in _exceptions(out):
        print(f"  {n} x exception in the scenario (locust_exceptions.csv): {where}")
    if samples:
        start, end = samples[0], samples[-1]
        mid = min(samples, key=lambda s: abs(s[0] - end[0] / 2))
        whole = slope_mb_per_min([(s[0], s[1]) for s in samples])
        later = slope_mb_per_min([(s[0], s[1]) for s in samples if s[0] >= end[0] / 2])
        last = slope_mb_per_min([(s[0], s[1]) for s in samples if s[0] >= end[0] * 2 / 3])
        print(f"service RSS: start {start[1]:.0f} MB, middle {mid[1]:.0f} MB (t={mid[0]:.0f} s), end {end[1]:.0f} MB "
              f"(t={end[0]:.0f} s), max {max(s[1] for s in samples):.0f} MB; slope {whole:+.2f} MB/min over the run, "
              f"{later:+.2f} MB/min over its second half, {last:+.2f} MB/min over its last third; "
              f"threads {start[2]} -> {end[2]} ({len(samples)} samples under load, rss.csv)")
        if after is not None:
            print(f"service RSS after the Chatwoot drain (t={after[0]:.0f} s, idle): {after[1]:.0f} MB, threads {after[2]}")
        busy = samples[1:] or samples
        service_cpu, machine_cpu = (sum(s[i] for s in busy) / len(busy) for i in (3, 4))
        print(f"CPU (100 % = one core, {psutil.cpu_count()} cores): service {service_cpu:.0f} %, whole machine "
              f"{machine_cpu:.0f} % on average during the run (the rest is Locust and anything else running)")
        backlog = max(samples, key=lambda s: s[5] - s[6])
        print(f"chatwoot backlog (accepted, not yet answered): at most {backlog[5] - backlog[6]} (t={backlog[0]:.0f} s), "
              f"{end[5] - end[6]} when locust stopped")
    dup = sum(max(posted[k] - expected[k], 0) for k in posted)
    missing = sum(max(expected[k] - posted[k], 0) for k in expected)
    private = sum(1 for p in list(fake.posts) if p["body"].get("private"))
    print(f"chatwoot: {len(sent)} webhooks accepted over {len(expected)} conversations; {sum(posted.values())} replies "
          f"posted ({dup} extra, {missing} missing, {private} private notes); drained {drain_s:.0f} s after locust stopped; "
          f"exactly once: {'yes' if posted == expected else 'NO'}")
    print(f"service still running: {'yes' if alive else 'NO'}")


if __name__ == "__main__":
    main()
