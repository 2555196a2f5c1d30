"""The operations dashboard, defined once. The same panels become the CloudWatch dashboard in
template.yaml (`ops.cloudwatch_dashboard`, `make dashboard`) and the local stack's charts at
/_local/dashboard (`devstack.local_dashboard`), so what a developer watches during a load run is what
an operator watches in AWS.

The panels are built from template.yaml itself: one row per function (with its own Timeout as the
duration panel's annotation), one per queue and its DLQ, the REST API's name and stage, and the
Powertools service dimension of the custom metrics (namespace GBC; README "Dashboard" lists them).
Adding a function or a queue to the template adds its panels.

    panels = dashboard_panels()          # tuple[Panel, ...], in display order
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devstack.template import TEMPLATE, Stack, load_raw, load_stack

GBC = "GBC"
LAMBDA = "AWS/Lambda"
SQS = "AWS/SQS"
API_GATEWAY = "AWS/ApiGateway"


@dataclass(frozen=True)
class Ref:
    """A resource of the template as a dimension value: `${Id}` or `${Id.Attribute}` in the
    dashboard body's !Sub; locally, the function or queue with that logical id."""

    logical_id: str
    attribute: str | None = None

    def sub(self) -> str:
        return f"${{{self.logical_id}.{self.attribute}}}" if self.attribute else f"${{{self.logical_id}}}"


DimensionValue = str | Ref  # a str is !Sub text (it may name parameters: ${Environment})


@dataclass(frozen=True)
class Metric:
    id: str  # unique in its panel; metric math refers to it
    namespace: str
    name: str
    stat: str  # Sum, Average, Maximum, Minimum, SampleCount, pNN
    label: str
    dimensions: tuple[tuple[str, DimensionValue], ...] = ()
    visible: bool = True  # False: only an input of an expression

    @property
    def resource(self) -> str | None:
        """The logical id of the function or queue this metric is about, if any."""
        return next((value.logical_id for _, value in self.dimensions if isinstance(value, Ref)), None)


@dataclass(frozen=True)
class Expression:
    """CloudWatch metric math over the panel's metric ids; the local dashboard evaluates the same
    arithmetic (+ - * / and numbers) per bucket."""

    id: str
    expression: str
    label: str


@dataclass(frozen=True)
class Threshold:
    """A horizontal annotation (e.g. a function's timeout on its duration panel)."""

    label: str
    value: float


@dataclass(frozen=True)
class Panel:
    title: str
    section: str
    metrics: tuple[Metric, ...]
    expressions: tuple[Expression, ...] = ()
    unit: str = ""  # the y axis label
    thresholds: tuple[Threshold, ...] = ()
    period: int = 60


