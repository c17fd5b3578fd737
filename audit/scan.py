"""The store checks of the integrity check: every event against its leaf, the tree against
the signed checkpoints, and the positions complete and in order.

The leaves are cut into ranges that are complete subtrees (``2**m`` leaves each, the last
one partial). Each range is read in pages as leaves joined to their events, in tree order:
each event's leaf hash is recomputed from its stored bytes, and the range's subtree is
rebuilt from its leaves. Ranges are independent, so they are checked in parallel worker
processes when a ``connect`` function is given; the parent composes the ranges' subtrees
into the tree's root at every checkpoint's size, and finds the events without a leaf.
Memory does not grow with the log.
"""

from __future__ import annotations

import hashlib
import multiprocessing
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from audit import merkle
from audit.checkpoint import Checkpoint
from audit.leaf import FORMAT_VERSION, HEAD_FIXED, LENGTH, TIME
from audit.log import Database, consistency_proof
from audit.seal import LEAVES

PAGE = 5000
BLOCK_LEVEL = 12
MAX_LISTED = 20
PARALLEL_FROM = 200_000

Stack = list[tuple[int, bytes]]


@dataclass
class Finding:
    check: str
    """``events`` (an event against its leaf), ``positions`` or ``checkpoints``."""
    kind: str
    position: int | None
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "kind": self.kind,
            "position": self.position,
            "detail": self.detail,
        }


@dataclass
class Findings:
    listed: list[Finding] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, check: str, kind: str, position: int | None, detail: str) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + 1
        if self.counts[kind] <= MAX_LISTED:
            self.listed.append(Finding(check, kind, position, detail))

    def merge(self, other: Findings) -> None:
        for kind, count in other.counts.items():
            self.counts[kind] = self.counts.get(kind, 0) + count
        for finding in other.listed:
            if sum(f.kind == finding.kind for f in self.listed) < MAX_LISTED:
                self.listed.append(finding)


@dataclass
class ScanReport:
    events: int = 0
    leaves: int = 0
    checkpoints: int = 0
    root_hash: bytes = merkle.EMPTY_ROOT
    found: Findings = field(default_factory=Findings)
    good: Checkpoint | None = None
    """The latest checkpoint whose root the log still has."""

    @property
    def findings(self) -> list[Finding]:
        return sorted(self.found.listed, key=_order)

    @property
    def counts(self) -> dict[str, int]:
        return self.found.counts


def _order(finding: Finding) -> tuple[int, int]:
    return (0, 0) if finding.position is None else (1, finding.position)


@dataclass
class RangeResult:
    lo: int
    leaves: int
    first_position: int | None
    last_position: int | None
    stacks: dict[int, tuple[Stack, int]]
    """The range's own compact subtrees, and the last position, at each asked-for size."""
    found: Findings
    complete: bool


def _join_statement(dialect: str, events_table: str) -> str:
    """Leaves joined to their events, in tree order, one window of leaf indices at a time.

    On PostgreSQL the database assembles each event's leaf bytes (docs/audit.md) from its
    columns, in C and in its own process; on SQLite they are assembled here. Either way
    the hash is computed here, never by the database.
    """
    if dialect == "postgres":
        return (
            "SELECT l.leaf_index, l.position, l.hash, "  # noqa: S608
            "'\\x00'::bytea || '\\x01'::bytea || int8send(l.position) "
            "|| uuid_send(e.originator_id) || int8send(e.originator_version) "
            "|| int4send(octet_length(convert_to(e.topic, 'UTF8'))) "
            "|| convert_to(e.topic, 'UTF8') || int4send(octet_length(e.state)) || e.state "
            "|| int8send(l.recorded_at) "
            f"FROM {LEAVES} l LEFT JOIN {events_table} e ON e.notification_id = l.position "
            "WHERE l.leaf_index >= ? AND l.leaf_index < ? ORDER BY l.leaf_index"
        )
    return (
        "SELECT l.leaf_index, l.position, l.hash, l.recorded_at, "  # noqa: S608
        "e.originator_id, e.originator_version, e.topic, e.state "
        f"FROM {LEAVES} l LEFT JOIN {events_table} e ON e.rowid = l.position "
        "WHERE l.leaf_index >= ? AND l.leaf_index < ? ORDER BY l.leaf_index"
    )


Checked = tuple[int, int, bytes, bytes | None]
"""Leaf index, position, stored leaf hash, and the hash recomputed from the event (or None)."""


