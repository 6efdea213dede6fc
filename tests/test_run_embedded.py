"""README's first command: `python run.py` on embedded defaults serves a search result to a curl."""
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def test_run_py_serves_seeded_tenants_on_embedded_stores(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items()
           if k not in ("REDIS_URL", "QDRANT_URL", "MISYBOT_ADMIN_TOKEN", "EMBEDDINGS_MODEL", "MISYBOT_ENV")}
    env.update(PORT=str(port), DATA_DIR=str(tmp_path / "data"))
    proc = subprocess.Popen([sys.executable, "run.py"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 180
        while time.time() < deadline:
            assert proc.poll() is None, proc.stderr.read()
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        # the README's curl flow
        admin = (tmp_path / "data" / "admin_token").read_text().strip()
        key = httpx.post(f"{base}/admin/companies/benova/api-keys", json={},
                         headers={"Authorization": f"Bearer {admin}"}).json()["api_key"]
        r = httpx.post(f"{base}/documents/search", json={"query": "¿cuánto cuesta el bótox?"},
                       headers={"X-API-Key": key})
        assert r.status_code == 200
        results = r.json()["results"]
        assert results and any("850.000" in hit["content"] for hit in results[:3])
        assert (tmp_path / "data" / "redis").is_dir() and (tmp_path / "data" / "qdrant").is_dir()
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
