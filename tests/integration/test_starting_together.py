"""Processes that start together (a server and its projector, several workers) each make
the store's tables (events, seal, read models, tokens, idempotency keys) and the read
models' first generations: on PostgreSQL, doing so at the same moment must not fail any
of them, nor make a read model twice."""

from __future__ import annotations

import threading
from collections.abc import Callable

from projections.db import connect
from projections.registry import FACTORIES, open_store
from service.application import Buurtkas
from service.http import idempotency, tokens
from service.storage import persistence_env
from tests.conftest import fresh_schema

STARTERS = 6
ROUNDS = 5


def start_together(
    database_url: str, starter: Callable[[dict[str, str]], None] | None = None
) -> list[BaseException]:
    """``starter`` (by default: making an application, which makes its tables) run by
    ``STARTERS`` threads at once; the errors raised."""
    barrier = threading.Barrier(STARTERS)
    errors: list[BaseException] = []
    env = persistence_env(database_url)
    run = starter or (lambda env: Buurtkas(env=env).close())

    def start() -> None:
        barrier.wait()
        try:
            run(env)
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

    def test_read_model_stores_opened_on_a_new_store_at_once_all_start(
        self, postgres_database: str
    ) -> None:
        # given an event store whose read-model and service tables do not exist yet
        errors: list[BaseException] = []
        generations: list[dict[str, int]] = []
        for _ in range(ROUNDS):
            with fresh_schema(postgres_database) as database_url:
                Buurtkas(env=persistence_env(database_url)).close()
                # when several processes (a server, a projector) set up their tables at once
                errors += start_together(database_url, open_read_models)
                # then every read model has one active generation, generation 1
                store = open_store(persistence_env(database_url))
                try:
                    generations.append({name: store.ensure(name) for name in FACTORIES})
                    assert store.generations("balances") == [1]
                finally:
                    store.conn.close()
        # and none of them failed, in any round
        assert errors == []
        assert all(set(found.values()) == {1} for found in generations)


def open_read_models(env: dict[str, str]) -> None:
    """What a server or a projector does first: its tables, and every read model's generation."""
    store = open_store(env)
    try:
        for name in FACTORIES:
            store.ensure(name)
    finally:
        store.conn.close()
    conn = connect(env)
    try:
        tokens.setup(conn)
        idempotency.setup_table(conn)
    finally:
        conn.close()
