"""Run projections: poll the event store, fold batches, commit rows with tracking.

The same polling runner serves SQLite (whose recorder cannot subscribe) and PostgreSQL.
Each batch is folded in memory and committed in one transaction together with the new
tracking position; the commit checks that the position it started from is still the
stored one, so two runners (or a crash and a restart) never count an event twice.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from rbloom import Bloom

from projections.base import Projection
from projections.committer import Committer
from projections.events import EventSource, PausedCollector, collector_paused
from projections.pipeline import Digesting, Pipeline
from projections.rows import BatchRows
from projections.store import (
    ConcurrentUpdateError,
    Doc,
    ReadModelStore,
    StaleReadModel,
    encode_writes,
    made_by,
)

BATCH_SIZE = 1000
REBUILD_BATCH = 20_000
"""Events per transaction of a rebuild: each commit rewrites the rows a batch touched
(every platform's running totals, say), so a long fold commits seldom; memory grows
with this, not with the store."""
WRITTEN_KEYS = 1_000_000
"""Keys the filter of written keys is sized for (about 1.2 MB at 1% false positives)."""
PIPELINE_FROM = 100_000
"""Events behind the head from which a catch-up (a rebuild's, say) of a projection that
digests its events has them read and digested by worker processes ahead of the fold."""
PIPELINE_BATCH = 5_000
"""The smallest batch size for that: smaller batches are a follower's, kept near the head."""
CACHE_ROWS = 4_000
"""Rows a runner keeps decoded between batches (a bound, so memory stays flat)."""
PHASES = ("read", "fold", "findings", "encode", "commit")
"""The phases of a batch that ``Phases`` times: reading and decoding its events, folding
them, evaluating at the head (``Projection.finish``), encoding the rows, and committing
(or waiting for the committer)."""


class Phases:
    """The seconds a runner's thread has spent in each phase of its batches (``PHASES``):
    where a rebuild's time goes. What is left of its time is spent between batches
    (freeing each one, choosing and swapping generations)."""

    def __init__(self) -> None:
        self.seconds = dict.fromkeys(PHASES, 0.0)

    @contextmanager
    def timed(self, phase: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[phase] += time.perf_counter() - started


@dataclass
class Status:
    projection: str
    generation: int
    position: int
    head: int
    build: str | None
    """The build that made the active generation (None: not recorded)."""
    current: bool
    """Whether that is this code's build; if not, ``refresh`` and the follower rebuild it."""

    @property
    def lag(self) -> int:
        return self.head - self.position


class Runner:
    def __init__(
        self,
        source: EventSource,
        store: ReadModelStore,
        projection: Projection,
        batch_size: int = BATCH_SIZE,
        on_batch: Callable[[int, int], None] | None = None,
    ) -> None:
        self.source = source
        self.store = store
        self.projection = projection
        self.batch_size = batch_size
        self.on_batch = on_batch
        self.cache: dict[tuple[str, str], Doc | None] = {}
        self.cached_at: tuple[int, int] | None = None
        """The generation and position the cached rows are committed at."""
        self.written: Bloom | None = None
        """Every key this runner has written into the generation it is filling, when it
        has filled that generation alone from position 0 (so the generation has no other
        rows): a key not in it needs no query. Kept with the cache, and forgotten with it.
        A fixed size, so memory stays flat; past ``WRITTEN_KEYS`` keys it answers "maybe"
        more often, which only costs queries."""
        self.build = projection.build()
        self.folded = 0
        """Events this runner has committed, in all."""
        self.phases = Phases()
        self.pipeline: Pipeline | None = None
        """The workers digesting the batches of a long catch-up ahead (``_pipeline``)."""
        self.pipeline_from = PIPELINE_FROM
        self.pipeline_batch = PIPELINE_BATCH
        """From how far behind, and from what batch size, a catch-up uses such workers."""
        self.rebuilding: int | None = None
        """The generation a rebuild is filling (the follower fills it a batch a round)."""
        self.replacing: int | None = None
        """The active generation when that rebuild began: the one it may replace."""
        self.watched: tuple[int, int, float] | None = None
        """A superseding generation, its position, and since when it has stood there."""
        self.seen = 0
        """The newest generation there was at this runner's first look, or that it has made
        or found current since (see ``superseded``)."""

    @property
    def name(self) -> str:
        return self.projection.name

    def status(self) -> Status:
        generation, built = self.store.ensure_built(self.name, self.build)
        position = self.store.position(self.name, generation)
        current = made_by(built, position, self.build)
        return Status(self.name, generation, position, self.source.head(), built, current)

    def active(self) -> int:
        """The active generation, if this runner's build made it (creating generation 1
        on first use, claiming an empty one a reader made).

        Raises ``StaleReadModel`` otherwise: its rows were made by other code or another
        configuration, and folding into it would mix two builds' rows."""
        generation, built = self.store.ensure_built(self.name, self.build)
        if not self.seen:
            self.seen = max(self.store.generations(self.name), default=generation)
        if built != self.build:
            if built is None:
                built = self.store.claim(self.name, generation, self.build)
            if built != self.build:
                raise StaleReadModel(self.name, built, self.build, generation)
        self.seen = max(self.seen, generation)
        return generation

    def step(self, generation: int | None = None) -> int:
        """Fold and commit one batch; return the number of events processed."""
        return self._step(generation, None)

    def _step(self, generation: int | None, committer: Committer | None) -> int:
        """Fold one batch; commit it, or hand it to ``committer`` to commit meanwhile."""
        live = generation is None
        generation = self.active() if generation is None else generation
        with self._dropped_is_concurrent(generation):
            return self._fold_batch(generation, live, committer)

    @contextmanager
    def _dropped_is_concurrent(self, generation: int) -> Iterator[None]:
        """Whatever the database raises because another process dropped ``generation``
        meanwhile (a rebuild started over: its table is gone) is a ``ConcurrentUpdateError``."""
        try:
            yield
        except ConcurrentUpdateError:
            raise
        except Exception as error:
            if self.store.has_generation(self.name, generation):
                raise
            raise ConcurrentUpdateError(
                f"{self.name} generation {generation} was dropped meanwhile"
            ) from error

    def _fold_batch(self, generation: int, live: bool, committer: Committer | None) -> int:
        timed = self.phases.timed
        if committer is not None and committer.busy and self.cached_at is not None:
            # the batch being committed ends where this one starts; if its commit
            # fails, so does waiting for it below, before anything of this batch is kept
            cached_generation, start = self.cached_at
            if cached_generation != generation:
                with timed("commit"):
                    committer.wait()
                start = self.store.position(self.name, generation)
        else:
            if committer is not None:
                with timed("commit"):
                    committer.wait()
            start = self.store.position(self.name, generation)
        with timed("read"):
            digested = None if self.pipeline is None else self.pipeline.take(start)
            if digested is None:
                events: list[Any] = self.source.read(start, self.batch_size)
                count, end = len(events), events[-1][0] if events else start
            else:
                events, count, end = digested.digests, digested.events, digested.end
        if committer is not None:
            with timed("commit"):
                committer.wait()  # the rows read from here on include the previous batch
        if not count:
            return 0
        if self.cached_at != (generation, start):
            self.cache.clear()
            # a generation at position 0 has no rows (every commit moves the position)
            self.written = Bloom(WRITTEN_KEYS, 0.01) if start == 0 else None
        self.cached_at = None
        rows = BatchRows(
            self.store, self.name, generation, self.cache, self.source, written=self.written
        )
        projection = self.projection
        try:
            with collector_paused():
                with timed("fold"):
                    if digested is None:
                        projection.prefetch(rows, events)
                        for position, event in events:
                            projection.apply(rows, position, event)
                    else:
                        projection.prefetch_digests(rows, events)
                        apply = projection.apply_digest
                        for digest in events:
                            apply(rows, digest)
                # (a digested range may hold fewer events than a batch: positions a
                # rolled-back transaction took on PostgreSQL are missing)
                short = count < self.batch_size and digested is None
                if short or end >= self.source.head():
                    with timed("findings"):
                        self.projection.finish(rows)
            with timed("encode"):
                # a key this runner never wrote is not in the generation: inserted unchecked
                encoded = encode_writes(rows.writes, self.written)
                if self.written is not None:
                    self.written.update(rows.writes)
            with timed("commit"):
                if committer is None:
                    self.store.commit_encoded(
                        self.name, generation, start, end, encoded, require_active=live
                    )
                    self.folded += count
                else:
                    committer.submit(
                        self.name,
                        generation,
                        start,
                        end,
                        encoded,
                        require_active=live,
                        events=count,
                    )
        except BaseException:
            self.cache.clear()  # it may hold changes that were never committed
            self.written = None
            raise
        self.cached_at = (generation, end)
        self._trim()
        if self.on_batch is not None:
            self.on_batch(count, end)
        return count

    def _trim(self) -> None:
        """Forget the rows used longest ago, down to three quarters of the bound."""
        excess = len(self.cache) - CACHE_ROWS
        if excess > 0:
            for key in list(itertools.islice(self.cache, excess + CACHE_ROWS // 4)):
                del self.cache[key]

    def refresh(self) -> tuple[int, bool]:
        """Bring the read model up to date: catch up, or rebuild it side by side when its
        active generation was made by another build (found so at once, or while catching
        up). Return the events folded, and whether it was rebuilt."""
        try:
            return self.catch_up(), False
        except StaleReadModel:
            return self.rebuild(resume=True), True

    def catch_up(self, generation: int | None = None) -> int:
        """Fold and commit batches until the head of the store; return the events this
        runner committed.

        With a store that can open another connection, each batch is committed in the
        background while the next one is read. When another process commits a batch
        first (or swaps another generation in), this one goes on from where that one got;
        it gives up (``ConcurrentUpdateError``) when the generation was dropped, or when
        nothing moved since the last such collision."""
        before = self.folded
        last: tuple[int, int] | None = None
        while True:
            try:
                self._catch_up(generation)
                return self.folded - before
            except ConcurrentUpdateError:
                now = self._where(generation)  # raises when the generation is gone
                if now == last:
                    raise
                last = now

    def _where(self, generation: int | None) -> tuple[int, int]:
        """The generation folded into (the active one when None) and its position."""
        if generation is None:
            generation = self.store.active_generation(self.name)
            if generation is None:
                raise ConcurrentUpdateError(f"{self.name} has no active generation")
        return generation, self.store.position(self.name, generation)

    def _catch_up(self, generation: int | None) -> None:
        try:
            self.pipeline = self._pipeline(generation)
            self._catch_up_batches(generation)
        finally:
            if self.pipeline is not None:
                self.pipeline.close()
                self.pipeline = None

    def _pipeline(self, generation: int | None) -> Pipeline | None:
        """Worker processes that read and digest the batches ahead, when the projection
        digests its events and the backlog is long (``PIPELINE_FROM``)."""
        digesting = self.projection.digesting()
        env = self.store.env
        if digesting is None or env is None or self.batch_size < self.pipeline_batch:
            return None
        start = self.store.position(self.name, self.active() if generation is None else generation)
        head = self.source.head()
        if head - start < self.pipeline_from:
            return None
        digester, workers = digesting
        job = Digesting(type(self.source.app), env, digester)
        return Pipeline(job, start, head, self.batch_size, workers, local=self.source)

    def _catch_up_batches(self, generation: int | None) -> None:
        if self.store.reconnect is None:
            with PausedCollector() as collector:
                while processed := self.step(generation):
                    collector.folded(processed)
            return
        committer = Committer(self.store)
        try:
            with PausedCollector() as collector:
                while processed := self._step(generation, committer):
                    collector.folded(processed)
                committer.wait()
        except BaseException:
            self.cache.clear()
            self.cached_at = None
            self.written = None
            raise
        finally:
            committer.close()
            self.folded += committer.committed

    def rebuild(self, *, resume: bool = False) -> int:
        """Fold every event into a new generation, then swap it in; return events folded.

        ``resume``: a generation this build began (a rebuild that was stopped, or is going
        on in another process) is caught up and swapped in instead of starting again from
        the first event: its rows and position were committed together, like any other's.
        Two processes filling the same generation take turns: a batch the other one
        committed first is not folded twice, and each goes on from where the other got.
        When another process has meanwhile swapped in this build's generation, this one
        just catches up with it. See ``ReadModelStore.prepare_rebuild``."""
        generation = self.begin_rebuild(resume=resume)
        if generation is None:
            return self.catch_up()
        before = self.folded
        try:
            self.catch_up(generation)
        except BaseException:
            self.rebuilding = None
            raise
        self.finish_rebuild()
        return self.folded - before

    def begin_rebuild(self, *, resume: bool) -> int | None:
        """Choose (or make) the generation to rebuild into; None: nothing to rebuild."""
        self.store.ensure(self.name)
        prepared = self.store.prepare_rebuild(self.name, self.build, resume=resume)
        if prepared is None:
            self.rebuilding = None
            return None
        self.rebuilding, self.replacing = prepared
        self.seen = max(self.seen, self.rebuilding)
        return self.rebuilding

    def finish_rebuild(self) -> None:
        """Swap the rebuilt generation in (if it is still there, still this build's, and no
        other was swapped in since the rebuild began)."""
        generation, self.rebuilding = self.rebuilding, None
        if generation is not None:
            self.store.swap(self.name, generation, self.build, self.replacing)
            self.seen = max(self.seen, generation)

    def rebuild_step(self) -> int:
        """One batch of the rebuild under way (``begin_rebuild``), committed; once it
        reaches the head of the store, the generation is swapped in. Return the events."""
        if self.rebuilding is None:
            return 0
        try:
            processed = self.step(self.rebuilding)
        except ConcurrentUpdateError:
            # another process filling the same generation committed first: go on from where
            # it got, unless it dropped the generation (then start over on the next stale)
            if not self.store.has_generation(self.name, self.rebuilding):
                self.rebuilding = None
            raise
        if processed < self.batch_size:
            self.finish_rebuild()
        return processed

    def superseding(self) -> int | None:
        """The newest generation of another build made since this runner first looked (and
        since any it made itself): another process, started later, swapped it in or is
        filling it. None when there is none: a stale generation that was there when this
        runner started is rebuilt, and one of this build is resumed.

        The newest build to start wins (a deploy that changes the code or the thresholds),
        rather than two followers of two builds rebuilding over each other in turn; see
        ``abandoned`` for a process that made its generation and stopped folding it."""
        newer = [g for g in self.store.generations(self.name) if g > self.seen]
        others = [g for g in newer if self.store.build_of(self.name, g) != self.build]
        return max(others, default=None)

    def abandoned(self, generation: int, after: float) -> bool:
        """Whether nobody has folded ``generation`` for ``after`` seconds while events
        waited for it (a one-shot ``buurtkas project`` made it and ended): a follower then
        takes the read model back instead of leaving it behind for good."""
        try:
            position = self.store.position(self.name, generation)
        except ConcurrentUpdateError:  # dropped: nothing left to leave the model to
            return True
        now = time.monotonic()
        if position >= self.source.head():
            self.watched = None
            return False
        if self.watched is None or self.watched[:2] != (generation, position):
            self.watched = (generation, position, now)
            return False
        return now - self.watched[2] >= after


class Stop(Protocol):
    """What ends ``follow_together``: a ``threading.Event`` or a ``SignalStop``."""

    def is_set(self) -> bool: ...

    def wait(self, timeout: float) -> bool: ...


class SignalStop:
    """A stop that a signal handler may set: a plain flag, no lock.

    ``threading.Event.set`` takes a lock that ``Event.wait`` holds for a moment, so a
    handler calling it on the thread that waits could deadlock. This one is set and
    read without a lock, and waits in short sleeps.

    With ``parent``, it is also set once this process's parent is no longer that
    process (it ended, however: a child projector does not outlive its server)."""

    def __init__(self, step: float = 0.05, parent: int | None = None) -> None:
        self.flag = False
        self.step = step
        self.parent = parent

    def set(self) -> None:
        self.flag = True

    def is_set(self) -> bool:
        if not self.flag and self.parent is not None and os.getppid() != self.parent:
            self.flag = True
        return self.flag

    def wait(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not self.is_set() and time.monotonic() < deadline:
            time.sleep(min(self.step, max(0.0, deadline - time.monotonic())))
        return self.flag


TAKEOVER_SECONDS = 60.0
"""How long a follower leaves a read model to a later build's generation that nobody
folds while events wait for it, before it takes the model back (``Runner.abandoned``)."""


def follow_together(
    all_runners: list[Runner],
    stop: Stop,
    failed: Callable[[Runner, Exception], None],
    *,
    poll: float = 0.25,
    rebuilding: Callable[[Runner, StaleReadModel], None] | None = None,
    superseded: Callable[[Runner, StaleReadModel], None] | None = None,
    takeover: float = TAKEOVER_SECONDS,
) -> None:
    """Fold new events into every read model in turn until ``stop`` is set.

    One thread and the runners' one connection: the models are folded one after another,
    each a batch at a time, then the store is polled again after ``poll`` seconds unless
    a batch was full (a backlog). A batch another process committed first is skipped; an
    error is handed to ``failed`` and that model is tried again on a later round, after a
    pause (readiness shows the lag meanwhile).

    A model whose active generation another build made is rebuilt side by side
    (``rebuilding`` is told first), a batch a round like the others, so they stay current
    meanwhile and ``stop`` ends it between batches; readers keep the old generation until
    the new one is swapped in. If a process started later made a generation of its own
    build (``Runner.superseding``: ``superseded`` is told, once), the model is left to
    it, unless nobody has folded that generation for ``takeover`` seconds while events
    waited (``Runner.abandoned``).
    """
    told: dict[str, int] = {}
    while not stop.is_set():
        backlog = False
        for runner in all_runners:
            try:
                backlog |= follow_step(runner, told, rebuilding, superseded, takeover)
            except ConcurrentUpdateError:
                continue
            except Exception as error:
                failed(runner, error)
                stop.wait(5)
        if not backlog:
            stop.wait(poll)


def follow_step(
    runner: Runner,
    told: dict[str, int],
    rebuilding: Callable[[Runner, StaleReadModel], None] | None = None,
    superseded: Callable[[Runner, StaleReadModel], None] | None = None,
    takeover: float = TAKEOVER_SECONDS,
) -> bool:
    """One batch of one model as a follower folds it, of its rebuild if one is under way
    (beginning one when its generation is stale, unless superseded); whether it was full.
    ``told``: the generation each model was last found superseded by (told once each)."""
    if runner.rebuilding is not None:
        return runner.rebuild_step() >= runner.batch_size
    try:
        return runner.step() >= runner.batch_size
    except StaleReadModel as stale:
        newer = runner.superseding()
        if newer is not None and not runner.abandoned(newer, takeover):
            if superseded is not None and told.get(runner.name) != newer:
                superseded(runner, stale)
            told[runner.name] = newer
            return False
        if rebuilding is not None:
            rebuilding(runner, stale)
        runner.begin_rebuild(resume=True)
        return True
