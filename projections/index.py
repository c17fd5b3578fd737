"""The platform index: which event positions belong to a platform.

It lets an as-of replay read only the platform's own events, so that replaying one
platform costs in proportion to its events and not to the whole store. Positions are
kept in chunks of ``CHUNK`` per row. The platforms of an event come from the first
event of its aggregate (``Owners``), read again from the store when needed, so the
index keeps no row per aggregate.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from domain.bank import BankStatement
from domain.expense import Expense
from domain.grant import Grant
from domain.ids import text
from domain.matching import BankMatch
from domain.platform import Platform
from domain.transfer import PlatformTransfer
from projections.base import Dispatch, Projection
from projections.memo import Memo
from projections.rows import Rows
from projections.store import Doc

CHUNK = 1000
KNOWN_AGGREGATES = 50_000
"""Aggregates whose platforms an ``Owners`` keeps at hand."""


def _registered(first: Any) -> list[str]:
    return [text(first.originator_id)]


def _of_platform(first: Any) -> list[str]:
    return [text(first.platform_id)]


def _transfer(first: Any) -> list[str]:
    return [text(first.from_platform_id), text(first.to_platform_id)]


FIRST_OWNERS: Dispatch[tuple[Callable[[Any], list[str]], frozenset[str]]] = Dispatch(
    [
        (Platform.Registered, (_registered, frozenset())),
        (
            (Grant.Awarded, Expense.Submitted, BankStatement.Opened, BankMatch.Matched),
            (_of_platform, frozenset({"platform_id"})),
        ),
        (
            PlatformTransfer.Made,
            (_transfer, frozenset({"from_platform_id", "to_platform_id"})),
        ),
    ]
)
"""How the first event of an aggregate names its platforms, by its class, and the fields
that reads (nothing else of any event is read)."""


def first_owners(first: Any) -> list[str]:
    """The platforms an aggregate belongs to, from its first event."""
    found = FIRST_OWNERS(first)
    return [] if found is None else found[0](first)


class Owners:
    """The platforms each event belongs to: those of its aggregate's first event."""

    def __init__(self) -> None:
        self.known: Memo[int, list[str]] = Memo(KNOWN_AGGREGATES)
        """By the aggregate's UUID as an integer (hashed faster than a UUID)."""

    def __call__(self, rows: Rows, event: Any) -> list[str]:
        oid = event.originator_id
        found = self.known.get(oid.int)
        if found is None:
            first = event if event.originator_version == 1 else rows.event(oid, 1)
            if first is None:
                return []  # its first event was not folded (left out of a replay)
            found = self.known[oid.int] = first_owners(first)
        return found

    def prefetch(self, rows: Rows, events: list[tuple[int, Any]]) -> set[str]:
        """Read the first events a batch will need in one go; return the batch's platforms."""
        known = self.known.get
        found: dict[int, list[str]] = {}  # the owners of the aggregates this batch creates
        platforms: set[str] = set()
        later: list[Any] = []  # events whose aggregate's first event is to be read
        for _, event in events:
            key = event.originator_id.int
            owners: list[str] | None
            if event.originator_version == 1:
                owners = found[key] = first_owners(event)
            else:
                owners = known(key)
                if owners is None:
                    owners = found.get(key)
                if owners is None:
                    later.append(event)
                    continue
            platforms.update(owners)
        self.known.update_bounded(found)
        rows.preload_events((event.originator_id, 1) for event in later)
        for event in later:
            platforms.update(self(rows, event))
        return platforms


@dataclass
class Tail:
    """A platform's head and last chunk of positions while a fold appends to them."""

    head: Doc
    key: str
    chunk: Doc


class PlatformIndex(Projection):
    name = "platform_index"

    def __init__(self) -> None:
        self.owners = Owners()
        self.rows: weakref.ref[Rows] | None = None
        """The rows ``tails`` belong to, weakly (as ``Signals.rows``)."""
        self.tails: dict[str, Tail] = {}

    def reads(self, cls: type) -> frozenset[str]:
        found = FIRST_OWNERS[cls]
        return frozenset() if found is None else found[1]

    def prefetch(self, rows: Rows, events: list[tuple[int, Any]]) -> None:
        platforms = self.owners.prefetch(rows, events)
        rows.preload(("head", p) for p in platforms)
        chunks = []
        for platform in platforms:
            head = rows.get("head", platform)
            if head is not None and head["count"] % CHUNK:  # a chunk to append to
                chunks.append(("positions", chunk_key(platform, head["count"])))
        rows.preload(chunks)

    def apply(self, rows: Rows, position: int, event: Any) -> None:
        platforms = self.owners(rows, event)
        if not platforms:
            return
        tails = self.tails if self.rows is not None and self.rows() is rows else self._fold(rows)
        for platform in platforms:
            tail = tails.get(platform)
            if tail is None:
                tail = tails[platform] = self._tail(rows, platform)
            positions = tail.chunk["positions"]
            positions.append(position)
            tail.head["count"] += 1
            if len(positions) == CHUNK:  # full: it will not be read while folding
                rows.put("positions", tail.key, tail.chunk, platform, keep=False)
                del tails[platform]

    def _fold(self, rows: Rows) -> dict[str, Tail]:
        """A new fold (a new batch): no tail at hand yet."""
        self.rows, self.tails = weakref.ref(rows), {}
        return self.tails

    @staticmethod
    def _tail(rows: Rows, platform: str) -> Tail:
        """The platform's head and last chunk, written once: this fold changes them in place."""
        head = rows.get("head", platform) or {"count": 0}
        count = head["count"]
        key = chunk_key(platform, count)
        chunk = (rows.get("positions", key) if count % CHUNK else None) or {"positions": []}
        rows.put("head", platform, head, platform)
        rows.put("positions", key, chunk, platform)
        return Tail(head, key, chunk)


def chunk_key(platform: str, count: int) -> str:
    """The row of the platform's positions that holds its position number ``count``."""
    return f"{platform}:{count // CHUNK:06d}"
