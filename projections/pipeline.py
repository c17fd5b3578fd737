"""Digesting a long backlog's events in worker processes, ahead of the fold.

A runner that is far behind the head of the store (a rebuild, a long catch-up) of a
projection that digests its events (``Projection.digesting``) hands the reading and
decoding of its batches to worker processes: each worker reads a range of positions on
its own connection, decodes the events and digests them (``signals_digest``), and sends
the digests back as one ``marshal`` blob. The runner folds the digests in position order
and commits each batch with its position, as ever; the workers only read, so a crash of
either side loses nothing that was committed, and a batch is folded once.

The ranges are cut from the positions between where the runner starts and the head of
the store at that moment, every event of which is already visible (the store gives
positions in commit order); events stored later are read by the runner itself.
"""

from __future__ import annotations

import marshal
import os
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, NamedTuple

from projections.db import connect
from projections.events import EventSource, PausedCollector, collector_paused
from projections.rows import StoredEvents
from projections.workers import worker_pool

WORKER_COLLECT_EVERY = 1_000_000
"""Events a worker digests between full collections: digesting makes no reference cycles,
and a collection scans the worker's caches of decoded values and platforms."""
WORKER_NICE = 10
AHEAD = 2
"""Ranges in flight per worker: one being read, one waiting to be folded."""


class Digesting(NamedTuple):
    """What a worker needs to digest events: the application class (for its mapper and
    its events table), the event store's settings, and the digester class (with the
    fields it ``reads`` of each event class)."""

    app: Callable[..., Any]
    env: dict[str, str]
    digester: Callable[[], Any]


@dataclass
class Digested:
    """One range's digests: the events read, the last one's position (the start's when
    none), and their digests in order."""

    events: int
    end: int
    digests: list[Any]


class Pipeline:
    """Ranges of positions after ``start`` up to ``head``, ``size`` positions each, read
    and digested by ``workers`` processes, handed over in order by ``take``."""

    def __init__(
        self,
        job: Digesting,
        start: int,
        head: int,
        size: int,
        workers: int,
        local: EventSource | None = None,
    ) -> None:
        """``local``: the runner's own source, with which the first range is read and
        digested in the runner's process, while the workers start (a few tenths of a
        second: the fork server, the workers' connections)."""
        self.job = job
        self.head = head
        self.size = size
        self.next = start
        """Where the next range to hand out starts."""
        self.expected = start
        """Where the runner starts its next batch when it follows the ranges."""
        self.local: tuple[EventSource, int, int] | None = None
        if local is not None and start < head:
            self.next = min(start + size, head)
            self.local = (local, start, self.next)
        self.pool: ProcessPoolExecutor | None = worker_pool(workers)
        self.pending: deque[Future[bytes]] = deque()
        try:
            for _ in range(workers * AHEAD):
                self._submit()
        except BrokenProcessPool:  # (the fork server is gone): the runner reads by itself
            self.close()

    def _submit(self) -> None:
        if self.pool is None or self.next >= self.head:
            return
        end = min(self.next + self.size, self.head)
        self.pending.append(self.pool.submit(digest_range, self.job, self.next, end))
        self.next = end

    def take(self, start: int) -> Digested | None:
        """The digests of the next range with events, when the runner starts from where
        the last one ended; None when the ranges are done, the runner starts elsewhere
        (another process committed meanwhile) or a worker ended: the runner then reads on
        by itself. A worker's error is raised here."""
        if start != self.expected:
            self.close()
            return None
        if self.local is not None:
            source, after, upto = self.local
            self.local = None
            events, end, digests = digested(source, self.job.digester(), after, upto)
            if events:
                self.expected = end
                return Digested(events, end, digests)
        while self.pending:
            work = self.pending.popleft()
            try:
                self._submit()
                blob = work.result()
            except BrokenProcessPool:
                # a worker ended (killed, out of memory): the runner reads on by itself
                self.close()
                return None
            with collector_paused():
                events, end, digests = marshal.loads(blob)  # noqa: S302 - our workers'
            if not self.pending:
                self.close()  # the last range: the workers are done
            if events:
                self.expected = end
                return Digested(events, end, digests)
        self.close()
        return None

    def close(self) -> None:
        """Stop the workers (the ranges not taken are dropped)."""
        for work in self.pending:
            work.cancel()
        self.pending.clear()
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)
            self.pool = None


_sources: dict[tuple[Any, ...], tuple[EventSource, Any]] = {}
_collector: list[PausedCollector] = []
"""A worker's collector, paused for as long as the worker lives (see ``PausedCollector``):
resumed after each range, it would scan everything the range left to be freed."""


def digest_range(job: Digesting, after: int, upto: int) -> bytes:
    """In a worker: the events stored after position ``after`` up to ``upto``, digested,
    as ``marshal`` of (events read, last position, digests)."""
    key = (job.app, job.digester, tuple(sorted(job.env.items())))
    found = _sources.get(key)
    if found is None:
        app = job.app(env=job.env)
        digester = job.digester()
        found = _sources[key] = (EventSource(app, connect(job.env), digester.reads), digester)
    source, digester = found
    if not _collector:
        _collector.append(PausedCollector(WORKER_COLLECT_EVERY).__enter__())
        os.nice(WORKER_NICE)  # the runner first: it folds what the workers read ahead
    found_range = digested(source, digester, after, upto)
    _collector[0].folded(found_range[0])
    return marshal.dumps(found_range)


def digested(source: EventSource, digester: Any, after: int, upto: int) -> tuple[int, int, Any]:
    """The events stored after position ``after`` up to ``upto``, digested: the events
    read, the last one's position (``after`` when none) and their digests."""
    events = source.read_range(after, upto)
    digests = digester.digest_batch(StoredEvents(source, narrow=True), events)
    return len(events), events[-1][0] if events else after, digests
