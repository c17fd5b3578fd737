"""The stored subtrees checked against the leaves, for the nightly check.

Proofs are built from the subtree hashes stored beside the leaves (``audit_nodes``: one
row for every complete subtree of two or more leaves). The store check rebuilds the tree
from the leaves and compares its root with the signed checkpoints; it reads only the few
stored subtrees a consistency proof needs. A stored subtree changed anywhere else would
leave the history intact but make proofs, and so every export that needs them, fail for
the auditor. This check recomputes every complete subtree from the stored leaf hashes, in
the order the log appends them, and compares each with its stored row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from audit import merkle
from audit.log import Database, as_digest, tree_size
from audit.seal import LEAVES, NODES

PAGE = 20_000
"""Leaves (and the subtrees that end on them) read per query."""
MAX_LISTED = 100


@dataclass
class SubtreeFinding:
    kind: str
    level: int | None
    last_leaf: int | None
    """The subtree's level and last leaf index (None: what the row holds is no number)."""
    position: int | None
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {
            "check": "subtrees",
            "kind": self.kind,
            "level": self.level,
            "last_leaf": self.last_leaf,
            "position": self.position,
            "detail": self.detail,
        }


@dataclass
class SubtreeReport:
    leaves: int = 0
    subtrees: int = 0
    """Complete subtrees recomputed and compared."""
    counts: dict[str, int] = field(default_factory=dict)
    listed: list[SubtreeFinding] = field(default_factory=list)
    incomplete: str | None = None
    """Why the leaves could not be folded to the end (the store check names it)."""

    def add(self, kind: str, level: Any, last_leaf: Any, position: Any, detail: str) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + 1
        if self.counts[kind] <= MAX_LISTED:
            self.listed.append(
                SubtreeFinding(kind, _whole(level), _whole(last_leaf), _whole(position), detail)
            )


def _whole(value: Any) -> int | None:
    return value if type(value) is int else None


def check_subtrees(db: Database, size: int | None = None) -> SubtreeReport:
    """Every complete subtree of the first ``size`` leaves (all of them by default)."""
    size = tree_size(db) if size is None else size
    report = SubtreeReport()
    frontier = merkle.Frontier()
    for start in range(0, size, PAGE):
        end = min(start + PAGE, size)
        leaves = db.execute(
            f"SELECT leaf_index, position, hash FROM {LEAVES} "  # noqa: S608
            "WHERE leaf_index >= ? AND leaf_index < ? ORDER BY leaf_index",
            [start, end],
        )
        stored = {
            (last, level): as_digest(digest)
            for last, level, digest in db.execute(
                f"SELECT end_leaf, level, hash FROM {NODES} "  # noqa: S608
                "WHERE end_leaf >= ? AND end_leaf < ?",
                [start, end],
            )
            if type(last) is int and type(level) is int
        }
        expected = start
        for index, position, digest in leaves:
            if index != expected:
                report.incomplete = f"leaf index {expected} is missing"
                return report
            expected += 1
            report.leaves += 1
            for level, _, hash_ in frontier.append(as_digest(digest)):
                report.subtrees += 1
                found = stored.pop((index, level), None)
                first = index - (1 << level) + 1
                if found is None:
                    report.add(
                        "subtree_missing",
                        level,
                        index,
                        position,
                        f"the subtree of leaves {first}..{index} is not stored",
                    )
                elif found != hash_:
                    report.add(
                        "subtree_differs",
                        level,
                        index,
                        position,
                        f"the stored hash of leaves {first}..{index} is not theirs",
                    )
        if expected != end:
            report.incomplete = f"leaf index {expected} is missing"
            return report
        for last, level in sorted(stored):
            report.add(
                "subtree_extra",
                level,
                last,
                None,
                f"a stored subtree of level {level} ending at leaf {last} is no complete "
                "subtree of the log",
            )
    beyond = db.execute(
        f"SELECT end_leaf, level FROM {NODES} WHERE end_leaf >= ? "  # noqa: S608
        "ORDER BY end_leaf, level LIMIT ?",
        [size, MAX_LISTED],
    )
    for last, level in beyond:
        report.add(
            "subtree_extra",
            level,
            last,
            None,
            f"a stored subtree ends at leaf {last!r}, beyond the log's {size} leaves",
        )
    return report
