"""The long benchmarks' progress line: rewritten in place on a terminal, a few plain lines otherwise."""

from __future__ import annotations

import io

from bench import progress as progress_module
from bench.progress import Progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_without_a_terminal_it_prints_a_plain_line_now_and_then_and_the_final_count():
    stream = io.StringIO()
    with Progress("hands", total=1000, stream=stream) as progress:
        for _ in range(1000):
            progress.advance()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2  # the first step, then (throttled: no more within 10 s) the final count
    assert lines[0].startswith("hands: 1/1,000 (0%)") and lines[1].startswith("hands: 1,000/1,000 (100%)")
    assert "\r" not in stream.getvalue()


def test_on_a_terminal_it_rewrites_one_line_and_ends_it(monkeypatch):
    monkeypatch.setattr(progress_module, "TTY_SECONDS", 0.0)
    stream = _Terminal()
    with Progress("requests", total=3, stream=stream) as progress:
        progress.advance()
        progress.advance(2)
    text = stream.getvalue()
    assert text.count("\r") == 3 and text.endswith("\n") and text.count("\n") == 1
    assert "requests: 3/3 (100%)" in text.rsplit("\r", 1)[1]


def test_stages_and_notes_each_get_their_line_and_an_unused_stage_says_nothing():
    stream = io.StringIO()
    progress = Progress("warm-up", total=2, stream=stream)
    progress.set(2)
    progress.stage("nothing counted here")
    progress.note("one poller run")
    progress.stage("credited", total=5)
    progress.set(5)
    progress.close()
    progress.close()  # a second close repeats nothing
    lines = stream.getvalue().splitlines()
    assert [line.split(":")[0] for line in lines] == ["warm-up", "warm-up", "one poller run", "credited", "credited"]
