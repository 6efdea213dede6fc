"""Per-tenant and per-credential rate limits, and the monthly message quota, counted in Redis.

Uses the `limits` library (moving window, exact). Counting happens after authentication, keyed by
the tenant the credential proved, so nobody can spend another tenant's allowance; the per-IP limit
guards only the unauthenticated credential-exchange endpoints.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone

from limits import RateLimitItemPerHour, RateLimitItemPerMinute
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    reset_at: float

    def headers(self) -> dict:
        h = {"X-RateLimit-Limit": str(self.limit), "X-RateLimit-Remaining": str(max(self.remaining, 0)),
             "X-RateLimit-Reset": str(int(self.reset_at))}
        if not self.allowed:
            h["Retry-After"] = str(max(int(self.reset_at - time.time()) + 1, 1))
        return h


class RateLimiter:
    def __init__(self, storage_uri: str):
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage_uri, key_prefix="misybot:rl"))

    def _hit(self, item, *identifiers: str) -> Verdict:
        allowed = self._limiter.hit(item, *identifiers)
        stats = self._limiter.get_window_stats(item, *identifiers)
        return Verdict(allowed, item.amount, stats.remaining, stats.reset_time)

    def check_tenant(self, company_id: str, credential_id: str, per_minute: int, per_hour: int) -> Verdict:
        """All three windows are counted; the tightest one answers (and its headers are sent)."""
        verdicts = [self._hit(RateLimitItemPerMinute(per_minute), "tenant", company_id),
                    self._hit(RateLimitItemPerHour(per_hour), "tenant", company_id),
                    self._hit(RateLimitItemPerMinute(per_minute), "credential", company_id, credential_id)]
        blocked = [v for v in verdicts if not v.allowed]
        if blocked:
            return max(blocked, key=lambda v: v.reset_at)
        return min(verdicts, key=lambda v: v.remaining)

    def check_ip(self, ip: str, per_minute: int) -> Verdict:
        return self._hit(RateLimitItemPerMinute(per_minute), "ip", ip)


def month_key() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m")


def seconds_to_next_month() -> int:
    now = datetime.now(timezone.utc)
    nxt = datetime(now.year + (now.month == 12), now.month % 12 + 1, 1, tzinfo=timezone.utc)
    return int((nxt - now).total_seconds()) + 1


def count_message(keyspace, monthly_limit: int) -> tuple[bool, int]:
    """Add one chat message to this month's count; (allowed, used)."""
    key = keyspace.key("usage", "messages", month_key())
    pipe = keyspace.redis.pipeline(transaction=True)
    pipe.incr(key)
    pipe.expire(key, 40 * 24 * 3600)
    used, _ = pipe.execute()
    if used > monthly_limit:
        keyspace.redis.decr(key)      # a refused message does not count
        return False, used - 1
    return True, used


def count_tokens(keyspace, tokens: int) -> int:
    """Add an answer's LLM tokens to this month's count; the new total."""
    key = keyspace.key("usage", "llm_tokens", month_key())
    pipe = keyspace.redis.pipeline(transaction=True)
    pipe.incrby(key, tokens)
    pipe.expire(key, 40 * 24 * 3600)
    total, _ = pipe.execute()
    return int(total)


def tokens_used(keyspace) -> int:
    return int(keyspace.redis.get(keyspace.key("usage", "llm_tokens", month_key())) or 0)
