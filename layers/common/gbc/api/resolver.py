"""The REST resolver every API function uses: the request guard runs before Powertools routes or
validates anything, and every error goes through the one mapping (gbc.api.errors)."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.api_gateway import ResponseBuilder

from gbc.api.errors import error_response, register_error_handlers
from gbc.api.request_guard import RequestRejected, canonical_content_type, check_request


class GuardedRestResolver(APIGatewayRestResolver):
    def _resolve(self) -> ResponseBuilder:
        try:
            check_request(self.current_event.raw_event)
            canonical_content_type(self.current_event.raw_event)
        except RequestRejected as exc:
            return self._response_builder_class(response=error_response(exc), serializer=self._serializer)
        return super()._resolve()


def api_resolver() -> GuardedRestResolver:
    app = GuardedRestResolver(enable_validation=True)
    register_error_handlers(app)
    return app
