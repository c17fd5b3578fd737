"""The seal tables and the sealing of appended events, in the append's own transaction.

``audit_leaves`` holds one row per event: its leaf index in the Merkle tree, its position
in the store, when it was sealed and its leaf hash. ``audit_nodes`` holds the hash of every
complete subtree above the leaves, keyed by its last leaf and level, so that any root or
proof needs ``O(log n)`` lookups. ``audit_checkpoints`` holds the signed tree heads. All
three, and the events table, are append-only: triggers refuse UPDATE, DELETE and TRUNCATE.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

import psycopg.errors

from audit.leaf import event_leaf_hash
from audit.merkle import Frontier, frontier_keys

LEAVES = "audit_leaves"
NODES = "audit_nodes"
CHECKPOINTS = "audit_checkpoints"
Leaf = tuple[int, int, int, bytes]
"""A leaf row: leaf index, position, when it was sealed (µs), leaf hash."""
Node = tuple[int, int, bytes]
"""A subtree row: its last leaf index, its level, its hash."""


ROWS_PER_STATEMENT = 1000
"""Rows in one PostgreSQL insert of an append (at most 4,000 parameters)."""


class Cursor(Protocol):
    def execute(self, statement: Any, params: Any = ...) -> Any: ...

    def executemany(self, statement: Any, params: Any) -> Any: ...

    def fetchall(self) -> Any: ...


class StoredEventLike(Protocol):
    @property
    def originator_id(self) -> UUID | str: ...

    @property
    def originator_version(self) -> int: ...

    @property
    def topic(self) -> str: ...

    @property
    def state(self) -> bytes: ...


def now_micros() -> int:
    return time.time_ns() // 1000


def as_uuid(value: UUID | str) -> UUID:
    return value if isinstance(value, UUID) else UUID(value)


class SealStatements:
    """The seal SQL for one dialect; ``prefix`` qualifies the tables (a PostgreSQL schema)."""

    def __init__(self, dialect: str, prefix: str = "") -> None:
        self.dialect = dialect
        self.prefix = prefix
        mark = "%s" if dialect == "postgres" else "?"
        self.leaves, self.nodes, self.checkpoints = (
            prefix + LEAVES,
            prefix + NODES,
            prefix + CHECKPOINTS,
        )
        self.last_leaf = (
            f"SELECT leaf_index, hash FROM {self.leaves} ORDER BY leaf_index DESC LIMIT 1"  # noqa: S608
        )
        self.nodes_ending_at = f"SELECT level, end_leaf, hash FROM {self.nodes} WHERE end_leaf IN "  # noqa: S608
        self.mark = mark
        self.insert_leaf = (
            f"INSERT INTO {self.leaves} (leaf_index, position, recorded_at, hash) "  # noqa: S608
            f"VALUES ({mark}, {mark}, {mark}, {mark})"
        )
        self.insert_node = (
            f"INSERT INTO {self.nodes} (end_leaf, level, hash) VALUES ({mark}, {mark}, {mark})"  # noqa: S608
        )
        self._writes: dict[tuple[int, int], str] = {}

    def write(
        self,
        cursor: Cursor,
        leaves: Sequence[Leaf],
        nodes: Sequence[Node],
    ) -> None:
        """Insert an append's leaves and the subtrees they complete (the SQLite append; a
        PostgreSQL append sends ``statements`` in its own round trip)."""
        cursor.executemany(self.insert_leaf, leaves)
        if nodes:
            cursor.executemany(self.insert_node, nodes)

    def statements(
        self,
        leaves: Sequence[Leaf],
        nodes: Sequence[Node],
    ) -> list[tuple[str, list[Any]]]:
        """PostgreSQL: the statements (with their parameters) that insert these rows: one,
        unless the rows are more than one statement takes."""
        if len(leaves) + len(nodes) <= ROWS_PER_STATEMENT:
            return [self._rows_statement(leaves, nodes)]
        # A large append in several statements: PostgreSQL takes at most 65,535 parameters.
        found = [
            self._rows_statement(leaves[at : at + ROWS_PER_STATEMENT], [])
            for at in range(0, len(leaves), ROWS_PER_STATEMENT)
        ]
        found += [
            self._rows_statement([], nodes[at : at + ROWS_PER_STATEMENT])
            for at in range(0, len(nodes), ROWS_PER_STATEMENT)
        ]
        return found

    def _rows_statement(
        self,
        leaves: Sequence[Leaf],
        nodes: Sequence[Node],
    ) -> tuple[str, list[Any]]:
        shape = (len(leaves), len(nodes))
        statement = self._writes.get(shape)
        if statement is None:
            statement = self._writes[shape] = self._leaves_and_nodes(*shape)
        return statement, [value for row in (*leaves, *nodes) for value in row]

    def _leaves_and_nodes(self, leaves: int, nodes: int) -> str:
        insert_leaves = (
            f"INSERT INTO {self.leaves} (leaf_index, position, recorded_at, hash) VALUES "  # noqa: S608
            + ", ".join(["(%s, %s, %s, %s)"] * leaves)
        )
        insert_nodes = (
            f"INSERT INTO {self.nodes} (end_leaf, level, hash) VALUES "  # noqa: S608
            + ", ".join(["(%s, %s, %s)"] * nodes)
        )
        if not nodes:
            return insert_leaves
        if not leaves:
            return insert_nodes
        return f"WITH sealed AS ({insert_leaves}) {insert_nodes}"

    def create_tables(self) -> list[str]:
        integer, blob = ("bigint", "bytea") if self.dialect == "postgres" else ("INTEGER", "BLOB")
        return [
            f"CREATE TABLE IF NOT EXISTS {self.leaves} ("
            f"leaf_index {integer} PRIMARY KEY, "
            f"position {integer} NOT NULL UNIQUE, "
            f"recorded_at {integer} NOT NULL, "
            f"hash {blob} NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {self.nodes} ("
            f"end_leaf {integer} NOT NULL, "
            f"level {integer} NOT NULL, "
            f"hash {blob} NOT NULL, "
            "PRIMARY KEY (end_leaf, level))",
            f"CREATE TABLE IF NOT EXISTS {self.checkpoints} ("
            f"tree_size {integer} NOT NULL, "
            f"root_hash {blob} NOT NULL, "
            "signed_at text NOT NULL, "
            "key_id text NOT NULL, "
            f"signature {blob} NOT NULL, "
            "PRIMARY KEY (tree_size, signed_at))",
        ]

    def append_only_triggers(self, events_table: str, schema: str = "") -> list[str]:
        """Triggers that refuse UPDATE, DELETE (and on PostgreSQL TRUNCATE) on the log."""
        tables = [events_table, self.leaves, self.nodes, self.checkpoints]
        if not all(part.isidentifier() for part in (schema or "public").split(".")):
            raise ValueError(f"schema {schema!r} is not a plain identifier")
        if self.dialect != "postgres":
            return [
                f"CREATE TRIGGER IF NOT EXISTS {table}_refuse_{op.lower()} "
                f"BEFORE {op} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {op} refused'); END"
                for table in tables
                for op in ("UPDATE", "DELETE")
            ]
        # One statement, serialised by an advisory lock and creating only what is missing:
        # services starting together must not deadlock replacing each other's triggers.
        function = f'"{schema}".buurtkas_refuse_change'
        body = [
            "PERFORM pg_advisory_xact_lock(hashtext('buurtkas.audit.ddl'));",
            "IF NOT EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace n "  # noqa: S608
            f"ON n.oid = p.pronamespace WHERE n.nspname = '{schema}' "
            "AND p.proname = 'buurtkas_refuse_change') THEN "
            f"CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $f$ "
            "BEGIN RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP; "
            "END $f$; END IF;",
        ]
        for table in tables:
            name = table.rsplit(".", 1)[-1].strip('"')
            for trigger, when, level in (
                (f"{name}_refuse_change", "UPDATE OR DELETE", "ROW"),
                (f"{name}_refuse_truncate", "TRUNCATE", "STATEMENT"),
            ):
                body.append(
                    "IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE "  # noqa: S608
                    f"tgrelid = '{table}'::regclass AND tgname = '{trigger}') THEN "
                    f"CREATE TRIGGER {trigger} BEFORE {when} ON {table} "
                    f"FOR EACH {level} EXECUTE FUNCTION {function}(); END IF;"
                )
        return ["DO $$ BEGIN " + " ".join(body) + " END $$"]


class FrontierCache:
    """The right edge of the tree as this process last committed it.

    An append reads the last leaf under the store's write lock; when that is the leaf this
    process committed last, the cached edge is used instead of reading the subtrees on it
    again (one lookup fewer per append). Another writer's append changes the last leaf,
    and the edge is read from the tables as before. An edge whose append rolled back is
    never used: no append ever reads its last leaf from the tables.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._frontier = Frontier()
        self._last_leaf = b""

    def get(self, size: int, last_leaf: bytes) -> Frontier | None:
        with self._lock:
            if self._frontier.size == size and self._last_leaf == last_leaf and size:
                return self._frontier.copy()
        return None

    def put(self, frontier: Frontier, last_leaf: bytes) -> None:
        """Remember the edge of an append that holds the store's write lock or has
        committed. A smaller edge never replaces a larger one; one of the same size does:
        only one append can commit at a size, so the edge there before was rolled back."""
        with self._lock:
            if frontier.size >= self._frontier.size:
                self._frontier, self._last_leaf = frontier, last_leaf


