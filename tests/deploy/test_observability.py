"""Alert rules, their promtool tests and the Grafana dashboard use only metrics Lethe exports
(read from its real registry), and docs/operations.md covers every metric and alert."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml

from tests.deploy.container import REPO
from tests.deploy.promql import (
    PROMETHEUS_SERIES,
    exported_families,
    exported_series,
    metric_names,
)

ALERTS = REPO / "deploy" / "prometheus" / "alerts.yml"
ALERT_TESTS = REPO / "deploy" / "prometheus" / "alerts_test.yml"
DASHBOARD = REPO / "deploy" / "grafana" / "dashboards" / "lethe.json"
OPERATIONS = REPO / "docs" / "operations.md"


def rules() -> list[dict[str, Any]]:
    data = yaml.safe_load(ALERTS.read_text())
    return [rule for group in data["groups"] for rule in group["rules"]]


def dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return data


def dashboard_exprs() -> list[str]:
    return [t["expr"] for p in dashboard()["panels"] for t in p.get("targets", [])]


def github_anchors(markdown: str) -> set[str]:
    anchors = set()
    for line in markdown.splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            anchors.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return anchors


def test_the_extractor_finds_metrics_and_nothing_else() -> None:
    expr = (
        'histogram_quantile(0.95, sum by (le, verifier) (rate(lethe_x_bucket{a="b{c}",'
        ' i=~"$instance"}[$__rate_interval]))) / on(instance) group_left up > 1e3 and bool 0'
    )
    assert metric_names(expr) == {"lethe_x_bucket", "up"}


def test_exported_series_follow_the_exposition_format() -> None:
    series = exported_series()
    assert "lethe_http_requests_total" in series
    assert "lethe_http_requests" not in series  # a counter is only ever seen with _total
    assert "lethe_http_request_duration_seconds_bucket" in series
    assert "lethe_requests_in_flight" in series


def test_alerts_use_only_exported_metrics() -> None:
    allowed = exported_series() | PROMETHEUS_SERIES
    used: set[str] = set()
    for rule in rules():
        names = metric_names(rule["expr"])
        assert names, rule["alert"]
        assert names <= allowed, f"{rule['alert']}: {sorted(names - allowed)}"
        used |= names
    # The alerts the issue asks for are all there.
    for family in (
        "lethe_policy_stale",
        "lethe_reloads_total",
        "lethe_verifier_failures_total",
        "lethe_backend_errors_total",
        "lethe_completions_total",
        "lethe_http_request_duration_seconds_bucket",
    ):
        assert family in used


def test_every_alert_is_documented_labelled_and_promtool_tested() -> None:
    anchors = github_anchors(OPERATIONS.read_text())
    tests = yaml.safe_load(ALERT_TESTS.read_text())
    tested = {
        c["alertname"] for t in tests["tests"] for c in t["alert_rule_test"] if c["exp_alerts"]
    }
    for rule in rules():
        name = rule["alert"]
        assert rule["labels"]["severity"] in {"warning", "critical"}, name
        assert {"summary", "description", "runbook"} <= set(rule["annotations"]), name
        page, _, anchor = rule["annotations"]["runbook"].partition("#")
        assert page == "docs/operations.md"
        assert anchor == name.lower()
        assert anchor in anchors
        assert name in tested, f"{name} has no firing case in alerts_test.yml"


def test_promtool_inputs_are_exported_series() -> None:
    tests = yaml.safe_load(ALERT_TESTS.read_text())
    assert tests["rule_files"] == [ALERTS.name]
    allowed = exported_series() | PROMETHEUS_SERIES
    for case in tests["tests"]:
        for series in case["input_series"]:
            assert metric_names(series["series"]) <= allowed, series["series"]


def test_dashboard_uses_only_exported_metrics_and_shows_all_of_them() -> None:
    allowed = exported_series()
    used: set[str] = set()
    for expr in dashboard_exprs():
        names = metric_names(expr)
        assert names, expr
        assert names <= allowed, f"{expr}: {sorted(names - allowed)}"
        used |= names
    families = set(exported_families())
    shown = {name for name in families if any(s.startswith(name) for s in used)}
    assert shown == families, f"not on the dashboard: {families - shown}"


def test_dashboard_is_well_formed() -> None:
    data = dashboard()
    assert data["uid"] == "lethe"
    panels = data["panels"]
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids))
    variables = {v["name"]: v for v in data["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    cells: set[tuple[int, int]] = set()
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        own = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not own & cells, f"{panel['title']} overlaps another panel"
        cells |= own
        if panel["type"] != "row":
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
            assert panel.get("description"), panel["title"]
            for target in panel["targets"]:
                assert target["datasource"] == panel["datasource"]
                assert 'instance=~"$instance"' in target["expr"], panel["title"]


@pytest.mark.parametrize("family", sorted(exported_families()))
def test_operations_guide_explains_every_metric(family: str) -> None:
    text = OPERATIONS.read_text()
    assert f"`{family}" in text, f"docs/operations.md does not explain {family}"
