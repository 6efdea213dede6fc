"""The monitoring files under deploy/: Grafana dashboards, the Prometheus scrape config and alert rules, the
compose profile, and the alerts runbook.

No Prometheus, Grafana or Docker runs in the test suite, so these tests parse the files and hold them to the
metrics the service really exports (EXPORTED_METRICS) and to each other: a renamed metric, a panel on a series
that does not exist, an alert without a runbook entry or a mount that points nowhere fails here, not on a
dashboard that silently shows "No data" in production.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from app.audit.metrics import EXPORTED_METRICS

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
DASHBOARDS = DEPLOY / "grafana" / "dashboards"
PROVISIONING = DEPLOY / "grafana" / "provisioning"
PROMETHEUS_CONFIG = DEPLOY / "prometheus" / "prometheus.yml"
ALERTS = DEPLOY / "prometheus" / "alerts.yml"
COMPOSE = DEPLOY / "compose.monitoring.yml"
MAIN_COMPOSE = ROOT / "docker-compose.yml"
RUNBOOK = ROOT / "docs" / "runbook.md"

EXPECTED_DASHBOARDS = {"tenant-overview.json", "agent-performance.json", "security.json", "usage-analytics.json"}
DATASOURCE_UID = "prometheus"
TENANT_QUERY = "label_values(misybot_turns_total, tenant)"
# Metrics with a `tenant` label (spec): a dashboard query on them must honour the tenant picker.
TENANT_METRICS = {"misybot_turns_total", "misybot_handoffs_total", "misybot_emergencies_total", "misybot_llm_tokens_total",
                  "misybot_rate_limited_total", "misybot_bookings_total"}
# Histograms are the metrics in seconds; Prometheus only has their _bucket/_sum/_count series.
HISTOGRAMS = {name for name in EXPORTED_METRICS if name.endswith("_seconds")}
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")
SEVERITIES = {"critical", "warning", "info"}
ALERT_CATEGORIES = {"rate_limiting", "security", "performance", "resources"}   # the seed's four kinds of alert
RANGE_FUNCTIONS = ("rate", "irate", "increase", "delta", "deriv")

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_METRIC = re.compile(r"\bmisybot_[a-z0-9_]+")
_SELECTOR = re.compile(r"\b(misybot_[a-z0-9_]+)\s*(\{[^}]*\})?")
_DURATION = re.compile(r"^\d+(ms|s|m|h|d|w|y)$")
_RUNBOOK_URL = re.compile(r"^docs/runbook\.md#([a-z0-9_-]+)$")


# -- loading ------------------------------------------------------------------------------------------------------
def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _dashboards() -> dict[str, dict]:
    return {path.name: json.loads(path.read_text(encoding="utf-8")) for path in sorted(DASHBOARDS.glob("*.json"))}


def _panels(model: dict) -> Iterator[dict]:
    """Every panel, the ones nested in collapsed rows too."""
    for panel in model.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def _panel_exprs(model: dict) -> Iterator[tuple[str, str]]:
    for panel in _panels(model):
        for target in panel.get("targets", []):
            yield f"{model['uid']} / {panel['title']} / {target.get('refId')}", target.get("expr", "")


def _variable_query(variable: dict) -> str:
    query = variable.get("query")
    return query.get("query", "") if isinstance(query, dict) else str(query or "")


def _variable_exprs(model: dict) -> Iterator[tuple[str, str]]:
    for variable in model.get("templating", {}).get("list", []):
        if variable.get("type") == "query":
            yield f"{model['uid']} / ${variable['name']}", _variable_query(variable)


def _rules() -> list[dict]:
    return [rule for group in _yaml(ALERTS)["groups"] for rule in group["rules"]]


def _alerts() -> list[dict]:
    return [rule for rule in _rules() if "alert" in rule]


def _all_exprs() -> list[tuple[str, str]]:
    exprs = [(where, expr) for model in _dashboards().values() for where, expr in _panel_exprs(model)]
    exprs += [(where, expr) for model in _dashboards().values() for where, expr in _variable_exprs(model)]
    exprs += [(f"alert {rule.get('alert') or rule.get('record')}", str(rule["expr"])) for rule in _rules()]
    return exprs


# -- PromQL, lightly (no promtool here) ---------------------------------------------------------------------------
def _without_strings(expr: str) -> str:
    """Label values and regexes are not metric names nor brackets: blank them out."""
    return _STRING.sub('""', expr)


def metric_names(expr: str) -> set[str]:
    """The metrics an expression reads, a histogram's _bucket/_sum/_count series under the histogram's name."""
    names = set()
    for name in _METRIC.findall(_without_strings(expr)):
        for suffix in HISTOGRAM_SUFFIXES:
            if name.endswith(suffix) and name[: -len(suffix)] in HISTOGRAMS:
                name = name[: -len(suffix)]
        names.add(name)
    return names


def bracket_problem(expr: str) -> str | None:
    """None when (), {} and [] balance outside string literals; otherwise what is wrong."""
    pairs, stack = {")": "(", "}": "{", "]": "["}, []
    for char in _without_strings(expr):
        if char in "({[":
            stack.append(char)
        elif char in pairs:
            if not stack or stack.pop() != pairs[char]:
                return f"unbalanced {char!r}"
    return f"unclosed {stack[-1]!r}" if stack else None


def _call_argument(expr: str, open_at: int) -> str:
    """The text between the parenthesis at `open_at` and its match."""
    depth = 0
    for i in range(open_at, len(expr)):
        depth += {"(": 1, ")": -1}.get(expr[i], 0)
        if depth == 0:
            return expr[open_at + 1:i]
    return expr[open_at + 1:]


def range_functions_without_range(expr: str) -> list[str]:
    """rate(), increase() and friends need a range vector: `rate(x)` is an error Prometheus reports only at query time."""
    plain = _without_strings(expr)
    missing = []
    for match in re.finditer(r"\b(" + "|".join(RANGE_FUNCTIONS) + r")\s*\(", plain):
        argument = _call_argument(plain, match.end() - 1)
        if not re.search(r"\[[^\]]+\]\s*$", argument.strip()):
            missing.append(f"{match.group(1)}({argument})")
    return missing


def test_the_light_promql_checks_catch_what_they_claim():
    assert metric_names('histogram_quantile(0.95, sum by (le) (rate(misybot_turn_duration_seconds_bucket[5m])))') \
        == {"misybot_turn_duration_seconds"}
    assert metric_names('sum(rate(misybot_turns_total{outcome="misybot_fake_total"}[5m]))') == {"misybot_turns_total"}
    assert metric_names("misybot_turns_count") == {"misybot_turns_count"}       # only histograms lose a suffix
    assert bracket_problem('sum(rate(x{a="(("}[5m]))') is None
    assert bracket_problem("sum(rate(x[5m])") == "unclosed '('"
    assert bracket_problem("sum(rate(x[5m)))") == "unbalanced ')'"
    assert range_functions_without_range("sum(rate(misybot_turns_total))") == ["rate(misybot_turns_total)"]
    assert range_functions_without_range("rate(x[$__rate_interval]) / increase(y{a='b'}[1h])") == []


# -- every query reads exported metrics only ----------------------------------------------------------------------
def test_the_exported_metric_list_is_the_one_the_files_were_written_for():
    assert HISTOGRAMS == {"misybot_http_request_duration_seconds", "misybot_turn_stage_duration_seconds",
                          "misybot_turn_duration_seconds", "misybot_llm_duration_seconds"}
    assert TENANT_METRICS <= set(EXPORTED_METRICS)


def test_every_query_reads_only_exported_metrics():
    unknown = {(where, name) for where, expr in _all_exprs() for name in metric_names(expr) - set(EXPORTED_METRICS)}
    assert not unknown, f"queries on metrics the service does not export: {sorted(unknown)}"


def test_histograms_are_read_through_their_series():
    """A histogram's own name has no samples in Prometheus; buckets only make sense in histogram_quantile."""
    for where, expr in _all_exprs():
        plain = _without_strings(expr)
        bare = [h for h in HISTOGRAMS if re.search(rf"\b{h}\b(?!_)", plain)]
        assert not bare, f"{where}: query {bare} through _bucket/_sum/_count"
        if "_bucket" in plain:
            assert "histogram_quantile(" in plain, f"{where}: a _bucket series outside histogram_quantile"
            assert re.search(r"\bby\s*\([^)]*\ble\b", plain), f"{where}: histogram_quantile needs the `le` label kept"


