"""The one place Powertools' logger and metrics are created (service name from the env).

No tracer: Lambda's active tracing (`Tracing: Active` in template.yaml) records each invocation's
segments without an SDK in the process; the X-Ray SDK that Powertools' Tracer wraps cost ~20 % of a
cold start and is in maintenance mode. README, "Tracing", says what traces show and how to add
OpenTelemetry subsegments."""

from __future__ import annotations

import warnings

from aws_lambda_powertools import Logger, Metrics

# An invocation that recorded no metric (a health check) is normal, not worth a warning per request.
warnings.filterwarnings("ignore", message="No application metrics to publish")

logger = Logger()
metrics = Metrics()
