"""Worker processes for work that is pure and large enough to share out: the findings of
many platforms at once (a rebuild's last batch, a long catch-up).

The pool is made for one such piece of work and shut down after it; only the fork server
it starts from (about 40 MB) and ``multiprocessing``'s resource tracker stay until the
process ends. The fork server is a fresh process that imports the evaluation's modules
once, before any database connection or thread of this process exists: workers are never
forks of this process itself, which may be committing a batch in another thread. As with
any such process, each worker imports the program's main module again: a script that
rebuilds read models keeps its own work under ``if __name__ == "__main__":``."""

from __future__ import annotations

import multiprocessing
import multiprocessing.context
import os
import select
import signal
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
    return max(1, min(MAX_WORKERS, available_processors()))


def available_processors() -> int:
    """The processors this process may run on (where the system says: Linux), else the
    machine's. A container's processor quota is not counted."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


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
    """``workers`` processes, each ending itself when this process ends, even killed, and
    deaf to the interrupts meant for this process (``init_worker``)."""
    return ProcessPoolExecutor(
        workers, mp_context=_context(), initializer=init_worker, initargs=(os.getpid(),)
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


def init_worker(pid: int) -> None:
    """In a worker, first: ignore SIGINT and SIGTERM, and end as soon as process ``pid``
    (the one that made the pool) has ended.

    Ctrl-C in a terminal, or a service manager stopping the process group, signals the
    workers too; the runner stops after the batch in progress, which needs its workers'
    answers, and the pool ends them after that. A worker waits for work on a queue it
    holds both ends of, so it would wait for ever for a runner that was killed (and keep
    the fork server with it)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
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
    context.set_forkserver_preload([*PRELOADED, *main_draws_on()])
    return context


def main_draws_on() -> list[str]:
    """The modules of what the main module took from others (``buurtkas``'s command takes
    its ``main`` from ``service.cli``): each worker imports the main module again, which
    then finds them imported in the fork server instead of importing them itself (about
    half a second for the service's modules)."""
    main = sys.modules.get("__main__")
    if main is None:
        return []
    found = {getattr(value, "__module__", None) for value in vars(main).values()}
    return sorted(
        name
        for name in found
        if isinstance(name, str) and name in sys.modules and name not in ("__main__", "builtins")
    )
