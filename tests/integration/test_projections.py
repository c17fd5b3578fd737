"""Read models through a real store (SQLite and PostgreSQL): exactly-once, rebuild, replay."""

from __future__ import annotations

import gc
import sqlite3
import time
from collections.abc import Iterator
from datetime import date
from typing import Any
from uuid import UUID

import orjson
import pytest

from domain.expense import Expense
from domain.grant import Grant
from projections import runner as runner_module
from projections import signals as signals_module
from projections import workers as workers_module
from projections.balances import budget_figures, grant_figures, platform_figures
from projections.base import fold
from projections.committer import Committer
from projections.db import COMMIT_CACHE_MIB, COMMIT_WAL_PAGES
from projections.registry import FACTORIES, runner, runners
from projections.replay import replay_platform
from projections.rows import BatchRows, MemoryRows
from projections.signals import Signals
from projections.signals_facts import findings_elsewhere
from projections.store import ConcurrentUpdateError, Encoded, ReadModelStore, Row, table_name
from service.application import Buurtkas
from service.demo import load_demo
from service.reports import find_platform, platform_balances
from service.synthetic import generate
from tests.integration.failing_findings import dying_findings
from tests.integration.failing_findings import findings_elsewhere as failing_findings
from tests.integration.givens import (
    OFFICIAL,
    TREASURER,
    eur,
    given_first_tranche_paid,
    given_platform,
)
from tests.integration.test_commands import line_for
from tests.rows import canonical


def platform_doc(store: ReadModelStore, platform_id: UUID) -> dict[str, Any]:
    """The balances document of one platform, as committed."""
    generation = store.active_generation("balances")
    assert generation is not None
    rows = list(store.select("balances", generation, "platform", str(platform_id)))
    assert len(rows) == 1
    return dict(rows[0][3])


def stored_rows(store: ReadModelStore, name: str) -> list[tuple[Any, ...]]:
    generation = store.active_generation(name)
    assert generation is not None
    return canonical(name, store.select(name, generation))


def signals_runner(
    app: Buurtkas, store: ReadModelStore, batch_size: int, workers: int
) -> runner_module.Runner:
    """A runner of the signals that evaluates findings in ``workers`` processes."""
    found = runner(app, store, "signals", batch_size=batch_size)
    assert isinstance(found.projection, Signals)
    found.projection.workers = workers
    return found


def pure_fold(app: Buurtkas, name: str) -> list[tuple[Any, ...]]:
    return canonical(name, fold(FACTORIES[name](), app.stored_events(), MemoryRows()).select())


def signals_rebuilt_in_batches(
    app: Buurtkas, store: ReadModelStore, monkeypatch: pytest.MonkeyPatch, batch_size: int
) -> list[Encoded]:
    """Rebuild the signals in batches of ``batch_size``; return each batch's writes."""
    batches: list[Encoded] = []
    commit = ReadModelStore.commit_encoded

    def recorded(self: ReadModelStore, *args: Any, **kwargs: Any) -> None:
        batches.append(args[4])
        commit(self, *args, **kwargs)

    monkeypatch.setattr(ReadModelStore, "commit_encoded", recorded)
    runner(app, store, "signals", batch_size).rebuild()
    return batches


