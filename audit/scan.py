"""The store checks of the integrity check: every event against its leaf, the tree against
the signed checkpoints, and the positions complete and in order.

One pass over the events and the leaves, both in store order, read in pages by key: the
leaf hash of each event is recomputed from its stored bytes, the tree is rebuilt from the
leaves with a :class:`~audit.merkle.Frontier`, and its root is compared with every
checkpoint as the pass reaches that size. Memory does not grow with the log.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from audit import merkle
from audit.checkpoint import Checkpoint
from audit.leaf import leaf_bytes
from audit.log import Database, consistency_proof
from audit.seal import LEAVES

PAGE = 5000
MAX_LISTED = 20


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
class ScanReport:
    events: int = 0
    leaves: int = 0
    checkpoints: int = 0
    root_hash: bytes = merkle.EMPTY_ROOT
    findings: list[Finding] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, check: str, kind: str, position: int | None, detail: str) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + 1
        if self.counts[kind] <= MAX_LISTED:
            self.findings.append(Finding(check, kind, position, detail))

    def first(self, check: str) -> Finding | None:
        matches = [f for f in self.findings if f.check == check]
        return min(matches, key=_order) if matches else None

    def of(self, check: str) -> list[Finding]:
        return [f for f in self.findings if f.check == check]


def _order(finding: Finding) -> int:
    return finding.position if finding.position is not None else -1


def event_rows(db: Database, events_table: str, page: int = PAGE) -> Iterator[tuple[Any, ...]]:
    """``(position, aggregate id bytes, version, topic, state)`` of every event, in order."""
    if db.dialect == "postgres":
        statement = (
            "SELECT notification_id, originator_id, originator_version, topic, state "  # noqa: S608
            f"FROM {events_table} WHERE notification_id > ? ORDER BY notification_id LIMIT ?"
        )
    else:
        statement = (
            "SELECT rowid, originator_id, originator_version, topic, state "  # noqa: S608
            f"FROM {events_table} WHERE rowid > ? ORDER BY rowid LIMIT ?"
        )
    hex_ids = db.dialect != "postgres"
    after = 0
    while True:
        rows = db.execute(statement, [after, page])
        for position, aggregate_id, version, topic, state in rows:
            yield (
                position,
                bytes.fromhex(aggregate_id) if hex_ids else aggregate_id.bytes,
                version,
                topic,
                state,
            )
        if len(rows) < page:
            return
        after = rows[-1][0]


def leaf_rows(db: Database, page: int = PAGE) -> Iterator[tuple[Any, ...]]:
    """``(leaf index, position, recorded at, hash)`` of every leaf, in tree order."""
    statement = (
        f"SELECT leaf_index, position, recorded_at, hash FROM {LEAVES} "  # noqa: S608
        "WHERE leaf_index > ? ORDER BY leaf_index LIMIT ?"
    )
    after = -1
    while True:
        rows = db.execute(statement, [after, page])
        yield from rows
        if len(rows) < page:
            return
        after = rows[-1][0]


def scan(
    db: Database,
    events_table: str,
    checkpoints: Sequence[Checkpoint],
    public_key: Ed25519PublicKey | None,
) -> ScanReport:
    """Check every event, leaf and checkpoint; report what differs, naming positions."""
    report = ScanReport(checkpoints=len(checkpoints))
    trusted = _check_signatures(report, checkpoints, public_key)
    pending = sorted(trusted, key=lambda c: c.tree_size)
    frontier = merkle.Frontier()
    matched: tuple[Checkpoint, int] | None = None
    if pending and pending[0].tree_size == 0:
        matched = _reach(report, pending, frontier, matched, last_position=0)
    events = event_rows(db, events_table)
    event = next(events, None)
    expected_index = 0
    last_position = 0
    for leaf_index, position, recorded_at, digest in leaf_rows(db):
        report.leaves += 1
        while event is not None and event[0] < position:
            report.add("positions", "event_without_leaf", event[0], "event has no leaf")
            report.events += 1
            event = next(events, None)
        if leaf_index != expected_index:
            report.add(
                "positions",
                "leaf_index_gap",
                position,
                f"leaf index {leaf_index} where {expected_index} was expected",
            )
        if position <= last_position:
            report.add(
                "positions",
                "out_of_order",
                position,
                f"leaf {leaf_index} has position {position} after {last_position}",
            )
        if event is not None and event[0] == position:
            report.events += 1
            recomputed = merkle.leaf_hash(
                leaf_bytes(position, event[1], event[2], event[3], bytes(event[4]), recorded_at)
            )
            if recomputed != digest:
                report.add(
                    "events", "event_differs", position, "stored event does not match its leaf"
                )
            event = next(events, None)
        else:
            report.add("positions", "leaf_without_event", position, "leaf has no event")
        frontier.append(bytes(digest))
        expected_index = leaf_index + 1
        last_position = position
        if pending and pending[0].tree_size == frontier.size:
            matched = _reach(report, pending, frontier, matched, last_position)
    while event is not None:
        report.add("positions", "event_without_leaf", event[0], "event has no leaf")
        report.events += 1
        event = next(events, None)
    report.root_hash = frontier.root()
    for checkpoint in pending:
        report.add(
            "checkpoints",
            "log_shorter_than_checkpoint",
            last_position + 1,
            f"checkpoint of {checkpoint.signed_at} signed {checkpoint.tree_size} leaves; "
            f"the log holds {frontier.size}: everything after position {last_position} is gone",
        )
    _check_stored_subtrees(db, report, matched, frontier.size)
    return report


def _check_signatures(
    report: ScanReport, checkpoints: Sequence[Checkpoint], public_key: Ed25519PublicKey | None
) -> list[Checkpoint]:
    if not checkpoints:
        return []
    if public_key is None:
        report.add(
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
            report.add(
                "checkpoints",
                "bad_signature",
                None,
                f"checkpoint of {checkpoint.signed_at} (size {checkpoint.tree_size}) "
                "does not carry a valid signature of the configured key",
            )
    return trusted


def _reach(
    report: ScanReport,
    pending: list[Checkpoint],
    frontier: merkle.Frontier,
    matched: tuple[Checkpoint, int] | None,
    last_position: int,
) -> tuple[Checkpoint, int] | None:
    """Compare the rebuilt root with every checkpoint of the size just reached.

    Returns the latest checkpoint that holds, with the last position it covers.
    """
    current = frontier.root()
    while pending and pending[0].tree_size == frontier.size:
        checkpoint = pending.pop(0)
        if checkpoint.root_hash == current:
            if matched is None or matched[0].tree_size <= checkpoint.tree_size:
                matched = (checkpoint, last_position)
            continue
        since = (
            f"after position {matched[1]} (the last checkpoint that holds: "
            f"{matched[0].signed_at}, size {matched[0].tree_size})"
            if matched is not None
            else "at or before this position (no earlier checkpoint holds)"
        )
        report.add(
            "checkpoints",
            "root_differs",
            last_position,
            f"the log's first {checkpoint.tree_size} leaves (through position {last_position}) "
            f"do not hash to the root signed at {checkpoint.signed_at}: history was rewritten "
            f"{since}",
        )
    return matched


def _check_stored_subtrees(
    db: Database, report: ScanReport, good: tuple[Checkpoint, int] | None, size: int
) -> None:
    """The stored subtrees must prove the latest good checkpoint consistent with the log."""
    if good is None:
        return
    matched = good[0]
    if matched.tree_size in (0, size):
        return
    try:
        proof = consistency_proof(db, matched.tree_size, size)
    except LookupError as error:
        report.add("checkpoints", "subtree_missing", None, str(error))
        return
    if not merkle.verify_consistency(
        matched.tree_size, size, matched.root_hash, report.root_hash, proof
    ):
        report.add(
            "checkpoints",
            "inconsistent_subtrees",
            None,
            f"the stored subtrees do not prove the log of {size} leaves consistent with the "
            f"checkpoint of {matched.signed_at} (size {matched.tree_size})",
        )
