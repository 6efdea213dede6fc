"""Onboarding at scale: the Nth company costs what the first did (counted in parses, validations and SCANs, not
time), a prefix that holds keys is still refused, and other processes follow a new company by replaying its block.
"""
import time

import pytest
import yaml

import app.tenancy.registry as registry_module
from app.factory import create_app
from app.security.principal import Principal
from app.storage.redis_store import TenantKeyspace
from app.tenancy.config import CompaniesFile, TenantConfig
from app.tenancy.config_file import with_block_appended
from app.tenancy.offboarding import offboard_company
from app.tenancy.onboarding import default_block
from app.tenancy.platform_keys import PREFIXES_IN_USE, PREFIXES_TRACKED
from app.tenancy.registry import parse_companies


class Counts:
    """How often the expensive things ran: whole-file parses, company validations, YAML loads, SCANs."""

    def __init__(self, monkeypatch, platform):
        self.parses = self.file_validations = self.company_validations = 0
        self.yaml_sizes: list[int] = []
        self.scans: list[str | None] = []          # the MATCH pattern of each SCAN walk
        parse, validate_file, validate_company = (registry_module.parse_companies, CompaniesFile.model_validate,
                                                  TenantConfig.model_validate)
        load, scan_iter = yaml.load, platform.redis.scan_iter

        def counting_parse(*a, **kw):
            self.parses += 1
            return parse(*a, **kw)

        def counting_file(obj, *a, **kw):
            self.file_validations += 1
            return validate_file(obj, *a, **kw)

        def counting_company(obj, *a, **kw):
            self.company_validations += 1
            return validate_company(obj, *a, **kw)

        def counting_load(stream, *a, **kw):
            self.yaml_sizes.append(len(stream))
            return load(stream, *a, **kw)

        def counting_scan(*a, **kw):
            self.scans.append(kw.get("match"))
            return scan_iter(*a, **kw)

        monkeypatch.setattr(registry_module, "parse_companies", counting_parse)
        monkeypatch.setattr(CompaniesFile, "model_validate", counting_file)
        monkeypatch.setattr(TenantConfig, "model_validate", counting_company)
        monkeypatch.setattr(yaml, "load", counting_load)
        monkeypatch.setattr(platform.redis, "scan_iter", counting_scan)


def _many(config_file, count: int) -> None:
    """The test file plus companies c003..: `count` companies in all, written as onboarding writes them."""
    text = config_file.read_text()
    for i in range(3, count + 1):
        text = with_block_appended(text, default_block(f"c{i:03d}", f"Empresa {i}"))
    config_file.write_text(text)


def _onboard(client, admin_headers, cid, **extra):
    return client.post("/admin/companies", headers=admin_headers, json={
        "company_id": cid, "name": f"Empresa {cid}",
        "documents": [{"title": "Horario", "content": f"{cid} atiende de lunes a viernes de 9:00 a 18:00."}], **extra})


def test_the_200th_company_is_validated_alone(make_settings, redis_client, config_file, admin_headers, monkeypatch):
    _many(config_file, 199)
    application = create_app(make_settings())
    try:
        platform = application.extensions["misybot"]
        assert len(platform.registry.company_ids()) == 199
        client = application.test_client()
        counts = Counts(monkeypatch, platform)
        r = _onboard(client, admin_headers, "c200")
        assert r.status_code == 201, r.get_json()
        file_size = config_file.stat().st_size
        # no whole-file parse or validation: the new block alone, and the one small YAML read-back of that block
        assert (counts.parses, counts.file_validations, counts.company_validations) == (0, 0, 1)
        assert counts.yaml_sizes and max(counts.yaml_sizes) < 2_000 < file_size / 20
        # the first onboarding on this store walks the keyspace once, to note the prefixes in use
        assert counts.scans.count(None) == 1

        counts201 = Counts(monkeypatch, platform)
        assert _onboard(client, admin_headers, "c201").status_code == 201
        assert (counts201.parses, counts201.file_validations, counts201.company_validations) == (0, 0, 1)
        # and after that no walk for the prefix check: neither the whole keyspace nor the new tenant's pattern
        # (the one SCAN left is the HMAC secret's own records, app/security/tenant_secrets.py)
        whole = TenantKeyspace(redis_client, "c201:").prefix + "*"
        assert None not in counts201.scans and whole not in counts201.scans
        assert parse_companies(config_file.read_text()).companies == platform.registry.snapshot.companies
        assert platform.registry.snapshot.version == registry_module.text_version(config_file.read_text())
        key = r.get_json()["api_key"]
        hits = client.post("/documents/search", json={"query": "horario"}, headers={"X-API-Key": key}).get_json()
        assert "9:00 a 18:00" in hits["results"][0]["content"]
    finally:
        application.extensions["misybot"].close()


def test_duplicates_are_refused_as_before(client, admin_headers, config_file, redis_client):
    before = config_file.read_text()
    r = _onboard(client, admin_headers, "alpha")
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "company_exists"
    # a company whose id is free but whose derived prefix a hand-written block already uses
    config_file.write_text(before + "\n" + with_block_appended("companies:\n", {
        **default_block("hand", "Hecha a mano"), "redis_prefix": "gamma:"}).split("\n", 1)[1])
    assert client.post("/admin/companies/reload-config", headers=admin_headers).status_code == 200
    edited = config_file.read_text()
    r = _onboard(client, admin_headers, "gamma")
    assert r.status_code == 400 and "redis_prefix 'gamma:' is already used by company 'hand'" in \
        r.get_json()["error"]["message"]
    assert config_file.read_text() == edited
    # a file broken by hand: 422, nothing added
    config_file.write_text(edited + "\n  - company_id: [broken\n")
    r = _onboard(client, admin_headers, "delta")
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "invalid_config"


