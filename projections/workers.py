"""Worker processes for work that is pure and large enough to share out: the findings of
many platforms at once (a rebuild's last batch, a long catch-up).

The pool is made for one such piece of work and shut down after it, so no process is
left running between batches. Its processes start from a fork server (a fresh process
that imports the evaluation's modules once, before any database connection or thread of
this process exists), never by forking this process itself, which may be committing a
batch in another thread. As with any such process, each worker imports the program's main
module again: a script that rebuilds read models keeps its own work under
``if __name__ == "__main__":``."""

from __future__ import annotations

import multiprocessing
import multiprocessing.context
import os
import select
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import forkserver, util

from projections.db import connect
from projections.store import ReadModelStore

MAX_WORKERS = 4
PRELOADED = ["projections.signals_facts", "projections.workers"]
"""What the fork server imports before it forks a worker."""


def default_workers() -> int:
    """The processors this process may run on, up to ``MAX_WORKERS``; 1 (no pool) when a
    worker could not import this program's main module again (``main_importable``)."""
    if not main_importable():
        return 1
    return max(1, min(MAX_WORKERS, len(os.sched_getaffinity(0))))


def main_importable() -> bool:
    """Whether a worker can import the main module again, as every process started from a
    fork server does before its work (``multiprocessing``): by name, from its file, or
    none at all (an interactive session); not a program read from standard input."""
    main = sys.modules.get("__main__")
    if getattr(main, "__spec__", None) is not None:
        return True
    path = getattr(main, "__file__", None)
    return path is None or os.path.isfile(path)


def worker_pool(workers: int) -> ProcessPoolExecutor:
    """``workers`` processes, each ending itself when this process ends, even killed
    (``watch_parent``)."""
    return ProcessPoolExecutor(
        workers, mp_context=_context(), initializer=watch_parent, initargs=(os.getpid(),)
    )


_stores: dict[tuple[tuple[str, str], ...], ReadModelStore] = {}


def store_for(env: dict[str, str]) -> ReadModelStore:
    """In a worker: the read-model store of ``env``, opened once and closed when the
    worker ends."""
    key = tuple(sorted(env.items()))
    store = _stores.get(key)
    if store is None:
        store = _stores[key] = ReadModelStore(connect(env))
        util.Finalize(store, store.conn.close, exitpriority=10)
    return store


def watch_parent(pid: int) -> None:
    """In a worker: end this process as soon as process ``pid`` (the one that made the
    pool) has ended. A worker waits for work on a queue it holds both ends of, so it would
    wait for ever for a runner that was killed (and keep the fork server with it)."""
    threading.Thread(target=_exit_after, args=(pid,), daemon=True).start()


def _exit_after(pid: int) -> None:
    try:
        handle = os.pidfd_open(pid)  # readable once the process has ended (Linux)
    except (AttributeError, OSError):
        while _alive(pid):
            time.sleep(1.0)
    else:
        select.select([handle], [], [])
    os._exit(1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def warm_up() -> None:
    """Start the fork server now, so that it has imported what the workers need by the
    time a pool is made (about 0.4 s; then a pool of two answers in a few milliseconds).
    It returns at once; the server stays until this process ends."""
    _context()
    forkserver.ensure_running()


def _context() -> multiprocessing.context.BaseContext:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOADED)
    return context
