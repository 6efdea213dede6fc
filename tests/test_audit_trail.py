"""The audit trail (app/audit/trail.py), its API (app/api/audit.py) and scripts/audit_verify.py, on a real Redis.

Records are built by the real AuditTrail from synthetic Events, so these tests do not depend on where the service
emits them. Tampering is done the way someone with Redis access would: by editing the stored zset and hashes.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import redis

from app.api import audit as audit_api
from app.audit.events import Event
from app.audit.trail import GENESIS, MAX_TEXT, AuditTrail
from app.platform import Platform
from app.storage.redis_store import hash_tagged
from tests.conftest import ADMIN_TOKEN, MASTER_KEY

ROOT = Path(__file__).resolve().parent.parent
CANARY = "Maria-Canary-3001234567"
DAY = 86400


def event(kind: str = "turn", company_id: str | None = "alpha", outcome: str = "ok", at: float | None = None,
          **fields) -> Event:
    extra = {"at": at} if at is not None else {}
    return Event(kind, company_id, outcome, request_id=fields.pop("request_id", None), actor="api_key:k1",
                 trace_id="t" * 32, fields=fields, **extra)


def turn(n: int, company_id: str = "alpha", **kw) -> Event:
    fields: dict[str, Any] = dict(user=f"u_{n:024d}", channel="whatsapp", source="api", agent="sales", route_reasons=["price"],
                  stages_ms={"resolve": 1.5, "run_graph": 40}, duration_ms=50, handoff=False, emergency=False,
                  grounded=True, llm=None, booking_status=None, request_id=f"req-{company_id}-{n}")
    fields.update(kw)
    return event("turn", company_id, **fields)


def stored(r: redis.Redis, prefix: str = "alpha:") -> list[dict]:
    return [json.loads(m) for m in r.zrange(f"{hash_tagged(prefix)}audit:chain", 0, -1)]


def dead_redis() -> redis.Redis:
    return redis.Redis(port=1, decode_responses=True, socket_connect_timeout=0.2, socket_timeout=0.2)


@pytest.fixture
def platform(make_settings, redis_client):
    p = Platform.from_settings(make_settings())
    yield p
    p.close()


@pytest.fixture
def trail(platform):
    return AuditTrail(platform)


def write(trail: AuditTrail, *events: Event) -> None:
    for e in events:
        trail(e)
    assert trail.flush(10)


# -- records and the chain ---------------------------------------------------------------------------------------
def test_records_are_chained_in_the_tenants_own_keyspace(trail, redis_client):
    write(trail, *(turn(i) for i in range(5)), turn(9, company_id="beta"))
    records = stored(redis_client)
    assert [r["seq"] for r in records] == [1, 2, 3, 4, 5] and trail.written == 6
    first = records[0]
    assert first["prev"] == GENESIS and first["company_id"] == "alpha" and first["kind"] == "turn"
    assert first["at"].endswith("Z") and first["actor"] == "api_key:k1" and first["agent"] == "sales"
    for before, after in zip(records, records[1:], strict=False):
        assert after["prev"] == before["hash"]
    # hash = sha256 of the canonical JSON (sorted keys, no spaces) of the record without `hash`
    body = {k: v for k, v in first.items() if k != "hash"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert first["hash"] == hashlib.sha256(canonical.encode()).hexdigest()
    assert [r["seq"] for r in stored(redis_client, "beta:")] == [1]
    assert trail.verify("alpha").ok and trail.verify("beta").ok
    assert all(k.startswith(("{alpha}:audit:", "{beta}:audit:", "misybot:{audit}:", "misybot:audit:mac_key")) for k in redis_client.scan_iter("*audit*"))


def test_events_without_a_known_tenant_go_to_the_platform_chain(trail, redis_client):
    write(trail, event("security_refusal", None, "refused", method="POST", route="/documents", status=401,
                       error_code="invalid_credentials", reason="invalid_credentials"),
          event("security_refusal", "no-such-company", "refused", status=403, reason="tenant_mismatch"))
    records = [json.loads(m) for m in redis_client.zrange("misybot:{audit}:chain", 0, -1)]
    assert [(r["seq"], r["company_id"], r["reason"]) for r in records] == [
        (1, None, "invalid_credentials"), (2, "no-such-company", "tenant_mismatch")]
    assert trail.verify(None) == trail.verify(None) and trail.verify(None).ok
    assert redis_client.zcard("{alpha}:audit:chain") == 0


def test_two_writers_keep_one_linear_chain(platform, redis_client):
    # Two trails stand for two processes: each appends small batches, so their CAS on the head keeps colliding.
    writers = [AuditTrail(platform, batch_size=3) for _ in range(2)]
    for w, writer in enumerate(writers):
        for i in range(150):
            writer(turn(i, request_id=f"w{w}-{i}"))
    threads = [threading.Thread(target=writer.flush, args=(30,)) for writer in writers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    records = stored(redis_client)
    assert [r["seq"] for r in records] == list(range(1, 301))
    assert sorted(r["request_id"] for r in records) == sorted(f"w{w}-{i}" for w in range(2) for i in range(150))
    for w in range(2):       # each writer's own records keep their order
        mine = [int(r["request_id"].split("-")[1]) for r in records if r["request_id"].startswith(f"w{w}-")]
        assert mine == sorted(mine)
    result = writers[0].verify("alpha")
    assert result.ok and result.checked == 300


# -- verification catches tampering, and says where --------------------------------------------------------------
def _edit(r, seq, change, rehash=False):
    member = r.zrangebyscore("{alpha}:audit:chain", seq, seq)[0]
    record = json.loads(member)
    change(record)
    if rehash:
        body = {k: v for k, v in record.items() if k != "hash"}
        record["hash"] = hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"),
                                                   ensure_ascii=False).encode()).hexdigest()
    r.zrem("{alpha}:audit:chain", member)
    r.zadd("{alpha}:audit:chain", {json.dumps(record): seq})


def _swap(r, a, b):
    ma, mb = r.zrangebyscore("{alpha}:audit:chain", a, a)[0], r.zrangebyscore("{alpha}:audit:chain", b, b)[0]
    r.zadd("{alpha}:audit:chain", {ma: b, mb: a})


TAMPERING = {
    "edited": (lambda r: _edit(r, 4, lambda rec: rec.update(outcome="error")), 4, "edited"),
    "edited and re-hashed": (lambda r: _edit(r, 4, lambda rec: rec.update(agent="support"), rehash=True), 4, "re-hashed"),
    "removed": (lambda r: r.zremrangebyscore("{alpha}:audit:chain", 6, 6), 6, "missing"),
    "removed at the end": (lambda r: r.zremrangebyscore("{alpha}:audit:chain", 9, 10), 9, "missing from the end"),
    "reordered": (lambda r: _swap(r, 3, 7), 3, "reordered"),
    "inserted": (lambda r: r.zadd("{alpha}:audit:chain", {'{"seq":5,"forged":true}': 5}), 5, "twice"),
    "head forged": (lambda r: r.hset("{alpha}:audit:head", "seq", 8), 8, "head"),
}


@pytest.mark.parametrize("name", list(TAMPERING))
def test_verify_points_at_the_tampered_record(trail, redis_client, name):
    write(trail, *(turn(i) for i in range(10)))
    assert trail.verify("alpha").ok
    tamper, seq, words = TAMPERING[name]
    tamper(redis_client)
    result = trail.verify("alpha")
    assert not result.ok and result.first_bad_seq == seq, result
    assert words in result.problem


def test_verify_catches_a_forged_checkpoint(trail, redis_client):
    now = time.time()
    write(trail, *(turn(i, at=now - 200 * DAY + i) for i in range(4)), *(turn(i) for i in range(4, 8)))
    trimmed = trail.trim("alpha", now=now)
    assert trimmed.removed == 4 and trimmed.checkpoint_seq == 4 and trail.verify("alpha").ok
    # Hiding records 5 and 6 behind a checkpoint that claims retention removed them:
    record6 = json.loads(redis_client.zrangebyscore("{alpha}:audit:chain", 6, 6)[0])
    redis_client.zremrangebyscore("{alpha}:audit:chain", 5, 6)
    redis_client.hset("{alpha}:audit:checkpoint", mapping={"seq": 6, "hash": record6["hash"]})
    result = trail.verify("alpha")
    assert not result.ok and result.first_bad_seq == 6 and "checkpoint" in result.problem


# -- retention ---------------------------------------------------------------------------------------------------
def test_retention_trims_old_records_and_verification_still_holds(trail, redis_client):
    now = time.time()
    old = [turn(i, at=now - 120 * DAY + i, agent="old") for i in range(5)]
    write(trail, *old, *(turn(i, agent="new") for i in range(5, 8)))
    result = trail.trim("alpha", now=now)            # alpha keeps the default 90 days
    assert (result.removed, result.checkpoint_seq, result.problem) == (5, 5, None)
    assert [r["seq"] for r in stored(redis_client)] == [6, 7, 8]
    assert redis_client.zcard("{alpha}:audit:at") == 3 and not redis_client.exists("{alpha}:audit:ix:agent:old")
    assert trail.verify("alpha") == trail.verify("alpha") and trail.verify("alpha").checked == 3
    assert trail.trim("alpha", now=now).removed == 0
    # Everything ages out: the checkpoint is the head; new records continue the chain from it.
    assert trail.trim("alpha", now=now + 200 * DAY).removed == 3
    assert trail.verify("alpha").ok and redis_client.zcard("{alpha}:audit:chain") == 0
    write(trail, turn(20))
    assert stored(redis_client)[0]["seq"] == 9 and trail.verify("alpha").ok


def test_retention_keeps_a_tampered_prefix_as_evidence(trail, redis_client):
    now = time.time()
    write(trail, *(turn(i, at=now - 120 * DAY + i) for i in range(4)))
    _edit(redis_client, 2, lambda rec: rec.update(outcome="ok-ish"))
    result = trail.trim("alpha", now=now)
    assert result.removed == 0 and "edited" in result.problem
    assert redis_client.zcard("{alpha}:audit:chain") == 4 and trail.verify("alpha").first_bad_seq == 2


# -- never blocking the caller -----------------------------------------------------------------------------------
def test_records_wait_in_the_buffer_while_redis_is_down(platform, redis_client):
    trail = AuditTrail(platform, redis_client=dead_redis())
    trail.start()
    try:
        started = time.perf_counter()
        for i in range(200):
            trail(turn(i))
        assert (time.perf_counter() - started) / 200 < 0.001          # the caller never waits for Redis
        time.sleep(0.5)
        assert trail.written == 0 and trail.pending() == 200 and trail.dropped == 0
        trail.redis = redis_client                                     # Redis is back
        assert trail.flush(15)
        assert trail.written == 200 and redis_client.zcard("{alpha}:audit:chain") == 200
        assert trail.verify("alpha").ok
    finally:
        trail.stop()


def test_a_full_buffer_drops_the_oldest_and_counts_them(platform, redis_client):
    trail = AuditTrail(platform, redis_client=dead_redis(), buffer_size=100)
    for i in range(150):
        trail(turn(i))
    assert trail.dropped == 50 and trail.pending() == 100
    assert not trail.flush(0.5)                                        # still down: nothing lost from the buffer
    assert trail.pending() == 100 and trail.dropped == 50
    trail.redis = redis_client
    assert trail.flush(10) and trail.written == 100
    assert [r["request_id"] for r in stored(redis_client)] == [f"req-alpha-{i}" for i in range(50, 150)]
    assert isinstance(trail.dropped, int) and isinstance(trail.written, int)


def test_customer_text_never_reaches_redis(trail, redis_client):
    long_text = "Hola, soy " + CANARY + " y mi dirección es " + "x" * MAX_TEXT
    write(trail,
          turn(1, message=CANARY, text=CANARY, route_reasons=["price", long_text], agent=long_text,
               stages_ms={"run_graph": 12, CANARY: 1}, llm={"provider": "openai", "model": "m", "tokens": 9,
                                                            "prompt": CANARY}),
          event("request", "alpha", "ok", method="GET", route="/documents", status=200, duration_ms=3,
                error_code=None, body=CANARY, headers={"X": CANARY}),
          event("booking", "alpha", "ok", event="booking.created", channel="web", customer_name=CANARY),
          event("security_refusal", None, "refused", reason="other", query=CANARY),
          Event("turn", "alpha", long_text, request_id=long_text, actor=CANARY * 10, fields={"user": [CANARY * 9]}))
    assert trail.written == 5
    dump = []
    for key in redis_client.scan_iter("*"):
        kind = redis_client.type(key)
        value = {"zset": lambda k: redis_client.zrange(k, 0, -1), "hash": redis_client.hgetall, "set": redis_client.smembers,
                 "string": redis_client.get}[kind](key)
        dump.append(f"{key} {value}")
    assert CANARY not in "\n".join(dump)
    first = stored(redis_client)[0]
    assert first["route_reasons"] == ["price"] and "agent" not in first
    assert first["stages_ms"] == {"run_graph": 12} and first["llm"] == {"provider": "openai", "model": "m", "tokens": 9}
    assert trail.verify("alpha").ok and trail.verify(None).ok


def test_the_subscriber_never_raises(trail):
    for bad in (None, object(), Event("", "alpha", "ok"), Event("turn", "alpha", "ok", at=float("nan"),
                                                                fields="not a dict"),
                Event("turn", "alpha", "ok", fields={"user": "\ud800", "channel": b"bytes"})):
        trail(bad)
    assert trail.invalid == 3 and trail.flush(5) and trail.written == 2


# -- the API ------------------------------------------------------------------------------------------------------
@pytest.fixture
def app(app):
    if "audit" not in app.blueprints:          # until the factory registers it
        app.register_blueprint(audit_api.bp)
    return app


@pytest.fixture
def api_trail(app):
    """The factory's trail once the service wires one (a second would write every event twice), else our own."""
    platform = app.extensions["misybot"]
    wired = [s for s in getattr(platform.events, "_subscribers", []) if isinstance(s, AuditTrail)]
    if wired:
        return wired[0]
    trail = AuditTrail(platform)
    platform.events.subscribe(trail)
    return trail


