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
        number = value.int
        digits = number.to_bytes(16).hex()  # as ``UUID.__str__`` spells it, a third faster
        found = _strings[number] = (
            f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"
        )
    return found
