from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from gbc.api.responses import documented
from gbc.health import health_report

router = APIGatewayRouter()


@router.get(
    "/api/health",
    summary="Database, cache and queue status",
    tags=["ops"],
    responses=documented(
        200, _200="ok, or degraded (what is down listed in failing)", _503="the database is unreachable"
    ),
)
def get_health() -> Response[dict[str, Any]]:
    report, status = health_report()
    headers = {"Retry-After": "5"} if status == 503 else None
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=report, headers=headers)
