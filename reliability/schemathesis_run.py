"""Schemathesis against the stack's generated OpenAPI document (`GET /api/docs?format=json`), with a
real session token (a signed-in, funded user). Checks: not_a_server_error, status_code_conformance
and response_schema_conformance (the routes return untyped dicts, so conformance is mostly about
status codes). Every case is counted; failures are grouped by operation, check and status."""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class FuzzResult:
    operations: int = 0
    cases: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)
    server_errors: int = 0
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        return {
            "operations": self.operations,
            "cases": self.cases,
            "failingCases": sum(self.failures.values()),
            "serverErrors": self.server_errors,
            "failuresByOperationAndCheck": dict(self.failures.most_common()),
            "examples": self.examples,
            "errors": self.errors[:10],
            "seconds": round(self.seconds, 1),
        }


def run_schemathesis(base: str, token: str, examples_per_operation: int, seed: int = 20261201) -> FuzzResult:
    import hypothesis
    import requests
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings
    from schemathesis.checks import not_a_server_error
    from schemathesis.core.failures import FailureGroup
    from schemathesis.generation import GenerationMode
    from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

    checks = [not_a_server_error, status_code_conformance, response_schema_conformance]
    headers = {"Authorization": f"Bearer {token}"}
    schema = schemathesis.openapi.from_url(f"{base}/api/docs?format=json")
    result = FuzzResult()
    started = time.monotonic()
    session = requests.Session()
    for outcome in schema.get_all_operations():
        operation = outcome.ok()
        if operation is None:
            result.errors.append(f"schema: {outcome.err()!r:.200}")
            continue
        result.operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(
                max_examples=max(1, examples_per_operation // 2),
                deadline=None,
                database=None,
                derandomize=False,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
                verbosity=hypothesis.Verbosity.quiet,
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def probe(case: Any) -> None:
                label = f"{case.operation.method.upper()} {case.operation.path}"
                result.cases += 1
                try:
                    response = case.call(base_url=base, session=session, headers=headers, timeout=30)
                except Exception as exc:
                    result.failures[f"{label}: transport {type(exc).__name__}"] += 1
                    return
                if response.status_code >= 500:
                    result.server_errors += 1
                try:
                    case.validate_response(response, checks=checks, headers=headers)
                except (FailureGroup, Exception) as exc:  # a group (a BaseExceptionGroup): one per failed check
                    for failure in getattr(exc, "exceptions", [exc]):
                        title = getattr(failure, "title", type(failure).__name__)
                        key = f"{label}: {title} ({response.status_code})"
                        result.failures[key] += 1
                        result.examples.setdefault(
                            key, f"{case.method} {response.request.url} -> {response.text[:160]}"
                        )

            # Unsatisfiable: nothing to negate (an operation without parameters or body).
            with contextlib.suppress(hypothesis.errors.Unsatisfiable):
                hypothesis.seed(seed)(probe)()
    result.seconds = time.monotonic() - started
    return result
