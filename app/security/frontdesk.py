"""The front desk's one Redis round trip: after a request's credential and signature are proven in the process
(no Redis), one Lua script checks that the token is not revoked, that the process's copy of the tenant's HMAC
secrets is current, records the request's nonce (replay guard) and counts its rate-limit windows. Each step
runs only if the ones before passed, so a revoked token, a stale copy or a replay records and counts nothing.

Every key given to one call carries the tenant's hash tag (`misybot:…:{<company>}…`), so on a Redis Cluster
the script runs on the tenant's slot. The only exceptions are the names from before the hash tags
(`legacy_keys`), which are passed on a single Redis only, where slots do not matter.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import redis

from app.security.rate_limits import SLIDING_WINDOWS_LUA, window_args

# KEYS, in order: revoked markers (must not exist), revoked-before times (the token's iat must not be older),
# the secrets' revision (0 or 1 key), old nonce names (must not exist), the nonce (0 or 1 key, SET NX), then
# the rate-limit windows. ARGV: now, iat, the five counts, the expected revision, the nonce's TTL, then
# (limit, seconds) per window. Returns {'revoked'}, {'stale', revision}, {'replayed'} or
# {'ok', allowed, count per window...}.
_ADMIT = SLIDING_WINDOWS_LUA + """
local now, iat = tonumber(ARGV[1]), tonumber(ARGV[2])
local n_revoked, n_before, n_rev, n_old, n_nonce = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]),
                                                   tonumber(ARGV[6]), tonumber(ARGV[7])
local k = 0
for i = 1, n_revoked do
  if redis.call('exists', KEYS[k + i]) == 1 then return {'revoked'} end
end
k = k + n_revoked
for i = 1, n_before do
  local t = redis.call('get', KEYS[k + i])
  if t and iat < tonumber(t) then return {'revoked'} end
end
k = k + n_before
if n_rev == 1 then
  local rev = redis.call('get', KEYS[k + 1]) or ''
  if rev ~= ARGV[8] then return {'stale', rev} end
  k = k + 1
end
for i = 1, n_old do
  if redis.call('exists', KEYS[k + i]) == 1 then return {'replayed'} end
end
k = k + n_old
if n_nonce == 1 then
  if not redis.call('set', KEYS[k + 1], '1', 'NX', 'EX', ARGV[9]) then return {'replayed'} end
  k = k + 1
end
local windows = {}
for i = k + 1, #KEYS do windows[#windows + 1] = KEYS[i] end
if #windows == 0 then return {'ok', 1} end
local allowed, counts = sliding_windows(windows, {unpack(ARGV, 10)}, now)
return {'ok', allowed, unpack(counts)}
"""


@dataclass
class Admission:
    """What one request asks the script to check and record."""
    iat: float = 0
    revoked: list[str] = field(default_factory=list)      # keys that must not exist (revoked jti)
    revoked_before: list[str] = field(default_factory=list)
    revision_key: str | None = None                        # the tenant's HMAC secrets revision …
    revision: str = ""                                     # … and the one this process's copy was read at
    old_nonces: list[str] = field(default_factory=list)
    nonce_key: str | None = None
    nonce_ttl_s: int = 0
    windows: list[tuple[str, int, int]] = field(default_factory=list)    # (key, limit, seconds)


@dataclass(frozen=True)
class Outcome:
    status: str                    # "ok", "revoked", "stale" (the secrets changed), "replayed"
    revision: str = ""             # with "stale": the current revision
    allowed: bool = True           # with "ok": every rate-limit window had room (and was counted)
    counts: tuple = ()


class Gate:
    def __init__(self, client: redis.Redis):
        self._client = client
        self._script = client.register_script(_ADMIT)

    def admit(self, a: Admission, now: float) -> Outcome:
        keys = [*a.revoked, *a.revoked_before, *([a.revision_key] if a.revision_key else []), *a.old_nonces,
                *([a.nonce_key] if a.nonce_key else []), *(k for k, _, _ in a.windows)]
        args = [now, a.iat, len(a.revoked), len(a.revoked_before), int(a.revision_key is not None),
                len(a.old_nonces), int(a.nonce_key is not None), a.revision, a.nonce_ttl_s]
        args += window_args(a.windows)
        try:          # EVALSHA straight away: Script.__call__'s checks cost more than this call's own work
            status, *rest = self._client.evalsha(self._script.sha, len(keys), *keys, *args)
        except redis.exceptions.NoScriptError:          # a restarted or new server: load it, once
            status, *rest = self._script(keys=keys, args=args)
        if status == "ok":
            return Outcome("ok", allowed=bool(int(rest[0])), counts=tuple(rest[1:]))
        return Outcome(status, revision=rest[0] if rest else "")
