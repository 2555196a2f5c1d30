"""The CloudWatch dashboard in template.yaml is the one panel definition (ops/dashboard.py) rendered:
the committed body is what the module generates (like functions/api/openapi.json), it is valid JSON
once CloudFormation substituted it, it names only what the template has, and it covers every
function, queue and DLQ of the template with the panels issue 14 asks for."""

from __future__ import annotations

import json
import re

from devstack.template import ROOT, load_raw, load_stack
from ops.cloudwatch_dashboard import committed_body, render_body, widgets
from ops.dashboard import GBC, LAMBDA, SQS, Panel, dashboard_panels

RAW = load_raw()
STACK = load_stack()
PANELS = dashboard_panels()


def _substituted(body: str) -> str:
    """What CloudFormation's !Sub makes of the body, with placeholder values."""
    return re.sub(r"\$\{[^}]+\}", "x", body)


def test_the_committed_dashboard_is_what_the_module_generates():
    assert committed_body() == render_body(), "template.yaml's DashboardBody is out of date: run `make dashboard`"


def test_the_body_is_json_once_substituted_and_names_only_what_the_template_has():
    body = committed_body()
    document = json.loads(_substituted(body))
    assert len([w for w in document["widgets"] if w["type"] == "metric"]) == len(PANELS)
    known = set(RAW["Resources"]) | set(RAW["Parameters"]) | {"AWS::Region", "AWS::StackName"}
    for reference in re.findall(r"\$\{([^}]+)\}", body):
        name, _, attribute = reference.partition(".")
        assert name in known, reference
        if attribute:
            assert RAW["Resources"][name]["Type"] == "AWS::SQS::Queue" and attribute == "QueueName", reference


def test_widgets_tile_the_grid_without_overlap():
    cells: set[tuple[int, int]] = set()
    for widget in widgets(PANELS):
        assert widget["x"] + widget["width"] <= 24
        area = {
            (x, y)
            for x in range(widget["x"], widget["x"] + widget["width"])
            for y in range(widget["y"], widget["y"] + widget["height"])
        }
        assert not cells & area, widget
        cells |= area


def _metrics(panel: Panel) -> set[tuple[str, str, str]]:
    return {(m.name, m.stat, m.resource or "") for m in panel.metrics}


def test_every_function_has_invocations_errors_throttles_duration_against_its_timeout_and_concurrency():
    for fn in STACK.functions.values():
        mine = [p for p in PANELS if any(m.namespace == LAMBDA and m.resource == fn.logical_id for m in p.metrics)]
        found = set().union(*(_metrics(p) for p in mine))
        for name, stat in [
            ("Invocations", "Sum"),
            ("Errors", "Sum"),
            ("Throttles", "Sum"),
            ("Duration", "p95"),
            ("Duration", "Maximum"),
            ("ConcurrentExecutions", "Maximum"),
        ]:
            assert (name, stat, fn.logical_id) in found, (fn.logical_id, name, stat)
        (duration,) = [p for p in mine if any(m.name == "Duration" for m in p.metrics)]
        assert [t.value for t in duration.thresholds] == [fn.timeout * 1000.0], fn.logical_id


def test_every_queue_and_dlq_has_visible_messages_and_age_of_oldest():
    covered = {(m.resource, m.name) for p in PANELS for m in p.metrics if m.namespace == SQS and m.resource is not None}
    for queue in STACK.queues:
        assert (queue, "ApproximateNumberOfMessagesVisible") in covered, queue
        assert (queue, "ApproximateAgeOfOldestMessage") in covered, queue


def test_the_api_business_and_health_figures_are_there():
    names = {(m.namespace, m.name, m.stat) for p in PANELS for m in p.metrics}
    for expected in [
        ("AWS/ApiGateway", "Count", "Sum"),
        ("AWS/ApiGateway", "4XXError", "Sum"),
        ("AWS/ApiGateway", "5XXError", "Sum"),
        ("AWS/ApiGateway", "Latency", "p50"),
        ("AWS/ApiGateway", "Latency", "p99"),
    ]:
        assert expected in names, expected
    custom = {m.name for p in PANELS for m in p.metrics if m.namespace == GBC}
    assert {
        "OutboxBacklog",
        "OutboxOldestAge",
        "ChainBlocksBehind",
        "ChainCheckpointAge",
        "ChainPollerRuns",
        "CacheHit",
        "CacheMiss",
        "RoundsPlayed",
        "GbcWagered",
        "GbcPaid",
        "DepositsCredited",
        "WithdrawalsPaid",
        "FaucetClaims",
    } <= custom
    (cache,) = [p for p in PANELS if p.title == "Cache hit rate"]
    assert [e.expression for e in cache.expressions] == ["100 * FILL(hit, 0) / (FILL(hit, 0) + FILL(miss, 0))"]


def test_every_custom_metric_on_the_dashboard_is_emitted_by_the_code():
    source = "\n".join(
        path.read_text() for folder in ("layers/common/gbc", "functions") for path in (ROOT / folder).rglob("*.py")
    )
    custom = {m.name for p in PANELS for m in p.metrics if m.namespace == GBC}
    assert sorted(name for name in custom if not re.search(rf"\b{name}\b", source)) == []


def test_custom_metrics_carry_the_powertools_service_dimension():
    service = RAW["Globals"]["Function"]["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"]
    for panel in PANELS:
        for metric in panel.metrics:
            if metric.namespace == GBC:
                assert metric.dimensions == (("service", service),), metric
