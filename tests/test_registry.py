"""companies_config.yaml validation, clear start-up errors, and hot reload that never serves a bad file."""
from pathlib import Path

import pytest

from app.factory import create_app
from app.tenancy.registry import ConfigError, load_companies_file, parse_companies

ROOT = Path(__file__).resolve().parent.parent

BLOCK = """
  - company_id: {cid}
    company_name: Empresa {cid}
    redis_prefix: "{prefix}"
    vectorstore_index: {cid}_documents
    industry: spa
    services: Masajes
    sales_agent_name: Asesora
"""


def test_shipped_config_has_the_four_companies_with_their_files():
    snap = load_companies_file(ROOT / "companies_config.yaml")
    assert set(snap.companies) == {"benova", "medispa", "dental", "wellness"}
    for cid, c in snap.companies.items():
        assert c.redis_prefix == f"{cid}:" and c.language == "es"
        assert (ROOT / "tenants" / cid / "persona.md").is_file()
        assert len(list((ROOT / "tenants" / cid / "documents").glob("*.md"))) >= 5


@pytest.mark.parametrize("mutation,needle", [
    (("requests_per_minute: 60", "requests_per_minute: -5"), "company 'benova': field limits.requests_per_minute"),
    (("timezone: Europe/Madrid", "timezone: Mars/Olympus"), "company 'medispa': field timezone"),
    (('redis_prefix: "dental:"', 'redis_prefix: "benova:"'), "redis_prefix 'benova:' is already used"),
    (("language: es\n    timezone: America/Mexico_City", "language: fr\n    timezone: America/Mexico_City"),
     "company 'wellness': field language"),
    (('primary_color: "#2A9D8F"', 'primary_color: "teal"'), "company 'dental': field branding.primary_color"),
    (("sales_agent_name: María, asesora de Benova", "sales_agnt_name: typo"), "company 'benova': field"),
    (("- https://www.medispa-elite.example", "- javascript:alert(1)"), "company 'medispa': field allowed_origins"),
])
def test_invalid_file_names_company_and_field(mutation, needle):
    text = (ROOT / "companies_config.yaml").read_text()
    assert mutation[0] in text
    with pytest.raises(ConfigError) as err:
        parse_companies(text.replace(mutation[0], mutation[1], 1))
    assert needle in str(err.value)


@pytest.mark.parametrize("prefix", ["misybot:", "Bad:", "noColon", "a:b:"])
def test_bad_or_reserved_prefixes_are_refused(prefix):
    with pytest.raises(ConfigError):
        parse_companies("companies:" + BLOCK.format(cid="gamma", prefix=prefix))


def test_not_yaml_and_wrong_shape():
    with pytest.raises(ConfigError, match="not valid YAML"):
        parse_companies("companies: [unclosed")
    with pytest.raises(ConfigError, match="companies"):
        parse_companies("- just a list")


def test_invalid_file_stops_start_up(make_settings, tmp_path, redis_client):
    bad = tmp_path / "bad.yaml"
    bad.write_text("companies:" + BLOCK.format(cid="gamma", prefix="gamma:").replace("    industry: spa\n", ""))
    with pytest.raises(ConfigError, match="company 'gamma': field industry"):
        create_app(make_settings(companies_config_file=bad))


def test_reload_config(client, admin_headers, config_file, issue_key):
    original = config_file.read_text()
    config_file.write_text(original + BLOCK.format(cid="gamma", prefix="gamma:"))
    r = client.post("/admin/companies/reload-config", headers=admin_headers)
    assert r.status_code == 200 and "gamma" in r.get_json()["companies"]
    assert client.post("/documents", json={"content": "Masajes Gamma"},
                       headers={"X-API-Key": issue_key("gamma")}).status_code == 201

    config_file.write_text(original.replace("industry: spa", "industry: ''"))     # beta now invalid
    r = client.post("/admin/companies/reload-config", headers=admin_headers)
    assert r.status_code == 422
    err = r.get_json()["error"]
    assert err["code"] == "invalid_config" and "company 'beta': field industry" in err["message"]
    assert "keeps serving" in err["message"]
    # the previous configuration, with gamma, still serves
    assert "gamma" in [c["company_id"] for c in client.get("/companies", headers=admin_headers).get_json()["companies"]]


def test_reload_config_needs_the_admin_token(client, issue_key):
    assert client.post("/admin/companies/reload-config").status_code == 401
    assert client.post("/admin/companies/reload-config",
                       headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.post("/admin/companies/reload-config",
                       headers={"X-API-Key": issue_key("alpha")}).status_code == 401


def test_a_reload_in_one_process_reaches_the_others(make_settings, redis_client, config_file, admin_headers):
    first, second = create_app(make_settings()), create_app(make_settings(data_dir=config_file.parent / "data2"))
    try:
        config_file.write_text(config_file.read_text() + BLOCK.format(cid="gamma", prefix="gamma:"))
        assert first.test_client().post("/admin/companies/reload-config", headers=admin_headers).status_code == 200
        import time
        time.sleep(1.1)                          # processes check the published version at most once a second
        listed = second.test_client().get("/companies", headers=admin_headers).get_json()["companies"]
        assert "gamma" in [c["company_id"] for c in listed]
    finally:
        first.extensions["misybot"].close()
        second.extensions["misybot"].close()


def _block(cid: str, prefix: str, account: int | None = None) -> dict:
    block = {"company_id": cid, "company_name": f"Empresa {cid}", "redis_prefix": prefix,
             "vectorstore_index": f"{cid}_documents", "industry": "spa", "services": "Masajes",
             "sales_agent_name": "Asesora"}
    if account is not None:
        block["chatwoot"] = {"account_id": account}
    return block


def test_a_company_added_alone_is_validated_as_the_whole_file_would_be():
    from app.tenancy.config_file import with_block_appended
    text = "companies:\n" + BLOCK.format(cid="uno", prefix="uno:")
    base = parse_companies(text)
    added = with_block_appended(text, _block("dos", "dos:", account=7))
    snap = base.plus(_block("dos", "dos:", account=7), added)
    whole = parse_companies(added)
    assert snap.version == whole.version and snap.by_chatwoot_account == whole.by_chatwoot_account == {7: "dos"}
    assert snap.companies == whole.companies and set(base.companies) == {"uno"}      # the base is unchanged
    # the same refusals as a full parse
    for bad, needle in ((_block("uno", "otro:"), "company_id 'uno' is already used"),
                        (_block("tres", "uno:"), "redis_prefix 'uno:' is already used by company 'uno'"),
                        (_block("tres", "tres"), "redis_prefix"),
                        ({**_block("tres", "tres:"), "language": "fr"}, "company 'tres': field language")):
        with pytest.raises(ConfigError, match=needle):
            base.plus(bad, with_block_appended(text, bad))
        with pytest.raises(ConfigError, match=needle.split(":")[0]):
            parse_companies(with_block_appended(text, bad))
    with pytest.raises(ConfigError, match="chatwoot.account_id 7 is already used by company 'dos'"):
        snap.plus(_block("tres", "tres:", account=7), added)


def test_a_reload_of_an_unchanged_file_keeps_the_snapshot(config_file):
    from app.tenancy.registry import TenantRegistry
    registry = TenantRegistry(config_file)
    first = registry.snapshot
    assert registry.reload() is first
    config_file.write_text(config_file.read_text() + "\n# a comment\n")
    assert registry.reload() is not first and registry.snapshot.version != first.version