@pytest.fixture
def seeded(app, api_trail):
    hub = app.extensions["misybot"].events
    # Mid-second: records keep milliseconds (rounded) while the test's window is whole seconds, so a `now` within
    # half a millisecond of a second's end rounded records 2 and 4 onto the window's edges (a rare CI failure).
    now = int(time.time()) + 0.5
    for i in range(6):
        hub.emit(turn(i, at=now - 3600 + i, agent="sales" if i % 2 else "support", request_id=f"syn-alpha-{i}"))
    hub.emit(event("chatwoot_delivery", "alpha", "dead", attempts=8, error="ChatwootError", request_id="syn-alpha-cw"))
    hub.emit(turn(0, company_id="beta", request_id="syn-beta-0"))
    assert api_trail.flush(10)
    return now


def _synthetic(body) -> list[str]:
    return [r["request_id"] for r in body["records"] if (r["request_id"] or "").startswith("syn-")]


def test_a_tenant_admin_reads_its_own_trail(client, issue_key, seeded):
    key = {"X-API-Key": issue_key("alpha")}
    body = client.get("/audit?per_page=200", headers=key).get_json()
    assert _synthetic(body) == ["syn-alpha-cw", *(f"syn-alpha-{i}" for i in range(5, -1, -1))]   # newest first
    assert {r["company_id"] for r in body["records"]} == {"alpha"}
    turns = client.get("/audit?kind=turn&agent=sales&per_page=2", headers=key).get_json()
    assert _synthetic(turns) == ["syn-alpha-5", "syn-alpha-3"] and turns["total"] == 3 and turns["has_more"]
    page2 = client.get("/audit?kind=turn&agent=sales&per_page=2&page=2", headers=key).get_json()
    assert _synthetic(page2) == ["syn-alpha-1"] and not page2["has_more"]
    user = client.get(f"/audit?user=u_{2:024d}", headers=key).get_json()
    assert _synthetic(user) == ["syn-alpha-2"]
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seeded - 3600 + 3))
    until = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seeded - 3600 + 5))
    window = client.get("/audit", query_string={"since": since, "until": until, "kind": "turn"}, headers=key).get_json()
    assert _synthetic(window) == ["syn-alpha-4", "syn-alpha-3"]
    dead = client.get("/audit?outcome=dead", headers=key).get_json()
    assert _synthetic(dead) == ["syn-alpha-cw"] and dead["records"][0]["attempts"] == 8
    assert client.get("/audit?since=yesterday", headers=key).status_code == 400


