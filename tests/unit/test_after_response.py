"""Work after the response (gbc.after_response): in AWS an internal extension asks Lambda for the
next event only once the invocation's work is done; locally the container runs it after sending the
response; elsewhere it runs before the handler returns."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from gbc import after_response


class FakeExtensionsApi:
    """Lambda's Extensions API, as far as an internal extension sees it: register, then /next, which
    answers when the test starts an invocation."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.invocations: list[threading.Event] = []
        self.registered: dict[str, object] = {}
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                api.registered = {"name": self.headers["Lambda-Extension-Name"], **body}
                self.send_response(200)
                self.send_header("Lambda-Extension-Identifier", "ext-1")
                self.end_headers()

            def do_GET(self) -> None:
                assert self.headers["Lambda-Extension-Identifier"] == "ext-1"
                api.log.append("next")
                started = threading.Event()
                api.invocations.append(started)
                started.wait()
                body = json.dumps({"eventType": "INVOKE"}).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.address = f"127.0.0.1:{self.server.server_address[1]}"

    def invoke(self) -> None:
        """Lambda starts an invocation: the extension's pending /next returns."""
        wait_for(lambda: len(self.invocations) > 0 and not self.invocations[-1].is_set())
        self.invocations[-1].set()


def wait_for(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


@pytest.fixture
def fresh_runner(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(after_response, "_runner", None)
    yield


def test_the_extension_asks_for_the_next_event_only_after_the_work(fresh_runner, monkeypatch):
    api = FakeExtensionsApi()
    monkeypatch.delenv("GBC_AFTER_RESPONSE", raising=False)
    monkeypatch.setenv("AWS_LAMBDA_RUNTIME_API", api.address)
    release = threading.Event()

    def slow_send() -> None:
        api.log.append("work started")
        release.wait(5)
        api.log.append("work done")

    @after_response.after_the_response
    def handler(event: dict, context: object) -> dict:
        after_response.defer(slow_send)
        api.log.append("handler returned")
        return {"statusCode": 200}

    assert api.registered == {"name": after_response.EXTENSION_NAME, "events": ["INVOKE"]}
    api.invoke()
    assert handler({}, None) == {"statusCode": 200}  # the response does not wait for the work
    wait_for(lambda: "work started" in api.log)
    time.sleep(0.05)
    assert api.log == ["next", "handler returned", "work started"], "Lambda may not freeze mid-send"
    release.set()
    wait_for(lambda: api.log.count("next") == 2)
    assert api.log == ["next", "handler returned", "work started", "work done", "next"]

    api.invoke()  # an invocation that defers nothing still lets the extension move on
    handler_without_work = after_response.after_the_response(lambda e, c: "ok")
    assert handler_without_work({}, None) == "ok"
    wait_for(lambda: api.log.count("next") == 3)


def test_a_failing_work_is_logged_and_the_rest_runs(fresh_runner, monkeypatch):
    monkeypatch.setenv("GBC_AFTER_RESPONSE", "inline")
    ran = []

    @after_response.after_the_response
    def handler(event: dict, context: object) -> str:
        after_response.defer(lambda: 1 / 0)
        after_response.defer(lambda: ran.append("second"))
        return "answered"

    assert handler({}, None) == "answered" and ran == ["second"]


def test_the_local_container_runs_the_work_when_it_drains(fresh_runner, monkeypatch):
    monkeypatch.setenv("GBC_AFTER_RESPONSE", "host")
    ran = []

    @after_response.after_the_response
    def handler(event: dict, context: object) -> str:
        after_response.defer(lambda: ran.append("sent"))
        return "answered"

    assert handler({}, None) == "answered" and ran == []
    after_response.drain()
    assert ran == ["sent"]


def test_outside_a_wrapped_handler_work_runs_at_once():
    ran = []
    after_response.defer(lambda: ran.append(1))
    assert ran == [1]
