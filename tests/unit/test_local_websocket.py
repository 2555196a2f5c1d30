"""The local @connections API finds a connection whatever its id holds: API Gateway's ids are
base64, and a `/` in one once made the local stack answer 410 for a live connection (it pruned it)."""

from __future__ import annotations

import io
from types import SimpleNamespace

from devstack.websocket import LocalWebSocketApi


def _call(api: LocalWebSocketApi, method: str, connection_id: str) -> str:
    statuses: list[str] = []
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": f"/@connections/{connection_id}",
        "CONTENT_LENGTH": "2",
        "wsgi.input": io.BytesIO(b"{}"),
    }
    api.management_api(environ, lambda status, headers: statuses.append(status))
    return statuses[0]


def test_a_connection_id_with_slashes_and_padding_is_found(monkeypatch):
    api = LocalWebSocketApi(SimpleNamespace(websocket_routes={}), runtime=None, log=print, host="127.0.0.1", port=0)  # type: ignore[arg-type]
    posted: list[str] = []
    monkeypatch.setattr(api, "post", lambda connection_id, data: posted.append(connection_id) or True)
    for connection_id in ("/YlyhVzgQZij", "a/b+c=", "L0SM9cOFvHcCIhw="):
        api._connections[connection_id] = object()  # type: ignore[assignment]
        assert _call(api, "POST", connection_id) == "200 OK"
    assert posted == ["/YlyhVzgQZij", "a/b+c=", "L0SM9cOFvHcCIhw="]
    assert _call(api, "POST", "gone") == "410 Gone"
    assert _call(api, "GET", "a/b+c=").startswith("200")
