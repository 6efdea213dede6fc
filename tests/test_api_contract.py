"""Property-based tests generated from /openapi.json (schemathesis), in-process against the WSGI app with
valid credentials: every operation, with valid (positive) and invalid (negative) generated input. No
answer may be a 5xx, have an undocumented status or content type, or a body that contradicts its schema."""
from __future__ import annotations

import re

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance, status_code_conformance

from app.factory import create_app
from tests.conftest import ADMIN_TOKEN, FIXTURES

MAX_EXAMPLES = 25
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def config_file(tmp_path):
    """The test companies with limits high enough that generated traffic is not just 429s and 409s."""
    high = "limits: {requests_per_minute: 100000, requests_per_hour: 1000000, max_documents: 10000, storage_limit_mb: 100}"
    text = (FIXTURES / "companies_test.yaml").read_text(encoding="utf-8")
    text = text.replace("limits: {max_documents: 5, storage_limit_mb: 0.05}", high)
    text = text.replace("    sales_agent_name: Bea, de Beta\n", f"    sales_agent_name: Bea, de Beta\n    {high}\n")
    assert text.count(high) == 2
    path = tmp_path / "companies_config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def app(make_settings, redis_client):
    application = create_app(make_settings(auth_attempts_per_minute=100_000))
    yield application
    application.extensions["misybot"].vectors.close()


@pytest.fixture
def credentials(client, admin_headers):
    """Headers for an operation from its documented security: a fresh all-permission API key of alpha
    (a generated `rotate` may revoke the previous one), or the platform admin token."""
    def headers_for(operation) -> dict:
        schemes = {name for alternative in operation.definition.raw.get("security", []) for name in alternative}
        if "ApiKey" in schemes:
            r = client.post("/admin/companies/alpha/api-keys", json={}, headers=admin_headers)
            return {"X-API-Key": r.get_json()["api_key"]}
        if "AdminToken" in schemes:
            return {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        return {}      # widget sessions and Chatwoot signatures: 401/403, which the contract documents
    return headers_for


def _run(operation, mode: GenerationMode, credentials) -> None:
    # schemathesis' pytest plugin (from_fixture) cannot run under pytest 9.2, so each operation gets its own
    # Hypothesis test from the public strategy API; derandomized, so every run checks the same cases.
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def check(case):
        if case.path_parameters and "company_id" in case.path_parameters:
            case.path_parameters["company_id"] = "alpha"          # an existing company: past the 404
        case.call_and_validate(headers=credentials(operation), checks=CHECKS)
    check()


def test_every_operation_keeps_its_contract(app, credentials):
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 35
    failures = []
    for operation in operations:
        raw = operation.definition.raw
        takes_input = bool(raw.get("parameters") or raw.get("requestBody"))
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)[:2 if takes_input else 1]:
            try:
                _run(operation, mode, credentials)
            # Collect them all, so one run shows every broken operation (schemathesis reports a FailureGroup).
            except (Exception, FailureGroup) as exc:
                failures.append(f"{mode.value} {operation.label}:\n{exc}")
    assert not failures, "\n\n".join(failures)


def test_every_route_is_documented(app, client):
    spec = client.get("/openapi.json").get_json()
    assert spec["openapi"].startswith("3.1")
    documented = {(re.sub(r"\{(\w+)\}", r"<\1>", path), method.upper())
                  for path, operations in spec["paths"].items() for method in operations}
    # A rule's converters (<any('a', 'b'):name>) are documented as the parameter's schema (an enum).
    routes = {(re.sub(r"<(?:[^<>]*:)?(\w+)>", r"<\1>", str(rule)), method) for rule in app.url_map.iter_rules()
              for method in rule.methods - {"HEAD", "OPTIONS"}
              if not str(rule).startswith(("/static", "/docs", "/openapi.json"))}
    assert routes - documented == set()
    schemes = spec["components"]["securitySchemes"]
    assert schemes["ApiKey"] == {"type": "apiKey", "in": "header", "name": "X-API-Key",
                                 "description": schemes["ApiKey"]["description"]}
    assert {"AdminToken", "WidgetSession", "TenantToken", "HmacSignature"} <= set(schemes)
    assert spec["paths"]["/documents"]["get"]["security"] == [{"ApiKey": []}, {"TenantToken": [], "HmacSignature": []}]
    assert spec["paths"]["/v1/widget/messages"]["post"]["security"] == [{"WidgetSession": []}]
    assert spec["paths"]["/companies"]["get"]["security"] == [{"AdminToken": []}]


def test_docs_are_served_from_local_files(client):
    page = client.get("/docs/")
    assert page.status_code == 200 and b"/openapi.json" in page.data
    assert not re.search(rb"(src|href)=\"(https?:)?//", page.data)       # nothing from a CDN
    assert client.get("/docs/swagger-ui-bundle.js").status_code == 200
    assert client.get("/docs/swagger-ui.css").status_code == 200