def test_only_admin_credentials_read_the_trail(client, issue_key, seeded):
    reader = {"X-API-Key": issue_key("alpha", ["documents:read", "chat"])}
    assert client.get("/audit", headers=reader).status_code == 403
    assert client.get("/audit/export", headers=reader).status_code == 403
    assert client.get("/audit").status_code == 401


def test_a_tenant_never_sees_another_tenants_trail(client, issue_key, seeded):
    beta = {"X-API-Key": issue_key("beta")}
    body = client.get("/audit?per_page=200", headers=beta).get_json()
    assert _synthetic(body) == ["syn-beta-0"] and {r["company_id"] for r in body["records"]} == {"beta"}
    assert client.get("/audit?company_id=alpha", headers=beta).status_code == 403
    assert client.get("/audit", headers={**beta, "X-Company-ID": "alpha"}).status_code == 403
    export = client.get("/audit/export", headers=beta).get_data(as_text=True)
    assert "syn-alpha" not in export and "syn-beta-0" in export


def test_the_platform_admin_names_the_company(client, admin_headers, seeded):
    body = client.get("/audit?company_id=alpha&kind=turn", headers=admin_headers).get_json()
    assert _synthetic(body) == [f"syn-alpha-{i}" for i in range(5, -1, -1)]
    missing = client.get("/audit", headers=admin_headers)
    assert missing.status_code == 400 and missing.get_json()["error"]["code"] == "company_id_required"
    assert client.get("/audit?company_id=nobody", headers=admin_headers).status_code == 404
    assert client.get("/audit?company_id=alpha", headers={"Authorization": "Bearer wrong"}).status_code == 401


