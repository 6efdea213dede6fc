"""Faults of the stores and the embedder, caused for real.

A. The embeddings endpoint breaks (answers 500, hangs past the timeout, sends garbage or vectors of the wrong
   size, or is shut down) after documents were ingested: hybrid search answers lexical-only and says so,
   dense search answers 503, an upload answers 503 and stores nothing, a chat turn still answers.
B. The disk under DATA_DIR fills up (a real 8 MB tmpfs, embedded Redis and Qdrant on it): uploads answer
   507 storage_full, never 500; once space is freed the service takes uploads again and everything stored
   before is intact, also after a restart of both stores from their files.
"""
from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import psutil
import pytest

from app.factory import create_app
from app.knowledge.index import degraded_searches
from app.storage import redis_store
from tests.conftest import ADMIN_TOKEN
from tests.fake_openai import embed
from tests.http_doubles import JsonHandler, serve

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
STONES = "Masaje relajante con piedras calientes volcánicas, 60 minutos, para soltar la espalda."
TEETH = "Blanqueamiento dental con luz LED en una sola sesión de 45 minutos."
BOTOX = ("# Servicios y precios\n\n## Toxina botulínica (bótox)\n\n- Precio: $850.000 COP por tres zonas\n"
         "- Duración: 30 minutos\n- El efecto dura entre 4 y 6 meses.")


class Embeddings:
    """An OpenAI-compatible POST /v1/embeddings that works, then breaks the ways real ones do:
    "error" (500), "hang" (answers nothing until closed), "garbage" (a 200 that is not JSON),
    "wrong_size" (vectors of another dimension) or "down" (the port closed: connection refused)."""

    def __init__(self):
        self.mode = "ok"
        self.calls = 0
        self._release = threading.Event()
        outer = self

        class Handler(JsonHandler):
            def do_POST(self):
                body = self.read_json()
                outer.calls += 1
                if outer.mode == "error":
                    return self._send(500, {"error": {"message": "boom", "type": "server_error"}})
                if outer.mode == "hang":
                    outer._release.wait(30)
                    return
                if outer.mode == "garbage":
                    raw = b"<html><body>502 Bad Gateway</body></html>"
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(raw)))
                    self.end_headers()
                    self.wfile.write(raw)
                    return
                inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
                vectors = [embed(t) for t in inputs]
                if outer.mode == "wrong_size":
                    vectors = [v[:16] for v in vectors]
                self._send(200, {"object": "list", "model": body["model"],
                                 "data": [{"object": "embedding", "index": i, "embedding": v}
                                          for i, v in enumerate(vectors)],
                                 "usage": {"prompt_tokens": 1, "total_tokens": 1}})

        self.httpd, base = serve(Handler)
        self.url = f"{base}/v1"

    def break_as(self, mode: str) -> None:
        if mode == "down":
            self.close()
        self.mode = mode

    def close(self) -> None:
        self._release.set()
        self.httpd.shutdown()
        self.httpd.server_close()     # the port stops listening: connections are refused


@pytest.fixture
def endpoint():
    server = Embeddings()
    yield server
    if server.mode != "down":
        server.close()


@pytest.fixture
def embedded_app(make_settings, redis_client, endpoint):
    app = create_app(make_settings(embeddings_model="text-embedding-3-small", openai_base_url=endpoint.url,
                                   openai_api_key="sk-test", embeddings_timeout_s=1.0,
                                   embeddings_query_timeout_s=0.5))
    yield app
    app.extensions["misybot"].vectors.close()


def _key(c, company: str = "alpha") -> dict:
    r = c.post(f"/admin/companies/{company}/api-keys", json={}, headers=ADMIN)
    assert r.status_code == 201, r.get_json()
    return {"X-API-Key": r.get_json()["api_key"]}


def _search(c, h, query: str, mode: str = "hybrid"):
    return c.post("/documents/search", json={"query": query, "mode": mode}, headers=h)


def _points(app, collection: str) -> int:
    return app.extensions["misybot"].vectors.call(lambda cl: cl.count(collection, exact=True).count)


