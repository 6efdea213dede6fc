"""Tenant lifecycle: migration from single-tenant (with a crash and a rerun), offboarding next to a
neighbour that must stay byte-identical, and backup/restore into a fresh deployment."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import redis
from qdrant_client import models

import app.tenancy.migration as migration
from app.factory import create_app
from app.platform import Platform
from app.security.principal import Principal
from app.storage.redis_values import checksum, read_value
from app.tenancy.backup import BackupError, export_tenant, import_tenant
from app.tenancy.migration import migrate
from app.tenancy.offboarding import offboard_company
from tests.conftest import ADMIN_TOKEN, FIXTURES

ROOT = Path(__file__).resolve().parent.parent
N_CONV, N_DOC, N_STATUS, N_POINTS = 1500, 500, 500, 1200


def snapshot(r, pattern="*"):
    return {k: checksum(read_value(r, k)) for k in r.scan_iter(match=pattern, count=1000)}


@pytest.fixture
def legacy(make_settings, redis_client):
    """A single-tenant deployment's data: thousands of unprefixed keys and a legacy collection."""
    r = redis_client
    pipe = r.pipeline(transaction=False)
    for i in range(N_CONV):
        pipe.rpush(f"conversation:user{i}", json.dumps({"role": "user", "content": f"hola {i}"}),
                   json.dumps({"role": "assistant", "content": f"respuesta {i}"}))
    for i in range(N_DOC):
        pipe.hset(f"document:doc{i}", mapping={"title": f"Documento {i}", "status": "indexed"})
    for i in range(N_STATUS):
        pipe.set(f"bot_status:conv{i}", "active", ex=3600 if i % 2 else None)
    pipe.set("unrelated:key", "stays")
    pipe.execute()
    platform = Platform.from_settings(make_settings())
    rng = np.random.default_rng(7)
    vecs = rng.normal(size=(N_POINTS, 384)).astype("float32")
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    with platform.vectors as qc:
        qc.create_collection("documents", vectors_config=models.VectorParams(size=384, distance=models.Distance.COSINE))
        for start in range(0, N_POINTS, 400):
            qc.upsert("documents", points=[models.PointStruct(id=i, vector=vecs[i].tolist(), payload={
                "page_content": f"Tratamiento {i}: la sesión número {i} cuesta {1000 + i} pesos.",
                "metadata": {"document_id": f"doc{i // 4}", "title": f"Documento {i // 4}", "chunk_index": i % 4}})
                for i in range(start, min(start + 400, N_POINTS))])
    yield platform
    platform.close()


def test_dry_run_changes_nothing(legacy, redis_client):
    before = snapshot(redis_client)
    report = migrate(legacy, "alpha", dry_run=True)
    assert report.redis["found"] == N_CONV + N_DOC + N_STATUS and report.redis["to_copy"] == N_CONV + N_DOC + N_STATUS
    assert report.qdrant["found"] == N_POINTS
    assert snapshot(redis_client) == before
    with legacy.vectors as qc:
        assert not qc.collection_exists("alpha_documents") and qc.count("documents").count == N_POINTS


def test_crash_midway_then_rerun_completes_and_loses_nothing(legacy, redis_client, monkeypatch):
    original = snapshot(redis_client)
    legacy_keys = {k: v for k, v in original.items() if not k.startswith(("unrelated", "misybot:"))}  # platform keys are not legacy data
    real_write, calls = migration.write_value, {"n": 0}

    def crashing_write(r, key, dumped):
        calls["n"] += 1
        if calls["n"] > 700:
            raise ConnectionError("power cut")
        real_write(r, key, dumped)

    monkeypatch.setattr(migration, "write_value", crashing_write)
    with pytest.raises(ConnectionError):
        migrate(legacy, "alpha")
    # nothing of the source was deleted before verification
    assert all(redis_client.exists(k) for k in legacy_keys)
    with legacy.vectors as qc:
        assert qc.count("documents").count == N_POINTS

    monkeypatch.setattr(migration, "write_value", real_write)
    report = migrate(legacy, "alpha")
    assert report.source_deleted and not report.conflicts
    assert report.redis["already_copied"] == 700 and report.redis["copied"] == len(legacy_keys) - 700
    assert report.redis["source_deleted"] == len(legacy_keys)
    after = snapshot(redis_client)
    for key, digest in legacy_keys.items():
        assert key not in after and after["{alpha}:" + key] == digest          # same type and content
    assert after["unrelated:key"] == original["unrelated:key"]
    assert 0 < redis_client.ttl("{alpha}:bot_status:conv1") <= 3600 and redis_client.ttl("{alpha}:bot_status:conv0") == -1

    ctx = legacy.tenant_context(legacy.registry.get("alpha"), Principal("platform_admin", None))
    with legacy.vectors as qc:
        assert not qc.collection_exists("documents")
        points = qc.scroll("alpha_documents", limit=5, with_payload=True)[0]
    assert ctx.knowledge.count() == N_POINTS and all(p.payload["company_id"] == "alpha" for p in points)
    assert ctx.documents.list(1, 1)[1] == N_POINTS // 4
    hits = ctx.documents.search("la sesión número 777 cuesta", 3, mode="lexical")
    assert any("1777 pesos" in h.content for h in hits)

    again = migrate(legacy, "alpha")            # idempotent: nothing left to do
    assert again.redis["found"] == 0 and again.qdrant.get("legacy_collection") == "absent"
    data = lambda snap: {k: v for k, v in snap.items() if not k.startswith("misybot:migration:")}  # run log
    assert data(snapshot(redis_client)) == data(after)
    assert json.loads(redis_client.hget("misybot:migration:alpha", "report"))["redis"]["found"] == 0


