"""A projection process killed with SIGKILL mid-batch and restarted counts every event once."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from projections.base import fold
from projections.registry import FACTORIES, open_store, runners
from projections.rows import MemoryRows
from projections.workers import warm_up, worker_pool
from service.application import Buurtkas
from service.demo import load_demo
from service.storage import persistence_env
from service.synthetic import generate
from tests.integration.pool_holder import pid_after
from tests.rows import canonical

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


@pytest.mark.parametrize("mode", ["steps", "digested"])
def test_a_killed_projection_process_restarts_without_counting_twice_or_skipping(
    database_url: str, mode: str
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
            [
                sys.executable,
                "-m",
                "tests.integration.projection_worker",
                database_url,
                *(["digested"] if mode == "digested" else []),
            ],
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
    if mode == "digested":
        assert 0 < progress["signals"] < head, progress
    for name in FACTORIES:
        generation = store.active_generation(name)
        assert generation is not None
        expected = fold(FACTORIES[name](), app.stored_events(), MemoryRows()).select()
        assert canonical(name, store.select(name, generation)) == canonical(name, expected), name
    store.conn.close()
    app.close()


pytestmark = pytest.mark.slow


def started_by(pid: int) -> list[int]:
    """The processes ``pid`` started, and theirs."""
    found: list[int] = []
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        for child in (int(c) for c in children.read_text().split()):
            found += [child, *started_by(child)]
    return found


def running(pid: int) -> bool:
    """Whether ``pid`` is a process that has not ended (a zombie has)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


CHILDREN = Path(f"/proc/self/task/{threading.get_native_id()}/children")


@pytest.mark.skipif(not CHILDREN.exists(), reason="needs Linux's /proc/<pid>/task/*/children")
def test_worker_processes_end_when_the_process_that_made_them_is_killed() -> None:
    # given a process whose two worker processes are busy with long work
    holder = subprocess.Popen(
        [sys.executable, "-m", "tests.integration.pool_holder"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().split() == ["busy", "2", "2"]
        started = started_by(holder.pid)
        assert len(started) >= 4  # two workers, their fork server and a resource tracker
        # when it is killed
        holder.kill()
        holder.wait(timeout=10)
        # then every process it started ends within seconds
        deadline = time.monotonic() + 15
        while any(running(pid) for pid in started) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [pid for pid in started if running(pid)] == []
    finally:
        holder.kill()
        holder.wait(timeout=10)


def test_workers_ignore_the_interrupts_meant_for_their_runner() -> None:
    # given two workers started from a fork server started ahead
    warm_up()
    with worker_pool(2) as pool:
        pids = {task.result() for task in [pool.submit(pid_after, 0.5) for _ in range(2)]}
        assert len(pids) == 2
        # when Ctrl-C and a service manager's SIGTERM reach them with their runner
        for pid in pids:
            os.kill(pid, signal.SIGINT)
            os.kill(pid, signal.SIGTERM)
        # then both still answer
        again = [pool.submit(pid_after, 0.5) for _ in range(2)]
        assert {task.result(timeout=60) for task in again} == pids
