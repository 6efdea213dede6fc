"""Per-request cost of the front desk: API key, tenant access token and HMAC verification, in µs.

    .venv/bin/python bench/frontdesk_bench.py [--n 2000] [--profile 20]

The first rows are the pieces, each the whole check as a request pays it (Redis round trips included).
The last rows are a whole signed tenant-access-token request as the front desk sees it: everything between
receiving the request and calling the endpoint (`require_tenant`: token, HMAC signature and nonce, tenant
claims, permissions, rate limits, the tenant context), inside a real Flask request context; then the same
request through Flask's test client, with and without the guard, so the difference is what the guard adds
to a request. Round trips are counted on the Redis connection itself (every `send_packed_command` is one
write the caller then waits on: a pipeline or a script is one).

Measured against the embedded Redis in a temp dir (or REDIS_URL when set) and the shipped tenants.
--profile N runs cProfile over the signed-TAT front desk and prints its top N entries (by own time).
"""
from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import redis.connection  # noqa: E402
from flask import Flask  # noqa: E402

from app.api.errors import register_error_handlers  # noqa: E402
from app.platform import Platform  # noqa: E402
from app.security.guard import require_tenant  # noqa: E402
from app.security.principal import CHAT, Principal  # noqa: E402
from app.security.signatures import sign, verify_signature  # noqa: E402
from app.settings import Settings  # noqa: E402

PATH = "/bench/frontdesk"
BODY = b'{"message": "hola, cuanto vale el botox?"}'


class RoundTrips:
    """Counts the writes to Redis connections: one per command, one per pipeline or script call."""

    def __init__(self):
        self.n = 0
        self._orig = redis.connection.AbstractConnection.send_packed_command

    def __enter__(self):
        orig, counter = self._orig, self

        def counted(conn, command, check_health=True):
            counter.n += 1
            return orig(conn, command, check_health)
        redis.connection.AbstractConnection.send_packed_command = counted
        return self

    def __exit__(self, *exc):
        redis.connection.AbstractConnection.send_packed_command = self._orig


def percentiles(samples: list[float]) -> tuple[float, float]:
    s = sorted(samples)
    return statistics.median(s), s[int(0.95 * (len(s) - 1))]


def timed(fn, n):
    samples = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1e6)
    return percentiles(samples)


