"""Application recorders that seal every appended event in the append's transaction.

They extend the eventsourcing library's recorders for SQLite and PostgreSQL: the events
are inserted into the library's tables under its write lock (on SQLite by the library's
own append; on PostgreSQL by this module, in fewer round trips than the library's
pipeline), then their leaves and completed subtrees are written by :func:`audit.seal.seal`
before the transaction commits. ``create_table`` also creates the seal tables and the
append-only triggers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import partial
from typing import Any

from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteDatastore
from eventsourcing.utils import retry
from psycopg.sql import SQL, Composed, Identifier

from audit.merkle import Frontier
from audit.seal import ROWS_PER_STATEMENT, FrontierCache, SealStatements, seal
from audit.seal import Cursor as SealCursor


@dataclass(frozen=True)
class Append:
    """One append, seen from inside its transaction: the events and their positions, and
    what is needed to write more rows beside them (``mark`` is the dialect's parameter
    marker, ``prefix`` qualifies table names)."""

    cursor: SealCursor
    mark: str
    prefix: str
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


class _Sealed(threading.local):
    """The edge an append of this thread made, kept for the cache until it commits."""

    edge: tuple[Frontier, bytes] | None = None


class _Sealing:
    """What both recorders add to the library's append: the seal and the hooks inside its
    transaction, and the tree's right edge kept between appends (``FrontierCache``)."""

    seal_statements: SealStatements

    def __init__(self) -> None:
        self.frontier_cache = FrontierCache()
        self._sealed = _Sealed()

    def _seal(
        self,
        cursor: Any,
        positions: Sequence[int],
        events: Sequence[StoredEvent],
        last_leaf: Sequence[Any] | None = None,
    ) -> None:
        statements = self.seal_statements
        self._sealed.edge = seal(
            cursor, statements, list(positions), events, self.frontier_cache, last_leaf
        )
        hooks = _hooks.get()
        if hooks:
            append = Append(cursor, statements.mark, statements.prefix, positions, events)
            for hook in hooks:
                hook(append)

    def _append(self, insert: Callable[[], Sequence[int] | None]) -> Sequence[int] | None:
        """Run the append; keep the tree's new edge only once it has committed."""
        try:
            positions = insert()
        except BaseException:
            self._sealed.edge = None
            raise
        edge, self._sealed.edge = self._sealed.edge, None
        if edge is not None:
            self.frontier_cache.put(*edge)
        return positions


class SealingSQLiteApplicationRecorder(SQLiteApplicationRecorder, _Sealing):
    def __init__(self, datastore: SQLiteDatastore, events_table_name: str = "stored_events"):
        self.seal_statements = SealStatements("sqlite")
        SQLiteApplicationRecorder.__init__(self, datastore, events_table_name)
        _Sealing.__init__(self)

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
            self._seal(c, positions, stored_events)
        return positions

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        return self._append(partial(super().insert_events, stored_events, **kwargs))


class SealingPostgresApplicationRecorder(PostgresApplicationRecorder, _Sealing):
    def __init__(
        self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"
    ) -> None:
        PostgresApplicationRecorder.__init__(self, datastore, events_table_name=events_table_name)
        _Sealing.__init__(self)
        schema = datastore.schema
        self.seal_statements = SealStatements("postgres", prefix=f'"{schema}".')
        for statement in self.seal_statements.create_tables():
            self.sql_create_statements.append(Composed([SQL(statement)]))
        events = f'"{schema}"."{events_table_name}"'
        for statement in self.seal_statements.append_only_triggers(events, schema):
            self.sql_create_statements.append(Composed([SQL(statement)]))
        # The store's write lock and the notification of listeners, as the library takes
        # and sends them, and the tree's last leaf read under that lock: one simple query
        # (no parameters: one round trip), its text made with the first connection.
        self._prologue_parts = [
            *self.lock_table_statements,
            SQL("NOTIFY {0}").format(Identifier(self.channel_name)),
            SQL(self.seal_statements.last_leaf),
        ]
        self._prologue = ""
        self._table = f'"{schema}"."{events_table_name}"'
        self._inserts: dict[int, str] = {}

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        return self._append(partial(self._insert_and_seal, stored_events))

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def _insert_and_seal(self, stored_events: Sequence[StoredEvent]) -> Sequence[int] | None:
        """The library's append (lock, notify, insert), then the seal and the hooks, in one
        transaction of few round trips.

        The library sends its append in psycopg's pipeline mode, whose bookkeeping costs
        more client CPU than the round trips it saves for an append of a few statements.
        Here the lock and the notification go as one simple query, the events as one
        ``INSERT ... RETURNING``, and the seal as one statement. An error anywhere rolls
        the whole transaction back; the library's errors are raised as it raises them.
        """
        if not stored_events:
            return None
        with (
            self.datastore.get_connection() as conn,
            conn.transaction(),
            conn.cursor() as curs,
        ):
            if not self._prologue:
                self._prologue = SQL("; ").join(self._prologue_parts).as_string(conn)
            curs.execute(self._prologue)
            while curs.nextset():
                pass
            last_leaf = curs.fetchall()
            positions: list[int] = []
            for at in range(0, len(stored_events), ROWS_PER_STATEMENT):
                chunk = stored_events[at : at + ROWS_PER_STATEMENT]
                values = [
                    value
                    for e in chunk
                    for value in (e.originator_id, e.originator_version, e.topic, e.state)
                ]
                curs.execute(self._insert_statement(len(chunk)), values)
                positions += [row["notification_id"] for row in curs.fetchall()]
            self._seal(curs, positions, stored_events, last_leaf)
        return positions

    def _insert_statement(self, events: int) -> str:
        """``INSERT ... VALUES ... RETURNING notification_id`` for so many events (kept)."""
        statement = self._inserts.get(events)
        if statement is None:
            statement = self._inserts[events] = (
                f"INSERT INTO {self._table} "  # noqa: S608
                "(originator_id, originator_version, topic, state) VALUES "
                + ", ".join(["(%s, %s, %s, %s)"] * events)
                + " RETURNING notification_id"
            )
        return statement