def test_a_prefix_that_already_holds_keys_is_still_refused(app, client, admin_headers, config_file, redis_client,
                                                           monkeypatch):
    platform = app.extensions["misybot"]
    # Keys from before the set of prefixes in use existed (or of a company removed from the file by hand then).
    stray = TenantKeyspace(redis_client, "eta:").key("conversation", "u1")
    redis_client.set(stray, "old")
    redis_client.delete(PREFIXES_TRACKED)
    before = config_file.read_text()
    r = _onboard(client, admin_headers, "eta")
    assert r.status_code == 409 and "redis prefix 'eta:' already holds keys" in r.get_json()["error"]["message"]
    assert config_file.read_text() == before and redis_client.get(stray) == "old"
    assert redis_client.exists(PREFIXES_TRACKED) and redis_client.sismember(PREFIXES_IN_USE, "eta:")

    # A company onboarded, used, then cut out of the file by hand (its keys stay): its id cannot come back.
    r = _onboard(client, admin_headers, "theta")
    assert r.status_code == 201
    key = r.get_json()["api_key"]
    assert client.post("/conversations/u1/test", json={"message": "hola"}, headers={"X-API-Key": key}).status_code == 200
    theta = platform.tenant_context(platform.registry.get("theta"), Principal("platform_admin", None))
    theta.knowledge.drop()                  # its collection gone too: only the Redis keys are left to notice
    text = config_file.read_text()
    config_file.write_text(text[:text.index("\n  - company_id: theta")] + "\n")
    assert client.post("/admin/companies/reload-config", headers=admin_headers).status_code == 200
    assert platform.registry.get("theta") is None
    r = _onboard(client, admin_headers, "theta")
    assert r.status_code == 409 and "already holds keys" in r.get_json()["error"]["message"]

    # Offboarding frees the prefix; the id may be onboarded again (the exact check finds nothing left).
    r = _onboard(client, admin_headers, "iota")
    assert r.status_code == 201
    receipt = offboard_company(platform, "iota")
    assert receipt["complete"] and not redis_client.sismember(PREFIXES_IN_USE, "iota:")
    assert _onboard(client, admin_headers, "iota").status_code == 201

    # A failed onboarding gives its claim back (and everything else, as before).
    import app.tenancy.onboarding as onboarding

    def power_cut(*a, **kw):
        raise ConnectionError("power cut")
    monkeypatch.setattr(onboarding, "ingest_documents", power_cut)
    with pytest.raises(ConnectionError):
        onboarding.onboard_company(platform, "kappa", "Kappa")
    assert not redis_client.sismember(PREFIXES_IN_USE, "kappa:") and "kappa" not in config_file.read_text()
    assert not list(TenantKeyspace(redis_client, "kappa:").scan_keys())


def test_a_second_process_replays_the_new_company(make_settings, redis_client, config_file, admin_headers,
                                                   monkeypatch):
    first = create_app(make_settings())
    second = create_app(make_settings(data_dir=config_file.parent / "data2"))
    try:
        r = _onboard(first.test_client(), admin_headers, "lambda")
        assert r.status_code == 201
        key = r.get_json()["api_key"]
        counts = Counts(monkeypatch, second.extensions["misybot"])
        time.sleep(1.1)                          # processes check the published version at most once a second
        listed = second.test_client().get("/companies", headers=admin_headers).get_json()
        assert "lambda" in [c["company_id"] for c in listed["companies"]]
        assert (counts.parses, counts.company_validations) == (0, 1)       # replayed, not parsed
        assert listed["config_version"] == first.extensions["misybot"].registry.snapshot.version
        ctx = second.extensions["misybot"].tenant_context(second.extensions["misybot"].registry.get("lambda"),
                                                          Principal("platform_admin", None))
        assert ctx.keyspace.redis.exists(ctx.keyspace.key("tenant", "meta"))
        assert second.test_client().get("/conversations", headers={"X-API-Key": key}).status_code == 200

        # a change made by hand cannot be replayed: the second process reads the file again
        config_file.write_text(config_file.read_text().replace("Empresa lambda", "Lambda Renombrada"))
        assert first.test_client().post("/admin/companies/reload-config", headers=admin_headers).status_code == 200
        time.sleep(1.1)
        listed = second.test_client().get("/companies", headers=admin_headers).get_json()["companies"]
        assert {c["company_id"]: c["company_name"] for c in listed}["lambda"] == "Lambda Renombrada"
        assert counts.parses == 2             # the reload here, then the file read again there (one process in tests)
    finally:
        first.extensions["misybot"].close()
        second.extensions["misybot"].close()


def test_replayed_and_parsed_snapshots_agree():
    text = "companies:\n"
    snap = parse_companies(text)
    for i in range(5):
        block = default_block(f"r{i}", f"R {i}")
        new_text = with_block_appended(text, block)
        replayed = snap.plus(block, version=registry_module.text_version(new_text))
        snap, text = snap.plus(block, new_text), new_text
        assert replayed.companies == snap.companies and replayed.version == snap.version
    whole = parse_companies(text)
    assert whole.companies == snap.companies and whole.owners == snap.owners
    with pytest.raises(registry_module.ConfigError, match="vectorstore_index 'r1_documents' is already used"):
        snap.plus({**default_block("r9", "R 9"), "vectorstore_index": "r1_documents"}, text + "x")
