"""scripts/rotate_credentials.py, run the way an operator runs it."""
import json
import os
import subprocess
import sys
from pathlib import Path

from app.factory import create_app
from tests.conftest import ADMIN_TOKEN, MASTER_KEY

ROOT = Path(__file__).resolve().parents[2]


def test_rotation_and_revocation_through_the_script(make_settings, redis_client, tmp_path, config_file, redis_url):
    app = create_app(make_settings())
    c = app.test_client()
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    old_key = c.post("/admin/companies/alpha/api-keys", json={}, headers=admin).get_json()["api_key"]
    creds = c.post("/admin/companies/alpha/credentials", json={}, headers=admin).get_json()
    app.extensions["misybot"].close()              # the embedded Qdrant admits one process

    env = {**os.environ, "DATA_DIR": str(tmp_path / "data"), "COMPANIES_CONFIG_FILE": str(config_file),
           "REDIS_URL": redis_url, "MISYBOT_MASTER_KEY": MASTER_KEY}
    run = lambda *a: subprocess.run([sys.executable, str(ROOT / "scripts/rotate_credentials.py"), *a, "--json"],
                                    env=env, capture_output=True, text=True, timeout=300)
    out = run("api-key", "--company-id", "alpha")
    assert out.returncode == 0, out.stderr
    new_key = json.loads(out.stdout)["api_key"]
    client_out = json.loads(run("client", "--company-id", "alpha").stdout)
    assert creds["client_id"] in client_out["revoked_client_ids"]
    env["MISYBOT_MASTER_KEY"] = f"a-new-master-key-0123456789abcdefgh,{MASTER_KEY}"
    assert json.loads(run("master-key").stdout)["re_encrypted"] >= 2

    app = create_app(make_settings(misybot_master_key="a-new-master-key-0123456789abcdefgh"))
    try:
        c = app.test_client()
        assert c.get("/documents", headers={"X-API-Key": old_key}).status_code == 401
        assert c.get("/documents", headers={"X-API-Key": new_key}).status_code == 200
        def token(cid, secret):
            return c.post("/v1/auth/token", json={"client_id": cid, "client_secret": secret, "site_id": "s",
                                                  "origin": "https://alpha.example"}).status_code
        assert token(creds["client_id"], creds["client_secret"]) == 401
        assert token(client_out["client_id"], client_out["client_secret"]) == 200     # decrypts with the new key only
    finally:
        app.extensions["misybot"].close()
