"""The rows a projection reads and writes while it folds events.

A document returned by ``get`` belongs to the caller until it is given back with
``put``; projections always ``put`` what they changed. (No copies: folding a large
document per event would otherwise cost in proportion to its size.)

``MemoryRows`` is the pure fold (and the as-of replay); ``BatchRows`` reads through to a
read-model table and collects the batch's writes until they are committed together with
the tracking position.

Rows also answer for the events folded before: ``event`` gives a version of an
aggregate, so a projection need not copy into rows what the store keeps anyway (the
first event of an aggregate says which platform it belongs to; a correction names the
version it reverses). ``MemoryRows`` remembers the events it is shown; ``BatchRows``
reads them from the event store.
"""

from __future__ import annotations

import copy
from collections.abc import Container, Iterable
from typing import Any, NamedTuple, Protocol, TypeVar
from uuid import UUID

from projections.events import EventSource
from projections.store import Doc, ReadModelStore, encode

V = TypeVar("V")

Overlay = dict[str, "tuple[str | None, str] | None"]
"""A batch's writes of one kind by key: None (deleted), or the row's platform and its
document as JSON text (empty when the row is not of the platforms asked for: the key is
still taken from wherever the stored rows have it)."""


class Elsewhere(NamedTuple):
    """How another process reads a batch's rows as they were committed: the event store
    settings to open the database with, the read model and its generation."""

    env: dict[str, str]
    projection: str
    generation: int


def laid_over(
    found: dict[str, dict[str, V]],
    selected: Iterable[tuple[str, str, str | None, V]],
    writes: Iterable[tuple[str, tuple[str | None, V] | None]],
) -> dict[str, list[tuple[str, V]]]:
    """The ``selected`` rows (kind, key, platform, document) in ``found`` by platform, with
    ``writes`` (key, then None or platform and document) laid over: a written row leaves
    the platform it was under, and joins its own if that is in ``found``."""
    owner: dict[str, str] = {}
    for _, key, platform, doc in selected:
        found[str(platform)][key] = doc
        owner[key] = str(platform)
    for key, write in writes:
        was = owner.pop(key, None)
        if was is not None:
            del found[was][key]
        if write is not None and write[0] in found:
            found[write[0]][key] = write[1]
            owner[key] = write[0]
    return {p: sorted(docs.items()) for p, docs in found.items()}


class Rows(Protocol):
    def get(self, kind: str, key: str) -> Doc | None: ...

    def put(
        self, kind: str, key: str, doc: Doc, platform: str | None = None, *, keep: bool = True
    ) -> None:
        """Write a row; ``keep=False``: the projection will not ``get`` it again (a hint)."""
        ...

    def delete(self, kind: str, key: str) -> None: ...

    def items(self, kind: str, platform: str) -> list[tuple[str, Doc]]:
        """Every row of ``kind`` belonging to ``platform``, by key."""
        ...

    def items_of(self, kind: str, platforms: Iterable[str]) -> dict[str, list[tuple[str, Doc]]]:
        """``items`` of each of ``platforms``, read together."""
        ...

    def elsewhere(self, kind: str, platforms: Iterable[str]) -> tuple[Elsewhere, Overlay] | None:
        """How another process reads the rows this batch started from, and this batch's
        writes of ``kind`` for it to lay over them (``laid_over``), with the documents of
        ``platforms`` (see ``Overlay``); None: no other process can read them."""
        ...

    def keys(self, kind: str) -> list[str]:
        """The keys of every row of ``kind``."""
        ...

    def preload(self, keys: Iterable[tuple[str, str]]) -> None:
        """Fetch these rows in bulk before a batch needs them (a hint; may do nothing)."""
        ...

    def remember(self, event: Any) -> None:
        """Shown every event before it is folded (rows that cannot read the store keep it)."""
        ...

    def event(self, originator_id: UUID, version: int) -> Any | None:
        """Version ``version`` of aggregate ``originator_id``, folded before (else None)."""
        ...

    def preload_events(self, keys: Iterable[tuple[UUID, int]]) -> None:
        """Fetch these events in bulk before a batch needs them (a hint; may do nothing)."""
        ...


