"""Committing a runner's batches in the background while it reads the next batch.

A ``Committer`` commits one batch at a time, in order, on its own connection and
thread. Each commit is the same single transaction as ever (rows and tracking position
together, with the optimistic position check), so exactly-once is unchanged: the
runner hands over a batch only after the previous one committed, and reads no rows
before that either, so every batch folds on top of the one before it.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

from projections.store import Encoded, ReadModelStore


class Committer:
    def __init__(self, store: ReadModelStore) -> None:
        if store.reconnect is None:
            raise ValueError("a committer needs a store that can open another connection")
        self.reconnect = store.reconnect
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="commit")
        # the connection is opened, used and closed by the committing thread only
        self.store = self.executor.submit(lambda: ReadModelStore(self.reconnect())).result()
        self.pending: Future[None] | None = None
        self.pending_events = 0
        self.committed = 0
        """Events of the batches committed so far."""

    def submit(
        self,
        projection: str,
        generation: int,
        from_position: int,
        to_position: int,
        encoded: Encoded,
        *,
        require_active: bool,
        events: int = 0,
    ) -> None:
        """Start committing a batch of ``events`` (after the previous one has committed)."""
        self.wait()
        self.pending_events = events
        self.pending = self.executor.submit(
            self.store.commit_encoded,
            projection,
            generation,
            from_position,
            to_position,
            encoded,
            require_active=require_active,
            one_statement=True,
        )

    @property
    def busy(self) -> bool:
        return self.pending is not None

    def wait(self) -> None:
        """Return once the last batch handed over is committed; raise what it raised."""
        pending, self.pending = self.pending, None
        if pending is not None:
            pending.result()
            self.committed += self.pending_events

    def close(self) -> None:
        """Wait for the last commit (whatever its outcome), then close the connection."""
        try:
            pending, self.pending = self.pending, None
            if pending is not None and pending.exception() is None:
                self.committed += self.pending_events
        finally:
            self.executor.submit(self.store.conn.close).result()
            self.executor.shutdown(wait=True)
