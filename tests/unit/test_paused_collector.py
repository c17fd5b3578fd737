"""The cyclic collector paused across a long catch-up, with a full collection now and then."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import pytest

from projections.events import PausedCollector


@pytest.fixture
def full_collections() -> Iterator[list[int]]:
    """Counts the full (generation 2) collections that start while the test runs."""
    started: list[int] = []

    def seen(phase: str, info: dict[str, Any]) -> None:
        if phase == "start" and info["generation"] == 2:
            started.append(1)

    was_enabled = gc.isenabled()
    gc.enable()
    gc.callbacks.append(seen)
    yield started
    gc.callbacks.remove(seen)
    if not was_enabled:
        gc.disable()


class TestPausedCollector:
    def test_the_collector_is_paused_inside_and_running_again_after(
        self, full_collections: list[int]
    ) -> None:
        # given a running collector
        assert gc.isenabled()
        # when a catch-up runs inside the pause
        with PausedCollector():
            inside = gc.isenabled()
        # then it was paused there and runs again after
        assert inside is False
        assert gc.isenabled()

    def test_a_full_collection_runs_every_so_many_events_folded(
        self, full_collections: list[int]
    ) -> None:
        # given a pause that collects every 100 events
        with PausedCollector(every=100) as collector:
            # when 250 events are folded in batches of 50
            for _ in range(5):
                collector.folded(50)
            # then two full collections ran, and the collector is still paused
            assert len(full_collections) == 2
            assert not gc.isenabled()

    def test_inside_a_pause_it_does_not_own_it_neither_collects_nor_resumes(
        self, full_collections: list[int]
    ) -> None:
        # given a collector paused by someone else
        gc.disable()
        try:
            # when a catch-up pauses it again and folds past its bound
            with PausedCollector(every=10) as collector:
                collector.folded(100)
            # then it neither collected nor started the collector
            assert full_collections == []
            assert not gc.isenabled()
        finally:
            gc.enable()

    def test_the_collector_runs_again_when_the_catch_up_fails(
        self, full_collections: list[int]
    ) -> None:
        # given a running collector
        # when a catch-up fails inside the pause
        with pytest.raises(RuntimeError), PausedCollector():
            raise RuntimeError("the store went away")
        # then the collector runs again
        assert gc.isenabled()

    def test_objects_alive_before_the_catch_up_are_left_out_of_its_collections(
        self, full_collections: list[int]
    ) -> None:
        # given objects alive before the catch-up
        assert gc.get_freeze_count() == 0
        # when a catch-up runs
        with PausedCollector():
            frozen = gc.get_freeze_count()
        # then its collections skipped them, and they are collected as usual after
        assert frozen > 0
        assert gc.get_freeze_count() == 0

    def test_objects_someone_else_froze_stay_frozen(self, full_collections: list[int]) -> None:
        # given objects frozen by someone else (a server that forks workers, say)
        gc.freeze()
        try:
            before = gc.get_freeze_count()
            # when a catch-up runs
            with PausedCollector():
                pass
            # then it neither froze more nor unfroze them
            assert gc.get_freeze_count() == before
        finally:
            gc.unfreeze()
