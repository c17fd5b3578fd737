"""Merkle tree hashing and proofs exactly as RFC 6962 / RFC 9162 define them.

Leaf hash ``SHA-256(0x00 || leaf)``, node hash ``SHA-256(0x01 || left || right)``, a tree
of ``n`` leaves split at the largest power of two below ``n``. Proofs are built from the
hashes of *complete* subtrees only, which the log stores: a complete subtree is named by
its ``level`` (its height; leaves are level 0) and its ``end`` (the index of its last leaf).
Nothing here touches a database; ``NodeSource`` is whatever can look those hashes up.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()

NodeKey = tuple[int, int]
"""``(level, end)``: the complete subtree of ``2**level`` leaves whose last leaf is ``end``."""

NodeSource = Callable[[Sequence[NodeKey]], Mapping[NodeKey, bytes]]
"""Looks up the hashes of complete subtrees; every key asked for must be answered."""


class ProofError(ValueError):
    """A proof was asked for that the tree cannot give (for instance beyond its size)."""


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two smaller than ``n`` (``n`` >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def _complete_key(start: int, end: int) -> NodeKey | None:
    """The key of ``leaves[start:end]`` when it is one complete, aligned subtree."""
    size = end - start
    if size & (size - 1) == 0 and start % size == 0:
        return (size.bit_length() - 1, end - 1)
    return None


class _Plan:
    """Runs a proof algorithm twice: once to learn which subtrees it needs, then for real."""

    def __init__(self, source: NodeSource) -> None:
        self.source = source
        self.known: Mapping[NodeKey, bytes] | None = None
        self.wanted: list[NodeKey] = []

    def subtree(self, start: int, end: int) -> bytes:
        """MTH(leaves[start:end]) from complete subtrees (RFC 6962 section 2.1)."""
        key = _complete_key(start, end)
        if key is not None:
            if self.known is None:
                self.wanted.append(key)
                return b""
            return self.known[key]
        k = split_point(end - start)
        return node_hash(self.subtree(start, start + k), self.subtree(start + k, end))

    def run(self, algorithm: Callable[[_Plan], list[bytes]]) -> list[bytes]:
        algorithm(self)
        self.known = self.source(sorted(set(self.wanted)))
        return algorithm(self)


def root(size: int, source: NodeSource) -> bytes:
    """The root hash of the first ``size`` leaves."""
    if size == 0:
        return EMPTY_ROOT
    return _Plan(source).run(lambda plan: [plan.subtree(0, size)])[0]


def inclusion_proof(index: int, size: int, source: NodeSource) -> list[bytes]:
    """PATH(index, D[0:size]) of RFC 6962 section 2.1.1."""
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of {size} leaves")

    def path(plan: _Plan) -> list[bytes]:
        proof: list[bytes] = []
        start, end, m = 0, size, index
        while end - start > 1:
            k = split_point(end - start)
            if m < k:
                proof.append(plan.subtree(start + k, end))
                end = start + k
            else:
                proof.append(plan.subtree(start, start + k))
                start, m = start + k, m - k
        proof.reverse()
        return proof

    return _Plan(source).run(path)


def consistency_proof(first: int, second: int, source: NodeSource) -> list[bytes]:
    """PROOF(first, D[0:second]) of RFC 6962 section 2.1.2."""
    if not 0 <= first <= second:
        raise ProofError(f"no consistency proof from {first} leaves to {second}")
    if first in (0, second):
        return []

    def subproof(plan: _Plan) -> list[bytes]:
        proof: list[bytes] = []
        start, end, m, whole = 0, second, first, True
        while m != end - start:
            k = split_point(end - start)
            if m <= k:
                proof.append(plan.subtree(start + k, end))
                end = start + k
            else:
                proof.append(plan.subtree(start, start + k))
                start, m, whole = start + k, m - k, False
        if not whole:
            proof.append(plan.subtree(start, end))
        proof.reverse()
        return proof

    return _Plan(source).run(subproof)


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root_hash: bytes
) -> bool:
    """RFC 9162 section 2.1.3.2: does ``leaf`` (a leaf hash) sit at ``index`` under ``root``?"""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root_hash


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 section 2.1.4.2: is the tree of ``second`` leaves an extension of ``first``?"""
    if not 0 <= first <= second:
        return False
    if first == second:
        return not proof and first_root == second_root
    if first == 0:
        return not proof and first_root == EMPTY_ROOT
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    if not path:
        return False
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_root and sr == second_root


def frontier_keys(size: int) -> list[NodeKey]:
    """The complete subtrees that make up a tree of ``size`` leaves, largest first."""
    keys: list[NodeKey] = []
    start = 0
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            start += 1 << level
            keys.append((level, start - 1))
    return keys


class Frontier:
    """The right edge of a growing tree: appends leaves, yields every subtree they complete.

    Holds one hash per set bit of the size (at most 64), so sealing an append costs
    ``O(log n)`` and never rereads the tree.
    """

    __slots__ = ("size", "stack")

    def __init__(self, size: int = 0, hashes: Iterable[bytes] = ()) -> None:
        self.size = size
        keys = frontier_keys(size)
        self.stack: list[tuple[int, bytes]] = [
            (level, h) for (level, _), h in zip(keys, hashes, strict=True)
        ]

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Add a leaf hash; returns ``(level, end, hash)`` of each subtree it completed (>= 1)."""
        index = self.size
        self.size += 1
        stack = self.stack
        level, h = 0, leaf
        made: list[tuple[int, int, bytes]] = []
        while stack and stack[-1][0] == level:
            h = node_hash(stack.pop()[1], h)
            level += 1
            made.append((level, index, h))
        stack.append((level, h))
        return made

    def append_subtree(self, level: int, digest: bytes) -> None:
        """Add a complete subtree of ``2**level`` leaves; the tree must be aligned for it."""
        if self.size % (1 << level) or (self.stack and self.stack[-1][0] < level):
            raise ValueError(f"a subtree of level {level} does not fit a tree of {self.size}")
        self.size += 1 << level
        stack = self.stack
        while stack and stack[-1][0] == level:
            digest = node_hash(stack.pop()[1], digest)
            level += 1
        stack.append((level, digest))

    def copy(self) -> Frontier:
        twin = Frontier()
        twin.size, twin.stack = self.size, list(self.stack)
        return twin

    def root(self) -> bytes:
        if not self.stack:
            return EMPTY_ROOT
        h = self.stack[-1][1]
        for _, left in reversed(self.stack[:-1]):
            h = node_hash(left, h)
        return h
