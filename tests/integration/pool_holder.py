"""A process that keeps two worker processes busy, for the test that kills it.

It makes a pool of two workers, waits until both have answered, gives each work that
takes two minutes, prints ``busy`` and waits.

    python -m tests.integration.pool_holder
"""

from __future__ import annotations

import os
import sys
import time

from projections.workers import worker_pool


def main() -> None:
    pool = worker_pool(2)
    answered = {pool.submit(os.getpid).result() for _ in range(8)}
    busy = [pool.submit(time.sleep, 120) for _ in range(2)]
    sys.stdout.write(f"busy {len(answered)} {len(busy)}\n")
    sys.stdout.flush()
    time.sleep(300)


if __name__ == "__main__":
    main()
