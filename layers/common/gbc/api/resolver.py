"""The REST resolver every API function uses: the request guard runs before Powertools routes or
validates anything, every error goes through the one mapping (gbc.api.errors), and browsers of the
allowed origins (CORS_ALLOWED_ORIGINS) get CORS headers on every answer, refusals included."""

from __future__ import annotations

import functools

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, depends
from aws_lambda_powertools.event_handler.api_gateway import ResponseBuilder

from gbc.api.errors import error_response, register_error_handlers
from gbc.api.idempotency import REPLAYED_HEADER
from gbc.api.request_guard import RequestRejected, canonical_content_type, check_request
from gbc.settings import get_settings

# What a browser may send beyond Powertools' defaults (Authorization, Content-Type, ...), and read.
ALLOWED_HEADERS = ["Idempotency-Key"]
EXPOSED_HEADERS = ["Retry-After", REPLAYED_HEADER]
PREFLIGHT_MAX_AGE_S = 600


class GuardedRestResolver(APIGatewayRestResolver):
    # No enable_swagger: the OpenAPI document is generated ahead and served as a file (gbc.api.openapi).

    def _resolve(self) -> ResponseBuilder:
        try:
            check_request(self.current_event.raw_event)
            canonical_content_type(self.current_event.raw_event)
        except RequestRejected as exc:
            response = error_response(exc)
            if self._cors is not None:  # refused before routing: Powertools adds CORS to routed answers only
                response.headers.update(self._cors.to_dict(self.current_event.headers.get("Origin")))
            return self._response_builder_class(response=response, serializer=self._serializer)
        return super()._resolve()


def remember_dependency_trees() -> None:
    """Powertools (3.37) rebuilds a route's Depends() tree on every request, get_type_hints over the
    handler's signature included: a quarter of a cached read's CPU. The tree depends on the function
    alone (middlewares' trees are already cached by Powertools), so it is remembered. Solving the
    tree then calls get_type_hints on every dependency, every request (to find a Request parameter),
    which evaluates its string annotations again: those hints are remembered too. Hand-made memos:
    Powertools has no option for either."""
    if not hasattr(depends.build_dependency_tree, "cache_info"):
        # The recursive calls inside go through the module's name too, so sub-trees are remembered.
        depends.build_dependency_tree = functools.lru_cache(maxsize=512)(depends.build_dependency_tree)
    if not hasattr(depends.get_type_hints, "cache_info"):
        # Read only by Powertools (it looks for a Request annotation), so one dict per function is safe.
        depends.get_type_hints = functools.lru_cache(maxsize=512)(depends.get_type_hints)  # type: ignore[assignment]


def cors_config(origins: tuple[str, ...]) -> CORSConfig | None:
    """Powertools' CORS for the allowed origins: an allowed Origin is echoed, any other gets no CORS
    headers (the browser then refuses to show the answer); no origins, no CORS."""
    if not origins:
        return None
    first, *more = origins
    return CORSConfig(
        allow_origin=first,
        extra_origins=more,
        allow_headers=ALLOWED_HEADERS,
        expose_headers=EXPOSED_HEADERS,
        max_age=PREFLIGHT_MAX_AGE_S,
    )


def api_resolver() -> GuardedRestResolver:
    remember_dependency_trees()
    app = GuardedRestResolver(enable_validation=True, cors=cors_config(get_settings().allowed_origins))
    register_error_handlers(app)
    return app