@dataclass(frozen=True)
class SealPlan:
    """The rows that seal an append, and the tree's right edge once they are written."""

    frontier: Frontier
    last_leaf: bytes
    leaves: list[Leaf]
    nodes: list[Node]


def seal(
    cursor: Cursor,
    statements: SealStatements,
    positions: Sequence[int],
    stored_events: Sequence[StoredEventLike],
    cache: FrontierCache | None = None,
    last_leaf: Sequence[Any] | None = None,
) -> tuple[Frontier, bytes]:
    """Append the leaves of events just inserted at ``positions``, and the subtrees they close.

    Runs inside the transaction that inserted the events, after the store's write lock was
    taken, so the tree grows in the store's order and commits or rolls back with them.
    ``last_leaf`` is the result of ``statements.last_leaf`` when the caller already ran it
    under the lock (it is run here otherwise). Returns the new right edge and last leaf
    hash, for ``cache``.
    """
    plan = plan_seal(cursor, statements, positions, stored_events, cache, last_leaf)
    try:
        statements.write(cursor, plan.leaves, plan.nodes)
    except (sqlite3.IntegrityError, psycopg.errors.IntegrityError) as error:
        raise seal_refused(plan, error) from error
    return plan.frontier, plan.last_leaf


def plan_seal(
    cursor: Cursor,
    statements: SealStatements,
    positions: Sequence[int],
    stored_events: Sequence[StoredEventLike],
    cache: FrontierCache | None = None,
    last_leaf: Sequence[Any] | None = None,
) -> SealPlan:
    """The rows ``seal`` writes, for a caller that sends them itself (under the same lock,
    in the same transaction). Reads the tree's right edge unless ``cache`` holds it."""
    if len(positions) != len(stored_events):
        raise ValueError(f"{len(positions)} positions for {len(stored_events)} events")
    frontier = _read_frontier(cursor, statements, cache, last_leaf)
    recorded_at = now_micros()
    leaves: list[Leaf] = []
    nodes: list[Node] = []
    digest = b""
    for position, event in sorted(zip(positions, stored_events, strict=True), key=_first):
        index = frontier.size
        digest = event_leaf_hash(
            position,
            as_uuid(event.originator_id).bytes,
            event.originator_version,
            event.topic,
            bytes(event.state),
            recorded_at,
        )
        leaves.append((index, position, recorded_at, digest))
        nodes.extend((end, level, h) for level, end, h in frontier.append(digest))
    return SealPlan(frontier, digest, leaves, nodes)