def test_export_is_json_lines_oldest_first(client, issue_key, admin_headers, seeded):
    resp = client.get("/audit/export", headers={"X-API-Key": issue_key("alpha")})
    assert resp.status_code == 200 and resp.mimetype == "application/x-ndjson" and resp.is_streamed
    records = [json.loads(line) for line in resp.get_data(as_text=True).splitlines()]
    assert [r["seq"] for r in records] == sorted(r["seq"] for r in records)
    for before, after in zip(records, records[1:], strict=False):
        assert after["prev"] == before["hash"]
    assert [r["request_id"] for r in records if r["request_id"].startswith("syn-")] == [
        *(f"syn-alpha-{i}" for i in range(6)), "syn-alpha-cw"]
    filtered = client.get("/audit/export?company_id=alpha&kind=chatwoot_delivery", headers=admin_headers)
    lines = filtered.get_data(as_text=True).splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["outcome"] == "dead"


# -- the operator's script ----------------------------------------------------------------------------------------
def test_the_verify_script_exits_1_after_tampering(make_settings, redis_client, tmp_path, config_file, redis_url):
    # Two runs only: each one imports the whole platform (about half a minute on a busy machine).
    p = Platform.from_settings(make_settings())
    try:
        write(AuditTrail(p), *(turn(i) for i in range(5)), turn(0, company_id="beta"))
    finally:
        p.close()                  # the embedded Qdrant admits one process
    env = {**os.environ, "DATA_DIR": str(tmp_path / "data"), "COMPANIES_CONFIG_FILE": str(config_file),
           "REDIS_URL": redis_url, "MISYBOT_MASTER_KEY": MASTER_KEY, "MISYBOT_ADMIN_TOKEN": ADMIN_TOKEN}

    def run(*args):
        return subprocess.run([sys.executable, str(ROOT / "scripts/audit_verify.py"), *args], env=env,
                              capture_output=True, text=True, timeout=300)

    ok = run("--company-id", "alpha")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == "alpha: ok (5 records checked)"
    _edit(redis_client, 3, lambda rec: rec.update(outcome="refused"))
    bad = run("--all")
    assert bad.returncode == 1, bad.stderr
    lines = dict(line.split(": ", 1) for line in bad.stdout.strip().splitlines())
    assert lines["alpha"].startswith("PROBLEM at seq 3: record 3 was edited")
    assert lines["beta"].startswith("ok") and lines["platform"].startswith("ok")
