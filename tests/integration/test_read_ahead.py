"""A long catch-up reads ahead in a second process: the same rows, exactly once.

The reader process reads, decodes and extracts the next batch while the runner folds the
one before; the runner still commits rows and position together. Runs on SQLite and on
PostgreSQL.
"""

from __future__ import annotations

from typing import Any

import pytest

from projections.events import EventSource
from projections.readahead import ReadAhead, SourceEvents
from projections.registry import runner
from projections.runner import Runner
from projections.signals import Signals
from projections.store import ReadModelStore
from service.application import Buurtkas
from service.demo import load_demo
from service.synthetic import generate
from tests.integration.test_projections import pure_fold, stored_rows


class Counted(ReadAhead):
    """A reader process that counts the batches it handed over."""

    handed = 0

    def read(self, after: int) -> tuple[int, int, list[tuple[int, Any]]]:
        found = super().read(after)
        Counted.handed += 1
        return found


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> type[Counted]:
    Counted.handed = 0
    monkeypatch.setattr("projections.runner.ReadAhead", Counted)
    return Counted


def reading_ahead(
    app: Buurtkas, store: ReadModelStore, batch_size: int, name: str = "signals"
) -> Runner:
    reading = runner(app, store, name, batch_size)
    reading.read_ahead_from = 0  # however short the catch-up
    return reading


def failing_signals() -> Signals:
    raise RuntimeError("no projection in this reader")


class TestReadAhead:
    @pytest.mark.parametrize("name", ["signals", "balances"])
    def test_a_rebuild_read_ahead_in_a_second_process_makes_the_rows_of_the_pure_fold(
        self, app: Buurtkas, store: ReadModelStore, counted: type[Counted], name: str
    ) -> None:
        # given a history of about 2,500 events
        load_demo(app)
        generate(app, 2000, seed=5)
        # when the read model is rebuilt in batches of 300, reading ahead
        folded = reading_ahead(app, store, 300, name).rebuild()
        # then the batches came from the reader process and the rows are the pure fold's
        head = app.recorder.max_notification_id()
        assert folded == head
        assert counted.handed == -(-head // 300) + 1  # and an empty one at the head
        assert stored_rows(store, name) == pure_fold(app, name)

    def test_a_catch_up_reading_ahead_goes_on_from_where_it_stopped(
        self, app: Buurtkas, store: ReadModelStore, counted: type[Counted]
    ) -> None:
        # given signals caught up, reading ahead, and then more events
        load_demo(app)
        reading_ahead(app, store, 250).catch_up()
        generate(app, 1200, seed=6)
        # when they catch up again, reading ahead
        folded = reading_ahead(app, store, 250).catch_up()
        # then they folded only the new events, into the rows of the pure fold
        assert folded == 1200
        assert counted.handed > 5
        assert stored_rows(store, "signals") == pure_fold(app, "signals")

    def test_a_reader_asked_for_another_position_starts_over_there(
        self, app: Buurtkas, store: ReadModelStore
    ) -> None:
        # given a reader process that has read the first batch (and is reading the next)
        load_demo(app)
        generate(app, 900, seed=7)
        signals = Signals()
        reader = ReadAhead(app, signals, 200)
        try:
            first = reader.read(0)
            # when the runner asks for the batch after another position (another process
            # committed meanwhile)
            again = reader.read(450)
            # then it gets that batch, worked out as the runner would have
            source = EventSource(app, store.conn)
            expected = source.read(450, 200)
            items = Signals().extract_batch(SourceEvents(source), expected)
        finally:
            reader.close()
        assert first[1] == 200
        assert again[:2] == (expected[-1][0], 200)
        assert again[2] == items

    def test_when_the_reader_process_fails_the_runner_reads_in_its_own_process(
        self,
        app: Buurtkas,
        store: ReadModelStore,
        counted: type[Counted],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        # given a reader process that cannot make the projection
        load_demo(app)
        generate(app, 600, seed=8)
        monkeypatch.setattr(Signals, "spawn", lambda self: (failing_signals, ()))
        # when the signals are rebuilt, reading ahead
        folded = reading_ahead(app, store, 200).rebuild()
        # then the runner read every batch itself, into the rows of the pure fold
        assert folded == app.recorder.max_notification_id()
        assert counted.handed == 0
        assert stored_rows(store, "signals") == pure_fold(app, "signals")
