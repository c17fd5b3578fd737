"""Hypothesis: findings evaluated by worker processes equal those evaluated in one process.

For random histories, catch-ups in random batch sizes and random shares of platforms per
worker, the signals read model a runner keeps with worker processes equals a pure fold
that evaluates every platform itself, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor

import pytest
from hypothesis import given
from hypothesis import strategies as st

from projections import signals as signals_module
from projections import workers as workers_module
from projections.base import fold
from projections.registry import open_store, runner
from projections.rows import MemoryRows
from projections.signals import Signals
from service.application import Buurtkas
from service.storage import persistence_env
from service.synthetic import generate
from tests.properties.stores import fresh_stores, on_both_stores, store_examples
from tests.rows import canonical


@on_both_stores(6, 3)
def test_findings_evaluated_by_workers_equal_those_evaluated_in_one_process(
    store_kind: str,
    examples: int,
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fresh_url = fresh_stores(store_kind, request, tmp_path_factory)
    monkeypatch.setattr(signals_module, "PARALLEL_FACTS", 1)
    pools: list[int] = []
    pool_of = workers_module.worker_pool

    def counted(workers: int) -> ProcessPoolExecutor:
        pools.append(workers)
        return pool_of(workers)

    monkeypatch.setattr(signals_module, "worker_pool", counted)

    @store_examples(examples)
    @given(
        events=st.lists(st.integers(min_value=100, max_value=600), min_size=1, max_size=2),
        batch_size=st.integers(min_value=1, max_value=500),
        share=st.integers(min_value=1, max_value=400),
        workers=st.integers(min_value=2, max_value=3),
        seed=st.integers(min_value=0, max_value=999),
    )
    def check(events: list[int], batch_size: int, share: int, workers: int, seed: int) -> None:
        # given a platform's facts shared out ``share`` facts at a time
        monkeypatch.setattr(signals_module, "FINISH_FACTS", share)
        pools.clear()
        with fresh_url() as url:
            app = Buurtkas(env=persistence_env(url))
            store = open_store(app.store_env)
            try:
                signals = runner(app, store, "signals", batch_size)
                assert isinstance(signals.projection, Signals)
                signals.projection.workers = workers
                # when the history grows and the runner catches up after each step
                for step, count in enumerate(events):
                    generate(app, count, seed=seed * 10 + step)
                    signals.catch_up()
                # then the rows equal a fold that evaluated every platform itself
                alone = fold(Signals(workers=1), app.stored_events(), MemoryRows()).select()
                rows = canonical("signals", store.select("signals", store.ensure("signals")))
                assert rows == canonical("signals", alone)
                # and workers evaluated them whenever there were facts to evaluate
                logged = sum(int(doc["facts"]) for kind, _, _, doc in rows if kind == "head")
                assert len(pools) >= (1 if logged else 0)
                assert set(pools) <= {workers}
            finally:
                store.conn.close()
                app.close()

    check()