def test_every_query_is_well_formed():
    for where, expr in _all_exprs():
        assert expr.strip(), f"{where}: empty query"
        assert bracket_problem(expr) is None, f"{where}: {bracket_problem(expr)} in {expr}"
        assert not range_functions_without_range(expr), f"{where}: {range_functions_without_range(expr)}"


def test_every_exported_metric_is_on_a_dashboard():
    shown = {name for model in _dashboards().values() for _, expr in _panel_exprs(model) for name in metric_names(expr)}
    assert set(EXPORTED_METRICS) - shown == set(), "exported metrics no dashboard shows"


# -- dashboards ---------------------------------------------------------------------------------------------------
def test_the_four_dashboards_are_there_with_unique_uids_and_titles():
    dashboards = _dashboards()
    assert set(dashboards) == EXPECTED_DASHBOARDS
    uids = [model["uid"] for model in dashboards.values()]
    titles = [model["title"] for model in dashboards.values()]
    assert len(set(uids)) == len(uids) and all(uids)
    assert len(set(titles)) == len(titles) and all(titles)
    assert all(len(uid) <= 40 for uid in uids)          # Grafana's limit on a dashboard uid


@pytest.mark.parametrize("name", sorted(EXPECTED_DASHBOARDS))
def test_dashboard_model_is_provisionable(name):
    model = _dashboards()[name]
    assert model["schemaVersion"] >= 39
    assert model.get("id") is None                      # provisioning assigns ids; a fixed one clashes across instances
    assert "misybot" in model.get("tags", [])
    panels = [panel for panel in _panels(model) if panel["type"] != "row"]
    assert panels, f"{name} has no panels"
    ids = [panel["id"] for panel in _panels(model)]
    assert len(set(ids)) == len(ids), f"{name}: duplicate panel ids"
    for panel in panels:
        _assert_panel(name, panel)


