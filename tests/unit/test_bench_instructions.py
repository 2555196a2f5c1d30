"""The cold-start bench's instruction count: read from what valgrind's callgrind prints at exit."""

from __future__ import annotations

import pytest

from bench.__main__ import collected_instructions


def test_the_count_is_read_from_callgrinds_summary():
    stderr = (
        "==329== Callgrind, a call-graph generating cache profiler\n==329== \n==329== Events    : Ir\n"
        "==329== Collected : 2481904298\n==329== \n==329== I   refs:      2,481,904,298\n"
    )
    assert collected_instructions(stderr) == 2481904298


def test_no_summary_is_an_error_not_a_zero():
    with pytest.raises(ValueError, match="no instruction count"):
        collected_instructions("valgrind: failed to start tool 'callgrind'\n")
