"""Hypothesis: for random histories, incremental read models equal a rebuild and a pure fold.

Histories grow in random steps (the demo, synthetic events with random seeds, and
corrections); the runners catch up between steps with random batch sizes. Afterwards
every read model equals a rebuild from the first event and a pure fold over the events,
on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from projections.base import fold
from projections.registry import FACTORIES, open_store, runner
from projections.rows import MemoryRows
from service.application import Buurtkas
from service.demo import load_demo
from service.storage import persistence_env
from service.synthetic import generate
from tests.conftest import fresh_schema

steps = st.lists(
    st.tuples(st.integers(min_value=20, max_value=400), st.integers(min_value=1, max_value=97)),
    min_size=1,
    max_size=3,
)


@contextmanager
def fresh_url(kind: str, postgres_url: str | None, tmp: str) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp}/{secrets.token_hex(4)}.db"
        return
    assert postgres_url is not None
    with fresh_schema(postgres_url) as url:
        yield url


@pytest.mark.parametrize(
    ("store_kind", "examples"),
    [("sqlite", 25), pytest.param("postgres", 8, marks=pytest.mark.postgres)],
)
def test_incremental_read_models_equal_a_rebuild_and_a_pure_fold(
    store_kind: str,
    examples: int,
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    postgres_url = (
        request.getfixturevalue("postgres_database") if store_kind == "postgres" else None
    )
    tmp = str(tmp_path_factory.mktemp("equivalence"))

    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(with_demo=st.booleans(), history=steps, seed=st.integers(min_value=0, max_value=999))
    def check(with_demo: bool, history: list[tuple[int, int]], seed: int) -> None:
        with fresh_url(store_kind, postgres_url, tmp) as url:
            app = Buurtkas(env=persistence_env(url))
            store = open_store(app.store_env)
            try:
                if with_demo:
                    load_demo(app)
                for step, (events, batch_size) in enumerate(history):
                    generate(app, events, seed=seed * 10 + step)
                    for name in FACTORIES:
                        runner(app, store, name, batch_size).catch_up()
                incremental = {n: list(store.select(n, store.ensure(n))) for n in FACTORIES}
                for name in FACTORIES:
                    runner(app, store, name, 211).rebuild()
                for name in FACTORIES:
                    pure = list(fold(FACTORIES[name](), app.stored_events(), MemoryRows()).select())
                    rebuilt = list(store.select(name, store.ensure(name)))
                    assert incremental[name] == rebuilt == pure, name
            finally:
                store.conn.close()
                app.close()

    check()