class MemoryRows:
    def __init__(self, events: dict[tuple[int, int], Any] | None = None) -> None:
        """``events`` may be shared by folds over the same events."""
        self.rows: dict[tuple[str, str], tuple[str | None, Doc]] = {}
        self.events: dict[tuple[int, int], Any] = {} if events is None else events
        """By the aggregate's UUID as an integer (hashed faster than a UUID) and version."""

    def get(self, kind: str, key: str) -> Doc | None:
        found = self.rows.get((kind, key))
        return found[1] if found else None

    def put(
        self, kind: str, key: str, doc: Doc, platform: str | None = None, *, keep: bool = True
    ) -> None:
        self.rows[(kind, key)] = (platform, doc)

    def delete(self, kind: str, key: str) -> None:
        self.rows.pop((kind, key), None)

    def items(self, kind: str, platform: str) -> list[tuple[str, Doc]]:
        return self.items_of(kind, [platform])[platform]

    def items_of(self, kind: str, platforms: Iterable[str]) -> dict[str, list[tuple[str, Doc]]]:
        found: dict[str, list[tuple[str, Doc]]] = {p: [] for p in platforms}
        for (k, key), (p, doc) in self.rows.items():
            if k == kind and p in found:
                found[p].append((key, doc))
        return {p: sorted(rows) for p, rows in found.items()}

    def elsewhere(self, kind: str, platforms: Iterable[str]) -> tuple[Elsewhere, Overlay] | None:
        return None  # nothing is stored

    def keys(self, kind: str) -> list[str]:
        return sorted(key for (k, key) in self.rows if k == kind)

    def preload(self, keys: Iterable[tuple[str, str]]) -> None:
        pass

    def remember(self, event: Any) -> None:
        self.events[(event.originator_id.int, event.originator_version)] = event

    def event(self, originator_id: UUID, version: int) -> Any | None:
        return self.events.get((originator_id.int, version))

    def preload_events(self, keys: Iterable[tuple[UUID, int]]) -> None:
        pass

    def select(
        self, kind: str | None = None, platform: str | None = None
    ) -> list[tuple[str, str, str | None, Doc]]:
        return sorted(
            (k, key, p, copy.deepcopy(doc))
            for (k, key), (p, doc) in self.rows.items()
            if (kind is None or k == kind) and (platform is None or p == platform)
        )


