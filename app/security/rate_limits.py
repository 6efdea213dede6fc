"""Per-tenant and per-credential rate limits, and the monthly message quota, counted in Redis.

Counting happens after authentication, keyed by the tenant the credential proved, so nobody can spend another
tenant's allowance; the per-IP limit guards only the unauthenticated credential-exchange endpoints.

Every window of a request (tenant per minute, tenant per hour, credential per minute) is checked and counted
by one Lua script: one Redis round trip per request, and a refused request counts in none of them. Each
window is a sliding-window counter (the count of the current fixed bucket plus the previous bucket's,
weighted by how much of it still overlaps the window): O(1) memory per window whatever the limit, exact at a
bucket's start and within a few percent in between. The keys of one request share the tenant's hash tag
(`misybot:rl:{<company>}:…`), so the script runs on one Redis Cluster slot; the per-IP window
(`misybot:rl:ip:<ip>:m`) is never counted with a tenant's: it is one key in a call of its own. A token's
request counts its windows in the front desk's script instead (app/security/frontdesk.py), in the same round
trip as its revocation check and nonce.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone

import redis


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


# One hash per window {b: bucket number, c: its count, p: the previous bucket's count}. The function is shared
# with the front desk's script (app/security/frontdesk.py), which counts the same windows in the same call
# that checks revocation and the nonce. keys: the windows' keys; args: (limit, seconds) per window. Returns
# allowed (1|0) and the weighted count per window (as strings: Lua numbers come back truncated to integers).
SLIDING_WINDOWS_LUA = """
local function sliding_windows(keys, args, now)
  local allowed, counts, state = 1, {}, {}
  for i = 1, #keys do
    local limit, span = tonumber(args[2 * i - 1]), tonumber(args[2 * i])
    local bucket = math.floor(now / span)
    local b, c, p = unpack(redis.call('hmget', keys[i], 'b', 'c', 'p'))
    b, c, p = tonumber(b), tonumber(c) or 0, tonumber(p) or 0
    if b ~= bucket then
      if b == bucket - 1 then p = c else p = 0 end
      c = 0
    end
    local count = p * (1 - (now - bucket * span) / span) + c
    if count + 1 > limit then allowed = 0 end
    state[i], counts[i] = {bucket, c, p, span}, count
  end
  for i = 1, #keys do
    local bucket, c, p, span = unpack(state[i])
    if allowed == 1 then
      redis.call('hset', keys[i], 'b', bucket, 'c', c + 1, 'p', p)
      redis.call('expire', keys[i], 2 * span)
      counts[i] = counts[i] + 1
    end
    counts[i] = tostring(counts[i])
  end
  return allowed, counts
end
"""

# KEYS: the windows; ARGV: now, then (limit, seconds) per window. Returns allowed, then the count per window.
_SLIDING_WINDOWS = SLIDING_WINDOWS_LUA + """
local allowed, counts = sliding_windows(KEYS, {unpack(ARGV, 2)}, tonumber(ARGV[1]))
return {allowed, unpack(counts)}
"""

MINUTE, HOUR = 60, 3600


def tenant_windows(company_id: str, credential_id: str, per_minute: int,
                   per_hour: int) -> list[tuple[str, int, int]]:
    """The windows a tenant request counts in: (key, limit, seconds), on the tenant's hash tag."""
    tag = f"misybot:rl:{{{company_id}}}"
    return [(f"{tag}:tenant:m", per_minute, MINUTE), (f"{tag}:tenant:h", per_hour, HOUR),
            (f"{tag}:credential:{credential_id}:m", per_minute, MINUTE)]


def window_args(windows: list[tuple[str, int, int]]) -> list[int]:
    return [x for _, limit, span in windows for x in (limit, span)]


def verdict(windows: list[tuple[str, int, int]], now: float, allowed, counts: list) -> Verdict:
    """The verdict of the tightest window (the blocking one when refused), from the script's answer."""
    verdicts = [Verdict(bool(int(allowed)), limit, int(limit - float(n)), (now // span + 1) * span)
                for (_, limit, span), n in zip(windows, counts, strict=True)]
    if not int(allowed):
        return max((v for v in verdicts if v.remaining < 1), key=lambda v: v.reset_at, default=verdicts[0])
    return min(verdicts, key=lambda v: v.remaining)


class RateLimiter:
    def __init__(self, client: redis.Redis):
        self._script = client.register_script(_SLIDING_WINDOWS)

    def _hit(self, windows: list[tuple[str, int, int]]) -> Verdict:
        """windows: (key, limit, seconds). The verdict of the tightest window (the blocking one when refused)."""
        now = time.time()
        allowed, *counts = self._script(keys=[k for k, _, _ in windows], args=[now, *window_args(windows)])
        return verdict(windows, now, allowed, counts)

    def check_tenant(self, company_id: str, credential_id: str, per_minute: int, per_hour: int) -> Verdict:
        """All three windows are checked and counted together; the tightest one answers (and its headers are
        sent)."""
        return self._hit(tenant_windows(company_id, credential_id, per_minute, per_hour))

    def check_ip(self, ip: str, per_minute: int) -> Verdict:
        return self._hit([(f"misybot:rl:ip:{ip}:m", per_minute, MINUTE)])


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
