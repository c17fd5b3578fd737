"""What a projection is: a named fold of stored events into rows."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from projections.rows import Rows


class Projection(ABC):
    """A read model. ``apply`` must be deterministic: the same events give the same rows."""

    name: ClassVar[str]

    @abstractmethod
    def apply(self, rows: Rows, position: int, event: Any) -> None:
        """Fold one event, stored at ``position``, into ``rows``."""
