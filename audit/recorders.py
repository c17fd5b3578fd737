"""Application recorders that seal every appended event in the append's transaction.

They extend the eventsourcing library's recorders for SQLite and PostgreSQL: the events
are inserted into the library's tables under its write lock (on SQLite by the library's
own append; on PostgreSQL by this module, in fewer round trips than the library's
pipeline), then their leaves and completed subtrees are written by :func:`audit.seal.seal`
before the transaction commits. ``create_table`` also creates the seal tables and the
append-only triggers.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import psycopg
from eventsourcing.persistence import (
    InterfaceError,
    OperationalError,
    StoredEvent,
)
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteDatastore
from eventsourcing.utils import retry
from psycopg import ClientCursor
from psycopg.sql import SQL, Composed, Identifier, Literal

from audit.seal import (
    LEAVES,
    NODES,
    ROWS_PER_STATEMENT,
    FrontierCache,
    SealStatements,
    plan_seal,
    seal,
    seal_refused,
)
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


class _Sealing:
    """What both recorders add to the library's append: the seal and the hooks inside its
    transaction, and the tree's right edge kept between appends (``FrontierCache``).

    The new edge is cached as soon as it is planned, while the append still holds the
    store's write lock: the next append takes the lock the moment this one commits and
    would otherwise often find the cache a step behind and read the edge again. An edge
    whose append rolls back is never used: the cache answers only for the very last
    leaf that the next append reads under the lock."""

    seal_statements: SealStatements

    def __init__(self) -> None:
        self.frontier_cache = FrontierCache()

    def _seal(
        self,
        cursor: Any,
        positions: Sequence[int],
        events: Sequence[StoredEvent],
        last_leaf: Sequence[Any] | None = None,
    ) -> None:
        statements = self.seal_statements
        edge = seal(cursor, statements, list(positions), events, self.frontier_cache, last_leaf)
        self.frontier_cache.put(*edge)
        self._run_hooks(cursor, positions, events)

    def _run_hooks(
        self, cursor: SealCursor, positions: Sequence[int], events: Sequence[StoredEvent]
    ) -> None:
        hooks = _hooks.get()
        if hooks:
            statements = self.seal_statements
            append = Append(cursor, statements.mark, statements.prefix, positions, events)
            for hook in hooks:
                hook(append)


DDL_LOCK = "SELECT pg_advisory_xact_lock(hashtext('buurtkas.audit.ddl'))"
"""The lock every process making the store's tables takes (the triggers' block too)."""


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
        # The append's first round trip, one simple query (no parameters) made with the
        # first connection: the transaction, the store's write lock and the notification
        # of listeners as the library takes and sends them, the tree's last leaf, and the
        # positions of the events (the sequence the library's inserts draw from, drawn
        # under the lock as an insert would draw them).
        self._prologue_parts = [
            SQL("BEGIN"),
            *self.lock_table_statements,
            SQL("NOTIFY {0}").format(Identifier(self.channel_name)),
        ]
        self._prologue_texts: tuple[str, str, str] | None = None
        self._table = f'"{schema}"."{events_table_name}"'
        self._inserts: dict[int, str] = {}

    def create_table(self) -> None:
        """The tables, as the library makes them, safe for processes starting together.

        The library makes each composite type in a transaction of its own and ignores a
        type that exists (``DuplicateObject``). Two processes making the same new type at
        the same moment still collide in PostgreSQL's catalogue (``relation ... already
        exists``, or a unique violation), so each type's transaction here first takes the
        lock every process making the store's tables takes: the second process waits for
        the first to commit, then finds the type and moves on."""
        for statement in self.sql_create_statements:
            if "CREATE TYPE" in statement.as_string():
                with (
                    self.datastore.transaction(commit=True) as curs,
                    contextlib.suppress(psycopg.errors.DuplicateObject),
                ):
                    curs.execute(SQL(DDL_LOCK), prepare=False)
                    curs.execute(statement, prepare=False)
        with self.datastore.transaction(commit=True) as curs:
            self._create_table(curs)
        self.datastore.register_type_adapters()

    def _create_table(self, curs: Any) -> None:
        """One process at a time: the library's statements replace its insert function
        (``CREATE OR REPLACE FUNCTION``), which PostgreSQL refuses to do concurrently
        ("tuple concurrently updated"). The lock is held until the transaction ends."""
        curs.execute(SQL(DDL_LOCK), prepare=False)
        super()._create_table(curs)

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        positions: Sequence[int] | None = self._insert_and_seal(stored_events)
        return positions

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def _insert_and_seal(self, stored_events: Sequence[StoredEvent]) -> Sequence[int] | None:
        """The library's append (lock, notify, insert), then the seal and the hooks, in one
        transaction of two round trips.

        The table stays locked from the first round trip to the commit, while every other
        append of the store waits for it, so that time is kept short: the first trip takes
        the lock and reads what the seal needs (the tree's last leaf, the events'
        positions); the second inserts the events, the seal's rows and the hooks' rows and
        commits, as one simple query with its values bound here. (The library sends its
        append in psycopg's pipeline mode, whose bookkeeping costs more client CPU than it
        saves for an append of a few statements.) On any error the transaction is rolled
        back; the library's errors are raised as it raises them, and a seal row refused by
        the seal tables' keys as ``SealCorrupted``.
        """
        if not stored_events:
            return None
        with self.datastore.get_connection() as conn:
            try:
                return self._two_trips(conn, stored_events)
            except BaseException:
                with contextlib.suppress(psycopg.Error):
                    conn.rollback()
                raise

    def _two_trips(self, conn: Any, stored_events: Sequence[StoredEvent]) -> list[int]:
        """Each trip is one simple query sent through libpq itself, which answers with
        the result of its last statement (psycopg's cursor would build every statement's
        result: most of the client's cost of an append of a few rows)."""
        first = _exec(conn, self._prologue_text(conn, len(stored_events)))
        last_hash, last_index, drawn = (first.get_value(0, column) for column in range(3))
        positions = [int(position) for position in drawn.split(b",")]
        last_leaf = []
        if last_index is not None:  # none: the tree is empty
            last_leaf.append((int(last_index), bytes.fromhex(last_hash.decode())))
        plan = plan_seal(
            _OnDemandCursor(conn),
            self.seal_statements,
            positions,
            stored_events,
            self.frontier_cache,
            last_leaf,
        )
        batch = _Batch(ClientCursor(conn))
        for at in range(0, len(stored_events), ROWS_PER_STATEMENT):
            chunk = stored_events[at : at + ROWS_PER_STATEMENT]
            values = [
                value
                for position, e in zip(positions[at : at + ROWS_PER_STATEMENT], chunk, strict=True)
                for value in (position, e.originator_id, e.originator_version, e.topic, e.state)
            ]
            batch.execute(self._insert_statement(len(chunk)), values)
        for statement, params in self.seal_statements.statements(plan.leaves, plan.nodes):
            batch.execute(statement, params)
        self._run_hooks(batch, positions, stored_events)
        self.frontier_cache.put(plan.frontier, plan.last_leaf)  # under the lock (_Sealing)
        try:
            _exec(conn, batch.text() + "; COMMIT")
        except psycopg.errors.IntegrityError as error:
            if error.diag.table_name in (LEAVES, NODES):
                raise seal_refused(plan, error) from error
            raise
        return positions

    def _prologue_text(self, conn: Any, events: int) -> str:
        """The first trip: the transaction, the lock, the notification, then one row of
        the tree's last leaf (hash in hexadecimal, index; none on an empty tree) and the
        events' positions drawn from the sequence, comma-separated."""
        texts = self._prologue_texts
        if texts is None:  # made once; threads that race here make the same texts
            sequence = conn.execute(
                "SELECT pg_get_serial_sequence(%s, 'notification_id')", (self._table,)
            ).fetchone()["pg_get_serial_sequence"]
            texts = self._prologue_texts = (
                SQL("; ").join(self._prologue_parts).as_string(conn),
                SQL(
                    "SELECT encode(l.hash, 'hex'), l.leaf_index, array_to_string(ARRAY("
                    "SELECT nextval({0}::regclass) FROM generate_series(1, "
                )
                .format(Literal(sequence))
                .as_string(conn),
                SQL(")), ',') FROM (SELECT 1) AS one LEFT JOIN ({0}) AS l ON true")
                .format(SQL(self.seal_statements.last_leaf))
                .as_string(conn),
            )
        prologue, head, tail = texts
        return f"{prologue}; {head}{int(events)}{tail}"

    def _insert_statement(self, events: int) -> str:
        """``INSERT ... VALUES ...`` of so many events at the positions drawn (kept)."""
        statement = self._inserts.get(events)
        if statement is None:
            statement = self._inserts[events] = (
                f"INSERT INTO {self._table} "  # noqa: S608
                "(notification_id, originator_id, originator_version, topic, state) VALUES "
                + ", ".join(["(%s, %s, %s, %s, %s)"] * events)
            )
        return statement


def _exec(conn: Any, query: str) -> Any:
    """Send ``query`` (statements without parameters) as one simple query through libpq,
    blocking (libpq does not hold the interpreter lock meanwhile); return the result of
    its last statement, or raise psycopg's error for the first that failed."""
    pgconn = conn.pgconn
    result = pgconn.exec_(query.encode(conn.info.encoding))
    if pgconn.status != psycopg.pq.ConnStatus.OK:
        raise psycopg.OperationalError(
            f"the connection to the database was lost: "
            f"{pgconn.error_message.decode(errors='replace')}"
        )
    if result.status == psycopg.pq.ExecStatus.FATAL_ERROR:
        raise psycopg.errors.error_from_result(result, encoding=conn.info.encoding)
    return result


class _OnDemandCursor:
    """A cursor of ``conn`` made only if a statement is run on it (the tree's edge is
    read from the tables only when this process's cache does not hold it)."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.cursor: Any = None

    def execute(self, statement: Any, params: Any = ()) -> None:
        if self.cursor is None:
            self.cursor = self.conn.cursor()
        self.cursor.execute(statement, params)

    def executemany(self, statement: Any, params: Any) -> None:
        if self.cursor is None:
            self.cursor = self.conn.cursor()
        self.cursor.executemany(statement, params)

    def fetchall(self) -> Any:
        return self.cursor.fetchall()


class _Batch:
    """Statements sent together later, as one simple query: what the hooks of a
    PostgreSQL append write goes with the append's last round trip (hooks there write;
    they cannot read what they wrote)."""

    def __init__(self, binder: ClientCursor[Any]) -> None:
        self.binder = binder
        self.parts: list[str] = []

    def execute(self, statement: Any, params: Any = ()) -> None:
        self.parts.append(self.binder.mogrify(statement, params))

    def executemany(self, statement: Any, params: Any) -> None:
        for row in params:
            self.execute(statement, row)

    def fetchall(self) -> Any:
        raise TypeError("statements of a PostgreSQL append's hooks return no rows")

    def text(self) -> str:
        return "; ".join(self.parts)
