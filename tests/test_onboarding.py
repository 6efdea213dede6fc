"""scripts/onboard_company.py (direct and through a running service) and POST /admin/companies."""
import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest
from werkzeug.serving import make_server

from app.factory import create_app
from tests.conftest import ADMIN_TOKEN

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "onboard_company.py"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def script_env(tmp_path, config_file, redis_url, redis_client, monkeypatch):
    """Environment for the script as an operator would run it, with no service listening."""
    env = {"DATA_DIR": str(tmp_path / "data"), "COMPANIES_CONFIG_FILE": str(config_file), "REDIS_URL": redis_url,
           "PORT": str(_free_port()), "HOST": "127.0.0.1"}
    for k in ("MISYBOT_ADMIN_TOKEN", "QDRANT_URL", "EMBEDDINGS_MODEL", "OPENAI_BASE_URL"):
        monkeypatch.delenv(k, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return env


def run_main(*args) -> tuple[int, dict]:
    import contextlib
    import io

    from scripts.onboard_company import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main([*args, "--json"])
    return code, json.loads(out.getvalue())


@pytest.fixture
def docs_dir(tmp_path):
    d = tmp_path / "docs"
    d.mkdir()
    (d / "precios.md").write_text("# Precios\n\nLa limpieza dental cuesta $45.000 y dura 45 minutos.")
    (d / "horario.txt").write_text("Atendemos de lunes a viernes de 9:00 a 19:00.")
    (d / "ignorado.png").write_bytes(b"\x89PNG")
    return d


def test_cli_onboards_a_company_end_to_end(script_env, config_file, docs_dir, make_settings):
    before = config_file.read_text()
    proc = subprocess.run([sys.executable, str(SCRIPT), "--company-id", "sonrisa-2", "--name", "Sonrisa Dos",
                           "--industry", "clínica dental", "--docs", str(docs_dir), "--json"],
                          env={**os.environ, **script_env}, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["company_id"] == "sonrisa-2" and out["api_key"].startswith("msk_") and out["documents"] == 2
    after = config_file.read_text()
    assert after.startswith(before)          # existing content and comments untouched
    assert "# Two small tenants for the test suite" in after

    app = create_app(make_settings())
    try:
        c = app.test_client()
        h = {"X-API-Key": out["api_key"]}
        hits = c.post("/documents/search", json={"query": "cuanto sale la limpieza"}, headers=h).get_json()
        assert "$45.000" in hits["results"][0]["content"]
        assert c.get("/documents", headers=h).get_json()["total"] == 2
    finally:
        app.extensions["misybot"].vectors.close()


def test_two_companies_duplicates_and_bad_ids(script_env, config_file, docs_dir):
    code, a = run_main("--company-id", "uno", "--name", "Uno", "--docs", str(docs_dir))
    assert code == 0 and a["documents"] == 2
    code, b = run_main("--company-id", "dos_2", "--name", "Dos", "--language", "en")
    assert code == 0 and b["documents"] == 0 and a["api_key"] != b["api_key"]
    snapshot = config_file.read_text()

    code, err = run_main("--company-id", "uno", "--name", "Otra vez")
    assert code == 1 and "already exists" in err["error"]
    for bad in ("A", "x", "Mayus", "con espacio", "ñandu", "a" * 65, "../etc"):
        code, err = run_main("--company-id", bad, "--name", "Mala")
        assert code == 1 and "company id" in err["error"]
    assert config_file.read_text() == snapshot


def test_a_bad_document_changes_nothing(script_env, config_file, docs_dir, redis_client):
    (docs_dir / "roto.pdf").write_bytes(b"%PDF-1.4 broken")
    before = config_file.read_text()
    code, err = run_main("--company-id", "tres", "--name", "Tres", "--docs", str(docs_dir))
    assert code == 1 and "roto.pdf" in err["error"]
    assert config_file.read_text() == before
    assert not list(redis_client.scan_iter("tres:*"))


def test_rotate_key_revokes_the_old_one(script_env, make_settings):
    _, first = run_main("--company-id", "cuatro", "--name", "Cuatro")
    code, rotated = run_main("--company-id", "cuatro", "--rotate-key")
    assert code == 0 and rotated["revoked_key_ids"] == [first["key_id"]]
    app = create_app(make_settings())
    try:
        c = app.test_client()
        assert c.get("/documents", headers={"X-API-Key": first["api_key"]}).status_code == 401
        assert c.get("/documents", headers={"X-API-Key": rotated["api_key"]}).status_code == 200
    finally:
        app.extensions["misybot"].vectors.close()


def test_script_goes_through_the_running_service(script_env, make_settings, docs_dir, monkeypatch):
    app = create_app(make_settings())           # holds the embedded Qdrant: the script cannot open it
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    try:
        monkeypatch.setenv("MISYBOT_ADMIN_TOKEN", ADMIN_TOKEN)
        code, out = run_main("--company-id", "cinco", "--name", "Cinco", "--docs", str(docs_dir), "--service-url", url)
        assert code == 0 and out["company_id"] == "cinco" and out["documents"] == 2
        r = httpx.post(f"{url}/documents/search", json={"query": "horario lunes"},
                       headers={"X-API-Key": out["api_key"]})
        assert r.status_code == 200 and "9:00 a 19:00" in r.json()["results"][0]["content"]
        code, again = run_main("--company-id", "cinco", "--name", "Cinco", "--service-url", url)
        assert code == 1 and "already exists" in again["error"]
        code, rotated = run_main("--company-id", "cinco", "--rotate-key", "--service-url", url)
        assert code == 0 and rotated["revoked_key_ids"] == [out["key_id"]]
        monkeypatch.delenv("MISYBOT_ADMIN_TOKEN")
        code, err = run_main("--company-id", "seis", "--name", "Seis", "--service-url", url)
        assert code == 1 and "MISYBOT_ADMIN_TOKEN" in err["error"]
    finally:
        server.shutdown()
        app.extensions["misybot"].vectors.close()


def test_admin_endpoint_onboards(client, admin_headers, config_file):
    r = client.post("/admin/companies", headers=admin_headers, json={
        "company_id": "siete", "name": "Siete Spa", "industry": "spa",
        "documents": [{"title": "Precios", "content": "El masaje relajante cuesta $1,350 MXN."}]})
    assert r.status_code == 201, r.get_json()
    key = r.get_json()["api_key"]
    hits = client.post("/documents/search", json={"query": "precio masaje"}, headers={"X-API-Key": key}).get_json()
    assert "$1,350" in hits["results"][0]["content"]
    assert client.post("/admin/companies", headers=admin_headers,
                       json={"company_id": "siete", "name": "Otra"}).status_code == 409
    for body in ({"company_id": "Mala Id", "name": "x"}, {"company_id": "ocho"}, {"name": "sin id"},
                 {"company_id": "nueve", "name": "x", "documents": [{"content": ""}]},
                 {"company_id": "diez", "name": "x", "language": "fr"}):
        resp = client.post("/admin/companies", headers=admin_headers, json=body)
        assert resp.status_code == 400, body
    assert client.post("/admin/companies", json={"company_id": "once", "name": "x"}).status_code == 401
    assert "ocho" not in config_file.read_text() and "diez" not in config_file.read_text()


def test_chatwoot_settings_through_onboarding(script_env, config_file, redis_client):
    code, out = run_main("--company-id", "ocho-cw", "--name", "Ocho", "--chatwoot-account-id", "808",
                         "--chatwoot-url", "https://chat.ocho.example", "--chatwoot-token", "cw-token-secret-123",
                         "--chatwoot-webhook-secret", "cw-webhook-secret-456")
    assert code == 0 and out["client_secret"] and out["hmac_secret"] and out["publishable_key"].startswith("pk_live_")
    text = config_file.read_text()
    assert "account_id: 808" in text and "https://chat.ocho.example" in text
    assert "cw-token-secret-123" not in text and "cw-webhook-secret-456" not in text
    stored = redis_client.hgetall("{ocho-cw}:chatwoot:secrets")
    assert set(stored) == {"api_token", "webhook_secret"}
    assert "cw-token-secret-123" not in "".join(stored.values())