def _recompute_postgres(rows: list[tuple[Any, ...]]) -> list[Checked]:
    sha = hashlib.sha256
    return [
        (index, position, digest, None if preimage is None else sha(preimage).digest())
        for index, position, digest, preimage in rows
    ]


def _recompute_sqlite(rows: list[tuple[Any, ...]]) -> list[Checked]:
    """The leaf bytes of docs/audit.md assembled here; each topic's encoding is cached."""
    sha, fromhex = hashlib.sha256, bytes.fromhex
    head, length, stamp = HEAD_FIXED.pack, LENGTH.pack, TIME.pack
    topics: dict[str, bytes] = {}
    checked: list[Checked] = []
    for index, position, digest, recorded_at, aggregate_id, version, topic, state in rows:
        if aggregate_id is None:
            checked.append((index, position, digest, None))
            continue
        topic_part = topics.get(topic)
        if topic_part is None:
            encoded = topic.encode()
            topic_part = topics[topic] = length(len(encoded)) + encoded
        preimage = b"".join(
            (
                b"\x00",
                head(FORMAT_VERSION, position, fromhex(aggregate_id), version),
                topic_part,
                length(len(state)),
                state,
                stamp(recorded_at),
            )
        )
        checked.append((index, position, digest, sha(preimage).digest()))
    return checked


def _reduce(block: list[bytes]) -> bytes:
    """The root of a complete block of leaf hashes (a power of two of them)."""
    sha = hashlib.sha256
    level = block
    while len(level) > 1:
        pairs = iter(level)
        level = [sha(b"\x01" + a + b).digest() for a, b in zip(pairs, pairs, strict=True)]
    return level[0]


def check_range(
    connect: Callable[[], Database], events_table: str, lo: int, hi: int, sizes: Sequence[int]
) -> RangeResult:
    """Check leaves ``lo`` to ``hi - 1`` against their events; rebuild their subtree.

    ``sizes`` are tree sizes inside ``(lo, hi]`` at which the range's compact subtrees are
    wanted (for the checkpoints); the range's end is always reported.
    """
    # One reader thread owns the connection and fetches the next page while this thread
    # hashes the current one (the database driver releases the GIL while it waits).
    with ThreadPoolExecutor(max_workers=1) as reader:
        db = reader.submit(connect).result()
        try:
            return _check_range(db, events_table, lo, hi, sizes, reader)
        finally:
            close = getattr(db, "close", None)
            if close is not None:
                reader.submit(close).result()


def _prefetched(
    reader: ThreadPoolExecutor,
    fetch: Callable[[tuple[int, int]], list[tuple[Any, ...]]],
    windows: list[tuple[int, int]],
) -> Iterator[list[tuple[Any, ...]]]:
    pending = reader.submit(fetch, windows[0]) if windows else None
    for following in [*windows[1:], None]:
        assert pending is not None
        rows = pending.result()
        pending = reader.submit(fetch, following) if following is not None else None
        yield rows


def _check_range(
    db: Database,
    events_table: str,
    lo: int,
    hi: int,
    sizes: Sequence[int],
    reader: ThreadPoolExecutor | None = None,
) -> RangeResult:
    statement = _join_statement(db.dialect, events_table)
    windows = [(start, min(start + PAGE, hi)) for start in range(lo, hi, PAGE)]

    def fetch(window: tuple[int, int]) -> list[tuple[Any, ...]]:
        return db.execute(statement, list(window))

    pages = (
        _prefetched(reader, fetch, windows)
        if reader is not None
        else (fetch(window) for window in windows)
    )
    recompute = _recompute_postgres if db.dialect == "postgres" else _recompute_sqlite
    found = Findings()
    frontier = merkle.Frontier()
    block: list[bytes] = []
    block_size = 1 << BLOCK_LEVEL
    wanted = sorted(s - lo for s in sizes if lo < s <= hi)
    stacks: dict[int, tuple[Stack, int]] = {}
    expected, seen, first, last = lo, 0, None, None
    # Pages are windows of leaf indices, so every query stays small whatever the planner
    # believes about the table's size.
    for rows in pages:
        for index, position, digest, recomputed in recompute(rows):
            if index != expected:
                found.add(
                    "positions",
                    "leaf_index_gap",
                    position,
                    f"leaf index {index} where {expected} was expected",
                )
            if last is not None and position <= last:
                found.add(
                    "positions",
                    "out_of_order",
                    position,
                    f"leaf {index} has position {position} after {last}",
                )
            if recomputed is None:
                found.add("positions", "leaf_without_event", position, "leaf has no event")
            elif recomputed != digest:
                found.add(
                    "events", "event_differs", position, "stored event does not match its leaf"
                )
            if first is None:
                first = position
            last = position
            expected = index + 1
            seen += 1
            block.append(bytes(digest))
            if len(block) == block_size:
                frontier.append_subtree(BLOCK_LEVEL, _reduce(block))
                block = []
            while wanted and wanted[0] == frontier.size + len(block):
                stacks[lo + wanted.pop(0)] = (_stack_with(frontier, block), position)
    stacks[lo + frontier.size + len(block)] = (_stack_with(frontier, block), last or 0)
    return RangeResult(lo, seen, first, last, stacks, found, complete=seen == hi - lo)


