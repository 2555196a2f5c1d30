"""What the benchmarks drive. Later issues add their scenarios to SCENARIOS."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: Any = None
    authenticated: bool = False
    query: dict[str, str] = field(default_factory=dict)

    def body_text(self) -> str | None:
        return None if self.body is None else json.dumps(self.body)


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    # Called once per request (with the request's sequence number) so scenarios can vary input.
    request: Callable[[int], Request]
    expect_status: int = 200


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in [
        Scenario(
            "health", "GET /api/health: database, cache and queue checks", lambda i: Request("GET", "/api/health")
        ),
        Scenario(
            "user-update",
            "PATCH /api/user: a write with its audit job through the outbox",
            lambda i: Request("PATCH", "/api/user", {"settings": {"soundEnabled": i % 2 == 0}}, authenticated=True),
        ),
    ]
}
