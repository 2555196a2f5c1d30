"""The local stack's metrics file: the Powertools EMF lines the functions print, and the stack's own
observations in the same format, one JSON object a line (`<data dir>/metrics.jsonl`, new for each
`make dev`). In AWS, Lambda hands EMF lines on stdout to CloudWatch, which turns them into metrics;
locally they would be noise on the console, so each container's stdout passes everything else
through and sends those lines here, and /_local/dashboard aggregates the file (devstack.metrics_store).

    route_metric_lines(path)                          in a container: EMF lines of sys.stdout -> path
    MetricsFile(path).record(ns, {dim: v}, {name: x})  the stack's own (AWS/Lambda, AWS/ApiGateway, ...)

Each line is written with one os.write on an O_APPEND descriptor, so the lines of several container
processes never interleave.
"""

from __future__ import annotations

import io
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any, TextIO

ENV_VARIABLE = "DEVSTACK_METRICS_FILE"
EMF_PREFIX = '{"_aws":'  # Powertools serialises the _aws envelope first (metrics/provider/cloudwatch_emf)


def _open_append(path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)


class MetricLineRouter(io.TextIOBase):
    """A stdout that sends complete EMF lines to the metrics file and everything else, unchanged, to
    the stream it replaces. Text is held only until its line ends (print writes the text, then "\\n")."""

    def __init__(self, console: TextIO, path: Path) -> None:
        super().__init__()
        self.console = console
        self._fd = _open_append(path)
        self._pending = ""
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        written = len(text)
        with self._lock:
            text, self._pending = self._pending + text, ""
            start = 0
            while (end := text.find("\n", start)) != -1:
                self._line(text[start : end + 1])
                start = end + 1
            rest = text[start:]
            if rest.startswith(EMF_PREFIX[: len(rest)]):
                self._pending = rest  # maybe the start of a metrics line: wait for its end
            elif rest:
                self.console.write(rest)
        return written

    def _line(self, line: str) -> None:
        if line.startswith(EMF_PREFIX):
            os.write(self._fd, line.encode())
        else:
            self.console.write(line)

    def flush(self) -> None:
        with self._lock:
            if self._pending and not self._pending.startswith(EMF_PREFIX):
                self.console.write(self._pending)
                self._pending = ""
        self.console.flush()

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return self.console.isatty()

    def fileno(self) -> int:
        return self.console.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.console, "encoding", "utf-8")


def route_metric_lines(path: Path | None = None) -> None:
    """In a container process: EMF lines printed on sys.stdout go to `path` (default: the file named
    by DEVSTACK_METRICS_FILE; without it nothing changes)."""
    target = path or (Path(os.environ[ENV_VARIABLE]) if os.environ.get(ENV_VARIABLE) else None)
    if target is not None and not isinstance(sys.stdout, MetricLineRouter):
        sys.stdout = MetricLineRouter(sys.stdout, target)


def emf_line(namespace: str, dimensions: dict[str, str], values: dict[str, float], timestamp_ms: int) -> str:
    """One EMF object (what Powertools prints), for the stack's own observations."""
    envelope = {
        "Timestamp": timestamp_ms,
        "CloudWatchMetrics": [
            {"Namespace": namespace, "Dimensions": [list(dimensions)], "Metrics": [{"Name": name} for name in values]}
        ],
    }
    return json.dumps({"_aws": envelope, **dimensions, **values}, separators=(",", ":")) + "\n"


class MetricsFile:
    """Appends the stack's own observations (gateway requests, invocations, queue depths)."""

    def __init__(self, path: Path, truncate: bool = False) -> None:
        self.path = path
        if truncate:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"")
        self._fd = _open_append(path)

    def record(
        self, namespace: str, dimensions: dict[str, str], values: dict[str, float], at: float | None = None
    ) -> None:
        line = emf_line(namespace, dimensions, values, int((time.time() if at is None else at) * 1000))
        os.write(self._fd, line.encode())

    def close(self) -> None:
        os.close(self._fd)


def parse_line(line: str) -> list[tuple[str, str, dict[str, str], int, list[float]]]:
    """(namespace, metric name, dimensions, timestamp ms, values) for each metric of an EMF line;
    [] for anything else. A metric added several times in one flush has a list of values."""
    try:
        document: dict[str, Any] = json.loads(line)
        envelope = document["_aws"]
        timestamp = int(envelope["Timestamp"])
        out = []
        for directive in envelope["CloudWatchMetrics"]:
            keys = [key for dimension_set in directive.get("Dimensions", []) for key in dimension_set]
            dimensions = {key: str(document[key]) for key in keys if key in document}
            for metric in directive["Metrics"]:
                raw = document.get(metric["Name"])
                values = raw if isinstance(raw, list) else [raw]
                numbers = [float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
                if numbers:
                    out.append((str(directive["Namespace"]), str(metric["Name"]), dimensions, timestamp, numbers))
        return out
    except (ValueError, KeyError, TypeError):
        return []
