"""The store checks' own hashing equals the sealing's, for any event and any inner node."""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from audit.leaf import event_leaf_hash
from audit.merkle import node_hash
from audit.scan import _hashes_sqlite, _reduce, sha256_implementations, small_sha256

positions = st.integers(min_value=1, max_value=2**63 - 1)
versions = st.integers(min_value=1, max_value=2**63 - 1)
ids = st.binary(min_size=16, max_size=16)
topics = st.text(min_size=1, max_size=80)
states = st.binary(max_size=600)
times = st.integers(min_value=0, max_value=2**63 - 1)
digests = st.binary(min_size=32, max_size=32)


@given(st.lists(st.tuples(positions, ids, versions, topics, states, times), max_size=20))
def test_the_scan_recomputes_the_leaf_hash_the_seal_stored(
    events: list[tuple[int, bytes, int, str, bytes, int]],
) -> None:
    # given SQLite rows as the scan reads them (the aggregate id in hexadecimal digits)
    rows = [
        (position, b"", recorded_at, aggregate_id.hex(), version, topic, state)
        for position, aggregate_id, version, topic, state, recorded_at in events
    ]
    # when the scan hashes them
    hashes = _hashes_sqlite(rows)
    # then each hash is the leaf hash of docs/audit.md, as sealed
    assert hashes == [event_leaf_hash(*event) for event in events]


def test_a_leaf_without_an_event_has_no_recomputed_hash() -> None:
    # given a leaf whose event is missing (the join found nothing)
    rows = [(7, b"x" * 32, 1, None, None, None, None)]
    # when / then
    assert _hashes_sqlite(rows) == [None]


@given(st.binary(max_size=200))
def test_every_implementation_the_node_hash_may_pick_is_sha256(data: bytes) -> None:
    # given the implementations small_sha256 chooses from, and the one it chose
    candidates = sha256_implementations()
    assert small_sha256() in candidates
    # then each hashes like hashlib's SHA-256
    for sha in candidates:
        assert sha(data).digest() == hashlib.sha256(data).digest()


@given(st.lists(digests, min_size=8, max_size=8))
def test_a_block_reduces_to_the_root_of_its_leaves(leaves: list[bytes]) -> None:
    # given eight leaf hashes; when the scan reduces the block; then it is the RFC tree's root
    level = leaves
    while len(level) > 1:
        level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    assert _reduce(leaves) == level[0]
