"""A process that keeps two worker processes busy, for the test that kills it.

It makes a pool of two workers, has both answer (two tasks at once), gives each work
that takes two minutes, prints ``busy`` with the number of workers that answered, and
waits.

    python -m tests.integration.pool_holder
"""

from __future__ import annotations

import os
import sys
import time

from projections.workers import worker_pool


def pid_after(seconds: float) -> int:
    """A worker's pid, after ``seconds`` (so that two at once go to two workers)."""
    time.sleep(seconds)
    return os.getpid()


def main() -> None:
    pool = worker_pool(2)
    answered = {task.result() for task in [pool.submit(pid_after, 0.5) for _ in range(2)]}
    busy = [pool.submit(time.sleep, 120) for _ in range(2)]
    sys.stdout.write(f"busy {len(answered)} {len(busy)}\n")
    sys.stdout.flush()
    time.sleep(300)


if __name__ == "__main__":
    main()
