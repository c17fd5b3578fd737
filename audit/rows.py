"""Reading the event and leaf tables in store order, in pages by key."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from audit.log import Database
from audit.seal import LEAVES

PAGE = 5000


def event_rows(db: Database, events_table: str, page: int = PAGE) -> Iterator[tuple[Any, ...]]:
    """``(position, aggregate id bytes, version, topic, state)`` of every event, in order.

    Columns are given as stored: SQLite keeps any value in any column, and an aggregate
    id that is not 32 hexadecimal digits is given as the stored value, not as bytes."""
    if db.dialect == "postgres":
        statement = (
            "SELECT notification_id, originator_id, originator_version, topic, state "  # noqa: S608
            f"FROM {events_table} WHERE notification_id > ? ORDER BY notification_id LIMIT ?"
        )
    else:
        statement = (
            "SELECT rowid, originator_id, originator_version, topic, state "  # noqa: S608
            f"FROM {events_table} WHERE rowid > ? ORDER BY rowid LIMIT ?"
        )
    hex_ids = db.dialect != "postgres"
    after = 0
    while True:
        rows = db.execute(statement, [after, page])
        for position, aggregate_id, version, topic, state in rows:
            yield (
                position,
                _id_bytes(aggregate_id) if hex_ids else aggregate_id.bytes,
                version,
                topic,
                state,
            )
        if len(rows) < page:
            return
        after = rows[-1][0]


def _id_bytes(stored: Any) -> Any:
    try:
        raw = bytes.fromhex(stored)
    except (TypeError, ValueError):
        return stored
    return raw if len(raw) == 16 and len(stored) == 32 else stored


def leaf_rows(db: Database, page: int = PAGE) -> Iterator[tuple[Any, ...]]:
    """``(leaf index, position, recorded at, hash)`` of every leaf, in tree order."""
    statement = (
        f"SELECT leaf_index, position, recorded_at, hash FROM {LEAVES} "  # noqa: S608
        "WHERE leaf_index > ? ORDER BY leaf_index LIMIT ?"
    )
    after = -1
    while True:
        rows = db.execute(statement, [after, page])
        yield from rows
        if len(rows) < page:
            return
        after = rows[-1][0]
