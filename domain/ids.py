"""Aggregate ids as text, remembered: read models spell the same ids again and again."""

from __future__ import annotations

from typing import Final
from uuid import UUID

STRINGS: Final = 20_000
"""Ids remembered; the memory is emptied when it reaches this size."""
_strings: dict[int, str] = {}


def text(value: UUID) -> str:
    """``str(value)`` of a UUID, remembered (``UUID.__str__`` is slow Python)."""
    found = _strings.get(value.int)
    if found is None:
        if len(_strings) >= STRINGS:
            _strings.clear()
        found = _strings[value.int] = str(value)
    return found
