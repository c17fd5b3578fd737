"""What a projection is: a named fold of stored events into rows."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from typing import Any, ClassVar, TypeVar

from projections.events import collector_paused
from projections.rows import MemoryRows, Rows
from projections.store import Doc

StoredRow = tuple[str, str, "str | None", "Doc"]
"""A row as ``select`` gives it: kind, key, platform, document."""


class Projection(ABC):
    """A read model. ``apply`` must be deterministic: the same events give the same rows
    (the same ``canonical`` rows, whatever batches they were folded in)."""

    name: ClassVar[str]
    version: ClassVar[int] = 1
    """Raised whenever a change to the code would make other rows from the same events
    (another row layout, a rule fixed): a generation built by another version is rebuilt."""

    def build(self) -> str:
        """What this projection's rows depend on besides the events: its ``version`` and
        whatever configuration it folds with. Stored with each generation, so that rows
        made by other code or another configuration are never folded into, nor mistaken
        for current ones."""
        return f"v{self.version}"

    @abstractmethod
    def apply(self, rows: Rows, position: int, event: Any) -> None:
        """Fold one event, stored at ``position``, into ``rows``."""

    def reads(self, cls: type) -> frozenset[str] | None:
        """Optional: the fields of events of class ``cls`` that ``apply`` and ``prefetch``
        read, besides ``originator_id`` and ``originator_version`` (None: it may read any).
        A runner decodes only those; a pure fold gets whole events, so the property that
        the two give the same rows also shows that nothing read is left out."""
        return None

    def prefetch(self, rows: Rows, events: list[tuple[int, Any]]) -> None:  # noqa: B027
        """Optional: ``rows.preload`` what a batch of events will read, in bulk."""

    def digesting(self) -> tuple[Callable[[], Any], int] | None:
        """Optional: a digester class and a number of worker processes, when this
        projection's events may be digested in those processes ahead of the fold
        (``projections.pipeline``); its digests are then folded by ``prefetch_digests``
        and ``apply_digest`` instead of ``prefetch`` and ``apply``."""
        return None

    def prefetch_digests(self, rows: Rows, digests: list[Any]) -> None:  # noqa: B027
        """Optional: ``prefetch`` for a batch digested elsewhere."""

    def apply_digest(self, rows: Rows, digest: Any) -> None:
        """Fold one event's digest (only for a projection that is ``digesting``)."""
        raise NotImplementedError(f"{self.name} does not fold digests")

    def canonical(self, rows: Iterable[StoredRow]) -> list[StoredRow]:
        """What ``rows`` (in ``select``'s order) hold, whatever batches they were folded
        in: what a check compares with a fresh fold. By default the rows themselves; a
        projection whose rows' layout depends on its batches says what is the same."""
        return list(rows)

    def finish(self, rows: Rows) -> None:  # noqa: B027 - optional hook
        """Called when a batch reaches the head of the store (and at the end of a fold),
        before its rows are committed: the place for work that needs the whole batch."""


R = TypeVar("R", bound=Rows)


def fold(projection: Projection, events: Iterable[tuple[int, Any]], rows: R) -> R:
    """The pure fold: apply every event in order, then finish."""
    for position, event in events:
        rows.remember(event)
        projection.apply(rows, position, event)
    projection.finish(rows)
    return rows


def fold_together(
    projections: Sequence[Projection],
    events: Iterable[tuple[int, Any]],
    known: Iterable[tuple[int, Any]] | None = None,
) -> list[MemoryRows]:
    """Pure folds of several projections over the same events, in one pass.

    ``known``: every event that may be looked up (``Rows.event``), ``events`` among them,
    such as the first event of an aggregate that names its platform (a replay reads them
    all at once); None: the events folded so far, remembered as they are folded."""
    seen: dict[tuple[int, int], Any] = {}
    if known is not None:
        seen = {(event.originator_id.int, event.originator_version): event for _, event in known}
    folds = [(projection, MemoryRows(seen)) for projection in projections]
    with collector_paused():
        for position, event in events:
            if known is None:
                seen[(event.originator_id.int, event.originator_version)] = event
            for projection, rows in folds:
                projection.apply(rows, position, event)
        for projection, rows in folds:
            projection.finish(rows)
    return [rows for _, rows in folds]


H = TypeVar("H")


class Dispatch(dict[type, H | None]):
    """The handler of an event by its class: the first case the class is a subclass of.

    Resolved once per class (the same answer as a chain of ``isinstance`` tests, without
    running the chain for every event). Hot loops index it by class, ``dispatch[type(e)]``:
    a plain dict lookup, with no Python call unless the class is new."""

    def __init__(self, cases: Sequence[tuple[type | tuple[type, ...], H]]) -> None:
        super().__init__()
        self.cases = list(cases)

    def __missing__(self, cls: type) -> H | None:
        found = next((h for types, h in self.cases if issubclass(cls, types)), None)
        self[cls] = found
        return found

    def __call__(self, event: Any) -> H | None:
        return self[type(event)]
