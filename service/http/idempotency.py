"""Idempotency keys: a retried POST gets the first response and stores nothing more.

Keys live in a table of the event store's database with a primary key on (subject, key):
of concurrent requests with one key exactly one claims it (the insert that wins) and runs
the command; the others wait briefly for its response, then get it (replayed) or a 409
telling them to retry. The same key with another body is refused (422). Only successful
responses are kept: a refused command stored nothing, so it may be sent again as it is.
A claim whose holder died (no response after ``lease`` seconds) may be taken over; a
command that did reach the store then is refused the second time by its expected version
or its natural key, so it still stores one event.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any

from service.http.db import ConnectionPool
from service.http.problems import ApiProblem

TABLE = "http_idempotency"
KEY_PATTERN = r"^[\x21-\x7e]{1,128}$"
"""1 to 128 visible ASCII characters (a UUID is the usual choice)."""


def setup(pool: ConnectionPool) -> None:
    with pool.connection() as conn:
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
class Claim:
    """This request holds the key (since ``claimed_at``) and runs the command."""

    claimed_at: int


@dataclass(frozen=True)
class Stored:
    """A request with this key and body succeeded before: its response."""

    status: int
    response: str


class IdempotencyKeys:
    def __init__(self, pool: ConnectionPool, *, wait: float = 2.0, lease: float = 60.0) -> None:
        self.pool = pool
        self.wait = wait
        self.lease_ns = int(lease * 1e9)

    def claim(self, subject: str, key: str, print_: str) -> Claim | Stored:
        deadline = time.monotonic() + self.wait
        while True:
            now = time.time_ns()
            with self.pool.connection() as conn:
                if conn.execute(
                    f"INSERT INTO {TABLE} (subject, idem_key, fingerprint, claimed_at) "  # noqa: S608
                    "VALUES (?, ?, ?, ?) ON CONFLICT (subject, idem_key) DO NOTHING "
                    "RETURNING claimed_at",
                    (subject, key, print_, now),
                ):
                    return Claim(now)
                rows = conn.execute(
                    f"SELECT fingerprint, status, response, claimed_at FROM {TABLE} "  # noqa: S608
                    "WHERE subject = ? AND idem_key = ?",
                    (subject, key),
                )
                if not rows:
                    continue  # released just now: try to claim it again
                stored_print, status, response, claimed_at = rows[0]
                if stored_print != print_:
                    raise ApiProblem(
                        422,
                        "idempotency_key_reused",
                        "this Idempotency-Key was used for another request; use a new key",
                        field="Idempotency-Key",
                    )
                if status is not None:
                    return Stored(int(status), str(response))
                if now - int(claimed_at) > self.lease_ns and conn.execute(
                    f"UPDATE {TABLE} SET claimed_at = ? WHERE subject = ? AND idem_key = ? "  # noqa: S608
                    "AND claimed_at = ? AND status IS NULL RETURNING claimed_at",
                    (now, subject, key, claimed_at),
                ):
                    return Claim(now)
            if time.monotonic() >= deadline:
                raise ApiProblem(
                    409,
                    "idempotency_key_in_progress",
                    "a request with this Idempotency-Key is still being processed; retry shortly",
                    field="Idempotency-Key",
                    headers={"Retry-After": "1"},
                )
            time.sleep(0.05)

    def complete(self, subject: str, key: str, claim: Claim, status: int, response: str) -> None:
        with self.pool.connection() as conn:
            conn.execute(
                f"UPDATE {TABLE} SET status = ?, response = ? "  # noqa: S608
                "WHERE subject = ? AND idem_key = ? AND claimed_at = ?",
                (status, response, subject, key, claim.claimed_at),
            )

    def release(self, subject: str, key: str, claim: Claim) -> None:
        with self.pool.connection() as conn:
            conn.execute(
                f"DELETE FROM {TABLE} WHERE subject = ? AND idem_key = ? "  # noqa: S608
                "AND claimed_at = ? AND status IS NULL",
                (subject, key, claim.claimed_at),
            )
