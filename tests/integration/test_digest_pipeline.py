"""A long catch-up whose events worker processes read and digest ahead of the fold."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain.errors import DomainError
from domain.money import Money
from domain.values import PaymentMethod
from projections.pipeline import Digesting, Pipeline
from projections.runner import Runner
from projections.signals import FRAGMENT
from projections.signals_digest import Digester
from projections.store import ConcurrentUpdateError, ReadModelStore
from service.application import Buurtkas
from service.demo import load_demo
from service.synthetic import generate
from tests.integration.failing_digests import dying_job, failing_job
from tests.integration.givens import given_platform
from tests.integration.test_projections import pure_fold, signals_runner, stored_rows


def pipelined(app: Buurtkas, store: ReadModelStore, batch_size: int) -> Runner:
    """A signals runner whose every catch-up has its batches digested by two workers."""
    found = signals_runner(app, store, batch_size, workers=2)
    found.pipeline_from = 1
    found.pipeline_batch = 1
    return found


class Recorded:
    """The pipelines made while it is installed, and the batches each handed over."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.made: list[Pipeline] = []
        self.handed: list[int] = []
        made, handed = self.made, self.handed

        class Counted(Pipeline):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                made.append(self)

            def take(self, start: int) -> Any:
                found = super().take(start)
                if found is not None:
                    handed.append(found.events)
                return found

        monkeypatch.setattr("projections.runner.Pipeline", Counted)


