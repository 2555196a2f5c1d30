from __future__ import annotations

from datetime import UTC, datetime

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from gbc.api.identity import CallerId
from gbc.api.responses import BEARER, SIGNED_IN, documented
from gbc.realtime import store
from gbc.realtime.listeners import mark_listening
from gbc.realtime.views import RealtimeTicket
from gbc.settings import get_settings

router = APIGatewayRouter()


@router.post(
    "/api/realtime/ticket",
    summary="A single-use ticket to open the push stream: connect to `{url}?ticket={ticket}` within 30 s",
    tags=["realtime"],
    responses=documented(201, *SIGNED_IN),
    security=BEARER,
)
def post_realtime_ticket(caller: CallerId) -> Response[RealtimeTicket]:
    ticket = store.issue_ticket(caller)
    mark_listening(caller)  # from now on, the caller's commits are pushed
    body = RealtimeTicket(
        url=str(get_settings().realtime_url),
        ticket=ticket.ticket,
        expires_at=datetime.fromtimestamp(ticket.expires_at, UTC),
    )
    return Response(status_code=201, content_type=content_types.APPLICATION_JSON, body=body)