def seal_refused(plan: SealPlan, error: Exception) -> SealCorrupted:
    """A seal row refused by the tables' keys: only the application writes seal rows, under
    the store's write lock, at the tree's end, so a row already there was written by
    someone who bypassed it."""
    index, position = plan.leaves[0][0], plan.leaves[0][1]
    return SealCorrupted(
        f"the seal tables already hold a leaf or subtree that sealing position {position} "
        f"as leaf {index} would write; they were written outside buurtkas "
        f"({type(error).__name__})"
    )


def _values(row: Any) -> tuple[Any, ...]:
    """A row's values, from the library's tuple-like (SQLite) or dict (psycopg) rows."""
    return tuple(row.values()) if isinstance(row, dict) else tuple(row)


def _first(pair: tuple[int, StoredEventLike]) -> int:
    return pair[0]


def _read_frontier(
    cursor: Cursor,
    statements: SealStatements,
    cache: FrontierCache | None = None,
    last_leaf: Sequence[Any] | None = None,
) -> Frontier:
    if last_leaf is None:
        cursor.execute(statements.last_leaf)
        last_leaf = cursor.fetchall()
    rows = [_values(row) for row in last_leaf]
    if not rows:
        return Frontier()
    last_index, last_hash = rows[0][0], bytes(rows[0][1])
    size = last_index + 1
    cached = cache.get(size, last_hash) if cache is not None else None
    if cached is not None:
        return cached
    keys = frontier_keys(size)
    found: dict[tuple[int, int], bytes] = {(0, last_index): last_hash}
    ends = [end for level, end in keys if level > 0]
    if ends:
        marks = ", ".join([statements.mark] * len(ends))
        cursor.execute(f"{statements.nodes_ending_at}({marks})", ends)
        for level, end, digest in map(_values, cursor.fetchall()):
            found[(level, end)] = bytes(digest)
    missing = [key for key in keys if key not in found]
    if missing:
        raise SealCorrupted(f"the seal tables lack subtrees {missing} of a tree of {size} leaves")
    return Frontier(size, [found[key] for key in keys])


class SealCorrupted(RuntimeError):
    """The seal tables do not hold the right edge of the tree, or already hold rows an
    append would write: sealing would hide or overwrite it. The append is refused whole
    (nothing is stored); ``buurtkas verify`` names what differs."""