def _sub_text(value: Any) -> str:
    """A template value (a string, !Ref or !Sub) as !Sub text."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Ref" in value:
        return f"${{{value['Ref']}}}"
    if isinstance(value, dict) and isinstance(value.get("Fn::Sub"), str):
        return str(value["Fn::Sub"])
    raise ValueError(f"cannot use {value!r} as a dashboard dimension")


def _rest_api(raw: dict[str, Any]) -> tuple[tuple[str, DimensionValue], ...]:
    """ApiName and Stage of the template's REST API (AWS::Serverless::Api)."""
    for resource in raw["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Api":
            props = resource["Properties"]
            return (("ApiName", _sub_text(props["Name"])), ("Stage", _sub_text(props["StageName"])))
    raise ValueError("template.yaml has no AWS::Serverless::Api")


def _dead_letter_queues(raw: dict[str, Any]) -> dict[str, str]:
    """Queue logical id -> its DLQ's logical id (from RedrivePolicy)."""
    pairs: dict[str, str] = {}
    for logical_id, resource in raw["Resources"].items():
        target = resource.get("Properties", {}).get("RedrivePolicy", {}).get("deadLetterTargetArn")
        if resource["Type"] == "AWS::SQS::Queue" and isinstance(target, dict) and "Fn::GetAtt" in target:
            pairs[logical_id] = target["Fn::GetAtt"][0]
    return pairs


def _custom(metric_id: str, name: str, stat: str, label: str, service: str, visible: bool = True) -> Metric:
    return Metric(metric_id, GBC, name, stat, label, (("service", service),), visible)


def _api_panels(api: tuple[tuple[str, DimensionValue], ...]) -> list[Panel]:
    section = "API (REST API Gateway)"
    return [
        Panel(
            "API requests", section, (Metric("requests", API_GATEWAY, "Count", "Sum", "requests", api),), unit="count"
        ),
        Panel(
            "API 4xx and 5xx",
            section,
            (
                Metric("e4xx", API_GATEWAY, "4XXError", "Sum", "4xx", api),
                Metric("e5xx", API_GATEWAY, "5XXError", "Sum", "5xx", api),
            ),
            unit="count",
        ),
        Panel(
            "API latency",
            section,
            (
                Metric("p50", API_GATEWAY, "Latency", "p50", "p50", api),
                Metric("p99", API_GATEWAY, "Latency", "p99", "p99", api),
            ),
            unit="ms",
        ),
    ]


def _function_panels(stack: Stack) -> list[Panel]:
    panels: list[Panel] = []
    for fn in stack.functions.values():
        name = (("FunctionName", Ref(fn.logical_id)),)
        section = f"Function {fn.logical_id} (timeout {fn.timeout} s)"
        panels += [
            Panel(
                f"{fn.logical_id}: invocations, errors, throttles",
                section,
                (
                    Metric("invocations", LAMBDA, "Invocations", "Sum", "invocations", name),
                    Metric("errors", LAMBDA, "Errors", "Sum", "errors", name),
                    Metric("throttles", LAMBDA, "Throttles", "Sum", "throttles", name),
                ),
                unit="count",
            ),
            Panel(
                f"{fn.logical_id}: duration",
                section,
                (
                    Metric("p95", LAMBDA, "Duration", "p95", "p95", name),
                    Metric("max", LAMBDA, "Duration", "Maximum", "max", name),
                ),
                unit="ms",
                thresholds=(Threshold(f"timeout {fn.timeout} s", fn.timeout * 1000.0),),
            ),
            Panel(
                f"{fn.logical_id}: concurrency",
                section,
                (Metric("concurrency", LAMBDA, "ConcurrentExecutions", "Maximum", "concurrent", name),),
                unit="count",
            ),
        ]
    return panels


def _queue_panels(stack: Stack, raw: dict[str, Any]) -> list[Panel]:
    """Two panels per queue and its DLQ (RedrivePolicy), or per queue on its own (a DLQ that is a
    function's on-failure destination)."""
    dlqs = _dead_letter_queues(raw)
    groups: list[tuple[tuple[str, str], ...]] = [((queue, "queue"), (dlq, "DLQ")) for queue, dlq in dlqs.items()]
    groups += [((q, "queue"),) for q in stack.queues if q not in dlqs and q not in dlqs.values()]
    panels: list[Panel] = []
    for group in groups:
        name = " and ".join(logical_id for logical_id, _ in group)
        for metric, what, unit in (
            ("ApproximateNumberOfMessagesVisible", "visible messages", "count"),
            ("ApproximateAgeOfOldestMessage", "age of oldest message", "s"),
        ):
            metrics = tuple(
                Metric(kind.lower(), SQS, metric, "Maximum", logical_id, _queue(logical_id))
                for logical_id, kind in group
            )
            panels.append(Panel(f"{name}: {what}", f"Queue {name}", metrics, unit=unit))
    return panels


def _queue(logical_id: str) -> tuple[tuple[str, DimensionValue], ...]:
    return (("QueueName", Ref(logical_id, "QueueName")),)


def _custom_panels(service: str) -> list[Panel]:
    def panel(title: str, section: str, *metrics: Metric, unit: str, **kwargs: Any) -> Panel:
        return Panel(title, section, metrics, unit=unit, **kwargs)

    jobs, chain, cache, business = "Outbox and jobs", "Chain poller", "Cache", "Business (per minute)"
    return [
        panel(
            "Outbox backlog (unsent rows)",
            jobs,
            _custom("backlog", "OutboxBacklog", "Maximum", "rows", service),
            unit="count",
        ),
        panel(
            "Outbox age of the oldest unsent row",
            jobs,
            _custom("age", "OutboxOldestAge", "Maximum", "oldest", service),
            unit="s",
        ),
        panel(
            "Jobs processed and failed",
            jobs,
            _custom("processed", "JobsProcessed", "Sum", "processed", service),
            _custom("failed", "JobsFailed", "Sum", "failed", service),
            unit="count",
        ),
        panel(
            "Poller lag: blocks behind head",
            chain,
            _custom("behind", "ChainBlocksBehind", "Maximum", "blocks", service),
            unit="blocks",
        ),
        panel(
            "Poller: time since the checkpoint advanced, and runs",
            chain,
            _custom("age", "ChainCheckpointAge", "Maximum", "checkpoint age (s)", service),
            _custom("runs", "ChainPollerRuns", "Sum", "completed runs", service),
            unit="s / runs",
        ),
        panel(
            "Cache hit rate",
            cache,
            _custom("hit", "CacheHit", "Sum", "hits", service, visible=False),
            _custom("miss", "CacheMiss", "Sum", "misses", service, visible=False),
            unit="%",
            # A period with hits and no miss is 100 %, not a gap (FILL); with no lookup at all, no point.
            expressions=(Expression("rate", "100 * FILL(hit, 0) / (FILL(hit, 0) + FILL(miss, 0))", "hit rate %"),),
        ),
        panel(
            "Rounds per minute", business, _custom("rounds", "RoundsPlayed", "Sum", "rounds", service), unit="rounds"
        ),
        panel(
            "GBC wagered and paid",
            business,
            _custom("wagered", "GbcWagered", "Sum", "wagered", service),
            _custom("paid", "GbcPaid", "Sum", "paid", service),
            unit="GBC",
        ),
        panel(
            "Deposits, withdrawals, faucet claims",
            business,
            _custom("deposits", "DepositsCredited", "Sum", "deposits", service),
            _custom("withdrawals", "WithdrawalsPaid", "Sum", "withdrawals", service),
            _custom("faucet", "FaucetClaims", "Sum", "faucet claims", service),
            unit="count",
        ),
        panel(
            "GBC deposited and withdrawn",
            business,
            _custom("deposited", "GbcDeposited", "Sum", "deposited", service),
            _custom("withdrawn", "GbcWithdrawn", "Sum", "withdrawn", service),
            unit="GBC",
        ),
    ]


def dashboard_panels(template: Path = TEMPLATE) -> tuple[Panel, ...]:
    """Every panel, in display order: API, custom figures, then each function and each queue."""
    raw = load_raw(template)
    stack = load_stack(template)
    service = str(raw["Globals"]["Function"]["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"])
    panels = _api_panels(_rest_api(raw)) + _custom_panels(service) + _queue_panels(stack, raw) + _function_panels(stack)
    return tuple(panels)