def _stack_with(frontier: merkle.Frontier, leaves: list[bytes]) -> Stack:
    twin = frontier.copy()
    for leaf in leaves:
        twin.append(leaf)
    return list(twin.stack)


def plan_ranges(size: int, workers: int, min_level: int = BLOCK_LEVEL) -> list[tuple[int, int]]:
    """Cut ``size`` leaves into complete subtrees of ``2**m`` leaves, about two per worker."""
    if size == 0:
        return []
    level = max(min_level, (max(1, size // (2 * workers))).bit_length() - 1)
    step = 1 << level
    return [(lo, min(lo + step, size)) for lo in range(0, size, step)]


def scan(
    db: Database,
    events_table: str,
    checkpoints: Sequence[Checkpoint],
    public_key: Ed25519PublicKey | None,
    connect: Callable[[], Database] | None = None,
    workers: int = 1,
    parallel_from: int = PARALLEL_FROM,
    min_level: int = BLOCK_LEVEL,
) -> ScanReport:
    """Check every event, leaf and checkpoint; report what differs, naming positions.

    With ``connect`` (a picklable function opening a new connection to the same store) and
    ``workers`` > 1, stores of at least ``parallel_from`` leaves are checked in parallel.
    Ranges hold at least ``2**min_level`` leaves.
    """
    report = ScanReport(checkpoints=len(checkpoints))
    trusted = sorted(_check_signatures(report, checkpoints, public_key), key=lambda c: c.tree_size)
    size = _leaf_count(db)
    report.events = _event_count(db, events_table)
    sizes = sorted({c.tree_size for c in trusted if 0 < c.tree_size <= size})
    ranges = plan_ranges(size, workers, min_level)
    if connect is not None and workers > 1 and size >= parallel_from:
        # A fork server: workers start from a clean process (no inherited connections) with
        # the scan already imported, so starting them costs little.
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["audit.scan", *_module_of(connect)])
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            futures = [
                pool.submit(check_range, connect, events_table, lo, hi, sizes) for lo, hi in ranges
            ]
            _events_without_leaves(db, events_table, report)
            results = [future.result() for future in futures]
    else:
        results = [_check_range(db, events_table, lo, hi, sizes) for lo, hi in ranges]
        _events_without_leaves(db, events_table, report)
    _compose(report, results, trusted)
    check_stored_subtrees(db, report, report.good)
    return report


def _module_of(function: Callable[..., Any]) -> list[str]:
    module = getattr(getattr(function, "func", function), "__module__", None)
    return [module] if isinstance(module, str) else []


def _leaf_count(db: Database) -> int:
    rows = db.execute(f"SELECT MAX(leaf_index) FROM {LEAVES}")  # noqa: S608
    return 0 if not rows or rows[0][0] is None else int(rows[0][0]) + 1


def _event_count(db: Database, events_table: str) -> int:
    return int(db.execute(f"SELECT COUNT(*) FROM {events_table}")[0][0])  # noqa: S608


def _events_without_leaves(db: Database, events_table: str, report: ScanReport) -> None:
    column = "notification_id" if db.dialect == "postgres" else "rowid"
    rows = db.execute(
        f"SELECT e.{column} FROM {events_table} e WHERE NOT EXISTS "  # noqa: S608
        f"(SELECT 1 FROM {LEAVES} l WHERE l.position = e.{column}) "
        f"ORDER BY e.{column} LIMIT ?",
        [MAX_LISTED + 1],
    )
    for (position,) in rows:
        report.found.add("positions", "event_without_leaf", int(position), "event has no leaf")


def _compose(report: ScanReport, results: list[RangeResult], trusted: list[Checkpoint]) -> None:
    """Join the ranges: order across them, the root at each checkpoint, the tree's root."""
    frontier = merkle.Frontier()
    aligned = True
    last_position: int | None = None
    roots: dict[int, tuple[bytes, int]] = {}
    for result in results:
        report.found.merge(result.found)
        report.leaves += result.leaves
        if result.first_position is not None:
            if last_position is not None and result.first_position <= last_position:
                report.found.add(
                    "positions",
                    "out_of_order",
                    result.first_position,
                    f"leaf {result.lo} has position {result.first_position} after {last_position}",
                )
            last_position = result.last_position
        aligned = aligned and frontier.size == result.lo
        for size, (stack, through) in sorted(result.stacks.items()):
            if not aligned:
                break
            twin = frontier.copy()
            for level, digest in stack:
                twin.append_subtree(level, digest)
            roots[size] = (twin.root(), through)
        if aligned:
            for level, digest in result.stacks[max(result.stacks)][0]:
                frontier.append_subtree(level, digest)
        aligned = aligned and result.complete
    report.root_hash = frontier.root() if aligned else b""
    _compare_checkpoints(report, trusted, roots, frontier.size, last_position or 0, aligned)


def _compare_checkpoints(
    report: ScanReport,
    trusted: list[Checkpoint],
    roots: dict[int, tuple[bytes, int]],
    size: int,
    last_position: int,
    aligned: bool,
) -> None:
    good: tuple[Checkpoint, int] | None = None
    for checkpoint in trusted:
        if checkpoint.tree_size == 0:
            ok = checkpoint.root_hash == merkle.EMPTY_ROOT
            through = 0
        elif checkpoint.tree_size in roots:
            root, through = roots[checkpoint.tree_size]
            ok = checkpoint.root_hash == root
        elif checkpoint.tree_size > size:
            report.found.add(
                "checkpoints",
                "log_shorter_than_checkpoint",
                last_position + 1,
                f"checkpoint of {checkpoint.signed_at} signed {checkpoint.tree_size} leaves; "
                f"the log holds {size}: everything after position {last_position} is gone",
            )
            continue
        else:
            continue  # the leaf indices have gaps (reported): the tree cannot be compared
        if ok:
            good = (checkpoint, through)
            continue
        since = (
            f"after position {good[1]} (the last checkpoint that holds: "
            f"{good[0].signed_at}, size {good[0].tree_size})"
            if good is not None
            else "at or before this position (no earlier checkpoint holds)"
        )
        report.found.add(
            "checkpoints",
            "root_differs",
            through,
            f"the log's first {checkpoint.tree_size} leaves (through position {through}) "
            f"do not hash to the root signed at {checkpoint.signed_at}: history was rewritten "
            f"{since}",
        )
    report.good = good[0] if good is not None else None


def _check_signatures(
    report: ScanReport, checkpoints: Sequence[Checkpoint], public_key: Ed25519PublicKey | None
) -> list[Checkpoint]:
    if not checkpoints:
        return []
    if public_key is None:
        report.found.add(
            "checkpoints",
            "no_public_key",
            None,
            "checkpoints exist but no public key is configured to check their signatures",
        )
        return []
    trusted = []
    for checkpoint in checkpoints:
        if checkpoint.verify(public_key):
            trusted.append(checkpoint)
        else:
            report.found.add(
                "checkpoints",
                "bad_signature",
                None,
                f"checkpoint of {checkpoint.signed_at} (size {checkpoint.tree_size}) "
                "does not carry a valid signature of the configured key",
            )
    return trusted


def check_stored_subtrees(db: Database, report: ScanReport, matched: Checkpoint | None) -> None:
    """The stored subtrees must prove the latest good checkpoint consistent with the log."""
    size = report.leaves
    if matched is None or matched.tree_size in (0, size) or not report.root_hash:
        return
    try:
        proof = consistency_proof(db, matched.tree_size, size)
    except LookupError as error:
        report.found.add("checkpoints", "subtree_missing", None, str(error))
        return
    if not merkle.verify_consistency(
        matched.tree_size, size, matched.root_hash, report.root_hash, proof
    ):
        report.found.add(
            "checkpoints",
            "inconsistent_subtrees",
            None,
            f"the stored subtrees do not prove the log of {size} leaves consistent with the "
            f"checkpoint of {matched.signed_at} (size {matched.tree_size})",
        )
