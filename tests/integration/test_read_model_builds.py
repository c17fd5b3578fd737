"""Read models know the build that made them: code version and risk configuration.

A generation made by another build (a projection whose version was raised, other risk
thresholds) is never folded into; catching up or following rebuilds it side by side and
readers keep the old generation until the swap. Runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any

import orjson
import pytest

from domain.risk import RiskConfig
from projections.balances import Balances
from projections.base import fold
from projections.registry import FACTORIES, runner
from projections.rows import MemoryRows
from projections.runner import Runner, follow_together
from projections.signals import Signals
from projections.store import ReadModelStore, StaleReadModel, table_name
from service.application import Buurtkas
from service.demo import load_demo
from service.integrity import check_read_models
from service.synthetic import generate
from tests.integration.test_projections import pure_fold, stored_rows
from tests.rows import canonical

OTHER = dataclasses.replace(RiskConfig(), version="test-2", late_days=20)
"""Thresholds other than the defaults: the late bookings listed in the rows change too."""


def pure_signals(app: Buurtkas, config: RiskConfig) -> list[tuple[Any, ...]]:
    return canonical("signals", fold(Signals(config), app.stored_events(), MemoryRows()).select())


class Rounds:
    """A ``follow_together`` stop that is set after ``rounds`` polls."""

    def __init__(self, rounds: int) -> None:
        self.left = rounds

    def is_set(self) -> bool:
        return self.left <= 0

    def wait(self, timeout: float) -> bool:
        self.left -= 1
        return self.is_set()


class TestReadModelBuilds:
    def test_a_new_read_model_records_the_build_that_made_it(
        self, app: Buurtkas, store: ReadModelStore
    ) -> None:
        # given
        load_demo(app)
        signals = runner(app, store, "signals", risk=OTHER)
        # when
        signals.catch_up()
        # then
        status = signals.status()
        assert status.build == f"v{Signals.version} risk test-2:{OTHER.digest()}"
        assert status.current
        assert runner(app, store, "balances").status().build == f"v{Balances.version}"

    def test_read_models_built_with_other_thresholds_are_rebuilt_side_by_side_by_a_catch_up(
        self, app: Buurtkas, store: ReadModelStore
    ) -> None:
        # given every read model built with the default thresholds
        load_demo(app)
        for name in FACTORIES:
            runner(app, store, name).catch_up()
        before = {name: store.active_generation(name) for name in FACTORIES}
        assert stored_rows(store, "signals") != pure_signals(app, OTHER)
        # when they are brought up to date with other thresholds
        rebuilt = {name: runner(app, store, name, risk=OTHER).refresh()[1] for name in FACTORIES}
        # then only the signals were rebuilt, into a new generation, by the new thresholds
        assert rebuilt == {name: name == "signals" for name in FACTORIES}
        assert store.active_generation("signals") == (before["signals"] or 0) + 1
        assert stored_rows(store, "signals") == pure_signals(app, OTHER)
        assert {n: store.active_generation(n) for n in FACTORIES if n != "signals"} == {
            n: g for n, g in before.items() if n != "signals"
        }

    def test_a_runner_never_folds_into_a_generation_another_build_made(
        self, app: Buurtkas, store: ReadModelStore
    ) -> None:
        # given signals built with the defaults, and events they have not folded yet
        load_demo(app)
        runner(app, store, "signals").catch_up()
        generation = store.active_generation("signals")
        assert generation is not None
        position = store.position("signals", generation)
        rows = stored_rows(store, "signals")
        generate(app, 200, seed=3)
        # when a runner with other thresholds takes a step
        other = runner(app, store, "signals", risk=OTHER)
        with pytest.raises(StaleReadModel) as raised:
            other.step()
        # then it says which builds differ, and nothing was written
        assert raised.value.built == runner(app, store, "signals").build
        assert raised.value.wanted == other.build
        assert store.position("signals", generation) == position
        assert stored_rows(store, "signals") == rows
        assert not other.status().current

    def test_following_rebuilds_a_stale_read_model_while_readers_keep_the_old_one(
        self, app: Buurtkas, store: ReadModelStore
    ) -> None:
        # given signals built with the defaults
        load_demo(app)
        runner(app, store, "signals").catch_up()
        old = store.active_generation("signals")
        # when a follower with other thresholds runs, noting what readers see meanwhile
        follower = runner(app, store, "signals", batch_size=100, risk=OTHER)
        seen_by_readers: set[int | None] = set()
        follower.on_batch = lambda *_: seen_by_readers.add(store.active_generation("signals"))
        told: list[StaleReadModel] = []
        failures: list[Exception] = []

        def rebuilding(r: Runner, stale: StaleReadModel) -> None:
            told.append(stale)

        follow_together(
            [follower], Rounds(2), lambda r, e: failures.append(e), poll=0, rebuilding=rebuilding
        )
        # then it was told once, readers saw the old generation until the swap, and the
        # new one holds the rows of the new thresholds
        assert failures == []
        assert [stale.wanted for stale in told] == [follower.build]
        assert seen_by_readers == {old}
        assert store.active_generation("signals") != old
        assert stored_rows(store, "signals") == pure_signals(app, OTHER)

    def test_a_generation_made_before_builds_were_recorded_is_rebuilt(
        self, app: Buurtkas, store: ReadModelStore
    ) -> None:
        # given a read model whose build is not recorded (made by an earlier release)
        load_demo(app)
        status = runner(app, store, "status")
        status.catch_up()
        store.conn.execute("DELETE FROM rm_builds WHERE projection = ?", ("status",))
        assert status.status().build is None
        assert not status.status().current
        # when
        _, rebuilt = status.refresh()
        # then
        assert rebuilt
        assert status.status().current
        assert stored_rows(store, "status") == pure_fold(app, "status")

    def test_an_empty_generation_a_reader_made_is_claimed_rather_than_rebuilt(
        self, app: Buurtkas, store: ReadModelStore
    ) -> None:
        # given a generation made by a reader, which knows no build
        load_demo(app)
        assert store.ensure("balances") == 1
        # when a runner brings it up to date
        folded, rebuilt = runner(app, store, "balances").refresh()
        # then it folded into that generation, now recorded as its own
        assert not rebuilt
        assert folded > 0
        assert store.active_generation("balances") == 1
        assert store.build_of("balances", 1) == f"v{Balances.version}"

    def test_dropping_the_inactive_generations_keeps_the_active_one_and_its_rows(
        self, app: Buurtkas, store: ReadModelStore
    ) -> None:
        # given a read model rebuilt twice: the first generation replaced, then the second
        load_demo(app)
        balances = runner(app, store, "balances")
        balances.catch_up()
        first = store.active_generation("balances")
        balances.rebuild()
        second = store.active_generation("balances")
        balances.rebuild()
        active = store.active_generation("balances")
        assert store.generations("balances") == [second, active]
        # when the inactive generations are dropped
        dropped = store.drop_inactive("balances")
        # then only the one the last rebuild replaced was left to drop (the next rebuild
        # had dropped the first), the active one stays with every row, and the next
        # rebuild has nothing to drop
        assert first not in store.generations("balances")
        assert dropped == [second]
        assert store.generations("balances") == [active]
        assert stored_rows(store, "balances") == pure_fold(app, "balances")
        assert store.drop_inactive("balances") == []
        balances.rebuild()
        assert store.generations("balances") == [active, store.active_generation("balances")]

    def test_a_stopped_rebuild_is_resumed_rather_than_begun_again(
        self, app: Buurtkas, store: ReadModelStore
    ) -> None:
        # given a stale read model whose rebuild stopped after its first batch
        load_demo(app)
        generate(app, 600, seed=5)
        runner(app, store, "signals").catch_up()
        old = store.active_generation("signals")
        stopping = runner(app, store, "signals", batch_size=200, risk=OTHER)

        def stop(events: int, position: int) -> None:
            raise KeyboardInterrupt

        stopping.on_batch = stop
        with pytest.raises(KeyboardInterrupt):
            stopping.refresh()
        assert store.active_generation("signals") == old
        # when it is brought up to date again
        resuming = runner(app, store, "signals", batch_size=200, risk=OTHER)
        folded, rebuilt = resuming.refresh()
        # then only the events after the first batch were folded, and the rows are right
        head = resuming.source.head()
        assert rebuilt
        assert folded == head - 200
        assert stored_rows(store, "signals") == pure_signals(app, OTHER)

    def test_the_integrity_check_names_a_stale_read_model_and_passes_once_it_is_rebuilt(
        self, app: Buurtkas, store: ReadModelStore
    ) -> None:
        # given every read model built with the defaults
        load_demo(app)
        for name in FACTORIES:
            runner(app, store, name).catch_up()
        # when the check runs with other thresholds
        result = check_read_models(app, store, OTHER)
        # then it names the signals as stale, with both builds, and compares the others
        assert not result.ok
        assert result.details == [
            {
                "read_model": "signals",
                "difference": "stale",
                "built": runner(app, store, "signals").build,
                "current": runner(app, store, "signals", risk=OTHER).build,
            }
        ]
        assert "signals built by another version or configuration" in result.summary
        assert result.figures["balances"]["differences"] == 0
        # and once the signals are rebuilt with those thresholds, it passes
        runner(app, store, "signals", risk=OTHER).refresh()
        assert check_read_models(app, store, OTHER).ok

    def test_the_integrity_check_names_the_first_fact_of_a_log_that_differs(
        self, app: Buurtkas, store: ReadModelStore
    ) -> None:
        # given the signals folded in batches of 100, so that logs span several rows
        load_demo(app)
        generate(app, 1500, seed=41)
        for name in FACTORIES:
            runner(app, store, name, batch_size=100).catch_up()
        assert check_read_models(app, store, None).ok
        # when one fact of a platform's second log row is changed in the table
        generation = store.active_generation("signals")
        assert generation is not None
        logs = list(store.select("signals", generation, "facts"))
        counts = Counter(platform for _, _, platform, _ in logs)
        platform = next(p for p, rows in counts.items() if rows > 2)
        key, doc = next(
            (k, d) for _, k, p, d in logs if p == platform and not k.endswith(":000000000")
        )
        at = int(key.rsplit(":", 1)[1]) + 1
        replayed = doc["facts"][1]
        changed = {"facts": [doc["facts"][0], ["gone", "tampered"], *doc["facts"][2:]]}
        table = table_name("signals", generation)
        store.conn.execute(
            f"UPDATE {table} SET doc = ? WHERE kind = 'facts' AND key = ?",
            (orjson.dumps(changed).decode(), key),
        )
        result = check_read_models(app, store, None)
        # then the check names the platform's log, how long it is, and the first fact
        # that differs, not the whole log
        assert not result.ok
        facts = sum(len(d["facts"]) for _, _, p, d in logs if p == platform)
        assert result.details == [
            {
                "read_model": "signals",
                "kind": "facts",
                "key": platform,
                "difference": "differs",
                "fields": {
                    "facts": {
                        "stored_items": facts,
                        "replay_items": facts,
                        "first_difference": at,
                        "stored": ["gone", "tampered"],
                        "replay": replayed,
                    }
                },
            }
        ]
