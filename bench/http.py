"""The benchmarks' HTTP client: one keep-alive connection per thread, as a browser or an SDK keeps
to API Gateway (a new TCP connection per request would time the handshake, not the API)."""

from __future__ import annotations

import http.client
import threading
import urllib.parse


class KeepAliveClient:
    def __init__(self, base: str, timeout: float = 30) -> None:
        parsed = urllib.parse.urlsplit(base)
        self.host, self.port = parsed.hostname or "127.0.0.1", parsed.port or 80
        self.prefix = parsed.path.rstrip("/")
        self.timeout = timeout
        self._local = threading.local()

    def _connection(self) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        return conn

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        """(status, body); a connection the server closed is opened again once (the request is sent
        again only if the server never answered it)."""
        for attempt in (1, 2):
            conn = self._connection()
            try:
                conn.request(method, self.prefix + path, body=body, headers=headers or {})
                response = conn.getresponse()
                data = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                conn.close()
                self._local.conn = None
                if attempt == 2:
                    raise
                continue
            if response.will_close:
                conn.close()
                self._local.conn = None
            return response.status, data
        raise AssertionError("unreachable")
