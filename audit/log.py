"""Reading the Merkle log: its size, roots, proofs, and the signed checkpoints.

Works on any connection to the event store's database that runs ``?``-placeholder SQL and
returns rows as tuples (the read-model connections of ``projections.db`` do). Every root
and proof is assembled from stored complete subtrees: ``O(log n)`` rows, one query.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit import merkle
from audit.checkpoint import Checkpoint, sign, timestamp
from audit.seal import CHECKPOINTS, LEAVES, NODES


class Database(Protocol):
    dialect: str

    def execute(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...


class MissingNode(LookupError):
    """A complete subtree the proof needs is not in the seal tables."""


@dataclass(frozen=True)
class Leaf:
    leaf_index: int
    position: int
    recorded_at: Any
    """Nanoseconds since the epoch (an integer), or what a tampered SQLite row holds."""
    hash: bytes


@dataclass(frozen=True)
class InclusionProof:
    leaf: Leaf
    tree_size: int
    root_hash: bytes
    path: list[bytes]

    def verifies(self) -> bool:
        return merkle.verify_inclusion(
            self.leaf.leaf_index, self.tree_size, self.leaf.hash, self.path, self.root_hash
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "position": self.leaf.position,
            "leaf_index": self.leaf.leaf_index,
            "leaf_hash": self.leaf.hash.hex(),
            "tree_size": self.tree_size,
            "root_hash": self.root_hash.hex(),
            "path": [h.hex() for h in self.path],
        }


def tree_size(db: Database) -> int:
    rows = db.execute(f"SELECT MAX(leaf_index) FROM {LEAVES}")  # noqa: S608
    return 0 if not rows or rows[0][0] is None else int(rows[0][0]) + 1


def node_source(db: Database) -> merkle.NodeSource:
    def lookup(keys: Sequence[merkle.NodeKey]) -> Mapping[merkle.NodeKey, bytes]:
        found: dict[merkle.NodeKey, bytes] = {}
        leaves = [end for level, end in keys if level == 0]
        inner = [end for level, end in keys if level > 0]
        if leaves:
            marks = ", ".join("?" * len(leaves))
            for end, digest in db.execute(
                f"SELECT leaf_index, hash FROM {LEAVES} WHERE leaf_index IN ({marks})",  # noqa: S608
                leaves,
            ):
                if type(end) is int:  # SQLite keeps any value; a text one is no leaf index
                    found[(0, end)] = as_digest(digest)
        if inner:
            marks = ", ".join("?" * len(inner))
            for level, end, digest in db.execute(
                f"SELECT level, end_leaf, hash FROM {NODES} WHERE end_leaf IN ({marks})",  # noqa: S608
                inner,
            ):
                if type(level) is int and type(end) is int:
                    found[(level, end)] = as_digest(digest)
        missing = [key for key in keys if key not in found]
        if missing:
            raise MissingNode(f"the seal tables lack the subtrees (level, last leaf) {missing}")
        return found

    return lookup


def root(db: Database, size: int) -> bytes:
    return merkle.root(size, node_source(db))


def leaf_at(db: Database, position: int) -> Leaf | None:
    rows = db.execute(
        f"SELECT leaf_index, position, recorded_at, hash FROM {LEAVES} WHERE position = ?",  # noqa: S608
        [position],
    )
    return _leaf(rows[0]) if rows else None


def leaves_at(db: Database, positions: Sequence[int]) -> dict[int, Leaf]:
    found: dict[int, Leaf] = {}
    for start in range(0, len(positions), 500):
        chunk = positions[start : start + 500]
        marks = ", ".join("?" * len(chunk))
        for row in db.execute(
            f"SELECT leaf_index, position, recorded_at, hash FROM {LEAVES} "  # noqa: S608
            f"WHERE position IN ({marks})",
            list(chunk),
        ):
            leaf = _leaf(row)
            found[leaf.position] = leaf
    return found


def _leaf(row: tuple[Any, ...]) -> Leaf:
    """A leaf as stored. SQLite keeps any value in any column: a recorded time that is
    not a whole number is kept as it is (the leaf then matches no event), and a hash
    that is not bytes reads as no bytes (it then matches no hash)."""
    index, position, recorded_at, digest = row
    return Leaf(int(index), int(position), recorded_at, as_digest(digest))


def inclusion_proof(db: Database, leaf: Leaf, size: int, root_hash: bytes) -> InclusionProof:
    path = merkle.inclusion_proof(leaf.leaf_index, size, node_source(db))
    return InclusionProof(leaf, size, root_hash, path)


def consistency_proof(db: Database, first: int, second: int) -> list[bytes]:
    return merkle.consistency_proof(first, second, node_source(db))


def checkpoints(db: Database) -> list[Checkpoint]:
    rows = db.execute(
        f"SELECT tree_size, root_hash, signed_at, key_id, signature FROM {CHECKPOINTS} "  # noqa: S608
        "ORDER BY tree_size, signed_at"
    )
    found = []
    for size, root_hash, signed_at, key_id, signature in rows:
        if type(size) is not int:  # SQLite keeps any value in any column
            raise CheckpointDamaged(
                f"a checkpoint signed at {signed_at!s} has tree size {size!r}, not a whole number"
            )
        found.append(
            Checkpoint(
                size, as_digest(root_hash), str(signed_at), str(key_id), as_digest(signature)
            )
        )
    return found


class CheckpointDamaged(ValueError):
    """A stored checkpoint holds what no checkpoint writes: it cannot be checked."""


def as_digest(stored: Any) -> bytes:
    """A stored hash or signature as bytes. A value no seal writes (SQLite keeps text or
    a number in any column) reads as no bytes: it matches no hash and no signature."""
    if type(stored) is bytes:
        return stored
    return bytes(stored) if isinstance(stored, bytearray | memoryview) else b""


def latest_checkpoint(db: Database) -> Checkpoint | None:
    found = checkpoints(db)
    return found[-1] if found else None


def write_checkpoint(db: Database, private_key: Ed25519PrivateKey) -> Checkpoint:
    """Sign the tree as it stands and store the checkpoint (append-only, like the log)."""
    size = tree_size(db)
    checkpoint = sign(private_key, size, root(db, size), timestamp())
    db.execute(
        f"INSERT INTO {CHECKPOINTS} (tree_size, root_hash, signed_at, key_id, signature) "  # noqa: S608
        "VALUES (?, ?, ?, ?, ?)",
        [
            checkpoint.tree_size,
            checkpoint.root_hash,
            checkpoint.signed_at,
            checkpoint.key_id,
            checkpoint.signature,
        ],
    )
    return checkpoint
