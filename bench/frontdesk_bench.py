"""Per-request cost of the front desk: API key, tenant access token and HMAC verification, in µs.

    .venv/bin/python bench/frontdesk_bench.py [--n 2000]

Each figure is the whole check as a request pays it (Redis round trips included), measured against
the embedded Redis in a temp dir (or REDIS_URL when set) and the shipped tenants.
"""
from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.platform import Platform  # noqa: E402
from app.security.principal import CHAT, Principal  # noqa: E402
from app.security.signatures import sign, verify_signature  # noqa: E402
from app.settings import Settings  # noqa: E402


def timed(fn, n):
    samples = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1e6)
    s = sorted(samples)
    return statistics.median(s), s[int(0.99 * (len(s) - 1))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), companies_config_file=ROOT / "companies_config.yaml",
                            redis_url=os.environ.get("REDIS_URL"), misybot_master_key="bench-master-key-0123456789abcdefghij")
        p = Platform.from_settings(settings)
        config = p.registry.get("benova")
        ks = p.tenant_context(config, Principal("platform_admin", None)).keyspace
        key, _ = p.api_keys.issue("benova", ks, {CHAT})
        token, _ = p.tokens.issue(tenant_id="benova", site_id="s", origin="https://benova.example",
                                  permissions=[CHAT], ttl_s=3600)
        _, hmac_secret = p.secrets.issue_hmac_secret(ks)
        body = b'{"message": "hola, cuanto vale el botox?"}'
        p.tokens.verify(token, "tat")          # warm the key cache, as a running process has it

        def hmac_check():
            ts, nonce = str(int(time.time())), secrets.token_hex(12)
            headers = {"X-Misy-Timestamp": ts, "X-Misy-Nonce": nonce,
                       "X-Misy-Signature": sign(hmac_secret.encode(), ts, nonce, "POST", "/conversations/u/test", body)}
            verify_signature(p.redis, "benova", p.secrets.hmac_secrets(ks), headers, "POST", "/conversations/u/test",
                             body, 300)

        rows = [("API key (hash + 1 Redis lookup)", lambda: p.api_keys.authenticate(key)),
                ("TAT (RS256 verify + 2 revocation lookups)", lambda: p.tokens.verify(token, "tat")),
                ("HMAC (decrypt secrets + SHA-256 + nonce SET NX)", hmac_check),
                ("rate limits (3 sliding windows, 1 round trip)", lambda: p.rate_limiter.check_tenant("benova", "bench", 10**9, 10**9))]
        print(f"{args.n} iterations each, Redis: {'server' if settings.redis_url else 'embedded'}")
        for label, fn in rows:
            p50, p99 = timed(fn, args.n)
            print(f"{label:50} p50 {p50:8.1f} µs   p99 {p99:8.1f} µs")
        p.close()


if __name__ == "__main__":
    main()
