"""The right edge of the tree kept between appends, and when it may be reused."""

from __future__ import annotations

import hashlib

from audit.merkle import Frontier, leaf_hash
from audit.seal import FrontierCache


def grown(count: int) -> tuple[Frontier, bytes]:
    frontier, last = Frontier(), b""
    for i in range(count):
        last = leaf_hash(hashlib.sha256(str(i).encode()).digest())
        frontier.append(last)
    return frontier, last


def test_an_edge_is_reused_when_the_last_leaf_is_the_one_this_process_committed() -> None:
    # given
    cache = FrontierCache()
    frontier, last = grown(5)
    cache.put(frontier, last)
    # when
    reused = cache.get(5, last)
    # then: an equal edge, and a copy (appending to it leaves the cache's alone)
    assert reused is not None
    assert (reused.size, reused.root()) == (5, frontier.root())
    reused.append(last)
    again = cache.get(5, last)
    assert again is not None
    assert again.root() == frontier.root()


def test_an_edge_is_not_reused_after_another_writer_appended() -> None:
    # given
    cache = FrontierCache()
    frontier, last = grown(5)
    cache.put(frontier, last)
    # then: another size, or the same size with another last leaf, reads the tables
    assert cache.get(6, last) is None
    assert cache.get(5, leaf_hash(b"forged")) is None
    assert FrontierCache().get(0, b"") is None


def test_an_older_edge_never_replaces_a_newer_one() -> None:
    # given
    cache = FrontierCache()
    newer, newer_last = grown(7)
    older, older_last = grown(6)
    # when: two appends commit and report in the other order
    cache.put(newer, newer_last)
    cache.put(older, older_last)
    # then
    assert cache.get(6, older_last) is None
    assert cache.get(7, newer_last) is not None


def test_an_edge_of_the_same_size_replaces_one_whose_append_rolled_back() -> None:
    # given the edge of an append that was cached and then rolled back
    cache = FrontierCache()
    rolled_back, rolled_back_last = grown(6)
    cache.put(rolled_back, rolled_back_last)
    # when another append at the same size is cached
    frontier, _ = grown(5)
    sixth = leaf_hash(b"another sixth leaf")
    frontier.append(sixth)
    cache.put(frontier, sixth)
    # then the tables' last leaf finds the new edge, never the rolled-back one
    assert cache.get(6, rolled_back_last) is None
    found = cache.get(6, sixth)
    assert found is not None
    assert found.root() == frontier.root()
