"""Rebuilds in several processes at once: a rebuild resumed by a second process, a rebuild
started over by another, two builds following side by side, and the other read models
while one is rebuilt. Each "process" is a runner on a connection of its own. Runs on
SQLite and on PostgreSQL.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from domain.risk import RiskConfig
from projections.registry import open_store, runner
from projections.runner import Runner, follow_together
from projections.store import ConcurrentUpdateError, ReadModelStore, StaleReadModel
from service.application import Buurtkas
from service.demo import load_demo
from service.synthetic import generate
from tests.integration.test_projections import stored_rows
from tests.integration.test_read_model_builds import OTHER, Rounds, pure_signals

THIRD = dataclasses.replace(RiskConfig(), version="test-3", late_days=5)


@pytest.fixture
def other_store(app: Buurtkas) -> Iterator[ReadModelStore]:
    """A second process's connection to the same read models."""
    opened = open_store(app.store_env)
    yield opened
    opened.conn.close()


def stale_signals(app: Buurtkas, store: ReadModelStore) -> int:
    """Given: the demo and 600 more events, signals built with the default thresholds."""
    load_demo(app)
    generate(app, 600, seed=5)
    runner(app, store, "signals").catch_up()
    generation = store.active_generation("signals")
    assert generation is not None
    return generation


@dataclass
class Told:
    """What a follower was told: read models left to a later build, rebuilds begun."""

    superseded: list[StaleReadModel] = field(default_factory=list)
    rebuilding: list[StaleReadModel] = field(default_factory=list)


def follow(
    runners: list[Runner], rounds: int, told: Told | None = None, **options: Any
) -> list[Exception]:
    """Follow for ``rounds`` polls; return the failures."""
    failures: list[Exception] = []
    told = told or Told()
    follow_together(
        runners,
        Rounds(rounds),
        lambda r, e: failures.append(e),
        poll=0,
        superseded=lambda r, stale: told.superseded.append(stale),
        rebuilding=lambda r, stale: told.rebuilding.append(stale),
        **options,
    )
    return failures


def to_the_head(rebuilding: Runner) -> None:
    """The rebuild under way, a batch at a time, to its swap."""
    while rebuilding.rebuilding is not None:
        rebuilding.rebuild_step()


