"""moto's server app served with HTTP/1.1 keep-alive (`python -m moto.server` speaks HTTP/1.0, so
every boto3 call paid a new TCP connection), the way SQS's endpoint keeps connections open.

    python -m devstack.moto_sqs PORT
"""

from __future__ import annotations

import signal
import sys

from moto.server import DomainDispatcherApplication, create_backend_app

from devstack.http_server import serve


def main(port: int) -> None:
    server = serve("127.0.0.1", port, DomainDispatcherApplication(create_backend_app), quiet=True)
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
