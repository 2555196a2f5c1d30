"""What the local stack measures itself for the dashboard's AWS/* panels, written to the metrics file
in the EMF format (devstack.metrics_file) under the names AWS uses:

- AWS/ApiGateway, at the HTTP gateway: Count, 4XXError, 5XXError (0 or 1 a request), Latency (ms);
- AWS/Lambda, per function (FunctionName = its logical id), around every invocation a container
  serves: Invocations, Errors (the handler raised, its container died or timed out), Duration (ms,
  the wait for a free container included), ConcurrentExecutions (invocations in flight), Throttles
  (always 0: the local stack queues an invocation for a container rather than throttling it);
- AWS/SQS, per queue (QueueName = its logical id), every SAMPLE_SECONDS:
  ApproximateNumberOfMessagesVisible and ApproximateAgeOfOldestMessage, from our moto server
  (devstack.moto_sqs's /_devstack/queues), or the visible count alone from an SQS someone else runs.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from devstack.metrics_file import MetricsFile
from devstack.runtime import Invoker
from devstack.template import Stack

SAMPLE_SECONDS = 5.0
API_NAME = "local"


class MeteredInvoker:
    """An Invoker that records AWS/Lambda's metrics of each invocation it passes on."""

    def __init__(self, inner: Invoker, metrics: MetricsFile) -> None:
        self.inner, self.metrics = inner, metrics
        self._in_flight: dict[str, int] = defaultdict(int)
        self._lock = threading.Lock()

    def invoke(self, logical_id: str, event: dict[str, Any]) -> Any:
        with self._lock:
            self._in_flight[logical_id] += 1
            concurrent = self._in_flight[logical_id]
        started, failed = time.perf_counter(), True
        try:
            result = self.inner.invoke(logical_id, event)
            failed = False
            return result
        finally:
            with self._lock:
                self._in_flight[logical_id] -= 1
            values = {
                "Invocations": 1.0,
                "Errors": float(failed),
                "Throttles": 0.0,
                "Duration": (time.perf_counter() - started) * 1000,
                "ConcurrentExecutions": float(concurrent),
            }
            self.metrics.record("AWS/Lambda", {"FunctionName": logical_id}, values)


def metered_gateway(app: Callable[..., Iterable[bytes]], metrics: MetricsFile) -> Callable[..., Iterable[bytes]]:
    """A WSGI wrapper recording AWS/ApiGateway's per-request metrics of the API's answers."""

    def metered(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        started = time.perf_counter()
        status = [0]

        def remember(line: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            status[0] = int(line.split(" ", 1)[0])
            return start_response(line, headers, exc_info)

        body = app(environ, remember)
        code = status[0]
        values = {
            "Count": 1.0,
            "4XXError": float(400 <= code < 500),
            "5XXError": float(code >= 500),
            "Latency": (time.perf_counter() - started) * 1000,
        }
        metrics.record("AWS/ApiGateway", {"ApiName": API_NAME}, values)
        return body

    return metered


class QueueSampler:
    """Samples every queue of the template every SAMPLE_SECONDS in a thread."""

    def __init__(self, stack: Stack, endpoint: str, client: Any, metrics: MetricsFile) -> None:
        self.stack, self.endpoint, self.client, self.metrics = stack, endpoint.rstrip("/"), client, metrics
        self.by_name = {queue.name: queue.logical_id for queue in stack.queues.values()}
        self.stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="queue-sampler", daemon=True)

    def sample(self) -> dict[str, dict[str, float]]:
        """Queue logical id -> the two metrics (age only from our moto server)."""
        try:
            with urllib.request.urlopen(f"{self.endpoint}/_devstack/queues", timeout=2) as answer:  # noqa: S310
                queues = json.loads(answer.read())
            return {
                self.by_name[q["name"]]: {
                    "ApproximateNumberOfMessagesVisible": float(q["visible"]),
                    "ApproximateAgeOfOldestMessage": float(q["oldestAgeSeconds"]),
                }
                for q in queues
                if q["name"] in self.by_name
            }
        except (OSError, ValueError, KeyError):
            pass  # not our moto server: ask SQS for the visible count
        out = {}
        for queue in self.stack.queues.values():
            url = self.stack.resolver.resolve({"Ref": queue.logical_id})
            attributes = self.client.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
            out[queue.logical_id] = {
                "ApproximateNumberOfMessagesVisible": float(attributes["Attributes"]["ApproximateNumberOfMessages"])
            }
        return out

    def _loop(self) -> None:
        while not self.stopping.wait(SAMPLE_SECONDS):
            try:
                for logical_id, values in self.sample().items():
                    self.metrics.record("AWS/SQS", {"QueueName": logical_id}, values)
            except Exception:  # noqa: S112 - SQS restarting: the next sample is in a few seconds
                continue

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.stopping.set()
