"""A small pool of read-model connections (``projections.db``) shared by request threads.

Handlers run in worker threads; a connection is lent to one thread at a time and given
back afterwards. SQLite connections are opened without the same-thread check for that
reason (the pool never shares one between threads at once).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from projections.db import Connection, SQLiteConnection, connect


class PooledSQLiteConnection(SQLiteConnection):
    def __init__(self, path: str) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
        self.conn.execute("PRAGMA busy_timeout = 30000")
        self._depth = 0


def open_connection(env: dict[str, str]) -> Connection:
    if env["PERSISTENCE_MODULE"] == "eventsourcing.sqlite":
        return PooledSQLiteConnection(env["SQLITE_DBNAME"])
    return connect(env)


class ConnectionPool:
    """Connections to the event store's database, opened on demand, at most ``idle`` kept."""

    def __init__(self, env: dict[str, str], idle: int = 8) -> None:
        self.env = env
        self.idle_limit = idle
        self._idle: list[Connection] = []
        self._lock = threading.Lock()
        self._closed = False

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """Lend a connection; one that saw an error is closed instead of given back."""
        with self._lock:
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            conn = open_connection(self.env)
        try:
            yield conn
        except BaseException:
            conn.close()
            raise
        with self._lock:
            if not self._closed and len(self._idle) < self.idle_limit:
                self._idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
