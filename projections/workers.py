"""Worker processes for work that is pure and large enough to share out: the findings of
many platforms at once (a rebuild's last batch, a long catch-up).

The pool is made for one such piece of work and shut down after it, so no process is
left running between batches. Its processes start from a fork server (a fresh process
that imports the evaluation's modules once, before any database connection or thread of
this process exists), never by forking this process itself, which may be committing a
batch in another thread."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

MAX_WORKERS = 4
PRELOADED = ["projections.signals_facts"]
"""What the fork server imports before it forks a worker."""


def default_workers() -> int:
    """The processors this process may run on, up to ``MAX_WORKERS`` (1: no pool)."""
    return max(1, min(MAX_WORKERS, len(os.sched_getaffinity(0))))


def worker_pool(workers: int) -> ProcessPoolExecutor:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOADED)
    return ProcessPoolExecutor(workers, mp_context=context)
