"""A bounded memo, so that what a projection remembers does not grow with the store."""

from __future__ import annotations

import itertools
from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Memo(dict[K, V]):
    """A dict of at most ``limit`` entries: when full, the oldest quarter is forgotten.

    Only for values that can be found again (it is a cache, never the only copy).
    Reading is the plain dict's; only adding an entry costs a check.
    """

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def __setitem__(self, key: K, value: V) -> None:
        if len(self) >= self.limit and key not in self:
            for old in list(itertools.islice(self, max(1, self.limit // 4))):
                del self[old]
        super().__setitem__(key, value)

    def update_bounded(self, entries: dict[K, V]) -> None:
        """Add ``entries`` (fewer than ``limit``), forgetting the oldest as needed."""
        excess = len(self) + len(entries) - self.limit
        if excess > 0:
            for old in list(itertools.islice(self, excess + self.limit // 4)):
                del self[old]
        self.update(entries)
