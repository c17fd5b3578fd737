"""Processes that start together (a server and its projector, several workers) each make
the store's tables: on PostgreSQL, doing so at the same moment must not fail any of them."""

from __future__ import annotations

import threading

from service.application import Buurtkas
from service.storage import persistence_env
from tests.conftest import fresh_schema

STARTERS = 6
ROUNDS = 5


def start_together(database_url: str) -> list[BaseException]:
    """``STARTERS`` applications made at once (each makes its tables); the errors raised."""
    barrier = threading.Barrier(STARTERS)
    errors: list[BaseException] = []

    def start() -> None:
        barrier.wait()
        try:
            Buurtkas(env=persistence_env(database_url)).close()
        except BaseException as error:  # every failure is the finding
            errors.append(error)

    threads = [threading.Thread(target=start) for _ in range(STARTERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


class TestStartingTogether:
    """PostgreSQL only. The races are in its catalogue (a function replaced, a type made by
    two transactions at once). SQLite has none of them. Opening one file from several
    connections at the same moment can still fail there with "database is locked": a
    new file is switched to WAL by its first connections, which SQLite refuses to
    several at once. The embedded store is made by one process: `buurtkas serve` makes
    its tables before it starts its projector."""

    def test_applications_making_existing_tables_at_once_all_start(
        self, postgres_schema_url: str
    ) -> None:
        # given a store whose tables exist
        database_url = postgres_schema_url
        Buurtkas(env=persistence_env(database_url)).close()
        # when several applications start at the same moment, again and again
        errors = [error for _ in range(ROUNDS) for error in start_together(database_url)]
        # then none of them failed
        assert errors == []

    def test_applications_making_a_new_store_at_once_all_start(
        self, postgres_database: str
    ) -> None:
        # given empty stores, one per round (the race is over the first types and tables)
        errors: list[BaseException] = []
        for _ in range(ROUNDS):
            with fresh_schema(postgres_database) as database_url:
                # when several applications make its tables at once
                errors += start_together(database_url)
                # then the store works
                app = Buurtkas(env=persistence_env(database_url))
                try:
                    assert app.recorder.max_notification_id() in (None, 0)
                finally:
                    app.close()
        # and none of the applications failed, in any round
        assert errors == []