def _assert_panel(name: str, panel: dict) -> None:
    where = f"{name} / {panel.get('title')}"
    assert panel.get("title"), f"{name}: a panel without a title"
    assert panel["datasource"] == {"type": "prometheus", "uid": DATASOURCE_UID}, where
    grid = panel["gridPos"]
    assert grid["x"] >= 0 and grid["w"] > 0 and grid["x"] + grid["w"] <= 24 and grid["h"] > 0, f"{where}: {grid}"
    targets = panel.get("targets", [])
    assert targets, f"{where}: no query"
    ref_ids = [target["refId"] for target in targets]
    assert len(set(ref_ids)) == len(ref_ids), f"{where}: duplicate refIds"
    for target in targets:
        assert target["datasource"]["uid"] == DATASOURCE_UID, where


@pytest.mark.parametrize("name", sorted(EXPECTED_DASHBOARDS))
def test_dashboard_has_the_tenant_picker_and_uses_it(name):
    model = _dashboards()[name]
    variables = {variable["name"]: variable for variable in model["templating"]["list"]}
    tenant = variables["tenant"]
    assert _variable_query(tenant) == TENANT_QUERY
    assert tenant["datasource"]["uid"] == DATASOURCE_UID
    assert tenant.get("includeAll") and tenant.get("allValue") == ".*"    # "All" must match as a regex
    for where, expr in _panel_exprs(model):
        for match in _SELECTOR.finditer(expr):
            if match.group(1) in TENANT_METRICS:
                assert match.group(2) and 'tenant=~"$tenant"' in match.group(2), \
                    f"{where}: {match.group(1)} must be filtered by tenant=~\"$tenant\""


