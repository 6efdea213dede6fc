"""Signed booking webhooks (app/bookings/webhooks.py) and their worker (app/workers/webhooks.py): real Redis, a real
local HTTP receiver that can fail or hang on purpose."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler

import httpx
import pytest

from app.bookings.webhooks import DEAD, DUE, EVENT_TYPES, BookingWebhooks, sign_webhook, verify_webhook
from app.security.vault import Vault
from app.storage.redis_store import TenantKeyspace, hash_tagged
from app.workers.webhooks import BACKOFF_S, WebhookDeliverer, backoff_s
from tests.http_doubles import QuietServer

MASTER_KEY = "test-master-key-0123456789abcdef0123456789"
PREFIX = "whtest_alpha:"                 # as declared in the companies file
KEYS = hash_tagged(PREFIX)               # as its keys carry it: {whtest_alpha}:


class Receiver:
    """A company's webhook endpoint: records every request; `fail_next` answers 500, `hang_next` never answers
    (until the test ends), `delay_s` slows every answer down."""

    def __init__(self):
        self.requests: list[dict] = []
        self.fail_next = 0
        self.hang_next = 0
        self.delay_s = 0.0
        self.released = threading.Event()
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with outer.lock:
                    outer.requests.append({"headers": dict(self.headers), "body": body, "path": self.path})
                    hang = outer.hang_next > 0
                    fail = not hang and outer.fail_next > 0
                    outer.hang_next -= hang
                    outer.fail_next -= fail
                if hang:
                    outer.released.wait(10)
                    return
                if outer.delay_s:
                    time.sleep(outer.delay_s)
                self.send_response(500 if fail else 204)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = QuietServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def ids(self) -> list[str]:
        return [r["headers"]["X-Misy-Event-Id"] for r in self.requests]

    def close(self):
        self.released.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def vault():
    return Vault(MASTER_KEY)


@pytest.fixture
def keyspace(redis_client):
    return TenantKeyspace(redis_client, PREFIX)


@pytest.fixture
def hooks(keyspace, vault, receiver):
    return BookingWebhooks(keyspace, vault, receiver.url + "/hooks/misy")


@pytest.fixture
def deliverer(redis_client, hooks):
    made: list[WebhookDeliverer] = []

    def make(**kw) -> WebhookDeliverer:
        def resolve(prefix: str):
            return (hooks.url, hooks.secret().encode()) if prefix == PREFIX else None
        d = WebhookDeliverer(redis_client, kw.pop("resolve", resolve), **kw)
        made.append(d)
        return d
    yield make
    for d in made:
        d.stop()


def booking(booking_id="bk_1", **extra):
    record = {"booking_id": booking_id, "status": "confirmed", "service_id": "botox", "service_name": "Toxina botulínica",
              "professional_id": "dra-gomez", "professional_name": "Dra. Laura Gómez",
              "start": "2026-12-15T15:00:00-05:00", "end": "2026-12-15T15:30:00-05:00", "timezone": "America/Bogota",
              "price": 850000, "currency": "COP",
              "customer": {"name": "Ana Pérez", "phone": "+573001234567", "email": None, "user_id": "wa-573001234567"},
              "channel": "whatsapp", "created_at": "2026-12-07T10:00:00+00:00",
              "updated_at": "2026-12-07T10:00:00+00:00", "sequence": 0}
    record.update(extra)
    return record


def event_key(event_id: str) -> str:
    return f"{KEYS}webhook:event:{event_id}"


# -- the secret --------------------------------------------------------------------------------------------------
def test_secret_is_created_once_stored_encrypted_and_rotates(redis_client, hooks):
    secret = hooks.secret()
    assert secret.startswith("whsec_") and len(secret) > 40
    assert hooks.secret() == secret
    stored = redis_client.get(f"{KEYS}webhook:secret")
    assert stored and secret not in stored and "whsec_" not in stored
    new = hooks.rotate_secret()
    assert new != secret and hooks.secret() == new


# -- enqueue -----------------------------------------------------------------------------------------------------
def test_enqueue_stores_the_event_and_schedules_it_platform_wide(redis_client, hooks):
    event_id = hooks.enqueue("booking.created", booking())
    assert event_id and event_id.startswith("evt_") and len(event_id) == 28
    assert redis_client.zscore(DUE, f"{KEYS}|{event_id}") == pytest.approx(time.time(), abs=5)
    record = redis_client.hgetall(event_key(event_id))
    assert record["type"] == "booking.created" and record["attempts"] == "0"
    body = json.loads(record["body"])
    assert body["id"] == event_id and body["type"] == "booking.created" and body["created_at"].endswith("+00:00")
    assert body["data"]["booking"]["booking_id"] == "bk_1"
    assert 0 < redis_client.ttl(event_key(event_id)) <= 7 * 86400


def test_no_url_enqueues_nothing(redis_client, keyspace, vault):
    assert BookingWebhooks(keyspace, vault, None).enqueue("booking.created", booking()) is None
    assert redis_client.zcard(DUE) == 0
    assert list(redis_client.scan_iter(match=f"{KEYS}*")) == []


def test_unknown_event_type_is_refused(hooks):
    assert "booking.status_changed" in EVENT_TYPES
    with pytest.raises(ValueError):
        hooks.enqueue("booking.deleted", booking())


# -- signing -----------------------------------------------------------------------------------------------------
def test_delivery_is_signed_and_verifies_and_a_tampered_body_does_not(redis_client, hooks, deliverer, receiver):
    event_id = hooks.enqueue("booking.cancelled", booking(status="cancelled", sequence=1))
    assert deliverer().run_once() == 1
    [req] = receiver.requests
    h, body = req["headers"], req["body"]
    assert req["path"] == "/hooks/misy"
    assert h["X-Misy-Event-Id"] == event_id and h["X-Misy-Event-Type"] == "booking.cancelled"
    assert h["Content-Type"] == "application/json"
    assert h["X-Misy-Signature"].startswith("v1=")
    secret = hooks.secret()
    assert verify_webhook(secret, h["X-Misy-Timestamp"], body, h["X-Misy-Signature"])
    assert verify_webhook(secret.encode(), int(h["X-Misy-Timestamp"]), body, h["X-Misy-Signature"])
    tampered = body.replace(b'"cancelled"', b'"confirmed"')
    assert tampered != body
    assert not verify_webhook(secret, h["X-Misy-Timestamp"], tampered, h["X-Misy-Signature"])
    assert not verify_webhook("whsec_other", h["X-Misy-Timestamp"], body, h["X-Misy-Signature"])
    assert not verify_webhook(secret, str(int(h["X-Misy-Timestamp"]) + 1), body, h["X-Misy-Signature"])
    # The company's own endpoint gets its customer's contact (documented in the module).
    payload = json.loads(body)
    assert payload["id"] == event_id and payload["data"]["booking"]["customer"]["phone"] == "+573001234567"
    # Acknowledged: nothing is left queued.
    assert redis_client.zcard(DUE) == 0 and not redis_client.exists(event_key(event_id))


def test_verify_webhook_rejects_stale_malformed_and_missing():
    body, ts = b'{"id":"evt_x"}', str(int(time.time()))
    sig = sign_webhook("s3cret", ts, body)
    assert verify_webhook("s3cret", ts, body, sig)
    assert verify_webhook("s3cret", ts, body, f"v1=deadbeef, {sig}")          # several signatures: one matches
    assert not verify_webhook("s3cret", ts, body, sig, now=int(ts) + 301)
    assert verify_webhook("s3cret", ts, body, sig, now=int(ts) + 299)
    assert not verify_webhook("s3cret", ts, body, sig, now=int(ts) - 301)
    assert not verify_webhook("s3cret", ts, body, sig.removeprefix("v1="))
    assert not verify_webhook("s3cret", ts, body, None)
    assert not verify_webhook("s3cret", None, body, sig)
    assert not verify_webhook("s3cret", "12.5", body, sig)
    assert not verify_webhook("s3cret", ts, body, "v1=" + "0" * 64)


# -- retries -----------------------------------------------------------------------------------------------------
def test_two_failures_then_exactly_one_delivery_with_the_same_event_id(redis_client, hooks, deliverer, receiver):
    receiver.fail_next = 2
    event_id = hooks.enqueue("booking.created", booking())
    d, member, t0 = deliverer(), f"{KEYS}|{event_id}", time.time()
    assert d.run_once(now=t0) == 0
    assert redis_client.zscore(DUE, member) == pytest.approx(t0 + BACKOFF_S[0], rel=0, abs=BACKOFF_S[0] * 0.21)
    assert redis_client.hget(event_key(event_id), "attempts") == "1"
    assert redis_client.hget(event_key(event_id), "last_status") == "500"
    assert d.run_once(now=t0 + 1) == 0 and len(receiver.requests) == 1           # not due yet
    assert d.run_once(now=t0 + 1_000) == 0
    assert d.run_once(now=t0 + 100_000) == 1
    assert d.run_once(now=t0 + 1_000_000) == 0                                    # nothing left to send
    assert receiver.ids() == [event_id] * 3
    assert [r["headers"]["X-Misy-Attempt"] for r in receiver.requests] == ["1", "2", "3"]
    assert len({r["body"] for r in receiver.requests}) == 1                       # byte-identical body
    assert redis_client.zcard(DUE) == 0 and redis_client.zcard(DEAD) == 0
    assert not redis_client.exists(event_key(event_id))


def test_a_hanging_receiver_times_out_and_the_retry_delivers(redis_client, hooks, deliverer, receiver):
    receiver.hang_next = 1
    event_id = hooks.enqueue("booking.rescheduled", booking(sequence=1))
    d, t0 = deliverer(timeout_s=0.3), time.time()
    started = time.monotonic()
    assert d.run_once(now=t0) == 0
    assert time.monotonic() - started < 3
    assert redis_client.hget(event_key(event_id), "last_status") == "ReadTimeout"
    assert d.run_once(now=t0 + 100) == 1
    assert receiver.ids() == [event_id, event_id]


def test_unreachable_receiver_is_retried(redis_client, keyspace, vault, deliverer):
    dead_url = "http://127.0.0.1:9/hooks"          # discard port: nothing listens
    hooks = BookingWebhooks(keyspace, vault, dead_url)
    event_id = hooks.enqueue("booking.created", booking())
    d = deliverer(resolve=lambda prefix: (dead_url, hooks.secret().encode()))
    assert d.run_once() == 0
    assert redis_client.hget(event_key(event_id), "last_status") == "ConnectError"
    assert redis_client.zscore(DUE, f"{KEYS}|{event_id}") > time.time()


def test_after_max_attempts_the_event_is_dead(redis_client, hooks, deliverer, receiver, caplog):
    receiver.fail_next = 100
    event_id = hooks.enqueue("booking.created", booking())
    d, t0, member = deliverer(max_attempts=3), time.time(), f"{KEYS}|{event_id}"
    for i in range(5):
        d.run_once(now=t0 + i * 1_000_000)
    assert receiver.ids() == [event_id] * 3
    assert redis_client.zscore(DUE, member) is None
    assert redis_client.zscore(DEAD, member) is not None
    assert redis_client.hget(event_key(event_id), "attempts") == "3"      # kept for a person to look at
    logged = caplog.text
    assert event_id in logged and "gave up" in logged
    for pii in ("Ana", "573001234567", "Pérez"):
        assert pii not in logged


def test_events_of_a_tenant_that_is_gone_are_dropped(redis_client, hooks, deliverer, receiver):
    event_id = hooks.enqueue("booking.created", booking())
    assert deliverer(resolve=lambda prefix: None).run_once() == 0
    assert receiver.requests == []
    assert redis_client.zcard(DUE) == 0 and not redis_client.exists(event_key(event_id))


def test_an_expired_event_is_dropped_from_the_queue(redis_client, hooks, deliverer, receiver):
    event_id = hooks.enqueue("booking.created", booking())
    redis_client.delete(event_key(event_id))
    assert deliverer().run_once() == 0
    assert receiver.requests == [] and redis_client.zcard(DUE) == 0


def test_backoff_grows_with_jitter_and_is_capped():
    assert 8 <= backoff_s(1) <= 12
    assert 24 <= backoff_s(2) <= 36
    assert backoff_s(50) <= BACKOFF_S[-1] * 1.2
    assert len({round(backoff_s(3), 6) for _ in range(20)}) > 1


# -- concurrency and the running worker --------------------------------------------------------------------------
def test_two_deliverers_at_once_send_each_event_exactly_once(redis_client, hooks, deliverer, receiver):
    receiver.delay_s = 0.01
    ids = {hooks.enqueue("booking.created", booking(f"bk_{i}")) for i in range(20)}
    workers = [deliverer(), deliverer()]
    barrier, counts = threading.Barrier(2), []

    def run(d: WebhookDeliverer):
        barrier.wait()
        counts.append(d.run_once())

    threads = [threading.Thread(target=run, args=(d,)) for d in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(receiver.ids()) == sorted(ids)                  # every event once, none twice
    assert sum(counts) == 20
    assert redis_client.zcard(DUE) == 0


def test_a_claim_left_by_a_crashed_worker_comes_due_again(redis_client, hooks, deliverer, receiver):
    event_id = hooks.enqueue("booking.created", booking())
    d, t0 = deliverer(), time.time()
    d._claim(keys=[DUE], args=[repr(t0), repr(t0 + d.lease_s)])  # claimed, then the worker died
    assert d.run_once(now=t0 + 1) == 0
    assert d.run_once(now=t0 + d.lease_s + 1) == 1
    assert receiver.ids() == [event_id]


def test_started_worker_delivers_in_the_background_and_stops(hooks, deliverer, receiver):
    d = deliverer(interval_s=0.05, http=httpx.Client())
    d.start()
    event_id = hooks.enqueue("booking.created", booking())
    deadline = time.monotonic() + 10
    while not receiver.requests and time.monotonic() < deadline:
        time.sleep(0.02)
    d.stop()
    assert receiver.ids() == [event_id]
    assert d._thread is not None and not d._thread.is_alive()
