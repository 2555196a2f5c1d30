from __future__ import annotations

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from gbc.api.responses import JSON, documented
from gbc.health import HealthReport, health_report

router = APIGatewayRouter()

# The 503 of this route is the report itself (the database is down), not an error body.
RESPONSES = documented(200, _200="ok, or degraded (what is down listed in failing)")
RESPONSES[503] = OpenAPIResponse(
    description="the database is unreachable (the report says so)",
    content={JSON: {"model": HealthReport}},
    headers={"Retry-After": {"description": "seconds to wait before asking again", "schema": {"type": "integer"}}},
)


@router.get("/api/health", summary="Database, cache and queue status", tags=["ops"], responses=RESPONSES)
def get_health() -> Response[HealthReport]:
    report, status = health_report()
    headers = {"Retry-After": "5"} if status == 503 else None
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=report, headers=headers)
