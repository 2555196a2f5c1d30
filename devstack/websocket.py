"""API Gateway's WebSocket API on localhost: a real WebSocket server (the `websockets` library) that
invokes the template's routes ($connect, $disconnect, actions chosen by the message's "action",
`$request.body.action`) with the events API Gateway sends, and the @connections management API
(POST/GET/DELETE /@connections/{id}, served by the local HTTP API) through which the notifier
pushes. As in AWS: a $connect answered with a non-2xx status refuses the connection, and a post to a
connection that is gone answers 410 GoneException."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response

from devstack.runtime import Invoker
from devstack.template import Stack

API_ID = "localws"
STAGE = "local"
POST_TIMEOUT_S = 5.0


class LocalWebSocketApi:
    def __init__(self, stack: Stack, runtime: Invoker, log: Callable[[str], None], host: str, port: int) -> None:
        self.routes = stack.websocket_routes
        self.runtime, self.log, self.host, self.port = runtime, log, host, port
        self._loop = asyncio.new_event_loop()
        self._connections: dict[str, ServerConnection] = {}
        self._connected_at: dict[str, float] = {}
        self._server: Server | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="websocket-api", daemon=True)

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the local WebSocket API did not start")

    def stop(self) -> None:
        if self._server is not None:
            self._loop.call_soon_threadsafe(self._server.close)
        self._thread.join(timeout=5)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._serve())

    async def _serve(self) -> None:
        async with serve(self._session, self.host, self.port, process_request=self._connect) as server:
            self._server = server
            self._ready.set()
            await server.wait_closed()

    # ------------------------------------------------------------------ the routes

    def _event(self, route: str, event_type: str, connection_id: str, **extra: Any) -> dict[str, Any]:
        now = time.time()
        return {
            "requestContext": {
                "routeKey": route,
                "eventType": event_type,
                "connectionId": connection_id,
                "connectedAt": int(self._connected_at.get(connection_id, now) * 1000),
                "requestTimeEpoch": int(now * 1000),
                "requestId": str(uuid.uuid4()),
                "messageId": str(uuid.uuid4()),
                "apiId": API_ID,
                "stage": STAGE,
                "domainName": f"{self.host}:{self.port}",
                "identity": {"sourceIp": "127.0.0.1"},
            },
            "isBase64Encoded": False,
            **extra,
        }

    async def _invoke(self, route: str, event: dict[str, Any]) -> dict[str, Any]:
        function = self.routes[route].function
        result = await self._loop.run_in_executor(None, self.runtime.invoke, function, event)
        return result if isinstance(result, dict) else {}

    async def _connect(self, connection: ServerConnection, request: Request) -> Response | None:
        """$connect: the handshake waits for the function; a non-2xx answer refuses it."""
        # Like API Gateway's ids (12 characters); URL-safe, so it survives the @connections path as is.
        connection_id = base64.urlsafe_b64encode(uuid.uuid4().bytes[:9]).decode()
        self._connected_at[connection_id] = time.time()
        query = dict(parse_qsl(urlsplit(request.path).query))
        headers = {k: v for k, v in request.headers.raw_items()}
        if "$connect" in self.routes:
            event = self._event(
                "$connect", "CONNECT", connection_id, headers=headers, queryStringParameters=query or None
            )
            try:
                result = await self._invoke("$connect", event)
            except Exception as exc:
                self.log(f"websocket $connect failed: {exc!r}")
                return connection.respond(HTTPStatus.INTERNAL_SERVER_ERROR, "Internal server error\n")
            status = int(result.get("statusCode", 200))
            if not 200 <= status < 300:
                self._connected_at.pop(connection_id, None)
                return connection.respond(HTTPStatus(status), str(result.get("body") or "Forbidden") + "\n")
        connection.gbc_connection_id = connection_id  # type: ignore[attr-defined]
        return None

    async def _session(self, connection: ServerConnection) -> None:
        connection_id: str = connection.gbc_connection_id  # type: ignore[attr-defined]
        self._connections[connection_id] = connection
        try:
            async for message in connection:
                await self._message(connection, connection_id, message)
        except Exception as exc:  # a broken socket ends the session like a close
            self.log(f"websocket {connection_id} ended: {exc!r}")
        finally:
            self._connections.pop(connection_id, None)
            if "$disconnect" in self.routes:
                try:
                    await self._invoke("$disconnect", self._event("$disconnect", "DISCONNECT", connection_id))
                except Exception as exc:
                    self.log(f"websocket $disconnect failed: {exc!r}")
            self._connected_at.pop(connection_id, None)

    async def _message(self, connection: ServerConnection, connection_id: str, message: str | bytes) -> None:
        text = message.decode() if isinstance(message, bytes) else message
        try:
            action = json.loads(text).get("action")
        except (ValueError, AttributeError):
            action = None
        route = action if isinstance(action, str) and action in self.routes else "$default"
        if route not in self.routes:
            # API Gateway's answer when no route matches and there is no $default.
            await connection.send(json.dumps({"message": "Forbidden", "connectionId": connection_id}))
            return
        result = await self._invoke(route, self._event(route, "MESSAGE", connection_id, body=text))
        if self.routes[route].answers and result.get("body"):
            await connection.send(str(result["body"]))

    # ------------------------------------------------------------------ @connections

    def post(self, connection_id: str, data: bytes) -> bool:
        """Send to a connection (from any thread); False when it is gone."""
        connection = self._connections.get(connection_id)
        if connection is None:
            return False
        text = data.decode() if _is_text(data) else None
        future = asyncio.run_coroutine_threadsafe(connection.send(text if text is not None else data), self._loop)
        try:
            future.result(POST_TIMEOUT_S)
        except Exception:
            return False
        return True

    def disconnect(self, connection_id: str) -> bool:
        connection = self._connections.get(connection_id)
        if connection is None:
            return False
        asyncio.run_coroutine_threadsafe(connection.close(), self._loop).result(POST_TIMEOUT_S)
        return True

    def management_api(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        """POST/GET/DELETE /@connections/{id}, answered as API Gateway does (410 GoneException)."""
        method = environ["REQUEST_METHOD"]
        connection_id = environ.get("PATH_INFO", "").removeprefix("/@connections/")  # as sent, slashes included
        connected = connection_id in self._connections
        if method == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            data = environ["wsgi.input"].read(length) if length else b""
            connected = connected and self.post(connection_id, data)
        elif method == "DELETE":
            connected = connected and self.disconnect(connection_id)
        if not connected:
            body = json.dumps({"message": f"connection {connection_id} is gone"}).encode()
            start_response("410 Gone", [("Content-Type", "application/json"), ("x-amzn-ErrorType", "GoneException")])
            return [body]
        if method == "GET":
            at = self._connected_at.get(connection_id, time.time())
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))
            info = {"connectedAt": stamp, "lastActiveAt": stamp, "identity": {"sourceIp": "127.0.0.1"}}
            start_response("200 OK", [("Content-Type", "application/json")])
            return [json.dumps(info).encode()]
        start_response("200 OK" if method == "POST" else "204 No Content", [("Content-Type", "application/json")])
        return [b""]


def _is_text(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
