"""A projection process killed with SIGKILL mid-batch and restarted counts every event once."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from projections.base import fold
from projections.registry import FACTORIES, open_store, runners
from projections.rows import MemoryRows
from service.application import Buurtkas
from service.demo import load_demo
from service.storage import persistence_env
from service.synthetic import generate

ROOT = Path(__file__).resolve().parents[2]


def positions(database_url: str) -> dict[str, int]:
    store = open_store(persistence_env(database_url))
    try:
        found = {}
        for name in FACTORIES:
            generation = store.active_generation(name)
            found[name] = store.position(name, generation) if generation else 0
        return found
    finally:
        store.conn.close()


def test_a_killed_projection_process_restarts_without_counting_twice_or_skipping(
    database_url: str,
) -> None:
    # given
    app = Buurtkas(env=persistence_env(database_url))
    load_demo(app)
    generate(app, 4000, seed=21)
    head = app.recorder.max_notification_id() or 0
    rng = random.Random(7)
    # when: eight worker processes are killed at random moments, mostly mid-batch
    kills = 0
    for _ in range(8):
        worker = subprocess.Popen(
            [sys.executable, "-m", "tests.integration.projection_worker", database_url],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.PIPE,
            text=True,
        )
        assert worker.stdout is not None
        worker.stdout.readline()  # it has started up, however slowly on a busy machine
        time.sleep(0.1 + 0.5 * rng.random())
        if worker.poll() is None:
            worker.send_signal(signal.SIGKILL)
            kills += 1
        worker.wait(timeout=30)
    progress = positions(database_url)
    # and a restarted runner finishes the job
    store = open_store(app.store_env)
    for r in runners(app, store, batch_size=29):
        r.catch_up()
    # then
    assert kills == 8
    assert any(0 < p < head for p in progress.values()), progress  # killed part-way
    for name in FACTORIES:
        generation = store.active_generation(name)
        assert generation is not None
        expected = list(fold(FACTORIES[name](), app.stored_events(), MemoryRows()).select())
        assert list(store.select(name, generation)) == expected, name
    store.conn.close()
    app.close()


pytestmark = pytest.mark.slow
