"""As-of replay of one platform: balances, status and signals from its events up to a point.

Two time axes:

- **business date** (``as_of``): every event whose ``occurred_on`` is on or before the
  date, whenever it was recorded: what had happened by then, as far as the books know now
  (a bank line of the 3rd counts on a statement opened on the 30th; the statement's own
  opening does not). Events dated before the platform's registration are folded under
  it, registration first. The recognition shown is the state in force on the date, by
  the effective dates of the decisions taken by then (``decided``: the last decision's);
- **recorded position** (``position``): every event stored at or before that position:
  what the books said at that moment, the recognition as last decided.

Only the platform's own events are read (their positions come from the platform index),
so a replay costs in proportion to the platform's events, not to the whole store.
Receipts reused by *other* platforms are not visible in a one-platform replay.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from domain.platform import Platform
from domain.postings import REVERSALS, is_reversal
from domain.risk import RiskConfig, risk_score
from projections.balances import Balances, grant_figures, platform_figures
from projections.base import Projection, fold_together
from projections.events import EventSource, Fields, collector_paused
from projections.index import Owners
from projections.rows import BatchRows
from projections.signals import Signals
from projections.status import Status, recognition_in_force
from projections.store import ReadModelStore

READ_TAIL = 1000


@dataclass
class Replay:
    platform: str
    as_of: date | None
    position: int | None
    events: int
    last_position: int
    balances: dict[str, Any]
    grants: list[dict[str, Any]]
    status: dict[str, Any]
    signals: dict[str, Any]


def platform_positions(
    app: Any, store: ReadModelStore, platform_id: UUID, source: EventSource | None = None
) -> list[int]:
    """The platform's event positions: the index's, plus the events stored after it.

    Nothing is written: the events after the index's position are folded in memory
    (reading through to the index's rows), so a replay never waits for, or conflicts
    with, a running projection process.
    """
    generation = store.active_generation("platform_index")
    key = str(platform_id)
    positions: set[int] = set()
    after = 0  # no index yet (none is made here): every event is read
    if generation is not None:
        after = store.position("platform_index", generation)  # before the rows: none missed
        for _, _, _, doc in store.select("platform_index", generation, "positions", key):
            positions.update(doc["positions"])
    source = source or EventSource(app, store.conn)
    # (the owners of the events read are found from their aggregates' first events alone)
    tail = BatchRows(store, "platform_index", generation or 0, source=source)
    owners = Owners()
    while events := source.read(after, READ_TAIL):
        owners.prefetch(tail, events)
        positions.update(p for p, event in events if key in owners(tail, event))
        after = events[-1][0]
    return sorted(positions)


def drop_orphan_corrections(events: list[tuple[int, Any]]) -> list[tuple[int, Any]]:
    """Corrections whose corrected event is not in ``events`` (it is dated later)."""
    kept = {(e.originator_id, e.originator_version) for _, e in events}
    return [
        (p, e)
        for p, e in events
        if not is_reversal(e) or (e.originator_id, e.reverses_version) in kept
    ]


def read_positions(app: Any, store: ReadModelStore, positions: list[int]) -> list[tuple[int, Any]]:
    """Decode the stored events at ``positions`` (in order) straight from the event table."""
    return EventSource(app, store.conn).read_at(positions)


def replay_platform(
    app: Any,
    store: ReadModelStore,
    platform_id: UUID,
    *,
    as_of: date | None = None,
    position: int | None = None,
    risk: RiskConfig | None = None,
) -> Replay:
    positions = platform_positions(app, store, platform_id)
    if position is not None:
        positions = [p for p in positions if p <= position]
    folds: list[Projection] = [Balances(), Status(), Signals(risk, clock=as_of)]
    source = EventSource(app, store.conn, read_by(folds))
    # The platform's events stay in memory together, and are freed (by reference
    # counting) before the collector runs again: it never scans them.
    with collector_paused():
        return _replay(source, folds, positions, str(platform_id), as_of, position)


def read_by(folds: list[Projection]) -> Fields:
    """What the replay decodes of each class: what any of ``folds`` reads of it (a class
    one of them reads whole is read whole), and what the replay reads itself: the
    business date, and what a correction reverses. Looked up once per class."""
    found: dict[type, frozenset[str] | None] = {}

    def fields(cls: type) -> frozenset[str] | None:
        if cls not in found:
            names = {"occurred_on"}
            if issubclass(cls, REVERSALS):
                names.add("reverses_version")
            for fold in folds:
                reads = fold.reads(cls)
                if reads is None:
                    found[cls] = None
                    break
                names |= reads
            else:
                found[cls] = frozenset(names)
        return found[cls]

    return fields


def _replay(
    source: EventSource,
    folds: list[Projection],
    positions: list[int],
    key: str,
    as_of: date | None,
    position: int | None,
) -> Replay:
    read = events = source.read_at(positions, narrow=True)
    if as_of is not None:
        kept = [(p, e) for p, e in events if e.occurred_on <= as_of]
        events = drop_orphan_corrections(registered_first(kept, read))
    # the events dated later are not folded, but stay at hand: a record's first event
    # (a statement opened, an expense submitted) names the platform and grant of its
    # later events, and may be dated after them
    balances, status, signals = fold_together(folds, events, known=read)
    found = status.get("platform", key) or {}
    if as_of is not None and found:
        decided = found["history"][-1]["state"] if found.get("history") else None
        found = {**found, "decided": decided, "recognition": recognition_in_force(found, as_of)}
    return Replay(
        platform=key,
        as_of=as_of,
        position=position,
        events=len(events),
        last_position=events[-1][0] if events else 0,
        balances=platform_figures(balances.get("platform", key) or {}),
        grants=[grant_figures(doc) for _, doc in balances.items("grant", key)],
        status=found,
        signals=signals.get("findings", key) or {"findings": [], "score": risk_score([])},
    )


def registered_first(
    kept: list[tuple[int, Any]], read: list[tuple[int, Any]]
) -> list[tuple[int, Any]]:
    """``kept`` with the platform's registration before them when it is dated later: a
    platform's earlier events (a bank account's history, brought in when it registered)
    are folded under the platform they belong to, by each read model alike."""
    if not kept or isinstance(kept[0][1], Platform.Registered):
        return kept
    registration = next(((p, e) for p, e in read if isinstance(e, Platform.Registered)), None)
    if registration is None or registration[0] > kept[0][0]:
        return kept
    return [registration, *kept]