class TestConcurrentRebuilds:
    def test_a_rebuild_resumed_by_a_second_process_takes_turns_and_folds_no_batch_twice(
        self, app: Buurtkas, store: ReadModelStore, other_store: ReadModelStore
    ) -> None:
        # given a follower that has begun rebuilding stale signals, one batch in
        old = stale_signals(app, store)
        follower = runner(app, store, "signals", batch_size=100, risk=OTHER)
        assert follower.begin_rebuild(resume=True) is not None
        follower.rebuild_step()
        # when `buurtkas project` resumes the same rebuild, and the follower commits a
        # batch between its read and its commit (so its commit finds the position moved)
        command = runner(app, other_store, "signals", batch_size=100, risk=OTHER)
        read = command.source.read
        collisions: list[int] = []

        def read_then_let_the_follower_commit(after: int, limit: int) -> list[Any]:
            events = read(after, limit)
            if not collisions and events:
                collisions.append(follower.rebuild_step())
            return events

        command.source.read = read_then_let_the_follower_commit  # type: ignore[method-assign]
        folded, rebuilt = command.refresh()
        # then it finished the rebuild on top of the follower's batches, without an error
        assert rebuilt
        assert collisions == [100]
        assert folded == command.source.head() - 200  # the follower's two batches are not redone
        assert store.active_generation("signals") != old
        assert stored_rows(store, "signals") == pure_signals(app, OTHER)
        # and the follower, going on, finds the rebuild done and swaps nothing else in
        generation = store.active_generation("signals")
        assert follow([follower], 2) == []
        assert store.active_generation("signals") == generation
        assert stored_rows(store, "signals") == pure_signals(app, OTHER)

    def test_a_rebuild_started_over_is_numbered_anew_and_the_dropped_one_never_swaps_in(
        self, app: Buurtkas, store: ReadModelStore, other_store: ReadModelStore
    ) -> None:
        # given a follower part-way through rebuilding stale signals
        stale_signals(app, store)
        follower = runner(app, store, "signals", batch_size=100, risk=OTHER)
        dropped = follower.begin_rebuild(resume=True)
        assert dropped is not None
        follower.rebuild_step()
        # when an operator rebuilds them from the first event (`buurtkas rebuild`)
        operator = runner(app, other_store, "signals", risk=OTHER)
        operator.rebuild(resume=False)
        # then the operator's generation had a number of its own and is active, complete
        active = store.active_generation("signals")
        assert active is not None
        assert active > dropped
        assert stored_rows(store, "signals") == pure_signals(app, OTHER)
        # and the follower's generation, dropped, can no longer be folded nor swapped in
        with pytest.raises(ConcurrentUpdateError):
            follower.rebuild_step()
        assert follower.rebuilding is None
        with pytest.raises(ConcurrentUpdateError):
            store.swap("signals", dropped, follower.build)
        assert store.active_generation("signals") == active
        assert follow([follower], 2) == []
        assert store.active_generation("signals") == active

    def test_a_follower_that_a_later_build_superseded_leaves_the_read_model_to_it(
        self, app: Buurtkas, store: ReadModelStore, other_store: ReadModelStore
    ) -> None:
        # given a follower with the default thresholds that has seen its signals current
        stale_signals(app, store)
        older = runner(app, store, "signals", batch_size=100)
        assert follow([older], 1) == []
        # when a process started later with other thresholds rebuilds them and swaps in
        newer = runner(app, other_store, "signals", batch_size=100, risk=OTHER)
        assert follow([newer], 2) == []
        swapped = store.active_generation("signals")
        generations = store.generations("signals")
        generate(app, 150, seed=8)
        told = Told()
        failures = follow([older], 4, told)
        # then the older follower is told once and leaves them alone: no rebuild back
        assert failures == []
        assert [stale.built for stale in told.superseded] == [newer.build]
        assert told.rebuilding == []
        assert store.active_generation("signals") == swapped
        assert store.generations("signals") == generations  # it began no rebuild
        # and the newer one goes on folding the new events into its generation
        assert follow([newer], 2) == []
        assert store.active_generation("signals") == swapped
        assert stored_rows(store, "signals") == pure_signals(app, OTHER)

    def test_while_one_read_model_is_rebuilt_the_others_keep_following(
        self, app: Buurtkas, store: ReadModelStore
    ) -> None:
        # given balances current up to the demo and signals stale, then 600 new events
        load_demo(app)
        balances = runner(app, store, "balances", batch_size=100)
        balances.catch_up()
        runner(app, store, "signals").catch_up()
        generate(app, 600, seed=5)
        head = balances.source.head()
        # when one follower keeps both, noting the balances' position at each batch of
        # the signals' rebuild
        signals = runner(app, store, "signals", batch_size=100, risk=OTHER)
        generation = store.active_generation("balances")
        assert generation is not None
        seen: list[int] = []
        signals.on_batch = lambda *_: seen.append(store.position("balances", generation))
        assert follow([balances, signals], 2) == []
        # then the balances moved on batch by batch during the rebuild, not after it
        assert len(seen) > 2
        assert seen == sorted(seen)
        assert seen[0] < head
        assert seen[-1] == head
        assert stored_rows(store, "signals") == pure_signals(app, OTHER)

    def test_a_rebuild_of_the_same_build_that_another_follower_left_is_resumed_not_shunned(
        self, app: Buurtkas, store: ReadModelStore, other_store: ReadModelStore
    ) -> None:
        # given two followers with the same new thresholds that both found the signals
        # stale; one began the rebuild, folded a batch and stopped before the swap
        stale_signals(app, store)
        staying = runner(app, store, "signals", batch_size=100, risk=OTHER)
        with pytest.raises(StaleReadModel):
            staying.active()
        stopped = runner(app, other_store, "signals", batch_size=100, risk=OTHER)
        begun = stopped.begin_rebuild(resume=True)
        stopped.rebuild_step()
        # when the other one follows
        told = Told()
        assert follow([staying], 2, told) == []
        # then it was not superseded by its own build: it resumed that rebuild and swapped
        assert told.superseded == []
        assert store.active_generation("signals") == begun
        assert stored_rows(store, "signals") == pure_signals(app, OTHER)

    def test_a_follower_takes_back_a_read_model_that_a_one_shot_command_left_behind(
        self, app: Buurtkas, store: ReadModelStore, other_store: ReadModelStore
    ) -> None:
        # given a follower with the defaults, and `buurtkas project` run once with other
        # thresholds, which rebuilt the signals and ended; then new events
        stale_signals(app, store)
        follower = runner(app, store, "signals", batch_size=100)
        assert follow([follower], 1) == []
        runner(app, other_store, "signals", risk=OTHER).refresh()
        left = store.active_generation("signals")
        generate(app, 150, seed=8)
        told = Told()
        # when the follower goes on, with no grace period before it takes a model back
        failures = follow([follower], 4, told, takeover=0.0)
        # then it first left the model alone, and once nobody had folded the waiting
        # events it rebuilt it with its own thresholds
        assert failures == []
        other = runner(app, store, "signals", risk=OTHER).build
        assert [stale.built for stale in told.superseded] == [other]
        assert [stale.wanted for stale in told.rebuilding] == [follower.build]
        generation = store.active_generation("signals")
        assert generation != left
        assert generation is not None
        assert store.build_of("signals", generation) == follower.build
        assert stored_rows(store, "signals") == pure_signals(app, RiskConfig())

    def test_a_generation_dropped_while_a_batch_is_folded_is_a_concurrent_update(
        self, app: Buurtkas, store: ReadModelStore, other_store: ReadModelStore
    ) -> None:
        # given a rebuild whose generation another process drops after a batch was read
        stale_signals(app, store)
        rebuilding = runner(app, store, "signals", batch_size=100, risk=OTHER)
        read = rebuilding.source.read

        def read_then_dropped(after: int, limit: int) -> list[Any]:
            events = read(after, limit)
            if rebuilding.rebuilding is not None:
                other_store.drop_generation("signals", rebuilding.rebuilding)
            return events

        rebuilding.source.read = read_then_dropped  # type: ignore[method-assign]
        old = store.active_generation("signals")
        # when / then: the database's error about the missing table is reported as such
        with pytest.raises(ConcurrentUpdateError):
            rebuilding.rebuild()
        assert rebuilding.rebuilding is None
        assert store.active_generation("signals") == old

    def test_a_rebuild_overtaken_by_a_later_swap_never_swaps_back_over_it(
        self, app: Buurtkas, store: ReadModelStore, other_store: ReadModelStore
    ) -> None:
        # given a follower filling a rebuild that `buurtkas project` of the same build
        # finished and swapped in, after which a third build rebuilt and swapped its own
        stale_signals(app, store)
        follower = runner(app, store, "signals", batch_size=100, risk=OTHER)
        follower.begin_rebuild(resume=True)
        follower.rebuild_step()
        runner(app, other_store, "signals", risk=OTHER).refresh()
        runner(app, other_store, "signals", risk=THIRD).refresh()
        latest = store.active_generation("signals")
        # when the follower reaches the head of its rebuild
        with pytest.raises(ConcurrentUpdateError):
            to_the_head(follower)
        # then its generation was not swapped in over the later one, nor is it afterwards
        assert store.active_generation("signals") == latest
        told = Told()
        assert follow([follower], 2, told) == []
        assert len(told.superseded) == 1
        assert store.active_generation("signals") == latest
        assert stored_rows(store, "signals") == pure_signals(app, THIRD)

    def test_two_followers_of_two_builds_that_each_rebuilt_at_start_settle_on_the_later(
        self, app: Buurtkas, store: ReadModelStore, other_store: ReadModelStore
    ) -> None:
        # given the signals built once with other thresholds, then with a third set (so
        # a generation of each is there); then `buurtkas project --follow` with the other
        # thresholds, which brings them up to date when it starts, and another with the
        # third set, started later
        stale_signals(app, store)
        runner(app, store, "signals", risk=OTHER).refresh()
        runner(app, store, "signals", risk=THIRD).refresh()
        earlier = runner(app, store, "signals", batch_size=100, risk=OTHER)
        earlier.refresh()
        assert follow([earlier], 1) == []
        later = runner(app, other_store, "signals", batch_size=100, risk=THIRD)
        later.refresh()
        settled = store.active_generation("signals")
        # when both follow, with new events
        generate(app, 150, seed=8)
        told = Told()
        assert follow([earlier, later], 6, told) == []
        # then the earlier one left the read model to the later one: no rebuild, no swap
        assert told.rebuilding == []
        assert [stale.wanted for stale in told.superseded] == [earlier.build]
        assert store.active_generation("signals") == settled
        assert stored_rows(store, "signals") == pure_signals(app, THIRD)
