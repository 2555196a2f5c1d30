"""The local stack's HTTP servers (the API and the SQS emulator): the standard library's WSGI server
(wsgiref) on a thread per connection, speaking HTTP/1.1 with keep-alive, as API Gateway's and SQS's
endpoints do, and with Nagle's algorithm off.

Why not werkzeug's development server: since werkzeug 2.1 it answers every request with
`Connection: close` (it cannot drain a request body before the next request line), so each request
paid a new TCP connection and a new server thread: 1.1 ms a request against 0.2 ms kept alive, on a
2-CPU machine. Here the body a request declares is read whole, up to its Content-Length, before the
app runs, which is what makes keeping the connection safe; a client gets BODY_READ_SECONDS to send
it (408 after that: a Content-Length it never sends holds no thread for the idle timeout), and a
body over MAX_BODY_BYTES is refused unread (413). A response with no length (the client reads it to
the end) and a request that asks to close end the connection, as HTTP/1.1 says.
The loop over one connection's requests is the only hand-written part: wsgiref builds the environ
and writes the response.
"""

from __future__ import annotations

import io
import socketserver
import time
from typing import IO, Any, cast
from wsgiref.simple_server import ServerHandler, WSGIRequestHandler, WSGIServer

MAX_REQUEST_LINE = 65536
KEEP_ALIVE_IDLE_SECONDS = 75.0  # a connection nobody uses is closed (API Gateway's idle timeout is longer)
BODY_READ_SECONDS = 10.0  # to send a declared body, all of it
# Above API Gateway's 10 MB payload limit, which the gateway answers itself (its own 413 body); a
# body past this one is not even read.
MAX_BODY_BYTES = 16 * 1024 * 1024


class _Http11Handler(ServerHandler):
    http_version = "1.1"
    # wsgiref's own attributes, which typeshed does not declare.
    request_handler: KeepAliveHandler
    headers: Any
    status: str | None
    headers_sent: bool

    def write(self, data: bytes) -> None:
        # A HEAD answer has the GET's headers and no body (werkzeug's responses send none already;
        # one that did would be read as the next response on this connection).
        if self.request_handler.command == "HEAD":
            if not self.headers_sent:
                self.send_headers()
            return
        super().write(data)

    def cleanup_headers(self) -> None:
        super().cleanup_headers()
        if "Content-Length" not in self.headers:
            self.request_handler.close_connection = True  # the client reads the body to the end

    def close(self) -> None:
        # Also on the error path: a response wsgiref could not finish leaves nothing to reuse.
        if self.status is None or not self.headers_sent:
            self.request_handler.close_connection = True
        super().close()


class KeepAliveHandler(WSGIRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # socketserver.StreamRequestHandler: TCP_NODELAY per connection
    timeout = KEEP_ALIVE_IDLE_SECONDS

    def handle(self) -> None:
        """The connection's requests, one after the other, until one of them closes it."""
        self.close_connection = True
        self.handle_one_request()
        while not self.close_connection:
            self.handle_one_request()

    def handle_one_request(self) -> None:
        try:
            self.raw_requestline = self.rfile.readline(MAX_REQUEST_LINE + 1)
        except TimeoutError:  # idle past the keep-alive timeout
            self.close_connection = True
            return
        if not self.raw_requestline:
            self.close_connection = True
            return
        if len(self.raw_requestline) > MAX_REQUEST_LINE:
            self.requestline = self.request_version = self.command = ""
            self.send_error(414)
            self.close_connection = True
            return
        if not self.parse_request():  # an error was answered; parse_request closes the connection
            return
        if self.headers.get("Transfer-Encoding", "").lower() not in ("", "identity"):
            self.send_error(411, "a request body needs a Content-Length")  # no chunked uploads here
            self.close_connection = True
            return
        if self.headers.get("Expect", "").lower() == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self.send_error(400, "bad Content-Length")
            self.close_connection = True
            return
        if length > MAX_BODY_BYTES:
            self.send_error(413, f"a request body is at most {MAX_BODY_BYTES} bytes")
            self.close_connection = True
            return
        body = self._read_body(length)
        if body is None:
            return
        wfile = cast(IO[bytes], self.wfile)
        handler = _Http11Handler(io.BytesIO(body), wfile, self.get_stderr(), self.get_environ(), multithread=True)
        handler.request_handler = self
        handler.run(self.server.get_app())  # type: ignore[attr-defined]

    def _read_body(self, length: int) -> bytes | None:
        """The declared body, whole, within BODY_READ_SECONDS; None when it did not come (answered
        408, or the client went away), and the connection is then closed: where its next request
        would start is unknown."""
        parts: list[bytes] = []
        deadline = time.monotonic() + BODY_READ_SECONDS
        missing = length
        try:
            while missing:
                self.connection.settimeout(max(deadline - time.monotonic(), 0.001))
                part = self.rfile.read1(min(missing, 65536))
                if not part:  # the client closed its side
                    self.close_connection = True
                    return None
                parts.append(part)
                missing -= len(part)
        except TimeoutError:
            self.send_error(408, f"the request body did not arrive within {BODY_READ_SECONDS:g} s")
            self.close_connection = True
            return None
        finally:
            self.connection.settimeout(self.timeout)
        return b"".join(parts)


class QuietKeepAliveHandler(KeepAliveHandler):
    def log_request(self, *args: object, **kwargs: object) -> None:  # one line per SQS call is noise
        pass


class ThreadedWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a kept-alive connection must not hold the stack's exit
    block_on_close = False  # nor its shutdown: an idle kept-alive connection waits for its next request
    # socketserver's default listen backlog is 5: a burst of new connections (a load test's players
    # signing in at once) overflowed it and saw resets. werkzeug's server used 128.
    request_queue_size = 128
    allow_reuse_address = True


def serve(host: str, port: int, app: Any, *, quiet: bool = False) -> ThreadedWSGIServer:
    """A threaded keep-alive server for `app` (call serve_forever on it)."""
    server = ThreadedWSGIServer((host, port), QuietKeepAliveHandler if quiet else KeepAliveHandler)
    server.set_app(app)
    return server
