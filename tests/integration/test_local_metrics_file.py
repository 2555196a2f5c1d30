"""A local Lambda container's Powertools metrics land in the stack's metrics file and not on the
console, while its log lines still reach the console. The container is a real process running
`handler` below with the project's own Powertools objects (gbc.observability)."""

from __future__ import annotations

import json
from typing import Any

from devstack.containers import ContainerPool
from devstack.metrics_file import ENV_VARIABLE
from devstack.template import Function

FN = "MetricFunction"


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from gbc.observability import logger, metrics

    @metrics.log_metrics
    def emit(event: dict[str, Any], context: Any) -> dict[str, Any]:
        metrics.add_metric(name="RoundsPlayed", unit="Count", value=event["rounds"])
        logger.info("a log line for the console")
        return {"ok": True}

    return emit(event, context)


def test_a_containers_emf_lines_go_to_the_metrics_file_and_its_logs_to_the_console(tmp_path, capfd):
    path = tmp_path / "metrics.jsonl"
    env = {ENV_VARIABLE: str(path), "POWERTOOLS_METRICS_NAMESPACE": "GBC", "POWERTOOLS_SERVICE_NAME": "gbc-blackjack"}
    pool = ContainerPool({FN: Function(FN, f"{__name__}.handler", 30, 128)}, env, size=1)
    try:
        assert pool.invoke(FN, {"rounds": 3}) == {"ok": True}
        assert pool.invoke(FN, {"rounds": 4}) == {"ok": True}
    finally:
        pool.stop()
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["RoundsPlayed"] for line in lines] == [[3.0], [4.0]]  # Powertools prints a list
    assert all(line["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "GBC" for line in lines)
    console = capfd.readouterr().out
    assert console.count("a log line for the console") == 2
    assert "_aws" not in console and "RoundsPlayed" not in console
