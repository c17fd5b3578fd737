"""A bounded memo, so that what a projection remembers does not grow with the store."""

from __future__ import annotations

import itertools
from typing import Generic, TypeVar
from uuid import UUID

K = TypeVar("K")
V = TypeVar("V")


class Memo(Generic[K, V]):
    """A dict of at most ``limit`` entries: when full, the oldest quarter is forgotten.

    Only for values that can be found again (it is a cache, never the only copy).
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.entries: dict[K, V] = {}

    def get(self, key: K) -> V | None:
        return self.entries.get(key)

    def __contains__(self, key: object) -> bool:
        return key in self.entries

    def __setitem__(self, key: K, value: V) -> None:
        entries = self.entries
        if len(entries) >= self.limit and key not in entries:
            for old in list(itertools.islice(entries, max(1, self.limit // 4))):
                del entries[old]
        entries[key] = value


STRINGS = 100_000
_strings: dict[int, str] = {}


def text(value: UUID) -> str:
    """``str(value)`` of a UUID, remembered: projections spell the same ids again and again."""
    found = _strings.get(value.int)
    if found is None:
        if len(_strings) >= STRINGS:
            _strings.clear()
        found = _strings[value.int] = str(value)
    return found
