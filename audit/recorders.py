"""Application recorders that seal every appended event in the append's transaction.

They extend the eventsourcing library's recorders for SQLite and PostgreSQL: the events
are inserted exactly as before, then their leaves and completed subtrees are written by
:func:`audit.seal.seal` before the transaction commits. ``create_table`` also creates the
seal tables and the append-only triggers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteDatastore
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed

from audit.seal import Cursor as SealCursor
from audit.seal import SealStatements, seal


@dataclass(frozen=True)
class Append:
    """One append, seen from inside its transaction: the events and their positions, and
    what is needed to write more rows beside them (``mark`` is the dialect's parameter
    marker, ``prefix`` qualifies table names)."""

    cursor: SealCursor
    mark: str
    prefix: str
    events_table: str
    positions: Sequence[int]
    stored_events: Sequence[StoredEvent]


AppendHook = Callable[[Append], None]
_hooks: ContextVar[tuple[AppendHook, ...]] = ContextVar("buurtkas_append_hooks", default=())


@contextmanager
def in_append_transaction(hook: AppendHook) -> Iterator[None]:
    """Call ``hook`` inside the transaction of every append made in this context (this
    thread or task), after the events were inserted and sealed: what it writes commits or
    rolls back with them, and an error it raises refuses the whole append."""
    token = _hooks.set((*_hooks.get(), hook))
    try:
        yield
    finally:
        _hooks.reset(token)


def _run_hooks(
    cursor: Any,
    statements: SealStatements,
    events_table: str,
    positions: Sequence[int],
    stored_events: Sequence[StoredEvent],
) -> None:
    hooks = _hooks.get()
    if hooks:
        append = Append(
            cursor, statements.mark, statements.prefix, events_table, positions, stored_events
        )
        for hook in hooks:
            hook(append)


class SealingSQLiteApplicationRecorder(SQLiteApplicationRecorder):
    def __init__(self, datastore: SQLiteDatastore, events_table_name: str = "stored_events"):
        self.seal_statements = SealStatements("sqlite")
        super().__init__(datastore, events_table_name)

    def construct_create_table_statements(self) -> list[str]:
        statements = super().construct_create_table_statements()
        statements += self.seal_statements.create_tables()
        statements += self.seal_statements.append_only_triggers(self.events_table_name)
        return statements

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        positions = super()._insert_events(c, stored_events, **kwargs)
        if positions and stored_events:
            seal(c, self.seal_statements, list(positions), stored_events)
            _run_hooks(c, self.seal_statements, self.events_table_name, positions, stored_events)
        return positions


class SealingPostgresApplicationRecorder(PostgresApplicationRecorder):
    def __init__(
        self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"
    ) -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        schema = datastore.schema
        self.qualified_events_table = f'"{schema}"."{events_table_name}"'
        self.seal_statements = SealStatements("postgres", prefix=f'"{schema}".')
        events = f'"{schema}"."{events_table_name}"'
        for statement in self.seal_statements.create_tables():
            self.sql_create_statements.append(Composed([SQL(statement)]))
        for statement in self.seal_statements.append_only_triggers(events, schema):
            self.sql_create_statements.append(Composed([SQL(statement)]))

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        try:
            positions: Sequence[int] | None = super().insert_events(stored_events, **kwargs)
        except _RefusedAppend as refused:
            raise refused.error from None
        return positions

    def _fetch_ids_after_insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        positions = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        if positions and stored_events:
            try:
                seal(curs, self.seal_statements, list(positions), stored_events)
                _run_hooks(
                    curs,
                    self.seal_statements,
                    self.qualified_events_table,
                    positions,
                    stored_events,
                )
            except Exception as error:
                raise _RefusedAppend(error) from error
        return positions


class _RefusedAppend(BaseException):
    """Carries an error of the sealing or of a hook out of the library's append.

    The library catches ``Exception`` inside its transaction block (to re-raise it after
    the pipeline closes), so an error raised there would let the transaction commit: the
    events without their seals. This is not an ``Exception``: it leaves the block, the
    transaction rolls back, and :meth:`insert_events` raises the original error."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error