# -- A. the embedder fails ------------------------------------------------------------------------------
@pytest.mark.parametrize("fault", ["error", "hang", "garbage", "wrong_size", "down"])
def test_hybrid_search_answers_lexical_only_when_the_embedder_fails(fault, embedded_app, endpoint, redis_client):
    c = embedded_app.test_client()
    h = _key(c)
    for text in (STONES, TEETH):
        assert c.post("/documents", json={"content": text}, headers=h).status_code == 201
    healthy = _search(c, h, "piedras calientes")
    assert healthy.status_code == 200 and "degraded" not in healthy.get_json()
    points_before = _points(embedded_app, "alpha_documents")
    degraded_before = degraded_searches.value

    endpoint.break_as(fault)
    r = _search(c, h, "piedras calientes")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["degraded"] == "lexical_only"
    assert body["results"] and "piedras" in body["results"][0]["content"]
    assert degraded_searches.value == degraded_before + 1
    # lexical mode never needed the embedder: not degraded
    lexical = _search(c, h, "piedras calientes", mode="lexical")
    assert lexical.status_code == 200 and "degraded" not in lexical.get_json()
    assert lexical.get_json()["results"][0]["content"] == STONES
    # dense mode has nothing to fall back to
    dense = _search(c, h, "piedras calientes", mode="dense")
    assert dense.status_code == 503 and dense.get_json()["error"]["code"] == "embedder_unavailable"
    assert dense.headers["Retry-After"]

    # an upload needs the embedder: a clear 503 and nothing half-stored
    new_text = f"Limpieza facial profunda con extracción ({fault})."
    up = c.post("/documents", json={"content": new_text}, headers=h)
    assert up.status_code == 503 and up.get_json()["error"]["code"] == "embedder_unavailable"
    assert c.get("/documents", headers=h).get_json()["total"] == 2
    assert len(list(redis_client.scan_iter(match="{alpha}:document:*"))) == 2     # no record of the refused one
    assert _points(embedded_app, "alpha_documents") == points_before

    if fault != "down":
        endpoint.mode = "ok"
        again = _search(c, h, "piedras calientes")
        assert again.status_code == 200 and "degraded" not in again.get_json()
        assert c.post("/documents", json={"content": new_text}, headers=h).status_code == 201


def test_a_chat_turn_answers_from_the_lexical_passage_when_the_embedder_fails(embedded_app, endpoint):
    c = embedded_app.test_client()
    h = _key(c)
    assert c.post("/documents", json={"content": BOTOX}, headers=h).status_code == 201
    endpoint.break_as("error")
    r = c.post("/conversations/cliente-1/test", json={"message": "hola, cuánto vale el botox?", "channel": "web"},
               headers=h)
    assert r.status_code == 200, r.get_json()
    out = r.get_json()
    assert out["agent"] == "sales" and "$850.000" in out["bot_response"]
    assert out["sources"], "the answer must name the passage it came from"


# -- B. the disk under DATA_DIR fills up ------------------------------------------------------------------
@pytest.fixture
def small_disk(tmp_path):
    mnt = tmp_path / "disk"
    mnt.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mnt)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not permitted here ({mounted.stderr.strip()}); this test needs root")
    try:
        yield mnt
    finally:
        _stop_embedded_redis(mnt / "data")
        if subprocess.run(["umount", str(mnt)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(mnt)], check=False)     # a file still open: detach it anyway


def _stop_embedded_redis(data_dir: Path) -> None:
    """Stop the embedded redis-server this test started for data_dir (SIGTERM: it flushes its AOF and exits)."""
    db_path = str((data_dir / "redis" / "misybot.rdb").resolve())
    server = redis_store._embedded_servers.pop(db_path, None)
    if server is None or not server.pid:
        return
    pid = server.pid
    os.kill(pid, signal.SIGTERM)
    try:
        psutil.Process(pid).wait(timeout=15)
    except psutil.NoSuchProcess:
        pass


