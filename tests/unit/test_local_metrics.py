"""The local dashboard's data: EMF lines routed off the console into the metrics file, the stack's own
AWS/* observations, and the per-period aggregation (statistics and metric math) of known lines."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools import Metrics
from werkzeug.test import Client

from devstack.local_dashboard import LocalDashboard
from devstack.local_metrics import MeteredInvoker, metered_gateway
from devstack.metrics_file import MetricLineRouter, MetricsFile, emf_line, parse_line
from devstack.metrics_store import MetricsStore, evaluate
from ops.dashboard import GBC, LAMBDA, Expression, Metric, dashboard_panels

MINUTE = 1_800_000_000.0  # an epoch second on a minute boundary (and a 10 s slot boundary)


def _metric(name: str, stat: str, namespace: str = GBC, resource: str | None = None) -> Metric:
    from ops.dashboard import Ref

    dimensions = (("FunctionName", Ref(resource)),) if resource else (("service", "gbc-blackjack"),)
    return Metric("m", namespace, name, stat, name, dimensions)


def test_powertools_metric_lines_go_to_the_file_and_everything_else_to_the_console(tmp_path, monkeypatch):
    console = io.StringIO()
    router = MetricLineRouter(console, tmp_path / "metrics.jsonl")
    monkeypatch.setattr("sys.stdout", router)
    metrics = Metrics(namespace="GBC", service="gbc-blackjack")
    metrics.add_metric(name="CacheHit", unit="Count", value=1)
    metrics.add_metric(name="CacheHit", unit="Count", value=1)
    print('{"level":"INFO","message":"[Cache] Miss"}')
    metrics.flush_metrics()
    print("partial", end="")
    router.flush()
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["CacheHit"] == [1.0, 1.0]
    assert console.getvalue() == '{"level":"INFO","message":"[Cache] Miss"}\npartial'
    assert "_aws" not in console.getvalue()


def test_a_metric_line_written_in_pieces_still_reaches_the_file_whole(tmp_path):
    console = io.StringIO()
    router = MetricLineRouter(console, tmp_path / "m.jsonl")
    text = emf_line("GBC", {"service": "s"}, {"RoundsPlayed": 1.0}, 1000)
    for piece in (text[:3], text[3:20], text[20:]):
        router.write(piece)
    router.write("after\n")
    assert (tmp_path / "m.jsonl").read_text() == text
    assert console.getvalue() == "after\n"


def _write(path: Path, lines: list[str]) -> None:
    with path.open("a") as handle:
        handle.writelines(lines)


def test_sums_extremes_percentiles_and_averages_per_period_from_known_lines(tmp_path):
    path = tmp_path / "metrics.jsonl"
    recorder = MetricsFile(path)
    for second, value in [(0, 10.0), (15, 30.0), (59, 20.0), (60, 100.0)]:
        recorder.record(
            LAMBDA, {"FunctionName": "ApiFunction"}, {"Duration": value, "Invocations": 1.0}, MINUTE + second
        )
    recorder.record(LAMBDA, {"FunctionName": "WorkerFunction"}, {"Duration": 999.0}, MINUTE)  # another function
    store = MetricsStore(path)
    store.refresh(now=MINUTE + 120)

    def series(name: str, stat: str) -> list[float | None]:
        return store.series(_metric(name, stat, LAMBDA, "ApiFunction"), MINUTE, 3, 60)

    assert series("Invocations", "Sum") == [3.0, 1.0, None]
    assert series("Duration", "Maximum") == [30.0, 100.0, None]
    assert series("Duration", "Minimum") == [10.0, 100.0, None]
    assert series("Duration", "Average") == [20.0, 100.0, None]
    assert series("Duration", "p50") == [20.0, 100.0, None]
    assert series("Duration", "p99") == [30.0, 100.0, None]
    assert series("Duration", "SampleCount") == [3.0, 1.0, None]
    # 10-second points: 0 s and 15 s fall in different slots.
    assert store.series(_metric("Duration", "Maximum", LAMBDA, "ApiFunction"), MINUTE, 2, 10) == [10.0, 30.0]


def _powertools(name: str, value: Any) -> dict[str, Any]:
    """A line as Powertools prints it; a metric added several times in one flush has a list."""
    directive = {"Namespace": "GBC", "Dimensions": [["service"]], "Metrics": [{"Name": name, "Unit": "Count"}]}
    envelope = {"Timestamp": int(MINUTE * 1000), "CloudWatchMetrics": [directive]}
    return {"_aws": envelope, "service": "gbc-blackjack", name: value}


def test_powertools_lines_with_repeated_values_and_a_partial_last_line(tmp_path):
    path = tmp_path / "metrics.jsonl"
    hits, miss = _powertools("CacheHit", [1.0, 1.0, 1.0]), _powertools("CacheMiss", 1.0)
    text = json.dumps(miss) + "\n"
    _write(path, [json.dumps(hits) + "\n", "not json\n", text[:10]])
    store = MetricsStore(path)
    store.refresh(now=MINUTE + 30)
    hit, missed = _metric("CacheHit", "Sum"), _metric("CacheMiss", "Sum")
    assert store.series(hit, MINUTE, 1, 60) == [3.0]
    assert store.series(missed, MINUTE, 1, 60) == [None]  # its line is not complete yet
    _write(path, [text[10:]])
    store.refresh(now=MINUTE + 30)
    assert store.series(missed, MINUTE, 1, 60) == [1.0]
    inputs = {"hit": store.series(hit, MINUTE, 1, 60), "miss": store.series(missed, MINUTE, 1, 60)}
    rate = Expression("rate", "100 * FILL(hit, 0) / (FILL(hit, 0) + FILL(miss, 0))", "hit rate %")
    assert store.expression_series(rate, inputs, 1) == [75.0]
    path.write_text("")  # a new stack truncates the file
    store.refresh(now=MINUTE + 30)
    assert store.series(hit, MINUTE, 1, 60) == [None] and store.lines_read == 0


def test_metric_math_is_arithmetic_only_and_has_no_point_without_its_inputs():
    assert evaluate("100 * a / (a + b)", {"a": 1.0, "b": 3.0}) == 25.0
    assert evaluate("a - -b", {"a": 1.0, "b": 2.0}) == 3.0
    assert evaluate("a / b", {"a": 1.0, "b": 0.0}) is None
    assert evaluate("100 * FILL(a, 0) / (FILL(a, 0) + FILL(b, 0))", {"a": 4.0, "b": None}) == 100.0
    assert evaluate("100 * FILL(a, 0) / (FILL(a, 0) + FILL(b, 0))", {"a": None, "b": None}) is None
    assert evaluate("a + b", {"a": 1.0, "b": None}) is None
    with pytest.raises(ValueError):
        evaluate("__import__('os')", {})


def test_old_slots_are_dropped_after_the_retention(tmp_path):
    path = tmp_path / "metrics.jsonl"
    MetricsFile(path).record(GBC, {"service": "s"}, {"RoundsPlayed": 1.0}, MINUTE)
    store = MetricsStore(path, retention_seconds=600)
    store.refresh(now=MINUTE + 30)
    assert store.series(_metric("RoundsPlayed", "Sum"), MINUTE, 1, 60) == [1.0]
    store.refresh(now=MINUTE + 700)
    assert store.series(_metric("RoundsPlayed", "Sum"), MINUTE, 1, 60) == [None]


def test_every_line_of_the_file_parses_back_to_what_was_recorded(tmp_path):
    path = tmp_path / "metrics.jsonl"
    MetricsFile(path).record("AWS/SQS", {"QueueName": "JobsDLQ"}, {"ApproximateNumberOfMessagesVisible": 2.0}, MINUTE)
    ((namespace, name, dimensions, timestamp, values),) = parse_line(path.read_text())
    assert (namespace, name, dimensions, timestamp, values) == (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        {"QueueName": "JobsDLQ"},
        int(MINUTE * 1000),
        [2.0],
    )


class _Inner:
    def invoke(self, logical_id: str, event: dict[str, Any]) -> Any:
        if event.get("fail"):
            raise RuntimeError("boom")
        return {"ok": True}


def _recorded(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_each_invocation_is_counted_with_its_errors_duration_and_concurrency(tmp_path):
    recorder = MetricsFile(tmp_path / "metrics.jsonl")
    invoker = MeteredInvoker(_Inner(), recorder)
    assert invoker.invoke("ApiFunction", {}) == {"ok": True}
    with pytest.raises(RuntimeError):
        invoker.invoke("ApiFunction", {"fail": True})
    ok, failed = _recorded(recorder.path)
    assert (ok["FunctionName"], ok["Invocations"], ok["Errors"], ok["ConcurrentExecutions"]) == ("ApiFunction", 1, 0, 1)
    assert failed["Errors"] == 1.0 and failed["Throttles"] == 0.0 and failed["Duration"] >= 0


def test_the_gateway_counts_requests_by_class_of_status_with_their_latency(tmp_path):
    recorder = MetricsFile(tmp_path / "metrics.jsonl")

    def api(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        status = {"/ok": "200 OK", "/missing": "404 Not Found"}.get(environ["PATH_INFO"], "502 Bad Gateway")
        start_response(status, [("Content-Type", "text/plain")])
        return [b"x"]

    client = Client(metered_gateway(api, recorder))
    for path in ("/ok", "/missing", "/broken"):
        client.get(path)
    answers = _recorded(recorder.path)
    assert [(a["Count"], a["4XXError"], a["5XXError"]) for a in answers] == [(1, 0, 0), (1, 1, 0), (1, 0, 1)]
    assert all(a["Latency"] >= 0 for a in answers)


def test_the_dashboard_page_charts_every_panel_of_the_shared_definition(tmp_path):
    path = tmp_path / "metrics.jsonl"
    recorder = MetricsFile(path)
    recorder.record(GBC, {"service": "gbc-blackjack"}, {"CacheHit": 3.0, "CacheMiss": 1.0})
    recorder.record(LAMBDA, {"FunctionName": "ApiFunction"}, {"Duration": 12.0, "Invocations": 1.0})
    panels = dashboard_panels()
    dashboard = LocalDashboard(panels, MetricsStore(path), ["no local chain: it needs Node.js"])
    response = Client(dashboard).get("/_local/dashboard?minutes=5")
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert page.count("<svg") == len(panels)
    for panel in panels:
        assert panel.title.replace("&", "&amp;") in page, panel.title
    assert "hit rate %: <b>75</b>" in page  # the cache panel's metric math on the known lines
    assert "http-equiv='refresh'" in page and "no local chain" in page
    assert "<script" not in page and "src=" not in page  # nothing loaded from anywhere
    assert page.count("<circle") >= 1  # the one-point series of the last minute are drawn