# -- alert rules and the runbook ----------------------------------------------------------------------------------
def _runbook_anchors() -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens."""
    anchors = set()
    for line in RUNBOOK.read_text(encoding="utf-8").splitlines():
        heading = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if heading:
            anchors.add(re.sub(r"[^\w\- ]", "", heading.group(1).lower()).replace(" ", "-"))
    return anchors


def test_alert_rules_are_one_group_named_misybot():
    groups = _yaml(ALERTS)["groups"]
    assert [group["name"] for group in groups] == ["misybot"]
    names = [rule["alert"] for rule in _alerts()]
    assert len(set(names)) == len(names), "duplicate alert names"
    assert {rule["labels"]["category"] for rule in _alerts()} == ALERT_CATEGORIES


def test_every_alert_is_complete():
    for rule in _alerts():
        name = rule["alert"]
        assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name), name
        assert _DURATION.match(str(rule.get("for", ""))), f"{name}: needs `for:` (a duration)"
        assert rule.get("labels", {}).get("severity") in SEVERITIES, f"{name}: severity"
        annotations = rule.get("annotations", {})
        for key in ("summary", "description", "runbook_url"):
            assert str(annotations.get(key, "")).strip(), f"{name}: annotation {key}"
        assert "$tenant" not in rule["expr"] and "$__" not in rule["expr"], f"{name}: a Grafana variable in a rule"


def test_every_runbook_url_has_its_entry_and_every_entry_an_alert():
    anchors = _runbook_anchors()
    linked = set()
    for rule in _alerts():
        match = _RUNBOOK_URL.match(rule["annotations"]["runbook_url"])
        assert match, f"{rule['alert']}: runbook_url must be docs/runbook.md#<anchor>"
        assert match.group(1) in anchors, f"{rule['alert']}: no heading for #{match.group(1)} in docs/runbook.md"
        linked.add(match.group(1))
    alert_headings = {anchor for anchor in anchors if re.fullmatch(r"misybot[a-z0-9]+", anchor)}     # not the title
    assert alert_headings == linked, "runbook entries without an alert, or alerts sharing an entry"


# -- Prometheus config, Grafana provisioning and the compose profile agree ----------------------------------------
def _service_mounts(service: dict) -> dict[str, Path]:
    """Bind mounts of a compose service: container path → host path (relative to deploy/, the compose file's folder)."""
    mounts = {}
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith((".", "/")):
            mounts[target] = (COMPOSE.parent / source).resolve()
    return mounts


def _mounted(mounts: dict[str, Path], container_path: str) -> Path | None:
    """The host path a container path comes from, through a mounted file or a mounted folder."""
    for target, source in mounts.items():
        if container_path == target:
            return source
        if container_path.startswith(target.rstrip("/") + "/"):
            return source / container_path[len(target.rstrip("/")) + 1:]
    return None


def _secret_files(service: dict) -> set[str]:
    files = set()
    for secret in service.get("secrets", []):
        target = secret if isinstance(secret, str) else secret.get("target") or secret["source"]
        files.add(target if target.startswith("/") else f"/run/secrets/{target}")
    return files


def test_compose_profile_runs_prometheus_and_grafana_only_on_demand():
    compose = _yaml(COMPOSE)
    services = compose["services"]
    assert set(services) == {"prometheus", "grafana"}
    for name, service in services.items():
        assert service.get("profiles") == ["monitoring"], name
        for mount, source in _service_mounts(service).items():
            assert source.exists(), f"{name}: {mount} is mounted from {source}, which does not exist"
        for secret in service.get("secrets", []):
            source = secret if isinstance(secret, str) else secret["source"]
            assert source in compose.get("secrets", {}), f"{name}: secret {source} is not defined"
    for volume in (v.split(":")[0] for s in services.values() for v in s.get("volumes", []) if not v.startswith((".", "/"))):
        assert volume in compose.get("volumes", {}), f"named volume {volume} is not declared"
    # Compose interpolates every service before filtering profiles: a required ${VAR:?} here would break a plain `up`.
    assert ":?" not in json.dumps(compose), "a ${VAR:?} in the monitoring compose file"


def test_compose_profile_fits_the_main_compose_file():
    main = _yaml(MAIN_COMPOSE)
    monitoring = _yaml(COMPOSE)
    # `include:` refuses a service defined twice.
    assert not set(main["services"]) & set(monitoring["services"])
    assert not set(main.get("volumes") or {}) & set(monitoring.get("volumes") or {})


def test_prometheus_scrapes_the_app_with_a_token_file_and_loads_the_alert_rules():
    config = _yaml(PROMETHEUS_CONFIG)
    prometheus = _yaml(COMPOSE)["services"]["prometheus"]
    mounts = _service_mounts(prometheus)
    assert _mounted(mounts, prometheus_config_path(prometheus)) == PROMETHEUS_CONFIG.resolve()
    assert [_mounted(mounts, path) for path in config["rule_files"]] == [ALERTS.resolve()]
    job = next(job for job in config["scrape_configs"] if job["job_name"] == "misybot")
    assert job.get("metrics_path", "/metrics") == "/metrics"
    authorization = job["authorization"]
    assert authorization.get("type", "Bearer") == "Bearer"
    assert "credentials" not in authorization, "the token must not be written into the config"
    assert authorization["credentials_file"] in _secret_files(prometheus)
    assert [target for static in job["static_configs"] for target in static["targets"]] == [f"app:{_app_port()}"]


def prometheus_config_path(service: dict) -> str:
    flags = [arg for arg in service.get("command", []) if arg.startswith("--config.file=")]
    return flags[0].split("=", 1)[1] if flags else "/etc/prometheus/prometheus.yml"


def _app_port() -> str:
    app = _yaml(MAIN_COMPOSE)["services"]["app"]
    return str(app["ports"][0]).split(":")[-1]


def test_grafana_provisions_the_prometheus_datasource_and_the_dashboards():
    grafana = _yaml(COMPOSE)["services"]["grafana"]
    mounts = _service_mounts(grafana)
    assert _mounted(mounts, "/etc/grafana/provisioning") == PROVISIONING.resolve()
    datasources = _yaml(PROVISIONING / "datasources" / "prometheus.yml")["datasources"]
    assert [(source["uid"], source["type"]) for source in datasources] == [(DATASOURCE_UID, "prometheus")]
    assert datasources[0]["url"] == "http://prometheus:9090"          # the compose service name and port
    providers = _yaml(PROVISIONING / "dashboards" / "misybot.yml")["providers"]
    assert len(providers) == 1 and providers[0]["type"] == "file"
    assert _mounted(mounts, providers[0]["options"]["path"]) == DASHBOARDS.resolve()
