"""Idempotency keys: a retried POST gets the first response and stores nothing more.

Keys live in a table of the event store's database with a primary key on (subject, key).
The key, the request's fingerprint and the response are written by the command's own
append, in the transaction that stores its events (:func:`audit.recorders.in_append_transaction`):
a command's events and its key commit together or not at all, at the cost of no extra
write. A key already used refuses the append of a retry (or the command itself is refused,
its change having been made); only then is the key looked up: the same key and body gets
the stored response (replayed); the same key with another body is refused (422). Of
concurrent requests with one key at most one append commits, because the second insert of
the key is refused and takes its events with it; the loser then finds the winner's
response and replays it.
Only successful commands are kept: a refused command stored nothing, so it may be sent
again as it is.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from audit.recorders import Append
from projections.db import Connection, schema_change
from service.http.api.results import CommandResult, RecordedEvent
from service.http.db import ConnectionPool
from service.http.problems import ApiProblem
from service.http.recording import Captured

TABLE = "http_idempotency"
KEY_PATTERN = r"^[\x21-\x7e]{1,128}$"
"""1 to 128 visible ASCII characters (a UUID is the usual choice)."""


def setup(pool: ConnectionPool) -> None:
    with pool.connection() as conn:
        setup_table(conn)
        # Keys claimed but never answered (kept by an earlier version of the service while
        # a command ran) would block their key for good: nothing was stored under them.
        conn.execute(f"DELETE FROM {TABLE} WHERE status IS NULL")  # noqa: S608


def setup_table(conn: Connection) -> None:
    with schema_change(conn):
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {TABLE} ("
            "subject TEXT NOT NULL, idem_key TEXT NOT NULL, fingerprint TEXT NOT NULL, "
            "claimed_at BIGINT NOT NULL, status INTEGER, response TEXT, "
            "PRIMARY KEY (subject, idem_key))"
        )


def fingerprint(method: str, path: str, body: Any) -> str:
    """What makes two requests "the same": method, path and the validated body."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


@dataclass(frozen=True)
class Stored:
    """A request with this key and body succeeded before: its response."""

    status: int
    response: str


class Pending:
    """A command about to run under a key: the hook that stores the key and the response
    in the command's append (the response is built there, from the appended events)."""

    def __init__(
        self,
        subject: str,
        key: str,
        print_: str,
        status: int,
        aggregate_id: UUID | None,
        captured: Captured,
    ) -> None:
        self.subject, self.key, self.print_, self.status = subject, key, print_, status
        self.aggregate_id = aggregate_id
        self.captured = captured
        self.result: CommandResult | None = None
        self._written: object = None

    def __call__(self, append: Append) -> None:
        target = self.aggregate_id or self.captured.created
        if target is None:
            raise TypeError("a command names the record it changes or creates one")
        if self.result is not None and append.stored_events is not self._written:
            # (the same events again are the store retrying an append that failed)
            raise RuntimeError("one command, one save: this command appended twice")
        events = [
            RecordedEvent(
                position=position,
                aggregate_id=UUID(str(event.originator_id)),
                version=event.originator_version,
                type=event.topic,
            )
            for position, event in zip(append.positions, append.stored_events, strict=True)
        ]
        own = [e.version for e in events if e.aggregate_id == target]
        if not own:
            raise TypeError(f"the command names {target}, which its append did not change")
        result = CommandResult(id=target, version=max(own), events=events)
        mark = append.mark
        append.cursor.execute(
            f"INSERT INTO {append.prefix}{TABLE} "  # noqa: S608
            "(subject, idem_key, fingerprint, claimed_at, status, response) "
            f"VALUES ({mark}, {mark}, {mark}, {mark}, {mark}, {mark})",
            (
                self.subject,
                self.key,
                self.print_,
                time.time_ns(),
                self.status,
                result.model_dump_json(),
            ),
        )
        self.result, self._written = result, append.stored_events


class IdempotencyKeys:
    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool

    def find(self, subject: str, key: str, print_: str) -> Stored | None:
        """The stored response for this key and body; 422 if the key was used for another."""
        with self.pool.connection() as conn:
            rows = conn.execute(
                f"SELECT fingerprint, status, response FROM {TABLE} "  # noqa: S608
                "WHERE subject = ? AND idem_key = ?",
                (subject, key),
            )
        if not rows:
            return None
        stored_print, status, response = rows[0]
        if stored_print != print_:
            raise ApiProblem(
                422,
                "idempotency_key_reused",
                "this Idempotency-Key was used for another request; use a new key",
                field="Idempotency-Key",
            )
        return Stored(int(status), str(response))


def prune(conn: Connection, older_than_days: int) -> int:
    """Forget the responses kept for keys older than ``older_than_days`` days; returns how
    many. A retry after that is run again, and refused by its expected version or its
    record's natural key if its first run had stored anything."""
    cutoff = time.time_ns() - older_than_days * 86_400 * 10**9
    rows = conn.execute(
        f"DELETE FROM {TABLE} WHERE claimed_at < ? RETURNING 1",  # noqa: S608
        (cutoff,),
    )
    return len(rows)
