from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from gbc.health import health_report

router = APIGatewayRouter()


@router.get("/api/health", summary="Database, cache and queue status", tags=["ops"])
def get_health() -> dict[str, Any]:
    return health_report()