def signed_headers(secret: str, token: str) -> dict:
    ts, nonce = str(int(time.time())), secrets.token_hex(12)
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json",
            "X-Misy-Timestamp": ts, "X-Misy-Nonce": nonce,
            "X-Misy-Signature": sign(secret.encode(), ts, nonce, "POST", PATH, BODY)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--profile", type=int, default=0, metavar="N", help="print cProfile's top N entries")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        # The shipped tenants, with benova's request limits out of the way (every request is counted, none
        # refused): the bench measures the accepted path.
        companies = Path(tmp) / "companies_config.yaml"
        companies.write_text((ROOT / "companies_config.yaml").read_text().replace(
            "requests_per_minute: 60, requests_per_hour: 1500", "requests_per_minute: 1000000000, "
                                                               "requests_per_hour: 1000000000"))
        settings = Settings(data_dir=Path(tmp), companies_config_file=companies, tenants_dir=ROOT / "tenants",
                            redis_url=os.environ.get("REDIS_URL"), misybot_master_key="bench-master-key-0123456789abcdefghij")
        p = Platform.from_settings(settings)
        config = p.registry.get("benova")
        ks = p.tenant_context(config, Principal("platform_admin", None)).keyspace
        key, _ = p.api_keys.issue("benova", ks, {CHAT})
        token, _ = p.tokens.issue(tenant_id="benova", site_id="s", origin="https://benova.example",
                                  permissions=[CHAT], ttl_s=3600)
        _, hmac_secret = p.secrets.issue_hmac_secret(ks)
        p.tokens.verify(token, "tat")          # warm the key cache, as a running process has it

        # (getattr: the same bench also runs against commits from before the per-process copy of the secrets)
        cached = getattr(p.secrets, "cached_hmac_secrets", None)

        def hmac_check():
            h = signed_headers(hmac_secret, token)
            secrets_ = list(cached(ks).secrets) if cached else p.secrets.hmac_secrets(ks)
            verify_signature(p.redis, "benova", secrets_, h, "POST", PATH, BODY, 300)

        rows = [("API key (hash + Redis lookup)", lambda: p.api_keys.authenticate(key)),
                ("TAT alone (RS256 verify + revocation)", lambda: p.tokens.verify(token, "tat")),
                ("HMAC alone (secrets + SHA-256 + nonce)", hmac_check),
                ("rate limits (3 sliding windows)", lambda: p.rate_limiter.check_tenant("benova", "bench", 10**9, 10**9))]
        print(f"{args.n} iterations each, Redis: {'server' if settings.redis_url else 'embedded'}")
        print(f"{'piece':44} {'p50 µs':>9} {'p95 µs':>9} {'round trips':>12}")
        for label, fn in rows:
            fn()                               # warm (a script's first call also loads it)
            with RoundTrips() as rt:
                fn()
            p50, p95 = timed(fn, args.n)
            print(f"{label:44} {p50:9.1f} {p95:9.1f} {rt.n:12d}")

        # -- a whole signed TAT request, as the front desk receives it ----------------------------------
        app = Flask("frontdesk-bench")
        app.extensions["misybot"] = p
        register_error_handlers(app)
        seen = []

        def endpoint():
            seen.append(1)
            return "", 204
        guarded = require_tenant(CHAT, allowed=("api_key", "tat"))(endpoint)
        app.add_url_rule(PATH, "guarded", guarded, methods=["POST"])
        app.add_url_rule(PATH + "/open", "open", endpoint, methods=["POST"])

        def front_desk_once(rt: RoundTrips | None = None) -> float:
            headers = signed_headers(hmac_secret, token)
            with app.test_request_context(PATH, method="POST", headers=headers, data=BODY):
                before = rt.n if rt else 0
                c, t = time.thread_time_ns(), time.perf_counter()
                guarded()
                took = (time.perf_counter() - t) * 1e6
                cpu.append((time.thread_time_ns() - c) / 1e3)
                if rt:
                    trips.append(rt.n - before)
            return took

        cpu: list[float] = []
        front_desk_once()                      # the process's first request reads the tenant's secrets
        trips: list[int] = []
        cpu.clear()
        with RoundTrips() as rt:
            samples = [front_desk_once(rt) for _ in range(args.n)]
        if len(seen) != args.n + 1:
            raise SystemExit("a signed TAT request was refused: the bench is not measuring the accepted path")
        p50, p95 = percentiles(samples)
        spread = ", ".join(f"{k} on {trips.count(k)}" for k in sorted(set(trips)))
        print(f"{'signed TAT request, whole front desk':44} {p50:9.1f} {p95:9.1f} {statistics.median(trips):12.0f}"
              f"   (round trips per request: {spread} of {args.n})")
        cpu50, cpu95 = percentiles(cpu)
        print(f"{'  of which CPU in this thread':44} {cpu50:9.1f} {cpu95:9.1f}   (the rest is waiting on Redis)")
        ping = timed(p.redis.ping, args.n)
        print(f"{'  Redis PING (one round trip, the floor)':44} {ping[0]:9.1f} {ping[1]:9.1f} {1:12d}")

        client = app.test_client()

        def through_client(path):
            r = client.post(path, data=BODY, headers=signed_headers(hmac_secret, token))
            assert r.status_code == 204, r.get_data(as_text=True)
        with_guard = timed(lambda: through_client(PATH), args.n)
        without = timed(lambda: through_client(PATH + "/open"), args.n)
        print(f"{'  test client, guarded endpoint':44} {with_guard[0]:9.1f} {with_guard[1]:9.1f}")
        print(f"{'  test client, same endpoint unguarded':44} {without[0]:9.1f} {without[1]:9.1f}")
        print(f"{'  difference (what the guard adds)':44} {with_guard[0] - without[0]:9.1f}")

        if args.profile:
            prof = cProfile.Profile()
            prof.enable()
            for _ in range(args.n):
                front_desk_once()
            prof.disable()
            out = io.StringIO()
            pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(args.profile)
            print(f"\ncProfile, {args.n} signed TAT front desks, top {args.profile} by own time:")
            print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[:6000])
        p.close()


if __name__ == "__main__":
    main()
