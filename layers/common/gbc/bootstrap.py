"""What every function wires once at import, before it handles anything (cosmicpython's bootstrap):
the job fallback, and the subscribers to the domain's events: the cache and the realtime pushes."""

from __future__ import annotations

from gbc.cache import sync
from gbc.jobs import install_direct_processing
from gbc.realtime import pushes


def bootstrap() -> None:
    # When SQS cannot be reached, the jobs this function enqueues are processed here (gbc.jobs).
    install_direct_processing()
    # After each commit, the cached queries follow what the transaction changed (gbc.events).
    sync.install()
    # After each commit, what a player's browser should hear of goes to the events queue.
    pushes.install()