class TestDigestPipeline:
    def test_a_rebuild_digested_by_worker_processes_equals_a_pure_fold(
        self, app: Buurtkas, store: ReadModelStore, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # given a history far longer than a batch, and a runner that hands it to workers
        load_demo(app)
        generate(app, 3000, seed=31)
        recorded = Recorded(monkeypatch)
        signals = pipelined(app, store, 257)
        # when it rebuilds the signals
        folded = signals.rebuild()
        # then every batch came digested from the workers, and the rows equal a pure fold
        head = app.recorder.max_notification_id()
        assert folded == head
        assert len(recorded.made) == 1
        assert sum(recorded.handed) == head
        assert len(recorded.handed) == -(-head // 257)
        assert stored_rows(store, "signals") == pure_fold(app, "signals")
        assert store.position("signals", store.ensure("signals")) == head

    def test_events_stored_after_the_workers_began_are_folded_by_the_runner_itself(
        self, app: Buurtkas, store: ReadModelStore, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # given a catch-up whose ranges were cut up to the head when it began
        load_demo(app)
        generate(app, 1500, seed=32)
        began_at = app.recorder.max_notification_id()
        recorded = Recorded(monkeypatch)
        signals = pipelined(app, store, 300)
        stored: list[int] = []

        def store_more(events: int, end: int) -> None:
            if not stored:
                generate(app, 700, seed=33)  # while the workers digest the first ranges
                stored.append(app.recorder.max_notification_id() or 0)

        signals.on_batch = store_more
        # when it catches up
        signals.catch_up()
        # then the workers digested the ranges up to that head, the runner read the rest,
        # and the rows equal a pure fold of everything
        assert sum(recorded.handed) == began_at
        assert stored[0] > began_at
        assert store.position("signals", store.ensure("signals")) == stored[0]
        assert stored_rows(store, "signals") == pure_fold(app, "signals")

    def test_a_runner_another_process_overtook_starts_its_workers_again_from_there(
        self, app: Buurtkas, store: ReadModelStore, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # given a rebuild under way, digested by workers
        load_demo(app)
        generate(app, 2500, seed=34)
        recorded = Recorded(monkeypatch)
        signals = pipelined(app, store, 211)
        other = signals_runner(app, store, 211, workers=1)
        generation = signals.begin_rebuild(resume=False)
        assert generation is not None
        overtaken: list[int] = []

        def overtake(events: int, end: int) -> None:
            # another process commits the next batch of the same generation first
            while len(overtaken) < 1 and len(recorded.handed) >= 3:
                try:
                    overtaken.append(other.step(generation))
                except ConcurrentUpdateError:
                    continue  # this runner's last batch was still being committed

        signals.on_batch = overtake
        # when the rebuild goes on and finishes
        signals.catch_up(generation)
        signals.finish_rebuild()
        # then it made its workers again from where the other one got, folded no batch
        # twice, and the rows equal a pure fold
        assert overtaken == [211]
        assert len(recorded.made) == 2
        assert stored_rows(store, "signals") == pure_fold(app, "signals")
        assert store.position("signals", generation) == app.recorder.max_notification_id()

    def test_a_workers_error_reaches_the_runner_and_nothing_of_its_batch_is_kept(
        self, app: Buurtkas, store: ReadModelStore, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # given workers that cannot digest: their digester fails on the first event
        load_demo(app)
        generate(app, 600, seed=35)
        monkeypatch.setattr("projections.runner.Digesting", failing_job)
        signals = pipelined(app, store, 200)
        # when the runner catches up
        with pytest.raises(RuntimeError, match="cannot digest"):
            signals.catch_up()
        # then nothing was committed
        assert store.position("signals", store.ensure("signals")) == 0
        assert stored_rows(store, "signals") == []

    def test_what_a_worker_that_ended_left_undone_the_runner_reads_and_folds_itself(
        self, app: Buurtkas, store: ReadModelStore, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # given workers that each end (killed, out of memory) at their second range
        load_demo(app)
        generate(app, 1500, seed=36)
        monkeypatch.setattr("projections.runner.Digesting", dying_job)
        recorded = Recorded(monkeypatch)
        signals = pipelined(app, store, 150)
        # when the runner rebuilds the signals
        folded = signals.rebuild()
        # then the workers digested the first ranges, the runner the rest, and the rows
        # equal a pure fold
        head = app.recorder.max_notification_id() or 0
        assert 0 < sum(recorded.handed) < head
        assert folded == head
        assert stored_rows(store, "signals") == pure_fold(app, "signals")

    def test_a_catch_up_after_a_digested_rebuild_appends_to_the_logs_the_rebuild_left(
        self, app: Buurtkas, store: ReadModelStore
    ) -> None:
        # given a digested rebuild, whose runner keeps a platform's last log row (its
        # facts written as the workers sent them) for the batches after it
        load_demo(app)
        generate(app, 1500, seed=37)
        signals = pipelined(app, store, 257)
        signals.rebuild()
        kept = [
            key
            for (kind, key), doc in signals.cache.items()
            if kind == "facts" and doc and any(type(f) is FRAGMENT for f in doc["facts"])
        ]
        assert kept
        platform = UUID(kept[0].split(":")[0])
        # when an expense of that platform is stored, and the runner catches up by itself
        submitted(app, platform, uuid4())
        signals.pipeline_from = 100_000
        folded = signals.catch_up()
        # then the platform's log has it, and the rows equal a pure fold
        assert folded == 1
        assert stored_rows(store, "signals") == pure_fold(app, "signals")

    def test_positions_a_rolled_back_write_left_empty_do_not_end_a_rebuild_early(
        self, app: Buurtkas, store: ReadModelStore
    ) -> None:
        # given a history in which writes were refused part-way (on PostgreSQL, each
        # takes positions that stay empty)
        load_demo(app)
        generate(app, 800, seed=38)
        platform, expense = given_platform(app, "Gatenbuurt", number=7), uuid4()
        submitted(app, platform, expense)
        for _ in range(5):
            with pytest.raises(DomainError):
                submitted(app, platform, expense)  # the same expense again: refused
        generate(app, 800, seed=39)
        events = len(list(app.stored_events()))
        head = app.recorder.max_notification_id() or 0
        assert head > events if store.conn.dialect == "postgres" else head == events
        signals = pipelined(app, store, 150)
        finished: list[int] = []
        finish = signals.projection.finish

        def counted(rows: Any) -> None:
            finished.append(1)
            finish(rows)

        signals.projection.finish = counted  # type: ignore[method-assign]
        # when the signals are rebuilt, digested in ranges of 150 positions
        assert signals.rebuild() == events
        # then the findings were evaluated once, at the head, and the rows equal a pure fold
        assert finished == [1]
        assert stored_rows(store, "signals") == pure_fold(app, "signals")

    def test_a_pipeline_asked_for_a_batch_elsewhere_stops_its_workers(
        self, app: Buurtkas, store: ReadModelStore
    ) -> None:
        # given workers digesting ranges from position 0
        load_demo(app)
        head = app.recorder.max_notification_id() or 0
        job = Digesting(Buurtkas, app.store_env, Digester)
        pipeline = Pipeline(job, 0, head, 50, 2)
        first = pipeline.take(0)
        assert first is not None
        assert (first.events, first.end) == (50, 50)
        # when the runner starts its next batch somewhere else
        # then the pipeline hands nothing over, now or later, and its workers are gone
        assert pipeline.take(first.end + 1) is None
        assert pipeline.take(first.end) is None
        assert pipeline.pool is None


def submitted(app: Buurtkas, platform: UUID, expense: UUID) -> None:
    app.submit_expense(
        expense_id=expense,
        platform_id=platform,
        payee_name="Drukkerij",
        amount=Money(120_00),
        category="communicatie",
        description="flyers",
        payment_method=PaymentMethod.BANK,
        occurred_on=date(2024, 1, 2),
        actor="Tess Treasurer",
    )
