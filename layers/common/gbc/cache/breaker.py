"""A circuit breaker for Redis: after a few consecutive errors, requests skip the cache for a while
instead of each waiting for a timeout."""

from __future__ import annotations

import threading
import time

from gbc.observability import logger


class CircuitBreaker:
    """Open after `threshold` consecutive failures; half-open (one trial) after `cooldown` seconds."""

    def __init__(self, threshold: int = 3, cooldown: float = 10.0) -> None:
        self.threshold, self.cooldown = threshold, cooldown
        self._failures = 0
        self._opened_at: float | None = None
        self._lock = threading.Lock()

    def allow(self) -> bool:
        with self._lock:
            if self._opened_at is None:
                return True
            if time.monotonic() - self._opened_at >= self.cooldown:
                self._opened_at = time.monotonic()  # one trial per cooldown
                return True
            return False

    def success(self) -> None:
        with self._lock:
            self._failures, self._opened_at = 0, None

    def failure(self) -> None:
        with self._lock:
            self._failures += 1
            if self._failures >= self.threshold:
                if self._opened_at is None:
                    logger.warning("[Cache] Redis unavailable: answering from the database for a while")
                self._opened_at = time.monotonic()

    @property
    def is_open(self) -> bool:
        return self._opened_at is not None


breaker = CircuitBreaker()
