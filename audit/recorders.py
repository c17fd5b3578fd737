"""Application recorders that seal every appended event in the append's transaction.

They extend the eventsourcing library's recorders for SQLite and PostgreSQL: the events
are inserted exactly as before, then their leaves and completed subtrees are written by
:func:`audit.seal.seal` before the transaction commits. ``create_table`` also creates the
seal tables and the append-only triggers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteDatastore
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed

from audit.seal import SealStatements, seal


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
        return positions


class SealingPostgresApplicationRecorder(PostgresApplicationRecorder):
    def __init__(
        self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"
    ) -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        schema = datastore.schema
        self.seal_statements = SealStatements("postgres", prefix=f'"{schema}".')
        events = f'"{schema}"."{events_table_name}"'
        for statement in self.seal_statements.create_tables():
            self.sql_create_statements.append(Composed([SQL(statement)]))
        for statement in self.seal_statements.append_only_triggers(events, schema):
            self.sql_create_statements.append(Composed([SQL(statement)]))

    def _fetch_ids_after_insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        positions = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        if positions and stored_events:
            seal(curs, self.seal_statements, list(positions), stored_events)
        return positions