def test_legacy_vectors_of_another_size_are_re_embedded(make_settings, redis_client):
    platform = Platform.from_settings(make_settings())
    try:
        with platform.vectors as qc:
            qc.create_collection("old_kb", vectors_config=models.VectorParams(size=3, distance=models.Distance.COSINE))
            qc.upsert("old_kb", points=[models.PointStruct(id=1, vector=[1, 0, 0], payload={
                "text": "El masaje relajante cuesta $1,350 MXN", "title": "Precios"})])
        report = migrate(platform, "beta", legacy_collection="old_kb")
        assert report.qdrant["re_embedded"] == 1 and report.qdrant["verified"] == 1 and report.source_deleted
        ctx = platform.tenant_context(platform.registry.get("beta"), Principal("platform_admin", None))
        assert "$1,350" in ctx.documents.search("precio del masaje", 1)[0].content
    finally:
        platform.close()


def _tenant_fingerprint(app, company_id):
    p = app.extensions["misybot"]
    ctx = p.tenant_context(p.registry.get(company_id), Principal("platform_admin", None))
    keys = {k: checksum(read_value(p.redis, k)) for k in ctx.keyspace.scan_keys()}
    for k in list(keys):
        if k.startswith(ctx.keyspace.prefix + "apikey:"):
            lookup = "misybot:apikey:" + p.redis.hget(k, "key_hash")
            keys[lookup] = checksum(read_value(p.redis, lookup))
    with p.vectors as qc:
        pts = qc.scroll(ctx.config.vectorstore_index, limit=1000, with_payload=True, with_vectors=True)[0]
    return keys, sorted((str(pt.id), json.dumps(pt.payload, sort_keys=True), _Vectors(pt.vector)) for pt in pts)


class _Vectors:
    """A point's vectors, equal within float32 noise: Qdrant normalizes cosine vectors on every upsert, so a
    restored dense vector may differ from the original in its last bits."""

    def __init__(self, vector):
        self.v = vector if isinstance(vector, dict) else {"": vector}

    def __eq__(self, other):
        if set(self.v) != set(other.v):
            return False
        for name, a in self.v.items():
            b = other.v[name]
            if isinstance(a, list):
                if len(a) != len(b) or any(abs(x - y) > 1e-6 for x, y in zip(a, b)):
                    return False
            elif str(a) != str(b):          # a sparse vector: the indices and weights we wrote
                return False
        return True

    def __lt__(self, other):                # sorted() orders points by id first; ids are unique
        return False


@pytest.fixture
def two_tenants(app, client, admin_headers):
    keys = {}
    for cid, text in (("alpha", "Bótox $850.000 COP en Alpha"), ("beta", "Masaje relajante $1,350 MXN en Beta")):
        keys[cid] = client.post(f"/admin/companies/{cid}/api-keys", json={}, headers=admin_headers).get_json()["api_key"]
        client.post("/documents", json={"content": text}, headers={"X-API-Key": keys[cid]})
        client.post("/conversations/u1/test", json={"message": "hola, precios?"}, headers={"X-API-Key": keys[cid]})
    return keys


def test_offboarding_removes_only_that_tenant(app, client, two_tenants, config_file, tmp_path, redis_client):
    beta_before = _tenant_fingerprint(app, "beta")
    config_before = config_file.read_text()
    receipt = offboard_company(app.extensions["misybot"], "alpha", export_path=tmp_path / "alpha.tar.gz")
    assert receipt["complete"] and receipt["deleted"]["redis_keys"] > 0 and receipt["deleted"]["qdrant_points"] == 1
    assert (tmp_path / "alpha.tar.gz").is_file() and receipt["export_manifest"]["qdrant_points"] == 1
    assert not list(redis_client.scan_iter("{alpha}:*"))
    assert client.get("/documents", headers={"X-API-Key": two_tenants["alpha"]}).status_code == 401
    assert "company_id: alpha" not in config_file.read_text()
    assert "# Two small tenants for the test suite" in config_file.read_text()
    assert config_file.read_text() in config_before.replace(config_before[config_before.index("  - company_id: alpha"):
                                                                          config_before.index("  - company_id: beta")], "")
    assert _tenant_fingerprint(app, "beta") == beta_before              # the neighbour is byte-identical
    assert client.get("/documents", headers={"X-API-Key": two_tenants["beta"]}).get_json()["total"] == 1


