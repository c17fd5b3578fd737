"""Hypothesis: whatever risk thresholds the read models were brought up to date with, in
whatever order and between whatever events, each read model then equals a pure fold of
the history by the build it records, the latest one, on SQLite and on PostgreSQL."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.risk import RiskConfig
from projections.base import fold
from projections.registry import FACTORIES, open_store, projection, runner
from projections.rows import MemoryRows
from service.application import Buurtkas
from service.storage import persistence_env
from service.synthetic import generate
from tests.properties.stores import fresh_stores, on_both_stores, store_examples
from tests.rows import canonical

CONFIGS = [
    RiskConfig(),
    dataclasses.replace(RiskConfig(), version="p-1", late_days=3, approval_limit_cents=50_000),
    dataclasses.replace(RiskConfig(), version="p-2", late_days=40, round_min_n=5),
]
steps = st.lists(
    st.tuples(
        st.sampled_from([0, 20, 60, 150]),  # events appended first (none, or 20 and more)
        st.integers(min_value=0, max_value=len(CONFIGS) - 1),  # then brought up to date with
        st.integers(min_value=7, max_value=120),  # in batches of
    ),
    min_size=1,
    max_size=4,
)


@on_both_stores(12, 4)
def test_read_models_always_hold_the_rows_of_the_build_they_record(
    store_kind: str,
    examples: int,
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    fresh_url = fresh_stores(store_kind, request, tmp_path_factory)

    @store_examples(examples)
    @given(history=steps, seed=st.integers(min_value=0, max_value=999))
    def check(history: list[tuple[int, int, int]], seed: int) -> None:
        with fresh_url() as url:
            app = Buurtkas(env=persistence_env(url))
            store = open_store(app.store_env)
            try:
                generate(app, 40, seed=seed)
                for step, (events, config, batch_size) in enumerate(history):
                    if events:
                        generate(app, events, seed=seed * 10 + step + 1)
                    for name in FACTORIES:
                        runner(app, store, name, batch_size, CONFIGS[config]).refresh()
                latest = CONFIGS[history[-1][1]]
                for name in FACTORIES:
                    fresh = projection(name, latest)
                    generation = store.active_generation(name)
                    assert generation is not None
                    assert store.build_of(name, generation) == fresh.build(), name
                    pure = fold(fresh, app.stored_events(), MemoryRows()).select()
                    stored = store.select(name, generation)
                    assert canonical(name, stored) == canonical(name, pure), name
            finally:
                store.conn.close()
                app.close()

    check()
