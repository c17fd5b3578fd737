"""Direct database access that bypasses buurtkas, as a database superuser would have it.

Used by the tamper tests: it can switch off the append-only triggers and then edit,
delete, swap, forge or truncate rows of the event and seal tables.
"""

from __future__ import annotations

import sqlite3
from typing import Any
from uuid import uuid4

import psycopg
from psycopg import sql

from audit.leaf import event_leaf_hash
from audit.merkle import Frontier
from service.storage import persistence_env

SEAL_TABLES = ("audit_leaves", "audit_nodes", "audit_checkpoints")


class Superuser:
    def __init__(self, database_url: str) -> None:
        env = persistence_env(database_url)
        self.postgres = env["PERSISTENCE_MODULE"] == "eventsourcing.postgres"
        if self.postgres:
            self.conn: Any = psycopg.connect(
                dbname=env["POSTGRES_DBNAME"],
                host=env["POSTGRES_HOST"],
                port=env["POSTGRES_PORT"],
                user=env["POSTGRES_USER"],
                autocommit=True,
            )
            schema = env.get("POSTGRES_SCHEMA", "public")
            self.conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
            self.events, self.position = "buurtkas_events", "notification_id"
        else:
            self.conn = sqlite3.connect(env["SQLITE_DBNAME"], isolation_level=None)
            self.events, self.position = "stored_events", "rowid"

    def run(self, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        if self.postgres:
            cursor = self.conn.execute(statement.replace("?", "%s"), params)
            return list(cursor.fetchall()) if cursor.description else []
        return list(self.conn.execute(statement, params).fetchall())

    def disable_triggers(self) -> None:
        for table in (self.events, *SEAL_TABLES):
            if self.postgres:
                self.run(f"ALTER TABLE {table} DISABLE TRIGGER USER")
            else:
                for name in [
                    row[0]
                    for row in self.run(
                        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?",
                        (table,),
                    )
                ]:
                    self.run(f"DROP TRIGGER {name}")

    # Tampering -------------------------------------------------------------------------

    def state(self, position: int) -> bytes:
        rows = self.run(f"SELECT state FROM {self.events} WHERE {self.position} = ?", (position,))
        return bytes(rows[0][0])

    def flip_byte(self, position: int, at: int = 10) -> None:
        state = bytearray(self.state(position))
        state[at] ^= 0x01
        self.run(
            f"UPDATE {self.events} SET state = ? WHERE {self.position} = ?",
            (bytes(state), position),
        )

    def set_column(self, position: int, column: str, expression: str) -> None:
        """Set one column of the event at ``position`` to an SQL ``expression`` of it."""
        self.run(
            f"UPDATE {self.events} SET {column} = {expression} WHERE {self.position} = ?",
            (position,),
        )

    def delete_event(self, position: int) -> None:
        self.run(f"DELETE FROM {self.events} WHERE {self.position} = ?", (position,))

    def swap_events(self, first: int, second: int) -> None:
        for old, new in ((first, -1), (second, first), (-1, second)):
            self.run(
                f"UPDATE {self.events} SET {self.position} = ? WHERE {self.position} = ?",
                (new, old),
            )

    def forge_event(self, copy_of: int, at: int | None = None) -> int:
        """Insert a new event with the topic and state of ``copy_of``, at position ``at``
        (by default the next one); returns its position."""
        topic, state = self.run(
            f"SELECT topic, state FROM {self.events} WHERE {self.position} = ?", (copy_of,)
        )[0]
        aggregate_id = uuid4()
        values: tuple[Any, ...] = (
            aggregate_id if self.postgres else aggregate_id.hex,
            1,
            topic,
            bytes(state),
        )
        columns = "originator_id, originator_version, topic, state"
        if at is None:
            self.run(f"INSERT INTO {self.events} ({columns}) VALUES (?, ?, ?, ?)", values)
            rows = self.run(f"SELECT MAX({self.position}) FROM {self.events}")
            return int(rows[0][0])
        self.run(
            f"INSERT INTO {self.events} ({self.position}, {columns}) VALUES (?, ?, ?, ?, ?)",
            (at, *values),
        )
        return at

    def move_leaf(self, position: int, to_index: int) -> None:
        """Give the leaf of ``position`` another leaf index, leaving a gap where it was."""
        self.run("UPDATE audit_leaves SET leaf_index = ? WHERE position = ?", (to_index, position))

    def truncate_tail(self, count: int) -> int:
        """Delete the last ``count`` events with their leaves and subtrees; returns the new size."""
        size = int(self.run("SELECT COUNT(*) FROM audit_leaves")[0][0]) - count
        positions = self.run("SELECT position FROM audit_leaves WHERE leaf_index >= ?", (size,))
        for (position,) in positions:
            self.delete_event(int(position))
        self.run("DELETE FROM audit_leaves WHERE leaf_index >= ?", (size,))
        self.run("DELETE FROM audit_nodes WHERE end_leaf >= ?", (size,))
        return size

    def rewrite_consistently(self, position: int, at: int = 10) -> None:
        """Change an event and recompute every leaf and subtree to match, as a careful forger."""
        self.flip_byte(position, at)
        leaves = self.run(
            "SELECT leaf_index, position, recorded_at FROM audit_leaves ORDER BY leaf_index"
        )
        self.run("DELETE FROM audit_leaves")
        self.run("DELETE FROM audit_nodes")
        frontier = Frontier()
        for leaf_index, leaf_position, recorded_at in leaves:
            aggregate_id, version, topic, state = self.run(
                f"SELECT originator_id, originator_version, topic, state FROM {self.events} "
                f"WHERE {self.position} = ?",
                (leaf_position,),
            )[0]
            raw_id = aggregate_id.bytes if self.postgres else bytes.fromhex(aggregate_id)
            digest = event_leaf_hash(
                leaf_position, raw_id, version, topic, bytes(state), recorded_at
            )
            self.run(
                "INSERT INTO audit_leaves (leaf_index, position, recorded_at, hash) "
                "VALUES (?, ?, ?, ?)",
                (leaf_index, leaf_position, recorded_at, digest),
            )
            for level, end, node in frontier.append(digest):
                self.run(
                    "INSERT INTO audit_nodes (end_leaf, level, hash) VALUES (?, ?, ?)",
                    (end, level, node),
                )

    def close(self) -> None:
        self.conn.close()