def _fill(disk: Path) -> Path:
    filler = disk / "filler"
    with open(filler, "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
    return filler


def _wait_for(condition, timeout_s: float = 15.0):
    """Redis retries its failed AOF write on its own once a second: wait for it, do not assume it."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def _embedded_settings(make_settings, disk: Path, **overrides):
    return make_settings(data_dir=disk / "data", redis_url=None, qdrant_url=None, **overrides)


def _force_redis_to_meet_the_full_disk(plat) -> None:
    """Redis appends to its AOF inside the file's last, already allocated block: a few small writes may still
    fit on a full disk, so which request meets the full disk first is chance. One 256 KB write makes Redis
    meet it now (the write is accepted in memory, the AOF write fails, and from then on Redis refuses writes)."""
    plat.redis.set("misybot:test:disk-probe", "x" * 256 * 1024)
    _wait_for(lambda: plat.redis.info("persistence")["aof_last_write_status"] == "err")


def test_full_disk_under_the_embedded_redis_gives_507_and_nothing_is_lost(small_disk, make_settings, redis_client):
    app = create_app(_embedded_settings(make_settings, small_disk, min_free_disk_mb=0))
    plat = app.extensions["misybot"]
    c = app.test_client()
    alpha = _key(c, "alpha")
    first = c.post("/documents", json={"content": STONES}, headers=alpha)
    assert first.status_code == 201
    first_id = first.get_json()["document_id"]
    points = _points(app, "alpha_documents")
    keys_before = {k: plat.redis.type(k) for k in plat.redis.scan_iter(match="{alpha}:*")}

    filler = _fill(small_disk)
    try:
        _force_redis_to_meet_the_full_disk(plat)
        for text in (TEETH, f"{TEETH} Otra vez."):
            r = c.post("/documents", json={"content": text}, headers=alpha)
            assert r.status_code == 507, r.get_json()
            assert r.get_json()["error"]["code"] == "storage_full" and r.headers["Retry-After"]
        # every request pays a rate-limit write, so reads are refused too, but clearly: never a 500
        listed = c.get("/documents", headers=alpha)
        assert listed.status_code == 507 and listed.get_json()["error"]["code"] == "storage_full"
        # Redis refuses writes but still reads: the earlier record is there; Qdrant holds nothing new
        assert plat.redis.hget(f"{{alpha}}:document:{first_id}", "status") == "ready"
        assert _points(app, "alpha_documents") == points
    finally:
        filler.unlink()

    _wait_for(lambda: plat.redis.info("persistence")["aof_last_write_status"] == "ok")
    plat.redis.delete("misybot:test:disk-probe")
    second = c.post("/documents", json={"content": TEETH}, headers=alpha)
    assert second.status_code == 201, second.get_json()
    listing = c.get("/documents", headers=alpha).get_json()
    assert listing["total"] == 2 and first_id in {d["document_id"] for d in listing["documents"]}
    assert _search(c, alpha, "piedras calientes").get_json()["results"][0]["document_id"] == first_id
    assert all(plat.redis.type(k) == kind for k, kind in keys_before.items() if not k.startswith("{alpha}:lock"))
    plat.vectors.close()

    # Restart both stores from their files: nothing the full disk touched is corrupted.
    _stop_embedded_redis(small_disk / "data")
    app = create_app(_embedded_settings(make_settings, small_disk, min_free_disk_mb=0))
    try:
        c = app.test_client()
        alpha = _key(c, "alpha")
        assert c.get("/documents", headers=alpha).get_json()["total"] == 2
        assert app.extensions["misybot"].redis.hget(f"{{alpha}}:document:{first_id}", "status") == "ready"
        assert _search(c, alpha, "piedras calientes").get_json()["results"][0]["document_id"] == first_id
        assert _search(c, alpha, "blanqueamiento dental").get_json()["results"][0]["content"] == TEETH
    finally:
        app.extensions["misybot"].vectors.close()


def test_full_disk_under_the_embedded_qdrant_gives_507_and_nothing_is_lost(small_disk, make_settings, redis_client):
    """Redis on its server (REDIS_URL), Qdrant embedded on the full disk: its SQLite answers 'database or
    disk is full'. Also a company whose collection does not exist yet: local mode would keep the new
    collection in memory without meta.json, and lose its points at the next start."""
    settings = make_settings(data_dir=small_disk / "data", qdrant_url=None, min_free_disk_mb=0)
    app = create_app(settings)
    plat = app.extensions["misybot"]
    c = app.test_client()
    alpha, beta = _key(c, "alpha"), _key(c, "beta")
    first = c.post("/documents", json={"content": STONES}, headers=alpha)
    assert first.status_code == 201
    first_id = first.get_json()["document_id"]
    points = _points(app, "alpha_documents")
    pindas = "Masaje de pindas herbales tailandés con aceite tibio."

    filler = _fill(small_disk)
    try:
        r = c.post("/documents", json={"content": TEETH}, headers=alpha)
        assert r.status_code == 507 and r.get_json()["error"]["code"] == "storage_full", r.get_json()
        r = c.post("/documents", json={"content": pindas}, headers=beta)
        assert r.status_code == 507 and r.get_json()["error"]["code"] == "storage_full", r.get_json()
        # nothing half-stored: no record, no points, no half-made collection
        assert list(redis_client.scan_iter(match="{alpha}:document:*")) == [f"{{alpha}}:document:{first_id}"]
        assert not list(redis_client.scan_iter(match="{beta}:document:*"))
        assert _points(app, "alpha_documents") == points
        assert not plat.vectors.call(lambda cl: cl.collection_exists("beta_documents"))
        # reads still work while the disk is full
        assert c.get("/documents", headers=alpha).get_json()["total"] == 1
        assert _search(c, alpha, "piedras calientes").get_json()["results"][0]["document_id"] == first_id
    finally:
        filler.unlink()

    assert c.post("/documents", json={"content": TEETH}, headers=alpha).status_code == 201
    assert c.post("/documents", json={"content": pindas}, headers=beta).status_code == 201
    plat.vectors.close()

    # Reopen the embedded Qdrant from its files: both collections and all their points are there.
    app = create_app(settings)
    try:
        c = app.test_client()
        alpha, beta = _key(c, "alpha"), _key(c, "beta")
        assert c.get("/documents", headers=alpha).get_json()["total"] == 2
        assert _search(c, alpha, "piedras calientes").get_json()["results"][0]["document_id"] == first_id
        assert _search(c, beta, "pindas herbales").get_json()["results"][0]["content"] == pindas
    finally:
        app.extensions["misybot"].vectors.close()


def test_uploads_are_refused_before_anything_is_written_below_the_free_disk_margin(small_disk, make_settings,
                                                                                  redis_client):
    app = create_app(_embedded_settings(make_settings, small_disk, min_free_disk_mb=2))
    plat = app.extensions["misybot"]
    try:
        c = app.test_client()
        h = _key(c)
        assert c.post("/documents", json={"content": STONES}, headers=h).status_code == 201
        points = _points(app, "alpha_documents")
        filler = small_disk / "filler"
        # leave about 1 MB free: below the 2 MB margin, but the stores could still write
        free = os.statvfs(small_disk).f_bavail * os.statvfs(small_disk).f_frsize
        filler.write_bytes(b"\0" * (free - 1024 * 1024))
        try:
            r = c.post("/documents", json={"content": TEETH}, headers=h)
            assert r.status_code == 507 and r.get_json()["error"]["code"] == "storage_full"
            assert "nearly full" in r.get_json()["error"]["message"]
            # refused before the stores were touched: they still take writes, and hold nothing new
            assert plat.redis.info("persistence")["aof_last_write_status"] == "ok"
            assert _points(app, "alpha_documents") == points
            assert c.get("/documents", headers=h).get_json()["total"] == 1
            # the rest of the service works: search and reads
            assert _search(c, h, "piedras calientes").status_code == 200
        finally:
            filler.unlink()
        assert c.post("/documents", json={"content": TEETH}, headers=h).status_code == 201
    finally:
        plat.vectors.close()
