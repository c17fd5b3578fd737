"""A projection process for crash tests: folds small batches slowly, forever.

Each transaction waits before it commits, so that a kill most likely lands after the
batch's rows were written and before its tracking position is committed. It prints
``folding`` once every read model has committed a batch.

    python -m tests.integration.projection_worker DATABASE_URL [digested]

With ``digested``, only the signals are folded, in batches of 13 read and digested by
two worker processes ahead of the fold (``projections.pipeline``), as a long rebuild's
are, and committed in the background (slowly too).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from projections.registry import open_store, runner, runners
from projections.signals import Signals
from service.application import Buurtkas
from service.storage import persistence_env


class SlowCommits:
    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.dialect = conn.dialect

    def execute(self, statement: str, params: Any = (), *, binary: bool = False) -> Any:
        return self.conn.execute(statement, params, binary=binary)

    def stream(self, statement: str, params: Any = (), *, binary: bool = False) -> Any:
        return self.conn.stream(statement, params, binary=binary)

    def executemany(self, statement: str, rows: Any) -> None:
        self.conn.executemany(statement, rows)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self.conn.transaction():
            yield
            time.sleep(0.02)  # rows written, tracking updated, not yet committed

    def close(self) -> None:
        self.conn.close()


def main(database_url: str, digested: bool) -> None:
    app = Buurtkas(env=persistence_env(database_url))
    store = open_store(app.store_env)
    store.conn = SlowCommits(store.conn)
    if digested:
        reconnect = store.reconnect
        assert reconnect is not None
        store.reconnect = lambda: SlowCommits(reconnect())  # the background committer's too
        signals = runner(app, store, "signals", batch_size=13)
        assert isinstance(signals.projection, Signals)
        signals.projection.workers = 2
        signals.pipeline_from = signals.pipeline_batch = 1
        signals.step()
        started()
        while True:
            signals.catch_up()
    workers = runners(app, store, batch_size=29)
    for worker in workers:
        worker.step()
    started()
    while True:
        for worker in workers:
            worker.step()


def started() -> None:
    sys.stdout.write("folding\n")  # started up: the test may kill it from now on
    sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:] == ["digested"])
