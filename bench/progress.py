"""A progress line on stderr for the long benchmarks (house edge, bench-compare, bench-chain).

On a terminal it rewrites one line in place, at most every TTY_SECONDS; when stderr is not a
terminal (CI, a log file) it prints a plain line at most every PLAIN_SECONDS, so a log shows the run
is alive without a line per step. Hand-written: tqdm and rich are not dependencies of the project
(rich is only in .venv through schemathesis), and this is all the benchmarks need.

    with Progress("hands", total=4_000_000) as progress:
        progress.advance(10_000)            # or progress.set(done)
    progress.stage("cache on")              # a new phase with its own total: Progress.stage(...)
"""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import TextIO

TTY_SECONDS = 0.2
PLAIN_SECONDS = 10.0


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


class Progress:
    def __init__(self, label: str, total: int | None = None, stream: TextIO | None = None) -> None:
        self.label, self.total = label, total
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.done = 0
        self.started = time.monotonic()
        self._shown_at = -1e9
        self._width = 0
        self._counting = False  # something was counted since the last close

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def stage(self, label: str, total: int | None = None) -> None:
        """End the current line and start counting a new phase."""
        self.close()
        self.label, self.total, self.done = label, total, 0
        self.started, self._shown_at = time.monotonic(), -1e9

    def note(self, text: str) -> None:
        """End the current line and say what happens next (a step with nothing to count)."""
        self.close()
        self.stream.write(f"{text}\n")
        self.stream.flush()

    def advance(self, steps: int = 1) -> None:
        self.set(self.done + steps)

    def set(self, done: int) -> None:
        self.done, self._counting = done, True
        now = time.monotonic()
        if now - self._shown_at >= (TTY_SECONDS if self.tty else PLAIN_SECONDS):
            self._show(now)

    def line(self, now: float | None = None) -> str:
        elapsed = (time.monotonic() if now is None else now) - self.started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        text = f"{self.label}: {self.done:,}"
        if self.total:
            text += f"/{self.total:,} ({100 * self.done / self.total:.0f}%)"
            if rate > 0 and self.done < self.total:
                text += f", {_duration((self.total - self.done) / rate)} left"
        return text + f", {rate:,.0f}/s, {_duration(elapsed)}"

    def _show(self, now: float) -> None:
        self._shown_at = now
        text = self.line(now)
        if self.tty:
            self.stream.write("\r" + text.ljust(self._width))
            self._width = len(text)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        """The final count; on a terminal, the line is ended."""
        if not self._counting:
            return
        self._counting = False
        self._show(time.monotonic())
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()
            self._width = 0
