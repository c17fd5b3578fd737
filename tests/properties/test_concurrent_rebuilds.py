"""Hypothesis: however two followers with the same or other thresholds, an operator's
rebuilds (a batch at a time) and new events interleave, readers only ever see an active
generation that holds exactly the rows of a pure fold, by the build it records, of the
events up to its position (findings of platforms still marked dirty aside: they are
evaluated at the head); and that position never goes back (no half-built generation is
swapped in). On SQLite and on PostgreSQL."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from projections.base import fold
from projections.registry import open_store, projection, runner
from projections.rows import MemoryRows
from projections.runner import Runner, follow_step
from projections.store import ConcurrentUpdateError, ReadModelStore
from service.application import Buurtkas
from service.storage import persistence_env
from service.synthetic import generate
from tests.properties.stores import fresh_stores, on_both_stores, store_examples
from tests.properties.test_read_model_builds import CONFIGS
from tests.rows import canonical

NAME = "signals"
follow = st.tuples(st.just("follow"), st.integers(min_value=0, max_value=2))
"""A batch of follower 0 or 1, or of the operator's rebuild under way (2)."""
moves = st.lists(
    st.one_of(
        follow,
        follow,  # mostly batches of the followers, between fewer other moves
        follow,
        st.tuples(st.just("append"), st.sampled_from([20, 45])),
        st.tuples(st.just("rebuild"), st.integers(min_value=0, max_value=len(CONFIGS) - 1)),
    ),
    min_size=1,
    max_size=20,
)


def check_active(app: Buurtkas, store: ReadModelStore, floor: int) -> int:
    """The active generation holds its build's pure fold up to its position, not below
    ``floor``; return that position."""
    generation = store.active_generation(NAME)
    if generation is None:  # no runner has looked yet
        return floor
    position = store.position(NAME, generation)
    assert position >= floor, f"generation {generation} at {position}, readers saw {floor}"
    build = store.build_of(NAME, generation)
    if build is None:
        assert position == 0
        return position
    config = next(c for c in CONFIGS if projection(NAME, c).build() == build)
    events = app.stored_events(1, position) if position else iter(())
    pure = canonical(NAME, fold(projection(NAME, config), events, MemoryRows()).select())
    stored = canonical(NAME, store.select(NAME, generation))
    # a batch short of the head leaves its platforms marked dirty, their findings to be
    # evaluated when the head is reached (a pure fold evaluates them at its end)
    dirty = {key for kind, key, _, _ in stored if kind == "dirty"}
    assert _without(stored, dirty) == _without(pure, dirty)
    return position


def _without(rows: list[tuple[Any, ...]], dirty: set[str]) -> list[tuple[Any, ...]]:
    """``rows`` but the dirty marks and the findings of the platforms marked dirty."""
    return [r for r in rows if r[0] != "dirty" and not (r[0] == "findings" and r[1] in dirty)]


@on_both_stores(30, 6)
def test_readers_only_see_whole_generations_of_the_build_they_record(
    store_kind: str,
    examples: int,
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    fresh_url = fresh_stores(store_kind, request, tmp_path_factory)

    @store_examples(examples)
    @given(
        followers=st.tuples(*(st.integers(min_value=0, max_value=len(CONFIGS) - 1),) * 2),
        batch=st.integers(min_value=7, max_value=60),
        plan=moves,
        seed=st.integers(min_value=0, max_value=999),
    )
    def check(followers: tuple[int, int], batch: int, plan: list[Any], seed: int) -> None:
        with fresh_url() as url:
            app = Buurtkas(env=persistence_env(url))
            stores = [open_store(app.store_env) for _ in range(3)]
            try:
                generate(app, 60, seed=seed)
                runners: list[Runner] = [
                    runner(app, stores[i], NAME, batch, CONFIGS[c]) for i, c in enumerate(followers)
                ]
                told: list[dict[str, int]] = [{}, {}]
                floor = 0
                for step, (move, arg) in enumerate(plan):
                    if move == "append":
                        generate(app, arg, seed=seed * 100 + step + 1)
                    elif move == "rebuild":  # `buurtkas rebuild`, from the first event
                        operator = runner(app, stores[2], NAME, batch, CONFIGS[arg])
                        operator.begin_rebuild(resume=False)
                        runners[2:] = [operator]
                    elif arg < 2:
                        # as the follower does: on a batch another committed first, go on
                        with contextlib.suppress(ConcurrentUpdateError):
                            follow_step(runners[arg], told[arg], None, None)
                    elif len(runners) > 2:
                        with contextlib.suppress(ConcurrentUpdateError):
                            runners[2].rebuild_step()
                    floor = check_active(app, stores[0], floor)
            finally:
                for store in stores:
                    store.conn.close()
                app.close()

    check()
