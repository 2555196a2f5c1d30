"""moto's server app served with HTTP/1.1 keep-alive (`python -m moto.server` speaks HTTP/1.0, so
every boto3 call paid a new TCP connection), the way SQS's endpoint keeps connections open.

    python -m devstack.moto_sqs PORT

Besides SQS (and DynamoDB) it answers GET /_devstack/queues: each queue's visible messages and the
age of its oldest message, which SQS reports only as CloudWatch metrics (the local dashboard's
ApproximateAgeOfOldestMessage); read from moto's memory, so no receive disturbs the messages.
"""

from __future__ import annotations

import json
import signal
import sys
import time
from typing import Any

from moto.server import DomainDispatcherApplication, create_backend_app

from devstack.http_server import serve

QUEUES_PATH = "/_devstack/queues"


def queue_states() -> list[dict[str, Any]]:
    from moto.sqs.models import sqs_backends

    now_ms = time.time() * 1000
    states = []
    for account in list(sqs_backends.values()):
        for backend in list(account.values()):
            for queue in list(backend.queues.values()):
                messages = list(queue._messages)  # every message not deleted, in flight or not
                sent = [int(t) for t in (getattr(m, "sent_timestamp", None) for m in messages) if t]
                states.append(
                    {
                        "name": queue.name,
                        "visible": len(queue.messages),
                        "oldestAgeSeconds": max(0.0, (now_ms - min(sent)) / 1000) if sent else 0.0,
                    }
                )
    return states


def with_queue_states(app: Any) -> Any:
    def wsgi(environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO") == QUEUES_PATH:
            body = json.dumps(queue_states()).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        return app(environ, start_response)

    return wsgi


def main(port: int) -> None:
    app = with_queue_states(DomainDispatcherApplication(create_backend_app))
    server = serve("127.0.0.1", port, app, quiet=True)
    signal.signal(signal.SIGTERM, _stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    main(int(sys.argv[1]))
