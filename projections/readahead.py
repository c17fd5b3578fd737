"""Reading ahead in a second process while a runner folds a long catch-up.

A rebuild spends about as long reading and decoding events as folding them, one after
the other. For a projection that folds in two steps (``Projection.extracts``), a reader
process reads the events, decodes them and works out the first step
(``extract_batch``) a batch ahead, while the runner folds the batch before into rows:
the two steps run on two processors at once. Only plain data crosses between them, in
``marshal``'s format, which is loaded far faster than the events could be decoded.

Exactly-once is unchanged: the reader only reads the event store. The runner asks for
the batch after the position its generation has stored, takes a batch only if it starts
there, and commits rows and position together as ever. When another process committed
meanwhile, the runner asks again from the new position and the reader starts over there.
If the reader fails, the runner reads in its own process again.
"""

from __future__ import annotations

import marshal
import os
import pickle
import subprocess
import sys
from multiprocessing.connection import Connection as Pipe
from pathlib import Path
from typing import Any
from uuid import UUID

from projections.base import Projection
from projections.db import connect
from projections.events import EventSource, PausedCollector

Batch = tuple[int, int, list[tuple[int, Any]]]
"""A batch of extracted items: the position it ends at, the number of events it read,
and each event's item by position (events that need nothing are left out)."""


class ReadAheadFailed(RuntimeError):
    """The reader process stopped: the runner reads in its own process instead."""


class SourceEvents:
    """The ``Events`` of the event store itself: what the first step looks up."""

    def __init__(self, source: EventSource) -> None:
        self.source = source
        self.events: dict[tuple[UUID, int], Any] = {}

    def event(self, originator_id: UUID, version: int) -> Any | None:
        key = (originator_id, version)
        if key not in self.events:
            self.preload_events([key])
        return self.events.get(key)

    def preload_events(self, keys: Any) -> None:
        wanted = {key for key in keys if key not in self.events}
        if wanted:
            if len(self.events) > 50_000:
                self.events.clear()  # a cache, bounded
            found = self.source.versions(wanted)
            for key in wanted:
                self.events[key] = found.get(key)


class ReadAhead:
    """The runner's side: batches of extracted items, read ahead by the reader process.

    The reader is a fresh interpreter (``python -m projections.readahead``), not a fork:
    it inherits no connections, threads or locks, and needs no guard in whatever main
    module started the runner. It is given the application's class and persistence
    settings, and how to make the same projection, and it stops when its pipes close."""

    def __init__(self, app: Any, projection: Projection, limit: int) -> None:
        to_child, from_parent = os.pipe()
        to_parent, from_child = os.pipe()
        package = str(Path(__file__).resolve().parent.parent)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([package, *sys.path])}
        try:
            self.process = subprocess.Popen(  # noqa: S603 - this interpreter, this module
                [sys.executable, "-m", "projections.readahead", str(to_child), str(from_child)],
                pass_fds=(to_child, from_child),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,  # the runner's output is its own (not its errors)
                env=env,
            )
        except OSError:
            for fd in (from_parent, to_parent):
                os.close(fd)
            raise
        finally:
            os.close(to_child)
            os.close(from_child)
        self.commands = Pipe(from_parent, readable=False)
        self.batches = Pipe(to_parent, writable=False)
        self.limit = limit
        self.token = 0
        self.expected: int | None = None
        """Where the reader's next batch starts, while it is reading on."""
        setup = (type(app), dict(app.store_env), projection.spawn(), limit)
        try:
            self.commands.send_bytes(pickle.dumps(setup))
        except OSError as error:  # it stopped at once
            self.close()
            raise ReadAheadFailed(f"the reader process stopped: {error!r}") from error

    def read(self, after: int) -> Batch:
        """The batch of up to ``limit`` events stored after position ``after``."""
        try:
            if self.expected != after:
                self.token += 1
                self.commands.send_bytes(marshal.dumps((self.token, after)))
            while True:
                message = marshal.loads(self.batches.recv_bytes())  # noqa: S302 - our child
                if message[0] == "failed":
                    raise ReadAheadFailed(message[1])
                token, start, end, count, items = message
                if token == self.token and start == after:
                    break  # else a batch read before the runner asked again: dropped
        except (EOFError, OSError, ValueError) as error:
            raise ReadAheadFailed(f"the reader process stopped: {error!r}") from error
        self.expected = end if count == self.limit else None  # at the head it waits
        return end, count, items

    def close(self) -> None:
        self.commands.close()  # the reader stops at its next send or receive
        self.batches.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def serve(commands: Pipe, batches: Pipe) -> None:
    """The reader process: from each position asked for, read, decode and extract batch
    after batch, until the head of the store or until asked again."""
    try:
        app_type, env, spawn, limit = pickle.loads(commands.recv_bytes())  # noqa: S301
        app = app_type(env=env)
        source = EventSource(app, connect(app.store_env))
        factory, args = spawn
        projection: Projection = factory(*args)
        events = SourceEvents(source)
    except Exception as error:  # reported to the runner, which then reads itself
        batches.send_bytes(marshal.dumps(("failed", repr(error))))
        return
    with PausedCollector() as collector:
        while True:
            try:
                token, after = marshal.loads(commands.recv_bytes())  # noqa: S302
            except (EOFError, OSError):
                return  # the runner is done (or gone)
            while True:
                try:
                    batch = source.read(after, limit)
                    items = projection.extract_batch(events, batch) if batch else []
                    end = batch[-1][0] if batch else after
                    # version 2: no references between objects, written twice as fast
                    message = marshal.dumps((token, after, end, len(batch), items), 2)
                except Exception as error:  # reported, as above
                    message = marshal.dumps(("failed", repr(error)), 2)
                    batch = []
                try:
                    batches.send_bytes(message)
                except OSError:
                    return
                collector.folded(len(batch))
                if len(batch) < limit or commands.poll():
                    break  # at the head, or asked again: wait for where to go on
                after = end


if __name__ == "__main__":
    serve(Pipe(int(sys.argv[1]), writable=False), Pipe(int(sys.argv[2]), readable=False))
