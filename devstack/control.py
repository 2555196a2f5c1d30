"""The running stack's own controls under /_local/ (not routes of the template), for trying things by
hand and for fault-injection tests:

    POST /_local/schedules/<name>                  run a schedule now; its result
    GET  /_local/services                          {postgres|redis|sqs|chain: state, "containers": {fn: pool}}
    POST /_local/services/<name>/stop              stop on purpose: stays down until /start
    POST /_local/services/<name>/start             start again on the same address (sqs: queues recreated)
    POST /_local/services/<name>/kill              SIGKILL; the supervisor restarts it
    POST /_local/containers/<FunctionId>/kill      SIGKILL one container (a busy one if any); its pid
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from devstack.containers import ContainerPool
from devstack.scheduler import Scheduler
from devstack.services import Services
from devstack.supervisor import ServiceError

PREFIX = "/_local/"


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body, default=str), status, content_type="application/json")


class LocalControl:
    def __init__(
        self, scheduler: Scheduler, services: Services, pool: ContainerPool, log: Callable[[str], None]
    ) -> None:
        self.scheduler, self.services, self.pool, self.log = scheduler, services, pool, log
        self.url_map = Map(
            [
                Rule("/_local/schedules/<name>", methods=["POST"], endpoint="schedule"),
                Rule("/_local/services", methods=["GET"], endpoint="services"),
                Rule("/_local/services/<name>/<any(stop, start, kill):action>", methods=["POST"], endpoint="service"),
                Rule("/_local/containers/<function>/kill", methods=["POST"], endpoint="container_kill"),
            ]
        )

    @staticmethod
    def handles(path: str) -> bool:
        return path.startswith(PREFIX)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self.dispatch(Request(environ))(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        try:
            endpoint, values = self.url_map.bind("localhost").match(request.path, method=request.method)
        except NotFound:
            return _json({"error": f"no local control {request.path}"}, 404)
        except MethodNotAllowed:
            return _json({"error": f"{request.method} not allowed on {request.path}"}, 405)
        handler: Callable[..., Response] = getattr(self, f"_{endpoint}")
        return handler(**values)

    def _schedule(self, name: str) -> Response:
        if name not in self.scheduler.by_name:
            return _json({"error": f"no schedule {name}"}, 404)
        try:
            return _json(self.scheduler.run(name))
        except Exception as exc:  # what Lambda reports for a failed invocation
            return _json({"errorMessage": str(exc), "errorType": getattr(exc, "error_type", type(exc).__name__)}, 502)

    def _services(self) -> Response:
        return _json({**self.services.describe(), "containers": self.pool.describe()})

    def _service(self, name: str, action: str) -> Response:
        service = self.services.managed.get(name)
        if service is None:
            if name in self.services.external:
                return _json({"error": f"{name} is not run by this stack ({self.services.external[name]})"}, 409)
            return _json({"error": f"no service {name}; there are {', '.join(self.services.describe())}"}, 404)
        try:
            if action == "stop":
                service.stop()
                self.log(f"{name} stopped on request; it stays down until POST /_local/services/{name}/start")
            elif action == "start":
                service.resume()
                self.log(f"{name} started on request on {service.address}")
            else:
                pid = service.kill()
                self.log(f"{name} (pid {pid}) killed on request; the supervisor restarts it")
                return _json({**service.describe(), "killed": pid})
        except ServiceError as exc:
            return _json({"error": str(exc), **service.describe()}, 409 if action == "kill" else 500)
        return _json(service.describe())

    def _container_kill(self, function: str) -> Response:
        try:
            killed = self.pool.kill(function)
        except KeyError:
            return _json({"error": f"no function {function}; there are {', '.join(self.pool.functions)}"}, 404)
        except LookupError as exc:
            return _json({"error": str(exc)}, 409)
        self.log(f"{function} container {killed['pid']} killed on request ({'busy' if killed['busy'] else 'idle'})")
        return _json(killed)
