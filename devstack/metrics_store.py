"""What /_local/dashboard charts: the metrics file (devstack.metrics_file) read incrementally into
10-second slots, and each panel's series computed from them per period (60 s by default, as the
CloudWatch dashboard), with CloudWatch's statistics and the panels' metric math.

A series is keyed by namespace, metric name and the resource it is about: the function (AWS/Lambda
FunctionName) or queue (AWS/SQS QueueName) logical id, none for the API and the custom metrics (which
CloudWatch keys by the one Powertools service dimension). Counts, sums and extremes are exact;
percentiles are exact up to SAMPLE_CAP values a slot and come from a uniform sample beyond.
"""

from __future__ import annotations

import ast
import math
import operator
import random
import threading
import time
from array import array
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from devstack.metrics_file import parse_line
from ops.dashboard import Expression, Metric

SLOT_SECONDS = 10
RETENTION_SECONDS = 3600
SAMPLE_CAP = 2000
RESOURCE_DIMENSIONS = ("FunctionName", "QueueName")

Key = tuple[str, str, str | None]  # namespace, name, resource


@dataclass
class Slot:
    count: int = 0
    total: float = 0.0
    maximum: float = -math.inf
    minimum: float = math.inf
    sample: array[float] = field(default_factory=lambda: array("d"))

    def add(self, value: float, rng: random.Random) -> None:
        self.count += 1
        self.total += value
        self.maximum = max(self.maximum, value)
        self.minimum = min(self.minimum, value)
        if len(self.sample) < SAMPLE_CAP:
            self.sample.append(value)
        elif (index := rng.randrange(self.count)) < SAMPLE_CAP:  # reservoir sampling (Algorithm R)
            self.sample[index] = value


def statistic(stat: str, slots: list[Slot]) -> float | None:
    """CloudWatch's statistic over the slots of one period; None when there is no data point."""
    slots = [s for s in slots if s.count]
    if not slots:
        return None
    count = sum(s.count for s in slots)
    if stat == "Sum":
        return sum(s.total for s in slots)
    if stat == "SampleCount":
        return float(count)
    if stat == "Average":
        return sum(s.total for s in slots) / count
    if stat == "Maximum":
        return max(s.maximum for s in slots)
    if stat == "Minimum":
        return min(s.minimum for s in slots)
    if stat.startswith("p"):
        values = sorted(v for s in slots for v in s.sample)
        rank = math.ceil(float(stat[1:]) / 100 * len(values))  # nearest rank
        return values[max(rank, 1) - 1]
    raise ValueError(f"unsupported statistic {stat}")


_OPERATORS: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}


def evaluate(expression: str, values: dict[str, float | None]) -> float | None:
    """The arithmetic subset of CloudWatch metric math (ids, numbers, + - * /, parentheses and
    FILL(id, value)) for one point; None when an input has no data point or a division is by zero
    (CloudWatch leaves that point out too)."""

    def walk(node: ast.AST) -> float | None:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "FILL":
            series, fill = node.args
            value = walk(series)
            return walk(fill) if value is None else value
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return float(node.value)
        if isinstance(node, ast.Name):
            return values.get(node.id)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            inner = walk(node.operand)
            return None if inner is None else -inner
        if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
            left, right = walk(node.left), walk(node.right)
            if left is None or right is None or (isinstance(node.op, ast.Div) and right == 0):
                return None
            return _OPERATORS[type(node.op)](left, right)
        raise ValueError(f"unsupported metric math in {expression!r}")

    return walk(ast.parse(expression, mode="eval"))


class MetricsStore:
    """The metrics file, read from where the last read stopped (a shorter file is a new one)."""

    def __init__(self, path: Path, retention_seconds: int = RETENTION_SECONDS) -> None:
        self.path, self.retention = path, retention_seconds
        self.lines_read = 0
        self._offset = 0
        self._partial = b""
        self._slots: dict[Key, dict[int, Slot]] = defaultdict(dict)
        self._rng = random.Random(0)  # noqa: S311 - sampling, not secrets
        self._lock = threading.Lock()

    def refresh(self, now: float | None = None) -> None:
        with self._lock:
            try:
                size = self.path.stat().st_size
            except FileNotFoundError:
                return
            if size < self._offset:  # truncated: a new stack
                self._offset, self._partial, self.lines_read = 0, b"", 0
                self._slots.clear()
            with self.path.open("rb") as handle:
                handle.seek(self._offset)
                chunk = handle.read()
            self._offset += len(chunk)
            *lines, self._partial = (self._partial + chunk).split(b"\n")
            for line in lines:
                self._ingest(line.decode(errors="replace"))
            self._expire(time.time() if now is None else now)

    def _ingest(self, line: str) -> None:
        if not line.strip():
            return
        self.lines_read += 1
        for namespace, name, dimensions, timestamp_ms, values in parse_line(line):
            resource = next((dimensions[d] for d in RESOURCE_DIMENSIONS if d in dimensions), None)
            slots = self._slots[(namespace, name, resource)]
            slot = slots.setdefault(timestamp_ms // (SLOT_SECONDS * 1000), Slot())
            for value in values:
                slot.add(value, self._rng)

    def _expire(self, now: float) -> None:
        oldest = int((now - self.retention) // SLOT_SECONDS)
        for slots in self._slots.values():
            for index in [i for i in slots if i < oldest]:
                del slots[index]

    def series(self, metric: Metric, start: float, periods: int, period: int) -> list[float | None]:
        """One value a period from `start` (epoch seconds, a multiple of `period`) on."""
        per = max(period // SLOT_SECONDS, 1)
        first = int(start // SLOT_SECONDS)
        with self._lock:
            slots = self._slots.get((metric.namespace, metric.name, metric.resource), {})
            return [
                statistic(metric.stat, [slots[i] for i in range(first + n * per, first + (n + 1) * per) if i in slots])
                for n in range(periods)
            ]

    def expression_series(
        self, expression: Expression, inputs: dict[str, list[float | None]], periods: int
    ) -> list[float | None]:
        return [evaluate(expression.expression, {k: v[n] for k, v in inputs.items()}) for n in range(periods)]
