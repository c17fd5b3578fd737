"""Hypothesis: a replay that decodes only the fields its folds read equals one that decodes
whole events, for random histories, platforms and points in time, on SQLite and on
PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.platform import Platform
from projections.balances import Balances
from projections.base import Projection
from projections.events import EventSource
from projections.registry import open_store, runner
from projections.replay import _replay, platform_positions, read_by
from projections.signals import Signals
from projections.status import Status
from service.application import Buurtkas
from service.demo import load_demo
from service.storage import persistence_env
from service.synthetic import generate
from tests.properties.stores import fresh_stores, on_both_stores, store_examples


def folds(as_of: date | None) -> list[Projection]:
    return [Balances(), Status(), Signals(clock=as_of)]


@on_both_stores(15, 5)
def test_a_replay_reading_the_fields_its_folds_name_equals_one_reading_whole_events(
    store_kind: str,
    examples: int,
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    fresh_url = fresh_stores(store_kind, request, tmp_path_factory)

    @store_examples(examples)
    @given(
        events=st.integers(min_value=50, max_value=600),
        seed=st.integers(min_value=0, max_value=999),
        pick=st.integers(min_value=0, max_value=10_000),
        days=st.one_of(st.none(), st.integers(min_value=0, max_value=3 * 365)),
    )
    def check(events: int, seed: int, pick: int, days: int | None) -> None:
        with fresh_url() as url:
            app = Buurtkas(env=persistence_env(url))
            store = open_store(app.store_env)
            try:
                # given: a history, its platform index, one of its platforms and a date
                load_demo(app)
                generate(app, events, seed=seed)
                runner(app, store, "platform_index").catch_up()
                platforms = [
                    e.originator_id
                    for _, e in app.stored_events()
                    if isinstance(e, Platform.Registered)
                ]
                platform_id = platforms[pick % len(platforms)]
                as_of = None if days is None else date(2019, 6, 1) + timedelta(days=days)
                positions = platform_positions(app, store, platform_id)
                key = str(platform_id)
                # when: it is replayed reading narrowly, and reading whole events
                narrow_folds = folds(as_of)
                narrow_source = EventSource(app, store.conn, read_by(narrow_folds))
                narrow = _replay(narrow_source, narrow_folds, positions, key, as_of, None)
                whole = _replay(
                    EventSource(app, store.conn), folds(as_of), positions, key, as_of, None
                )
                # then
                assert narrow == whole
            finally:
                store.conn.close()
                app.close()

    check()
