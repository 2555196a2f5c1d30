"""The REST resolver every API function uses: the request guard runs before Powertools routes or
validates anything, and every error goes through the one mapping (gbc.api.errors)."""

from __future__ import annotations

import functools
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, depends
from aws_lambda_powertools.event_handler.api_gateway import ResponseBuilder

from gbc.api.errors import error_response, register_error_handlers
from gbc.api.request_guard import RequestRejected, canonical_content_type, check_request


class GuardedRestResolver(APIGatewayRestResolver):
    _swagger: dict[str, Any] | None = None

    def swagger_on_first_use(self, path: str, **options: Any) -> None:
        """`enable_swagger`, done by the first request for the document: it imports Powertools'
        OpenAPI models (~30 ms), which no other request needs, so the cold start does not pay it."""
        self._swagger = {"path": path, **options}

    @property
    def pending_docs_path(self) -> str | None:
        """The document's route while it is not set up yet (GET, as enable_swagger registers it)."""
        return None if self._swagger is None else str(self._swagger["path"])

    def _resolve(self) -> ResponseBuilder:
        try:
            check_request(self.current_event.raw_event)
            canonical_content_type(self.current_event.raw_event)
        except RequestRejected as exc:
            return self._response_builder_class(response=error_response(exc), serializer=self._serializer)
        swagger = self._swagger
        if swagger is not None and self.current_event.path.startswith(swagger["path"]):
            self._swagger = None
            self.enable_swagger(**swagger)
        return super()._resolve()


def remember_dependency_trees() -> None:
    """Powertools (3.37) rebuilds a route's Depends() tree on every request, get_type_hints over the
    handler's signature included: a quarter of a cached read's CPU. The tree depends on the function
    alone (middlewares' trees are already cached by Powertools), so it is remembered. A hand-made
    memo: Powertools has no option for it."""
    if not hasattr(depends.build_dependency_tree, "cache_info"):
        # The recursive calls inside go through the module's name too, so sub-trees are remembered.
        depends.build_dependency_tree = functools.lru_cache(maxsize=512)(depends.build_dependency_tree)


def api_resolver() -> GuardedRestResolver:
    remember_dependency_trees()
    app = GuardedRestResolver(enable_validation=True)
    register_error_handlers(app)
    return app
