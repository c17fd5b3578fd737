"""Hypothesis: for random histories, incremental read models equal a rebuild and a pure fold.

Histories grow in random steps (the demo, synthetic events with random seeds, and
corrections); the runners catch up between steps with random batch sizes. Afterwards
every read model equals a rebuild from the first event and a pure fold over the events,
on SQLite and on PostgreSQL; so do the signals rebuilt from events that worker processes
read and digested ahead of the fold.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from projections.base import StoredRow, fold
from projections.registry import FACTORIES, open_store, runner
from projections.rows import MemoryRows
from projections.signals import Signals
from projections.store import ReadModelStore
from service.application import Buurtkas
from service.demo import load_demo
from service.storage import persistence_env
from service.synthetic import generate
from tests.properties.stores import fresh_stores, on_both_stores, store_examples
from tests.rows import canonical

steps = st.lists(
    st.tuples(st.integers(min_value=20, max_value=400), st.integers(min_value=1, max_value=97)),
    min_size=1,
    max_size=3,
)


@on_both_stores(25, 8)
def test_incremental_read_models_equal_a_rebuild_and_a_pure_fold(
    store_kind: str,
    examples: int,
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    fresh_url = fresh_stores(store_kind, request, tmp_path_factory)

    @store_examples(examples)
    @given(with_demo=st.booleans(), history=steps, seed=st.integers(min_value=0, max_value=999))
    def check(with_demo: bool, history: list[tuple[int, int]], seed: int) -> None:
        with fresh_url() as url:
            app = Buurtkas(env=persistence_env(url))
            store = open_store(app.store_env)
            try:
                if with_demo:
                    load_demo(app)
                for step, (events, batch_size) in enumerate(history):
                    generate(app, events, seed=seed * 10 + step)
                    for name in FACTORIES:
                        runner(app, store, name, batch_size).catch_up()
                incremental = {n: stored(store, n) for n in FACTORIES}
                for name in FACTORIES:
                    runner(app, store, name, 211).rebuild()
                pure: dict[str, list[tuple[Any, ...]]] = {}
                for name in FACTORIES:
                    folded = fold(FACTORIES[name](), app.stored_events(), MemoryRows())
                    pure[name] = canonical(name, folded.select())
                    rebuilt = stored(store, name)
                    assert incremental[name] == rebuilt == pure[name], name
                digested = runner(app, store, "signals", 211)
                assert isinstance(digested.projection, Signals)
                digested.projection.workers = 2  # its events read and digested by workers
                digested.pipeline_from = digested.pipeline_batch = 1
                digested.rebuild()
                assert stored(store, "signals") == pure["signals"]
            finally:
                store.conn.close()
                app.close()

    check()


def stored(store: ReadModelStore, name: str) -> list[StoredRow]:
    return canonical(name, store.select(name, store.ensure(name)))