def test_backup_restores_into_a_fresh_deployment(app, two_tenants, tmp_path, redis_url, config_file):
    before = _tenant_fingerprint(app, "alpha")
    archive = tmp_path / "alpha.tar.gz"
    p = app.extensions["misybot"]
    manifest = export_tenant(p, p.tenant_context(p.registry.get("alpha"), Principal("platform_admin", None)), archive)
    assert manifest["qdrant_points"] == 1 and manifest["redis_keys"] > 3

    fresh_dir = tmp_path / "fresh"
    fresh_dir.mkdir()
    fresh_config = fresh_dir / "companies_config.yaml"
    text = config_file.read_text()
    fresh_config.write_text(text[:text.index("  - company_id: alpha")] + text[text.index("  - company_id: beta"):])
    fresh_redis = redis_url.rsplit("/", 1)[0] + "/12" if redis_url.startswith("redis://") else redis_url.replace("db=13", "db=12")
    redis.Redis.from_url(fresh_redis).flushdb()
    from app.settings import Settings
    fresh = create_app(Settings(data_dir=fresh_dir / "data", companies_config_file=fresh_config, redis_url=fresh_redis,
                                misybot_admin_token=ADMIN_TOKEN, misybot_master_key=p.settings.misybot_master_key, environment="test", openai_api_key=None,
                                openai_base_url=None, embeddings_model=None, chatwoot_worker=False))
    try:
        restored = import_tenant(fresh.extensions["misybot"], archive)
        assert restored["qdrant_points"] == 1 and restored["collection_points"] == 1
        assert _tenant_fingerprint(fresh, "alpha") == before
        c = fresh.test_client()
        hits = c.post("/documents/search", json={"query": "precio del bótox"},
                      headers={"X-API-Key": two_tenants["alpha"]}).get_json()["results"]
        assert "$850.000" in hits[0]["content"]                          # the same key works there
        with pytest.raises(BackupError, match="already exist"):
            import_tenant(fresh.extensions["misybot"], archive)
        damaged = tmp_path / "damaged.tar.gz"
        damaged.write_bytes(archive.read_bytes()[:200])
        with pytest.raises(BackupError):
            import_tenant(fresh.extensions["misybot"], damaged)
    finally:
        fresh.extensions["misybot"].close()
        redis.Redis.from_url(fresh_redis).flushdb()


def test_cli_scripts(tmp_path, redis_url, redis_client, config_file):
    env = {**os.environ, "DATA_DIR": str(tmp_path / "data"), "COMPANIES_CONFIG_FILE": str(config_file),
           "REDIS_URL": redis_url}
    env.pop("QDRANT_URL", None)
    run = lambda *a: subprocess.run([sys.executable, *a], env=env, capture_output=True, text=True, timeout=300)
    refused = run(str(ROOT / "scripts/offboard_company.py"), "--company-id", "alpha")
    assert refused.returncode == 1 and "--confirm" in refused.stderr
    redis_client.rpush("conversation:legacy-user", "hola")
    dry = run(str(ROOT / "scripts/setup_multitenant.py"), "--default-company", "alpha", "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout)["redis"]["to_copy"] == 1 and redis_client.exists("conversation:legacy-user")
    real = run(str(ROOT / "scripts/setup_multitenant.py"), "--default-company", "gamma", "--json")
    assert real.returncode == 0, real.stderr
    out = json.loads(real.stdout)
    assert out["config_block_added"] and out["source_deleted"] and redis_client.exists("{gamma}:conversation:legacy-user")
    assert "company_id: gamma" in config_file.read_text()
    gone = run(str(ROOT / "scripts/offboard_company.py"), "--company-id", "gamma", "--confirm", "--json")
    assert gone.returncode == 0 and json.loads(gone.stdout)["complete"], gone.stderr


def test_a_tampered_archive_cannot_plant_another_tenants_credentials(app, two_tenants, tmp_path):
    import hashlib
    import io
    import tarfile

    p = app.extensions["misybot"]
    archive = tmp_path / "alpha.tar.gz"
    export_tenant(p, p.tenant_context(p.registry.get("alpha"), Principal("platform_admin", None)), archive)
    with tarfile.open(archive, "r:gz") as tar:
        files = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}
    evil_key = "misybot:apikey:" + hashlib.sha256(b"msk_evil").hexdigest()
    files["redis.jsonl"] += ("\n" + json.dumps({"key": evil_key, "type": "hash", "ttl_ms": None, "value": {
        "company_id": "beta", "key_id": "key_evil", "permissions": "admin"}})).encode()
    manifest = json.loads(files["manifest.json"])
    manifest["sha256"]["redis.jsonl"] = hashlib.sha256(files["redis.jsonl"]).hexdigest()
    files["manifest.json"] = json.dumps(manifest).encode()
    tampered = tmp_path / "tampered.tar.gz"
    with tarfile.open(tampered, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    offboard_company(p, "alpha")
    with pytest.raises(BackupError, match="not this company's"):
        import_tenant(p, tampered)
    assert not p.redis.exists(evil_key) and p.registry.get("alpha") is None


def test_migration_refuses_a_companys_own_collection(app, two_tenants):
    with pytest.raises(ValueError, match="belongs to company 'beta'"):
        migrate(app.extensions["misybot"], "alpha", legacy_collection="beta_documents")
