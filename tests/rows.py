"""Read-model rows as tests compare them."""

from __future__ import annotations

from collections.abc import Iterable

from projections.base import StoredRow
from projections.registry import projection


def canonical(name: str, rows: Iterable[StoredRow]) -> list[StoredRow]:
    """The rows of read model ``name`` as ``Projection.canonical`` has them: what two folds
    of the same events share, whatever batches they were folded in."""
    return projection(name).canonical(rows)
