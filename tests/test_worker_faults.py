"""The Chatwoot worker when things die: a killed worker's unfinished jobs are taken over within seconds
(not after the 15-minute idle reclaim), a live one's never; a Redis that came back empty gets its consumer
group back without a restart; and the widget's conversation lock is a short lease its holder renews."""
from __future__ import annotations

import time

import pytest

from app.channels.chatwoot_client import ChatwootClient, ChatwootError
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
        assert 0 < redis_client.pttl("{alpha}:lock:conversation:ana") <= 600
    with keys.exclusive("conversation", "ana", timeout_s=0.6, wait_s=0, busy=Busy()):
        pass                                              # released at the end

    holder = subprocess.Popen([sys.executable, "-c", f"""
import sys, time
from pathlib import Path
from app.storage.redis_store import TenantKeyspace, connect_redis
keys = TenantKeyspace(connect_redis({redis_url!r}, Path(".")), "alpha:")
with keys.exclusive("conversation", "ana", timeout_s=1.0, wait_s=0, busy=RuntimeError("busy"), renew=True):
    print("held", flush=True)
    time.sleep(60)
"""], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        time.sleep(1.5)                                   # renewed past its first lease
        assert redis_client.exists("{alpha}:lock:conversation:ana")
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


def test_conversations_run_side_by_side_each_in_order(setup, cw, redis_client):
    """With several lanes, a slow Chatwoot post of one conversation does not hold up the others, and each
    conversation's replies still arrive in the order its customer wrote."""
    app, c, _ = setup
    cw.delay_s = 0.3
    questions = ["hola", "cuánto vale el botox?", "gracias"]
    for i, q in enumerate(questions):
        for conv in (71, 72, 73):
            send(c, "alpha", message_event(7000 + conv * 10 + i, conv=conv, content=q))
    worker = ChatwootWorker(app.extensions["misybot"], consumer="w-lanes", lanes=4)
    worker.start()
    try:
        deadline = time.time() + 30
        while time.time() < deadline and sum(len(cw.messages(101, conv)) for conv in (71, 72, 73)) < 9:
            time.sleep(0.05)
    finally:
        worker.stop()
    assert cw.max_in_flight >= 2                       # posts of different conversations overlapped
    for conv in (71, 72, 73):
        replies = [m["content"] for m in cw.messages(101, conv)]
        assert len(replies) == 3, (conv, replies)
        assert "850.000" not in replies[0] and "850.000" in replies[1]          # the greeting's reply came first
    assert redis_client.xlen(JOBS) == 0 and not worker._inflight


class _AcceptedThenLost(ChatwootClient):
    """Chatwoot accepts the reply but the answer never reaches us (a timeout, a crash before our mark)."""
    lost = 0

    def post_message(self, account_id, conversation_id, content, private=False, message_type="outgoing"):
        out = super().post_message(account_id, conversation_id, content, private, message_type)
        if not private and _AcceptedThenLost.lost == 0:
            _AcceptedThenLost.lost += 1
            raise ChatwootError("Chatwoot unreachable: ReadTimeout")
        return out


def test_a_reply_chatwoot_took_before_the_answer_was_lost_is_not_posted_again(setup, cw, redis_client):
    app, c, _ = setup
    _AcceptedThenLost.lost = 0
    worker = ChatwootWorker(app.extensions["misybot"], consumer="w-lost", client_factory=_AcceptedThenLost)
    send(c, "alpha", message_event(7401, conv=74, content="cuánto vale el botox?"))
    worker.run_once()
    assert len(cw.messages(101, 74)) == 1 and redis_client.zcard(RETRY) == 1     # it went; we don't know
    for raw in redis_client.zrange(RETRY, 0, -1):
        redis_client.zadd(RETRY, {raw: 0})
    worker.run_once()
    assert len(cw.messages(101, 74)) == 1                                          # found there, not reposted
    assert redis_client.zcard(RETRY) == 0
    out = [k for k in redis_client.scan_iter("*cw:out:*7401")]
    assert out and redis_client.hget(out[0], "status") == "sent"


def test_a_post_chatwoot_refused_is_posted_on_the_retry(setup, cw, redis_client):
    app, c, worker = setup
    cw.fail_next = 1                                   # a 500: nothing was stored on Chatwoot's side
    send(c, "alpha", message_event(7501, conv=75, content="cuánto vale el botox?"))
    worker.run_once()
    assert cw.messages(101, 75) == []
    for raw in redis_client.zrange(RETRY, 0, -1):
        redis_client.zadd(RETRY, {raw: 0})
    worker.run_once()
    assert len(cw.messages(101, 75)) == 1 and "850.000" in cw.messages(101, 75)[0]["content"]
