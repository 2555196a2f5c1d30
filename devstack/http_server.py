"""The local stack's HTTP servers (the API and the SQS emulator): werkzeug's threaded server speaking
HTTP/1.1 with keep-alive, as API Gateway's and SQS's endpoints do (werkzeug's default is HTTP/1.0,
so every request paid a new TCP connection), and with Nagle's algorithm off: werkzeug writes the
headers and the body in two sends, and the second would wait for the client's delayed ACK."""

from __future__ import annotations

from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server


class KeepAliveHandler(WSGIRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # socketserver.StreamRequestHandler: TCP_NODELAY per connection


class QuietKeepAliveHandler(KeepAliveHandler):
    def log_request(self, *args: object, **kwargs: object) -> None:  # one line per SQS call is noise
        pass


def serve(host: str, port: int, app: Any, *, quiet: bool = False) -> BaseWSGIServer:
    """A threaded keep-alive server for `app` (call serve_forever on it)."""
    handler = QuietKeepAliveHandler if quiet else KeepAliveHandler
    return make_server(host, port, app, threaded=True, request_handler=handler)