class BatchRows:
    """One batch's view of a read-model table.

    ``cache`` may be shared between the batches of one runner: it then holds the rows
    as the previous batch committed them (``None`` for a row known to be absent), and
    the runner empties it whenever that is not sure (a failed batch, a position moved
    by someone else). Rows a batch writes are moved to its end, so a runner that trims
    the cache from its start keeps the rows in use.
    """

    def __init__(
        self,
        store: ReadModelStore,
        projection: str,
        generation: int,
        cache: dict[tuple[str, str], Doc | None] | None = None,
        source: EventSource | None = None,
        written: Container[tuple[str, str]] | None = None,
    ) -> None:
        """``written``: holds at least every key there is a row for in this generation
        (see ``Runner.written``); a key it does not hold is absent without a query."""
        self.store = store
        self.written = written
        self.stored = None if source is None else StoredEvents(source)
        self.projection = projection
        self.generation = generation
        self.cache: dict[tuple[str, str], Doc | None] = {} if cache is None else cache
        self.writes: dict[tuple[str, str], tuple[str | None, Doc] | None] = {}

    def get(self, kind: str, key: str) -> Doc | None:
        k = (kind, key)
        if k not in self.cache:
            if k in self.writes:  # written by this batch, not kept
                written = self.writes[k]
                return written[1] if written is not None else None
            if self.written is not None and k not in self.written:
                self.cache[k] = None  # never written: no row
            else:
                self.cache[k] = self.store.get(self.projection, self.generation, kind, key)
        return self.cache[k]

    def put(
        self, kind: str, key: str, doc: Doc, platform: str | None = None, *, keep: bool = True
    ) -> None:
        k = (kind, key)
        if k not in self.writes or not keep:
            self.cache.pop(k, None)
        if keep:
            self.cache[k] = doc
        self.writes[k] = (platform, doc)

    def delete(self, kind: str, key: str) -> None:
        k = (kind, key)
        if k not in self.writes:
            self.cache.pop(k, None)
        self.cache[k] = None
        self.writes[k] = None

    def items(self, kind: str, platform: str) -> list[tuple[str, Doc]]:
        return self.items_of(kind, [platform])[platform]

    def items_of(self, kind: str, platforms: Iterable[str]) -> dict[str, list[tuple[str, Doc]]]:
        """One query for all ``platforms`` (in chunks), with this batch's writes laid over."""
        found: dict[str, dict[str, Doc]] = {p: {} for p in platforms}
        selected = self.store.select_platforms(self.projection, self.generation, kind, list(found))
        writes = ((key, write) for (k, key), write in self.writes.items() if k == kind)
        return laid_over(found, selected, writes)

    def elsewhere(self, kind: str, platforms: Iterable[str]) -> tuple[Elsewhere, Overlay] | None:
        env = self.store.env
        if env is None:
            return None
        wanted = set(platforms)
        return Elsewhere(env, self.projection, self.generation), {
            key: None
            if write is None
            else (write[0], encode(write[1]) if write[0] in wanted else "")
            for (k, key), write in self.writes.items()
            if k == kind
        }

    def preload(self, keys: Iterable[tuple[str, str]]) -> None:
        wanted: dict[str, list[str]] = {}
        written = self.written
        for kind, key in keys:
            k = (kind, key)
            if k not in self.cache and k not in self.writes:  # (a written row is newer)
                if written is not None and k not in written:
                    self.cache[k] = None  # never written: no row
                else:
                    wanted.setdefault(kind, []).append(key)
        for kind, names in wanted.items():
            unique = sorted(set(names))
            found = self.store.get_many(self.projection, self.generation, kind, unique)
            for key in unique:
                self.cache[(kind, key)] = found.get(key)

    def keys(self, kind: str) -> list[str]:
        found = {key for _, key, _, _ in self.store.select(self.projection, self.generation, kind)}
        for (k, key), write in self.writes.items():
            if k == kind:
                if write is None:
                    found.discard(key)
                else:
                    found.add(key)
        return sorted(found)

    def remember(self, event: Any) -> None:
        pass  # the event store has it

    def event(self, originator_id: UUID, version: int) -> Any | None:
        return self._stored().event(originator_id, version)

    def preload_events(self, keys: Iterable[tuple[UUID, int]]) -> None:
        self._stored().preload_events(keys)

    def _stored(self) -> StoredEvents:
        if self.stored is None:
            raise RuntimeError("these rows were opened without an event source")
        return self.stored


class StoredEvents:
    """Stored events looked up by aggregate and version (an aggregate's first event, a
    rejected expense's earlier ones): read in bulk, and kept while this lives (a batch).
    ``narrow``: decoded as far as the source's ``fields`` say (else whole)."""

    def __init__(self, source: EventSource, *, narrow: bool = False) -> None:
        self.source = source
        self.narrow = narrow
        self.events: dict[tuple[UUID, int], Any] = {}

    def event(self, originator_id: UUID, version: int) -> Any | None:
        key = (originator_id, version)
        if key not in self.events:
            self.preload_events([key])
        return self.events.get(key)

    def preload_events(self, keys: Iterable[tuple[UUID, int]]) -> None:
        wanted = {key for key in keys if key not in self.events}
        if wanted:
            found = self.source.versions(wanted, narrow=self.narrow)
            for key in wanted:
                self.events[key] = found.get(key)
