"""Strings PostgreSQL can store: no NUL (text and JSONB refuse it) and no lone surrogate (pg8000 cannot
encode one, and fails only after it has sent part of the statement)."""

from __future__ import annotations

import re

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable(text: str) -> bool:
    """True if PostgreSQL could not store the string (NUL) or pg8000 could not encode it (a surrogate)."""
    return _UNSTORABLE.search(text) is not None


def storable_text(text: str, max_length: int) -> str:
    """A header-like value made storable (unstorable characters replaced), cut to a column's length."""
    return _UNSTORABLE.sub("\ufffd", text)[:max_length]
