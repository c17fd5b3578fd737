"""The platform index: which aggregates and which event positions belong to a platform.

It lets an as-of replay read only the platform's own events, so that replaying one
platform costs in proportion to its events and not to the whole store. Positions are
kept in chunks of ``CHUNK`` per row.
"""

from __future__ import annotations

from typing import Any

from domain.bank import BankStatement
from domain.expense import Expense
from domain.grant import Grant
from domain.matching import BankMatch
from domain.platform import Platform
from domain.transfer import PlatformTransfer
from projections.base import Projection
from projections.rows import Rows

CHUNK = 1000


def peek_owners(rows: Rows, event: Any) -> list[str]:
    """The platforms an event belongs to, without recording anything."""
    match event:
        case Platform.Registered():
            return [str(event.originator_id)]
        case Grant.Awarded() | Expense.Submitted() | BankStatement.Opened() | BankMatch.Matched():
            return [str(event.platform_id)]
        case PlatformTransfer.Made():
            return [str(event.from_platform_id), str(event.to_platform_id)]
    doc = rows.get("aggregate", str(event.originator_id))
    return list(doc["platforms"]) if doc else []


def owners(rows: Rows, event: Any) -> list[str]:
    """The platforms an event belongs to; remembers the owners of new aggregates."""
    oid = str(event.originator_id)
    match event:
        case Platform.Registered():
            found = [oid]
        case Grant.Awarded() | Expense.Submitted() | BankStatement.Opened() | BankMatch.Matched():
            found = [str(event.platform_id)]
        case PlatformTransfer.Made():
            found = [str(event.from_platform_id), str(event.to_platform_id)]
        case _:
            doc = rows.get("aggregate", oid)
            return list(doc["platforms"]) if doc else []
    rows.put("aggregate", oid, {"platforms": found})
    return found


class PlatformIndex(Projection):
    name = "platform_index"

    def prefetch(self, rows: Rows, events: list[tuple[int, Any]]) -> None:
        rows.preload(("aggregate", str(event.originator_id)) for _, event in events)
        platforms = {p for _, event in events for p in peek_owners(rows, event)}
        rows.preload(("head", p) for p in platforms)
        chunks = []
        for platform in platforms:
            head = rows.get("head", platform)
            if head is not None:
                chunks.append(("positions", f"{platform}:{head['count'] // CHUNK:06d}"))
        rows.preload(chunks)

    def apply(self, rows: Rows, position: int, event: Any) -> None:
        for platform in owners(rows, event):
            head = rows.get("head", platform) or {"count": 0}
            chunk_key = f"{platform}:{head['count'] // CHUNK:06d}"
            chunk = rows.get("positions", chunk_key) or {"positions": []}
            chunk["positions"].append(position)
            rows.put("positions", chunk_key, chunk, platform)
            head["count"] += 1
            rows.put("head", platform, head, platform)
