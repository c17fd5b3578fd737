"""Connections for read models, in the same database as the event store.

Read models live next to the events: in the SQLite file, or in the PostgreSQL schema.
SQL is written once with ``?`` placeholders and adapted to psycopg's ``%s``.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

import psycopg
from psycopg import sql as pgsql

STREAM_CHUNK = 500
"""Rows per chunk of a streamed PostgreSQL result."""
COMMIT_CACHE_MIB = 32
"""SQLite's page cache of a committing connection (its default is 2 MiB). A batch's rows
land all over the table's keys (a receipt's is its hash), so with the default most
inserts read their page again; the committing thread then held up the runner."""
COMMIT_WAL_PAGES = 8_000
"""Pages a committing connection lets the WAL hold before it copies them into the file
(SQLite's default is 1,000, about 4 MiB). A rebuild's batch writes pages all over the
table, nearly the default's worth each: the file then took every batch's pages again, and
the copying (the kernel's writes) held up the runner. At 8,000 a page written by several
batches in a row is copied once. The WAL file then grows to about 32 MiB (more while a
reader holds an older snapshot) and keeps that size; a commit on another connection
meanwhile (the service's, whose threshold is SQLite's) may copy what the committer left,
tens of milliseconds at most; the committer copies it when it closes."""


class Connection(Protocol):
    dialect: str

    def execute(
        self, statement: str, params: Sequence[Any] = (), *, binary: bool = False
    ) -> list[tuple[Any, ...]]:
        """Rows of ``statement``; ``binary``: fetched in PostgreSQL's binary format (no
        hexadecimal text for bytes), the same values either way."""
        ...

    def stream(
        self, statement: str, params: Sequence[Any] = (), *, binary: bool = False
    ) -> Iterator[tuple[Any, ...]]:
        """The rows of ``execute``, handed over while later ones are still coming (the
        caller must take them all before it uses the connection again)."""
        ...

    def executemany(self, statement: str, rows: Sequence[Sequence[Any]]) -> None: ...

    @contextmanager
    def transaction(self) -> Iterator[None]: ...

    def close(self) -> None: ...


class SQLiteConnection:
    dialect = "sqlite"
    committing = False
    """Whether this connection commits a runner's batches (``connect(committing=True)``)."""

    def __init__(self, path: str, cache_mib: int | None = None) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None, timeout=30)
        self.conn.execute("PRAGMA busy_timeout = 30000")
        # The event store runs SQLite in WAL mode. There NORMAL keeps every transaction
        # atomic (a batch's rows and its tracking position commit together or not at
        # all); only the last commits may roll back after a power loss, and then the
        # runner folds those events again. It saves an fsync per batch.
        self.conn.execute("PRAGMA synchronous = NORMAL")
        if cache_mib is not None:
            self.conn.execute(f"PRAGMA cache_size = {-1024 * int(cache_mib)}")  # in KiB
            self.conn.execute(f"PRAGMA wal_autocheckpoint = {COMMIT_WAL_PAGES}")
        self.committing = cache_mib is not None
        self._depth = 0

    def execute(
        self, statement: str, params: Sequence[Any] = (), *, binary: bool = False
    ) -> list[tuple[Any, ...]]:
        return self.conn.execute(statement, tuple(params)).fetchall()

    def stream(
        self, statement: str, params: Sequence[Any] = (), *, binary: bool = False
    ) -> Iterator[tuple[Any, ...]]:
        return iter(self.execute(statement, params))  # in this process: nothing to overlap

    def executemany(self, statement: str, rows: Sequence[Sequence[Any]]) -> None:
        self.conn.executemany(statement, rows)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def close(self) -> None:
        if self.committing:
            # what its commits left in the WAL is copied into the file now, rather than by
            # the next commit on another connection (whose threshold is SQLite's own); if
            # it cannot be now (busy, the file gone), the next checkpoint copies it
            with contextlib.suppress(sqlite3.Error):
                self.conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        self.conn.close()


class PostgresConnection:
    dialect = "postgres"

    def __init__(self, conninfo: str, schema: str) -> None:
        # No server-side prepared statements: a generic plan prepared while a new table
        # is still empty would keep scanning it sequentially as it grows.
        self.conn = psycopg.connect(conninfo, autocommit=True, prepare_threshold=None)
        self.conn.execute(pgsql.SQL("SET search_path TO {}").format(pgsql.Identifier(schema)))

    @staticmethod
    def _adapt(statement: str) -> str:
        return statement.replace("?", "%s")

    def execute(
        self, statement: str, params: Sequence[Any] = (), *, binary: bool = False
    ) -> list[tuple[Any, ...]]:
        cursor = self.conn.execute(self._adapt(statement), tuple(params), binary=binary)
        return cursor.fetchall() if cursor.description else []

    def stream(
        self, statement: str, params: Sequence[Any] = (), *, binary: bool = False
    ) -> Iterator[tuple[Any, ...]]:
        """Rows in chunks of ``STREAM_CHUNK`` as the server sends them (one by one with a
        libpq older than 17): the server reads the next rows while these are used."""
        size = STREAM_CHUNK if psycopg.pq.version() >= 170000 else 1
        cursor = self.conn.cursor(binary=binary)
        return cursor.stream(self._adapt(statement), tuple(params), size=size)

    def executemany(self, statement: str, rows: Sequence[Sequence[Any]]) -> None:
        with self.conn.cursor() as cursor:
            cursor.executemany(self._adapt(statement), rows)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self.conn.transaction():
            yield

    def close(self) -> None:
        self.conn.close()


SCHEMA_LOCK = "SELECT pg_advisory_xact_lock(hashtext('buurtkas.read_models.ddl'))"
"""Taken by every process that makes or drops read-model and service tables."""


@contextmanager
def schema_change(conn: Connection) -> Iterator[None]:
    """A transaction that makes or drops tables, one process at a time.

    On PostgreSQL two sessions making the same new table at the same moment collide in
    its catalogue (a unique violation on ``pg_type``), ``IF NOT EXISTS`` or not; the
    transaction takes an advisory lock first, so the second waits for the first to
    commit and then finds the table. SQLite's ``BEGIN IMMEDIATE`` already lets one
    writer in at a time."""
    with conn.transaction():
        if conn.dialect == "postgres":
            conn.execute(SCHEMA_LOCK)
        yield


def connect(env: dict[str, str], *, committing: bool = False) -> Connection:
    """A read-model connection to the database the event store ``env`` describes;
    ``committing``: one that commits a runner's batches (see ``COMMIT_CACHE_MIB``)."""
    if env["PERSISTENCE_MODULE"] == "eventsourcing.sqlite":
        cache = COMMIT_CACHE_MIB if committing else None
        return SQLiteConnection(env["SQLITE_DBNAME"], cache)
    conninfo = psycopg.conninfo.make_conninfo(
        dbname=env["POSTGRES_DBNAME"],
        host=env["POSTGRES_HOST"],
        port=env["POSTGRES_PORT"],
        user=env["POSTGRES_USER"],
        password=env.get("POSTGRES_PASSWORD") or None,
        connect_timeout=env.get("POSTGRES_CONNECT_TIMEOUT", "5"),
    )
    return PostgresConnection(conninfo, env.get("POSTGRES_SCHEMA") or "public")