class TestReadModels:
    def test_every_read_model_equals_a_pure_fold_of_the_history(
        self, app: Buurtkas, store: ReadModelStore
    ) -> None:
        # given
        load_demo(app)
        generate(app, 3000, seed=8)
        # when
        for r in runners(app, store, batch_size=257):
            r.catch_up()
        # then
        for name in FACTORIES:
            assert stored_rows(store, name) == pure_fold(app, name), name

    def test_a_finance_governance_finding_names_each_submission_and_approval_once(
        self, app: Buurtkas
    ) -> None:
        # given the demo, where the G-buurt's receipts came with its expenses
        load_demo(app)
        platform = find_platform(app, "G-buurt").originator_id
        events = list(app.stored_events())
        expenses = {
            e.originator_id
            for _, e in events
            if isinstance(e, Expense.Submitted) and e.platform_id == platform
        }
        behind = sorted(
            p
            for p, e in events
            if isinstance(e, Expense.Submitted | Expense.Approved) and e.originator_id in expenses
        )
        # when
        rows = fold(Signals(), events, MemoryRows())
        # then the finding that finance is in two hands names those events, each once
        found = rows.get("findings", str(platform))
        assert found is not None
        [finance] = [f for f in found["findings"] if "submitted and approved by" in f["detail"]]
        assert finance["positions"] == behind
        assert len(behind) == 2 * len(expenses)

    def test_a_catch_up_keeps_the_collector_paused_between_batches_and_resumes_it_after(
        self, app: Buurtkas, store: ReadModelStore
    ) -> None:
        # given a history, and a runner that notes after each batch whether it runs
        load_demo(app)
        between: list[bool] = []
        r = runner(app, store, "status", batch_size=50)
        r.on_batch = lambda events, position: between.append(gc.isenabled())
        assert gc.isenabled()
        # when it catches up over several batches
        r.catch_up()
        # then the collector stayed paused from batch to batch, and runs again after
        assert len(between) > 1
        assert set(between) == {False}
        assert gc.isenabled()

    def test_signals_evaluated_in_small_groups_of_platforms_equal_a_pure_fold(
        self, app: Buurtkas, store: ReadModelStore, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # given platforms evaluated again a few logged facts at a time
        monkeypatch.setattr(signals_module, "FINISH_FACTS", 40)
        grouped: list[list[str]] = []
        groups = signals_module._groups

        def recorded(rows: Any, platforms: list[str]) -> Iterator[list[str]]:
            for group in groups(rows, platforms):
                grouped.append(group)
                yield group

        monkeypatch.setattr(signals_module, "_groups", recorded)
        load_demo(app)
        generate(app, 2000, seed=12)
        signals = runner(app, store, "signals", batch_size=300)
        # when
        signals.catch_up()
        generate(app, 300, seed=13)
        signals.catch_up()
        # then the platforms were read in several groups, and the rows are the same
        assert len(grouped) > 2
        assert stored_rows(store, "signals") == pure_fold(app, "signals")

    def test_signals_evaluated_in_worker_processes_equal_a_pure_fold(
        self, app: Buurtkas, store: ReadModelStore, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # given many facts to evaluate at once, shared out a few platforms at a time
        monkeypatch.setattr(signals_module, "PARALLEL_FACTS", 1)
        monkeypatch.setattr(signals_module, "FINISH_FACTS", 40)
        shares: list[list[str]] = []
        pool_of = workers_module.worker_pool

        def recorded(workers: int) -> Any:
            pool = pool_of(workers)
            submit = pool.submit

            def counted(evaluate: Any, *args: Any) -> Any:
                shares.append([platform for platform, *_ in args[3]])
                return submit(evaluate, *args)

            pool.submit = counted  # type: ignore[method-assign,assignment]
            return pool

        monkeypatch.setattr(signals_module, "worker_pool", recorded)
        load_demo(app)
        generate(app, 2000, seed=12)
        signals = signals_runner(app, store, 300, workers=2)
        # when
        signals.catch_up()
        first = len(shares)
        generate(app, 300, seed=13)
        signals.catch_up()
        # then the workers evaluated several shares, each platform once per catch-up, and
        # the rows equal a fold that evaluated every platform in this process
        assert first > 2
        assert len(shares) > first
        for catch_up in (shares[:first], shares[first:]):
            evaluated = [platform for share in catch_up for platform in share]
            assert len(evaluated) == len(set(evaluated))
        assert len({platform for share in shares for platform in share}) > 3
        alone = fold(Signals(workers=1), app.stored_events(), MemoryRows()).select()
        assert stored_rows(store, "signals") == canonical("signals", alone)

    def test_the_workers_fork_server_is_started_once_with_the_first_long_batch(
        self, app: Buurtkas, store: ReadModelStore, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # given signals with workers, batches counted as long from 100 events
        started: list[int] = []
        monkeypatch.setattr(signals_module, "warm_up", lambda: started.append(1))
        monkeypatch.setattr(signals_module, "WARM_FROM", 100)
        load_demo(app)
        signals = signals_runner(app, store, 100, workers=2)
        # when it folds the demo's history in several batches of 100 events
        signals.catch_up()
        # then the fork server was started once, with the first batch
        assert store.position("signals", store.ensure("signals")) > 300
        assert started == [1]
        # and signals without workers never start it, rebuilt in the same batches
        single = signals_runner(app, store, 100, workers=1)
        assert single.rebuild() > 300
        assert started == [1]

    def test_findings_a_dead_worker_left_are_evaluated_by_the_runner(
        self, app: Buurtkas, store: ReadModelStore, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # given workers that end in the middle of their work, a few platforms each
        monkeypatch.setattr(signals_module, "PARALLEL_FACTS", 1)
        monkeypatch.setattr(signals_module, "FINISH_FACTS", 40)
        monkeypatch.setattr(signals_module, "findings_elsewhere", dying_findings)
        load_demo(app)
        generate(app, 1000, seed=14)
        signals = signals_runner(app, store, 5000, workers=2)
        # when the runner catches up
        signals.catch_up()
        # then it evaluated the findings itself: the rows equal a fold in one process
        alone = fold(Signals(workers=1), app.stored_events(), MemoryRows()).select()
        assert stored_rows(store, "signals") == canonical("signals", alone)
        assert (
            store.position("signals", store.ensure("signals")) == app.recorder.max_notification_id()
        )

    def test_a_findings_worker_that_fails_leaves_nothing_of_its_batch(
        self, app: Buurtkas, store: ReadModelStore, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # given a history whose findings are evaluated by workers, which fail
        monkeypatch.setattr(signals_module, "PARALLEL_FACTS", 1)
        monkeypatch.setattr(signals_module, "findings_elsewhere", failing_findings)
        load_demo(app)
        signals = signals_runner(app, store, 100_000, workers=2)
        # when the runner catches up
        with pytest.raises(RuntimeError, match="could not be evaluated"):
            signals.catch_up()
        # then nothing of the batch was kept: no rows, and the position did not move
        generation = store.ensure("signals")
        assert store.position("signals", generation) == 0
        assert stored_rows(store, "signals") == []
        # and once the workers evaluate, the rows equal a pure fold
        monkeypatch.setattr(signals_module, "findings_elsewhere", findings_elsewhere)
        signals.catch_up()
        assert stored_rows(store, "signals") == pure_fold(app, "signals")

    def test_new_events_are_folded_incrementally(
        self, app: Buurtkas, store: ReadModelStore
    ) -> None:
        # given
        load_demo(app)
        balances = runner(app, store, "balances")
        balances.catch_up()
        # when
        generate(app, 500, seed=9)
        processed = balances.catch_up()
        # then
        assert processed == 500
        assert balances.status().lag == 0
        assert stored_rows(store, "balances") == pure_fold(app, "balances")

    def test_platform_balances_match_the_ledger_fold(
        self, app: Buurtkas, store: ReadModelStore
    ) -> None:
        # given
        load_demo(app)
        runner(app, store, "balances").catch_up()
        # when
        generation = store.ensure("balances")
        docs = {
            doc["name"]: platform_figures(doc)
            for _, _, _, doc in store.select("balances", generation, "platform")
        }
        # then
        for expected in platform_balances(app):
            got = docs[expected.name]
            assert (
                got["received"],
                got["spent"],
                got["unexplained_outflows"],
                got["cash_on_hand"],
                got["funds"],
            ) == (
                expected.received.cents,
                expected.spent.cents,
                expected.unexplained.cents,
                expected.cash_withdrawn_unaccounted.cents,
                expected.funds.cents,
            )

    @pytest.mark.parametrize("retroactive", [True, False])
    def test_a_grants_figures_count_what_is_to_recover_as_the_grant_does(
        self, app: Buurtkas, store: ReadModelStore, retroactive: bool
    ) -> None:
        # given a grant paid 50,000, revoked, a claim of 50,000, and then a refund of 20,000
        # and a recovery of 10,000
        day = date(2020, 6, 1)
        _, platform_id, grant_id = given_first_tranche_paid(app, day)
        app.revoke_grant(
            grant_id,
            effective_on=day if retroactive else date(2020, 6, 2),
            retroactive=retroactive,
            decision_ref="INTREKKING-1",
            reason="no longer recognised",
            occurred_on=day,
            actor=OFFICIAL,
        )
        app.claim_recovery(
            grant_id,
            amount=eur("50000"),
            decision_ref="TERUGVORDERING-1",
            reason="paid without ground",
            occurred_on=day,
            actor=OFFICIAL,
        )
        app.receive_refund(grant_id, amount=eur("20000"), occurred_on=day, actor=OFFICIAL)
        app.receive_recovery(grant_id, amount=eur("10000"), occurred_on=day, actor=OFFICIAL)
        # when
        for r in runners(app, store):
            r.catch_up()
        # then the read model, a replay and the grant say the same: 20,000 still to recover
        grant = app.load(Grant, grant_id, "grant")
        doc = store.get("balances", store.ensure("balances"), "grant", str(grant_id))
        assert doc is not None
        assert grant_figures(doc)["to_recover"] == grant.to_recover.cents == 20_000_00
        replayed = replay_platform(
            app, store, platform_id, position=app.recorder.max_notification_id()
        )
        assert [g["to_recover"] for g in replayed.grants] == [20_000_00]
        assert stored_rows(store, "balances") == pure_fold(app, "balances")

    def test_district_budgets_show_allocated_awarded_paid_out_and_available(
        self, app: Buurtkas, store: ReadModelStore
    ) -> None:
        # given
        load_demo(app)
        # when
        runner(app, store, "balances").catch_up()
        generation = store.ensure("balances")
        budgets = {
            (f["district"], f["year"]): f
            for f in (
                budget_figures(doc)
                for _, _, _, doc in store.select("balances", generation, "budget")
            )
        }
        # then: K-buurt 250,000 paid in full; G-buurt 125,000 paid, the rest released
        zuidoost = budgets[("Zuidoost", 2019)]
        assert (
            zuidoost["allocated"],
            zuidoost["awarded"],
            zuidoost["paid_out"],
            zuidoost["available"],
        ) == (500_000_00, 375_000_00, 375_000_00, 125_000_00)
        assert zuidoost["returned"] == 22_485_27 + 22_650_00 + 39_350_00

    def test_a_second_runner_cannot_commit_the_same_batch_twice(
        self, app: Buurtkas, store: ReadModelStore
    ) -> None:
        # given: two runners read the same batch from the same position
        load_demo(app)
        first, second = runner(app, store, "balances", 100), runner(app, store, "balances", 100)
        generation = store.ensure("balances")
        stale = store.position("balances", generation)
        first.step()
        # when
        with pytest.raises(ConcurrentUpdateError):
            store.commit_batch("balances", generation, stale, 100, {}, require_active=True)
        second.catch_up()
        # then
        assert stored_rows(store, "balances") == pure_fold(app, "balances")

    def test_runners_taking_turns_never_fold_from_rows_another_one_replaced(
        self, app: Buurtkas, store: ReadModelStore
    ) -> None:
        # given: two runners per read model, each keeping the rows of its last batch
        load_demo(app)
        generate(app, 1500, seed=5)
        pairs = [(runner(app, store, n, 97), runner(app, store, n, 131)) for n in FACTORIES]
        # when: they take turns, each continuing from where the other one committed
        for turn in range(40):
            for pair in pairs:
                pair[turn % 2].step()
        for first, second in pairs:
            first.catch_up()
            second.catch_up()
        # and one of them fails mid-batch (its rows half changed), then carries on
        generate(app, 300, seed=6)
        first = pairs[0][0]
        fold_one = first.projection.apply
        folded = 0

        def fail_after_ten(rows: Any, position: int, event: Any) -> None:
            nonlocal folded
            folded += 1
            if folded > 10:
                raise RuntimeError("failed mid-batch")
            fold_one(rows, position, event)

        first.projection.apply = fail_after_ten  # type: ignore[method-assign]
        with pytest.raises(RuntimeError):
            first.step()
        first.projection.apply = fold_one  # type: ignore[method-assign]
        for one, _ in pairs:
            one.catch_up()
        # then
        for name in FACTORIES:
            assert stored_rows(store, name) == pure_fold(app, name), name

    def test_a_batch_committed_in_the_background_from_a_stale_position_is_refused(
        self, app: Buurtkas, store: ReadModelStore
    ) -> None:
        # given
        load_demo(app)
        generation = store.ensure("status")
        committer = Committer(store)
        # when: the second batch claims to start where the first one started
        committer.submit("status", generation, 0, 10, Encoded([], []), require_active=True)
        committer.submit("status", generation, 0, 20, Encoded([], []), require_active=True)
        # then
        with pytest.raises(ConcurrentUpdateError):
            committer.wait()
        committer.close()
        assert store.position("status", generation) == 10

    def test_a_committing_connection_to_sqlite_keeps_a_larger_page_cache_than_a_reader(
        self, app: Buurtkas, store: ReadModelStore
    ) -> None:
        # given: the store a runner uses, and the committer it opens
        committer = Committer(store)
        # when
        cache = committer.executor.submit(
            lambda: (
                committer.store.conn.execute("PRAGMA cache_size")
                if committer.store.conn.dialect == "sqlite"
                else None
            )
        ).result()
        committer.close()
        # then: on SQLite the committing connection's cache is COMMIT_CACHE_MIB, the
        # reading one keeps SQLite's default; PostgreSQL has no such setting per session
        if store.conn.dialect != "sqlite":
            assert cache is None
            return
        assert cache == [(-1024 * COMMIT_CACHE_MIB,)]
        assert store.conn.execute("PRAGMA cache_size") == [(-2000,)]

    def test_a_committing_connection_to_sqlite_leaves_its_wal_copied_into_the_file(
        self, app: Buurtkas, store: ReadModelStore
    ) -> None:
        if store.conn.dialect != "sqlite":
            pytest.skip("PostgreSQL has no write-ahead log per connection")
        # given: a generation, and a committer whose WAL holds more pages than SQLite's
        # default threshold before it copies them
        generation = store.ensure("status")
        committer = Committer(store)
        thresholds = committer.executor.submit(
            lambda: committer.store.conn.execute("PRAGMA wal_autocheckpoint")
        ).result()
        doc = orjson.dumps({"pad": "x" * 900}).decode()
        rows: list[Row] = [("platform", f"p{n}", f"p{n}", doc) for n in range(20)]
        # when: it commits a batch, and closes
        committer.submit("status", generation, 0, 10, Encoded([], [], rows), require_active=True)
        committer.wait()
        committer.close()
        # then: the file itself (read without the WAL) holds the batch and its position
        assert thresholds == [(COMMIT_WAL_PAGES,)]
        assert store.conn.execute("PRAGMA wal_autocheckpoint") == [(1000,)]
        path = app.store_env["SQLITE_DBNAME"]
        with sqlite3.connect(f"file:{path}?immutable=1", uri=True) as file_only:
            table = table_name("status", generation)
            query = "SELECT position FROM rm_tracking WHERE projection = 'status'"
            assert file_only.execute(query).fetchall() == [(10,)]
            assert file_only.execute(f"SELECT COUNT(*) FROM {table}").fetchall() == [(20,)]

    def test_a_rebuild_fills_a_new_generation_and_swaps_it_in(
        self, app: Buurtkas, store: ReadModelStore
    ) -> None:
        # given
        load_demo(app)
        status = runner(app, store, "status", batch_size=50)
        status.catch_up()
        seen_during_rebuild: set[int | None] = set()
        status.on_batch = lambda *_: seen_during_rebuild.add(store.active_generation("status"))
        # when
        folded = status.rebuild()
        # then
        assert folded == app.recorder.max_notification_id()
        assert seen_during_rebuild == {1}  # readers kept the complete old model meanwhile
        assert store.active_generation("status") == 2
        assert store.generations("status") == [1, 2]  # the old one stays for its readers
        assert stored_rows(store, "status") == pure_fold(app, "status")
        status.rebuild()
        assert store.generations("status") == [2, 3]  # dropped by the next rebuild

    def test_a_runner_times_each_phase_of_its_batches_within_its_own_time(
        self, app: Buurtkas, store: ReadModelStore
    ) -> None:
        # given
        load_demo(app)
        signals = runner(app, store, "signals", batch_size=100)
        # when
        started = time.perf_counter()
        signals.rebuild()
        elapsed = time.perf_counter() - started
        # then every phase took some time (the last batch reached the head: findings)
        spent = signals.phases.seconds
        assert set(spent) == set(runner_module.PHASES)
        assert all(seconds > 0 for seconds in spent.values())
        assert sum(spent.values()) <= elapsed
        # and a catch-up with nothing to fold adds time only to reading (and to waiting
        # for the committer)
        before = dict(spent)
        signals.catch_up()
        assert {p: s for p, s in spent.items() if s != before[p]}.keys() <= {"read", "commit"}

    def test_a_rebuild_asks_the_store_only_for_rows_it_may_have_written(
        self, app: Buurtkas, store: ReadModelStore, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # given: a history whose signals read many rows that are not there yet (receipts)
        load_demo(app)
        generate(app, 1200, seed=8)
        asked: list[str] = []
        get, get_many = store.get, store.get_many

        def counted_get(projection: str, generation: int, kind: str, key: str) -> Any:
            asked.append(kind)
            return get(projection, generation, kind, key)

        def counted_get_many(projection: str, generation: int, kind: str, keys: Any) -> Any:
            asked.extend(kind for _ in keys)
            return get_many(projection, generation, kind, keys)

        monkeypatch.setattr(store, "get", counted_get)
        monkeypatch.setattr(store, "get_many", counted_get_many)
        # when: rebuilt with the filter of written keys, and without it
        runner(app, store, "signals", 97).rebuild()
        with_filter, asked[:] = len(asked), []
        monkeypatch.setattr(runner_module, "Bloom", lambda *_: None)
        runner(app, store, "signals", 97).rebuild()
        without = len(asked)
        # then: the same rows, and almost none of those queries
        assert stored_rows(store, "signals") == pure_fold(app, "signals")
        assert without > 200
        assert with_filter * 10 < without

    def test_a_rebuild_inserts_each_row_once_unchecked_and_replaces_it_afterwards(
        self, app: Buurtkas, store: ReadModelStore, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # given: a history whose signals write many new rows in every batch
        load_demo(app)
        generate(app, 1200, seed=8)
        # when
        batches = signals_rebuilt_in_batches(app, store, monkeypatch, 97)
        # then: a key is inserted in the first batch that writes it, and only replaced later
        written: set[tuple[str, str]] = set()
        first_written: set[tuple[str, str]] = set()
        for encoded in batches:
            inserted = {(kind, key) for kind, key, _, _ in encoded.inserts}
            replaced = {(kind, key) for kind, key, _, _ in encoded.upserts}
            assert not inserted & written
            assert replaced <= written
            first_written |= inserted
            written |= inserted | replaced | set(encoded.deletes)
        generation = store.active_generation("signals")
        assert generation is not None
        keys = {(kind, key) for kind, key, _, _ in store.select("signals", generation)}
        assert len(batches) > 10
        assert keys <= first_written
        assert stored_rows(store, "signals") == pure_fold(app, "signals")

    def test_a_rebuild_writes_a_log_row_again_only_while_it_is_open(
        self, app: Buurtkas, store: ReadModelStore, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # given: a history whose platforms log a few facts in most batches of 97 events
        load_demo(app)
        generate(app, 1500, seed=9)
        # when
        batches = signals_rebuilt_in_batches(app, store, monkeypatch, 97)
        # then: a log row is written again only by the next batches while it held fewer
        # than FACTS_OPEN facts, and only ever grows
        sizes: dict[str, int] = {}
        appended = 0
        for encoded in batches:
            for kind, key, _, text in encoded.inserts + encoded.upserts:
                if kind == "facts":
                    size = len(orjson.loads(text)["facts"])
                    if key in sizes:
                        assert sizes[key] < signals_module.FACTS_OPEN
                        appended += 1
                    assert sizes.get(key, 0) < size
                    sizes[key] = size
        assert appended  # (some platforms logged fewer facts in a batch than FACTS_OPEN)
        # and the rows hold each logged fact once
        generation = store.active_generation("signals")
        assert generation is not None
        heads = store.select("signals", generation, "head")
        assert sum(sizes.values()) == sum(doc["facts"] for _, _, _, doc in heads)
        assert stored_rows(store, "signals") == pure_fold(app, "signals")

    def test_an_unchecked_insert_of_a_row_that_is_there_fails_the_whole_batch(
        self, app: Buurtkas, store: ReadModelStore
    ) -> None:
        # given: a generation with one row, at position 10
        generation = store.ensure("status")
        row = ("platform", "p1", "p1", '{"state": "recognised"}')
        store.commit_encoded(
            "status", generation, 0, 10, Encoded([], [], [row]), require_active=True
        )
        # when: a batch inserts that key unchecked, among other rows
        other = ("platform", "p2", "p2", '{"state": "registered"}')
        again = ("platform", "p1", "p1", '{"state": "revoked"}')
        with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
            store.commit_encoded(
                "status", generation, 10, 20, Encoded([], [], [other, again]), require_active=True
            )
        # then: nothing of it is kept, and the position stays
        assert store.position("status", generation) == 10
        assert stored_rows(store, "status") == [("platform", "p1", "p1", {"state": "recognised"})]

    def test_postgresql_compresses_a_read_models_documents_with_lz4(
        self, store: ReadModelStore
    ) -> None:
        if store.conn.dialect != "postgres":
            pytest.skip("SQLite stores documents as they are")
        # given: a server that offers lz4 (PostgreSQL 14 or later, built with it)
        offered = store.conn.execute(
            "SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'"
        )
        if not offered or "lz4" not in offered[0][0]:
            pytest.skip("this PostgreSQL server does not offer lz4")
        # when
        generation = store.ensure("status")
        # then
        method = store.conn.execute(
            "SELECT attcompression FROM pg_attribute WHERE attrelid = ?::regclass "
            "AND attname = 'doc'",
            (f"rm_status_{generation}",),
        )
        assert method == [("l",)]

    def test_projection_status_reports_position_and_lag(
        self, app: Buurtkas, store: ReadModelStore
    ) -> None:
        # given
        load_demo(app)
        balances = runner(app, store, "balances", batch_size=100)
        # when
        balances.step()
        status = balances.status()
        # then
        assert (status.position, status.head, status.lag) == (100, 494, 394)


class TestReplay:
    def test_the_g_buurt_as_of_april_2020_shows_the_drawdown_and_strong_signals(
        self, app: Buurtkas, store: ReadModelStore
    ) -> None:
        # given
        load_demo(app)
        g = find_platform(app, "G-buurt")
        # when
        result = replay_platform(app, store, g.originator_id, as_of=date(2020, 4, 1))
        # then
        rules = {f["rule"]: f for f in result.signals["findings"]}
        assert {"unapproved_payment", "related_party_payee", "cash_or_self_transfer"} <= set(rules)
        assert all(
            rules[r]["strength"] == "strong"
            for r in ("unapproved_payment", "related_party_payee", "cash_or_self_transfer")
        )
        assert rules["unapproved_payment"]["value"] == 96_150_00
        assert len(rules["unapproved_payment"]["positions"]) == 15
        assert rules["rapid_drawdown"]["value"] == pytest.approx(0.7692, abs=1e-4)
        assert result.balances["received"] == 125_000_00
        assert result.status["recognition"] == "recognised"  # suspended only on 8 April
        assert result.signals["score"]["level"] == "high"

    def test_the_k_buurt_has_none_of_the_strong_signals(
        self, app: Buurtkas, store: ReadModelStore
    ) -> None:
        # given
        load_demo(app)
        k = find_platform(app, "K-buurt")
        # when
        result = replay_platform(app, store, k.originator_id, as_of=date(2021, 12, 31))
        # then
        assert [f for f in result.signals["findings"] if f["strength"] == "strong"] == []
        assert result.balances["unexplained_outflows"] == 0

    def test_the_two_time_axes_differ_for_late_recorded_events(
        self, app: Buurtkas, store: ReadModelStore
    ) -> None:
        # given: the demo, then a G-buurt bank line for March 2020 recorded today
        load_demo(app)
        g = find_platform(app, "G-buurt")
        before = app.recorder.max_notification_id() or 0
        from domain.money import Money
        from domain.values import BankLineKind, Direction
        from service.application import BankLine

        app.record_bank_lines(
            platform_id=g.originator_id,
            statement_ref="2020-03-late",
            occurred_on=date(2020, 3, 31),
            actor="bank",
            lines=[
                BankLine(
                    line_no=1,
                    direction=Direction.OUT,
                    kind=BankLineKind.CASH_WITHDRAWAL,
                    amount=Money(50_000),
                    counterparty_name="ATM",
                    occurred_on=date(2020, 3, 31),
                )
            ],
        )
        # when
        by_date = replay_platform(app, store, g.originator_id, as_of=date(2020, 4, 1))
        by_position = replay_platform(app, store, g.originator_id, position=before)
        # then
        assert by_date.balances["cash_on_hand"] == 30_500_00
        assert by_position.balances["cash_on_hand"] == 30_000_00
        assert by_position.last_position <= before < by_date.last_position

    def test_a_replay_equals_the_read_models_at_the_head(
        self, app: Buurtkas, store: ReadModelStore
    ) -> None:
        # given
        load_demo(app)
        generate(app, 1000, seed=12)
        for r in runners(app, store):
            r.catch_up()
        g = find_platform(app, "G-buurt")
        key = str(g.originator_id)
        # when
        result = replay_platform(
            app, store, g.originator_id, position=app.recorder.max_notification_id()
        )
        # then
        live = store.get("signals", store.ensure("signals"), "findings", key)
        assert live is not None
        assert result.signals == live
        balances = store.get("balances", store.ensure("balances"), "platform", key)
        assert balances is not None
        assert result.balances == platform_figures(balances)


class TestCorrectionsInReadModels:
    def test_a_tranche_reversed_on_a_revoked_grant_goes_back_to_the_budget(
        self, app: Buurtkas, store: ReadModelStore
    ) -> None:
        # given: a tranche paid, then the grant revoked from a later date
        budget_id, _, grant_id = given_first_tranche_paid(app, date(2020, 3, 1))
        app.revoke_grant(
            grant_id,
            effective_on=date(2020, 4, 1),
            retroactive=False,
            decision_ref="INTREKKING-1",
            reason="statutes broken",
            occurred_on=date(2020, 4, 1),
            actor=OFFICIAL,
        )
        # when: the tranche turns out to have been booked in error
        app.reverse_entry(
            grant_id,
            reverses_version=2,
            reason="booked in error",
            occurred_on=date(2020, 4, 2),
            actor=OFFICIAL,
        )
        for r in runners(app, store):
            r.catch_up()
        # then: nothing is left committed to the revoked grant; the budget has it all back
        rows = BatchRows(store, "balances", store.ensure("balances"))
        budget = budget_figures(rows.get("budget", str(budget_id)) or {})
        grant = rows.get("grant", str(grant_id)) or {}
        assert budget["available"] == budget["allocated"] == eur("500000").cents
        debit, credit = grant["accounts"]["commitment"]  # each side as a positive sum
        assert debit - credit == 0
        assert stored_rows(store, "balances") == pure_fold(app, "balances")

    def test_a_reversed_transfer_leaves_no_inflow_in_the_signals(
        self, app: Buurtkas, store: ReadModelStore
    ) -> None:
        # given
        load_demo(app)
        k, other = find_platform(app, "K-buurt"), find_platform(app, "Kleine Wereld")
        from domain.money import Money

        transfer_id = app.make_transfer(
            reference="T-1",
            from_platform_id=k.originator_id,
            to_platform_id=other.originator_id,
            amount=Money(100_000_00),
            occurred_on=date(2020, 3, 1),
            actor="official",
        )
        # when
        app.reverse_entry(
            transfer_id,
            reverses_version=1,
            reason="wrong platform",
            occurred_on=date(2020, 3, 2),
            actor="official",
        )
        runner(app, store, "signals").catch_up()
        # then
        rows = BatchRows(store, "signals", store.ensure("signals"))
        facts = Signals().facts(rows, str(other.originator_id))
        assert facts is not None
        assert [cents for _, cents, _ in facts.inflows] == [125_000_00, 125_000_00]

    def test_an_unexplained_bank_line_reversed_takes_its_postings_back_in_the_balances(
        self, app: Buurtkas, store: ReadModelStore
    ) -> None:
        # given: an outflow the bank reported without a matching record, folded (the
        # runner reads a bank line's and a reversal's posting fields alone)
        platform_id = given_platform(app)
        statement_id = line_for(app, platform_id, "2020-01", None)
        runner(app, store, "balances").catch_up()
        before = platform_figures(platform_doc(store, platform_id))
        # when: the bank's correction reverses it
        app.reverse_entry(
            statement_id,
            reverses_version=2,
            reason="booked twice by the bank",
            occurred_on=date(2020, 2, 1),
            actor="bank",
        )
        runner(app, store, "balances").catch_up()
        # then: the outflow is gone, as a pure fold has it
        assert before["unexplained_outflows"] == 120_00
        after = platform_figures(platform_doc(store, platform_id))
        assert after["unexplained_outflows"] == 0
        assert stored_rows(store, "balances") == pure_fold(app, "balances")

    def test_a_row_written_in_a_batch_is_not_replaced_by_a_preload_of_the_stored_one(
        self, app: Buurtkas, store: ReadModelStore
    ) -> None:
        # given a stored row, and a batch that wrote it anew without keeping it at hand
        generation = store.ensure("signals")
        first = BatchRows(store, "signals", generation)
        first.put("head", "p", {"facts": 1}, "p")
        store.commit_batch("signals", generation, 0, 0, first.writes, require_active=False)
        rows = BatchRows(store, "signals", generation)
        rows.put("head", "p", {"facts": 2}, "p", keep=False)
        # when the batch preloads the row and reads it
        rows.preload([("head", "p")])
        # then it reads what it wrote, not the stored row
        assert rows.get("head", "p") == {"facts": 2}

    def test_rows_fetched_in_bulk_are_those_of_the_asked_kind_and_keys_that_exist(
        self, app: Buurtkas, store: ReadModelStore
    ) -> None:
        # given rows of two kinds, some sharing a key
        generation = store.ensure("signals")
        rows = BatchRows(store, "signals", generation)
        for n in range(700):
            rows.put("receipt", f"r{n:04d}", {"n": n})
        rows.put("head", "r0001", {"head": True}, "p")
        store.commit_batch("signals", generation, 0, 0, rows.writes, require_active=False)
        # when more keys are asked for than one statement's list holds, some of them absent
        wanted = [f"r{n:04d}" for n in range(0, 1400, 2)]
        found = store.get_many("signals", generation, "receipt", wanted)
        # then exactly the stored rows of that kind come back, each with its own document
        assert found == {f"r{n:04d}": {"n": n} for n in range(0, 700, 2)}
        assert store.get_many("signals", generation, "head", ["r0001", "r0002"]) == {
            "r0001": {"head": True}
        }

    def test_a_correction_dated_before_its_event_is_left_out_of_an_earlier_replay(
        self, app: Buurtkas, store: ReadModelStore
    ) -> None:
        # given: a payment of 10 March corrected with a business date of 5 March
        load_demo(app)
        g = find_platform(app, "G-buurt")
        from uuid import uuid4

        from domain.money import Money
        from domain.values import PaymentMethod

        expense_id = app.submit_expense(
            expense_id=uuid4(),
            platform_id=g.originator_id,
            payee_name="Drukkerij",
            amount=Money(500_00),
            category="communicatie",
            description="flyers",
            payment_method=PaymentMethod.BANK,
            occurred_on=date(2020, 3, 1),
            actor="Ricardo Lont",
        )
        app.approve_expense(expense_id, occurred_on=date(2020, 3, 2), actor="Fatima Azzouzi")
        app.pay_expense(expense_id, occurred_on=date(2020, 3, 10), actor="Ricardo Lont")
        app.reverse_entry(
            expense_id,
            reverses_version=3,
            reason="not paid after all",
            occurred_on=date(2020, 3, 5),
            actor="Ricardo Lont",
        )
        # when
        early = replay_platform(app, store, g.originator_id, as_of=date(2020, 3, 7))
        late = replay_platform(app, store, g.originator_id, as_of=date(2020, 3, 31))
        # then
        assert early.balances["spent"] == late.balances["spent"] == 6_200_00


class TestReportsOverdue:
    def test_a_tranche_requested_while_the_report_is_overdue_is_a_finding_with_its_events(
        self, app: Buurtkas, store: ReadModelStore
    ) -> None:
        # given: tranche 1 paid on 2020-01-10, no report, tranche 2 requested 120 days later
        _, platform_id, grant_id = given_first_tranche_paid(app, date(2020, 1, 10))
        app.request_tranche(grant_id, number=2, occurred_on=date(2020, 5, 9), actor=TREASURER)
        # when
        runner(app, store, "signals").catch_up()
        # then
        findings = store.get("signals", store.ensure("signals"), "findings", str(platform_id))
        assert findings is not None
        overdue = [f for f in findings["findings"] if "report on tranche 1" in f["detail"]]
        assert [(f["rule"], f["value"], f["threshold"]) for f in overdue] == [
            ("governance_decay", 120, 90)
        ]
        assert len(overdue[0]["positions"]) == 2

    def test_a_report_in_before_the_request_keeps_it_quiet(
        self, app: Buurtkas, store: ReadModelStore
    ) -> None:
        # given
        _, platform_id, grant_id = given_first_tranche_paid(app, date(2020, 1, 10))
        app.submit_report(
            grant_id,
            tranche=1,
            spent=eur("49000"),
            summary="festival and homework support",
            occurred_on=date(2020, 5, 1),
            actor=TREASURER,
        )
        app.request_tranche(grant_id, number=2, occurred_on=date(2020, 5, 9), actor=TREASURER)
        # when
        runner(app, store, "signals").catch_up()
        # then
        findings = store.get("signals", store.ensure("signals"), "findings", str(platform_id))
        assert findings is not None
        assert not [f for f in findings["findings"] if "report on tranche" in f["detail"]]
