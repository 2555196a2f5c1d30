"""The local HTTP API: the template's routes served by werkzeug, each request turned into the
API Gateway REST event its handler gets in AWS, through the TOKEN authorizer where the route has one."""

from __future__ import annotations

import threading
import time
from typing import Any

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from devstack import apigw
from devstack.runtime import Invoker
from devstack.template import Stack


def _werkzeug_path(path: str) -> str:
    import re

    path = re.sub(r"\{(\w+)\+\}", r"<path:\1>", path)
    return re.sub(r"\{(\w+)\}", r"<\1>", path)


MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway's REST payload limit


def _multi_value_headers(request: Request) -> dict[str, list[str]]:
    """Each header's values, in one pass over the environ (getlist per name walked it once a name:
    half of the gateway's CPU a request)."""
    headers: dict[str, list[str]] = {}
    for name, value in request.headers.items():
        headers.setdefault(name, []).append(value)
    return headers


class LocalApi:
    def __init__(self, stack: Stack, runtime: Invoker, logger: Any) -> None:
        self.stack = stack
        self.runtime = runtime
        self.log = logger
        self.routes = {f"{r.method} {r.path}": r for r in stack.routes}
        self.url_map = Map(
            [
                Rule(_werkzeug_path(r.path), methods=None if r.method == "ANY" else [r.method], endpoint=key)
                for key, r in self.routes.items()
            ],
            strict_slashes=False,
        )
        self._policies: dict[tuple[str, str], tuple[float, dict[str, Any]]] = {}
        self._policy_lock = threading.Lock()

    def _gateway(self, kind: str, message: str) -> tuple[int, list[tuple[str, str]], bytes]:
        return apigw.gateway_response(self.stack.gateway_responses, kind, message)

    def _authorize(self, authorizer_name: str, request: Request, method: str, resource: str) -> Any:
        """Like API Gateway: 401 without a token or when the authorizer says Unauthorized, 403 when
        its policy denies; policies cached per token for ReauthorizeEvery seconds."""
        authorizer = self.stack.authorizers[authorizer_name]
        token = request.headers.get(authorizer.header)
        if not token:
            return self._gateway("UNAUTHORIZED", "Unauthorized")
        arn = apigw.method_arn(method, resource)
        now = time.monotonic()
        cached = self._policies.get((authorizer_name, token))
        if cached and cached[0] > now:
            policy = cached[1]
        else:
            try:
                policy = self.runtime.invoke(authorizer.function, apigw.token_authorizer_event(token, method, resource))
            except Exception as exc:
                if str(exc) == "Unauthorized":
                    return self._gateway("UNAUTHORIZED", "Unauthorized")
                self.log(f"authorizer {authorizer.function} failed: {exc!r}")
                return self._gateway("AUTHORIZER_CONFIGURATION_ERROR", "AuthorizerConfigurationException")
            with self._policy_lock:
                self._policies[(authorizer_name, token)] = (now + authorizer.ttl, policy)
        if not apigw.policy_allows(policy, arn):
            return self._gateway("ACCESS_DENIED", "User is not authorized to access this resource")
        return apigw.authorizer_context(policy)

    def dispatch(self, request: Request) -> tuple[int, list[tuple[str, str]], bytes]:
        if (request.content_length or 0) > MAX_PAYLOAD_BYTES:
            return self._gateway("REQUEST_TOO_LARGE", "Request Too Long")
        adapter = self.url_map.bind("localhost")
        if request.method == "OPTIONS" and self.stack.cors is not None:
            # API Gateway answers the preflight itself (the Api's Cors): on every path it has, no authorizer.
            try:
                adapter.match(request.path, method="OPTIONS")  # a route with another method matches too
            except MethodNotAllowed:
                return 200, self.stack.cors.preflight_headers(), b"{}"
            except NotFound:
                return self._gateway("MISSING_AUTHENTICATION_TOKEN", "Missing Authentication Token")
        try:
            key, path_params = adapter.match(request.path, method=request.method)
        except (NotFound, MethodNotAllowed):
            # What API Gateway answers for a path or method it has no resource for.
            return self._gateway("MISSING_AUTHENTICATION_TOKEN", "Missing Authentication Token")
        route = self.routes[key]
        context: Any = None
        if route.authorizer:
            context = self._authorize(route.authorizer, request, request.method, route.path)
            if isinstance(context, tuple):
                return context
        event = apigw.rest_event(
            request.method,
            request.path,
            resource=route.path,
            path_parameters={k: str(v) for k, v in path_params.items()},
            query={k: request.args.getlist(k) for k in request.args},
            headers=_multi_value_headers(request),
            body=request.get_data() or None,
            authorizer=context,
            source_ip=request.remote_addr or "127.0.0.1",
        )
        try:
            result = self.runtime.invoke(route.function, event)
        except Exception as exc:
            self.log(f"{route.function} raised {exc!r}")
            return self._gateway("DEFAULT_5XX", "Internal server error")
        return apigw.decode_response(result)

    def wsgi_app(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        status, headers, body = self.dispatch(request)
        return Response(body, status=status, headers=headers)(environ, start_response)
