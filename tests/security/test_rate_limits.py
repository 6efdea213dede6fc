"""The rate limiter itself: every window of a request checked and counted in one script, a refused request
counted in none, sliding-window weighting of the previous minute, and keys on one Redis Cluster slot."""
from __future__ import annotations

from redis.crc import key_slot

import app.security.rate_limits as rl
from app.security.rate_limits import RateLimiter


class Clock:
    def __init__(self, t: float):
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_the_tightest_window_answers_and_a_refused_request_counts_nowhere(redis_client, monkeypatch):
    clock = Clock(1_000_020.0)                      # 20 s into a minute bucket
    monkeypatch.setattr(rl.time, "time", clock)
    limiter = RateLimiter(redis_client)
    got = [limiter.check_tenant("alpha", "key-1", per_minute=3, per_hour=100) for _ in range(3)]
    assert [v.allowed for v in got] == [True] * 3 and [v.remaining for v in got] == [2, 1, 0]
    refused = limiter.check_tenant("alpha", "key-1", per_minute=3, per_hour=100)
    assert not refused.allowed and refused.limit == 3 and refused.reset_at == 1_000_080.0
    assert int(refused.headers()["Retry-After"]) == 61
    hour = redis_client.hgetall("misybot:rl:{alpha}:tenant:h")
    assert hour["c"] == "3"                         # the refused one was not counted in the hour either
    # another credential of the same company shares the company's minute window
    assert not limiter.check_tenant("alpha", "key-2", per_minute=3, per_hour=100).allowed
    # another company has its own
    assert limiter.check_tenant("beta", "key-1", per_minute=3, per_hour=100).allowed


def test_the_previous_minute_still_counts_for_the_part_of_it_in_the_window(redis_client, monkeypatch):
    clock = Clock(2_000_040.0)
    monkeypatch.setattr(rl.time, "time", clock)
    limiter = RateLimiter(redis_client)
    for _ in range(4):
        assert limiter.check_ip("10.0.0.1", per_minute=4).allowed
    clock.t = 2_000_100.0 + 15                      # 15 s into the next minute: 3/4 of the last one overlaps
    assert [limiter.check_ip("10.0.0.1", per_minute=4).allowed for _ in range(2)] == [True, False]   # 4 × 0.75 + 1
    clock.t = 2_000_100.0 + 45                      # 1/4 overlaps: 4 × 0.25 + 1 counted, 2 left
    assert [limiter.check_ip("10.0.0.1", per_minute=4).allowed for _ in range(3)] == [True, True, False]
    clock.t = 2_000_220.0                           # two minutes on: nothing left of either
    assert limiter.check_ip("10.0.0.1", per_minute=4).remaining == 3


def test_a_requests_keys_share_one_cluster_slot(redis_client):
    keys = ["misybot:rl:{alpha}:tenant:m", "misybot:rl:{alpha}:tenant:h", "misybot:rl:{alpha}:credential:k:m"]
    RateLimiter(redis_client).check_tenant("alpha", "k", 10, 10)
    assert all(redis_client.exists(k) for k in keys)
    assert len({key_slot(k.encode()) for k in keys}) == 1
