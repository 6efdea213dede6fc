"""The Chatwoot worker when things die: a killed worker's unfinished jobs are taken over within seconds
(not after the 15-minute idle reclaim), a live one's never; a Redis that came back empty gets its consumer
group back without a restart; and the widget's conversation lock is a short lease its holder renews."""
from __future__ import annotations

import time

import pytest

from app.channels.chatwoot_webhook import GROUP, JOBS, RETRY
from app.workers.chatwoot import ALIVE, ChatwootWorker
from tests.chatwoot_fake import message_event
from tests.test_chatwoot import send, setup  # noqa: F401  (the fixture)


def test_a_dead_workers_job_is_taken_over_at_once_and_answered_once(setup, cw, redis_client):
    app, c, _ = setup
    platform = app.extensions["misybot"]
    send(c, "alpha", message_event(6101, conv=61, content="cuánto vale el botox?"))
    # A worker took the job and was killed before acknowledging it: the entry stays pending under its name,
    # and its heartbeat key expires with it.
    dead = ChatwootWorker(platform, consumer="w-dead")
    got = redis_client.xreadgroup(GROUP, "w-dead", {JOBS: ">"}, count=10)
    assert len(got[0][1]) == 1
    alive = ChatwootWorker(platform, consumer="w-alive")
    assert alive.run_once() == 1
    replies = cw.messages(101, 61)
    assert len(replies) == 1 and "850.000" in replies[0]["content"]
    assert alive.run_once() == 0 and len(cw.messages(101, 61)) == 1       # once
    assert "w-dead" not in {i["name"] for i in redis_client.xinfo_consumers(JOBS, GROUP)} or \
        alive.take_over_dead_consumers() == 0
    del dead


def test_a_live_workers_job_is_left_to_it(setup, cw, redis_client):
    app, c, _ = setup
    platform = app.extensions["misybot"]
    send(c, "alpha", message_event(6201, conv=62, content="hola"))
    redis_client.xreadgroup(GROUP, "w-busy", {JOBS: ">"}, count=10)
    redis_client.set(f"{ALIVE}w-busy", 1, ex=30)                 # its heartbeat: it is still on the job
    other = ChatwootWorker(platform, consumer="w-other")
    assert other.take_over_dead_consumers() == 0 and other.run_once() == 0
    assert cw.messages(101, 62) == []


def test_a_redis_that_came_back_empty_gets_the_group_back_without_a_restart(setup, cw, redis_client):
    app, c, _ = setup
    worker = ChatwootWorker(app.extensions["misybot"], consumer="w-survivor")
    worker.start()
    try:
        redis_client.flushdb()                     # Redis restarted without its data
        assert c.put("/admin/companies/alpha/chatwoot", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
                     json={"api_token": "token-alpha", "webhook_secret": "whsec-alpha-0123456789"}).status_code == 200
        deadline = time.time() + 10
        while time.time() < deadline:
            groups = redis_client.xinfo_groups(JOBS) if redis_client.exists(JOBS) else []
            if any(g["name"] == GROUP for g in groups):
                break
            time.sleep(0.1)
        assert any(g["name"] == GROUP for g in redis_client.xinfo_groups(JOBS))
        send(c, "alpha", message_event(6301, conv=63, content="¿dónde están ubicados?"))
        deadline = time.time() + 15
        while time.time() < deadline and not cw.messages(101, 63):
            time.sleep(0.1)
        assert len(cw.messages(101, 63)) == 1
    finally:
        worker.stop()
    assert not redis_client.exists(f"{ALIVE}w-survivor")          # a stopped worker says it is gone


from tests.conftest import ADMIN_TOKEN  # noqa: E402


class Busy(Exception):
    pass


def test_a_lease_is_renewed_while_held_and_freed_soon_after_its_holder_dies(redis_client, redis_url):
    import subprocess
    import sys

    from app.storage.redis_store import TenantKeyspace
    keys = TenantKeyspace(redis_client, "alpha:")
    with keys.exclusive("conversation", "ana", timeout_s=0.6, wait_s=0, busy=Busy(), renew=True):
        time.sleep(2.0)                                   # more than three leases
        with pytest.raises(Busy):
            with keys.exclusive("conversation", "ana", timeout_s=0.6, wait_s=0, busy=Busy()):
                pass
        assert 0 < redis_client.pttl("alpha:lock:conversation:ana") <= 600
    with keys.exclusive("conversation", "ana", timeout_s=0.6, wait_s=0, busy=Busy()):
        pass                                              # released at the end

    holder = subprocess.Popen([sys.executable, "-c", f"""
import sys, time, redis
from app.storage.redis_store import TenantKeyspace
keys = TenantKeyspace(redis.Redis.from_url({redis_url!r}), "alpha:")
with keys.exclusive("conversation", "ana", timeout_s=1.0, wait_s=0, busy=RuntimeError("busy"), renew=True):
    print("held", flush=True)
    time.sleep(60)
"""], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        time.sleep(1.5)                                   # renewed past its first lease
        assert redis_client.exists("alpha:lock:conversation:ana")
        holder.kill()                                     # SIGKILL: no release
        holder.wait(5)
        started = time.monotonic()
        with keys.exclusive("conversation", "ana", timeout_s=1.0, wait_s=5, busy=Busy()):
            waited = time.monotonic() - started
        assert waited <= 1.5                              # one lease, not the longest a turn could take
    finally:
        holder.kill()


def test_the_conversation_lock_is_a_short_lease(app, redis_client):
    from app.conversations.history import LEASE_S
    from app.security.principal import Principal
    p = app.extensions["misybot"]
    ctx = p.tenant_context(p.registry.get("alpha"), Principal("platform_admin", None))
    with ctx.conversations.turn_lock("ana"):
        ttl = redis_client.pttl(ctx.keyspace.key("lock", "conversation", "ana"))
    assert 0 < ttl <= LEASE_S * 1000 <= 10_000


def test_health_reports_a_redis_that_came_back_empty(client, redis_client):
    assert client.get("/health").status_code == 200
    redis_client.flushdb()                        # Redis restarted without its data
    r = client.get("/health")
    assert r.status_code == 503
    check = r.get_json()["checks"]["redis"]
    assert check["ok"] is False and check["error"] == "store_wiped" and "backup" in check["message"]


def test_replies_keep_their_order_while_chatwoot_fails(setup, cw, redis_client):
    """Chatwoot answers 500 for a while: the first reply waits for its retry, and the same conversation's
    next message waits behind it (not answered first); both arrive once, in order."""
    app, c, worker = setup
    cw.fail_next = 1                                   # the first post fails
    send(c, "alpha", message_event(6401, conv=64, content="cuánto vale el botox?"))
    worker.run_once()
    send(c, "alpha", message_event(6402, conv=64, content="¿dónde están ubicados?"))
    worker.run_once()
    assert cw.messages(101, 64) == []                  # the second did not overtake the first
    for _ in range(6):
        for raw in redis_client.zrange(RETRY, 0, -1):  # make the backoff due now
            redis_client.zadd(RETRY, {raw: 0})
        worker.run_once()
    replies = [m["content"] for m in cw.messages(101, 64)]
    assert len(replies) == 2 and "850.000" in replies[0] and "850.000" not in replies[1]
    assert redis_client.zcard(RETRY) == 0 and not list(redis_client.scan_iter("misybot:chatwoot:hold:*"))
    # another conversation was never held back by this one
    send(c, "alpha", message_event(6501, conv=65, content="hola"))
    worker.run_once()
    assert len(cw.messages(101, 65)) == 1
