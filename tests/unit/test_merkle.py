"""RFC 6962 Merkle hashing: the published test vectors, and proofs as properties.

The vectors are those of Certificate Transparency's reference implementation (also in
transparency-dev/merkle ``testonly/constants.go``): eight leaf inputs, the root of every
tree size 0..8, the hashes of every complete subtree, and its inclusion and consistency
proofs. The offline bundle verifier (``scripts/verify_bundle.py``) is an independent
implementation; both are held to the same vectors and to each other.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit import merkle

LEAF_INPUTS = [
    bytes.fromhex(h)
    for h in [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
]
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
# Complete subtrees by level, then index within the level.
NODE_HASHES = [
    [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
        "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
        "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
        "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
    ],
    [
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    ],
    [
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    ["5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"],
]
# (leaf index, tree size, proof) and (first size, second size, proof), from the CT tests.
INCLUSION = [
    (0, 1, []),
    (0, 8, ["96a296d2", "5f083f0a", "6b47aaf2"]),
    (5, 8, ["bc1a0643", "ca854ea1", "d37ee418"]),
    (2, 3, ["fac54203"]),
    (1, 5, ["6e340b9c", "5f083f0a", "bc1a0643"]),
]
CONSISTENCY = [
    (1, 1, []),
    (1, 8, ["96a296d2", "5f083f0a", "6b47aaf2"]),
    (6, 8, ["0ebc5d34", "ca854ea1", "d37ee418"]),
    (2, 5, ["5f083f0a", "bc1a0643"]),
]


def build(leaves: Sequence[bytes]) -> dict[merkle.NodeKey, bytes]:
    """Every complete subtree of the tree over ``leaves`` (leaf hashes), as the log stores."""
    nodes: dict[merkle.NodeKey, bytes] = {}
    frontier = merkle.Frontier()
    for index, leaf in enumerate(leaves):
        nodes[(0, index)] = leaf
        for level, end, digest in frontier.append(leaf):
            nodes[(level, end)] = digest
    return nodes


def source(nodes: Mapping[merkle.NodeKey, bytes]) -> merkle.NodeSource:
    return lambda keys: {key: nodes[key] for key in keys}


def reference_root(leaves: Sequence[bytes]) -> bytes:
    """MTH straight from RFC 6962 section 2.1, recursively."""
    if not leaves:
        return merkle.EMPTY_ROOT
    if len(leaves) == 1:
        return leaves[0]
    k = merkle.split_point(len(leaves))
    return merkle.node_hash(reference_root(leaves[:k]), reference_root(leaves[k:]))


VECTOR_LEAVES = [merkle.leaf_hash(data) for data in LEAF_INPUTS]
VECTOR_NODES = build(VECTOR_LEAVES)


def load_bundle_verifier() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "scripts" / "verify_bundle.py"
    spec = importlib.util.spec_from_file_location("verify_bundle", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class TestPublishedVectors:
    def test_the_root_of_every_size_is_the_published_one(self) -> None:
        for size, expected in enumerate(ROOTS):
            # when
            computed = merkle.root(size, source(VECTOR_NODES))
            # then
            assert computed.hex() == expected, size

    def test_every_complete_subtree_is_the_published_one(self) -> None:
        for level, hashes in enumerate(NODE_HASHES):
            for index, expected in enumerate(hashes):
                end = (index + 1) * (1 << level) - 1
                assert VECTOR_NODES[(level, end)].hex() == expected, (level, index)

    def test_a_growing_frontier_reaches_every_published_root(self) -> None:
        frontier = merkle.Frontier()
        assert frontier.root().hex() == ROOTS[0]
        for size, leaf in enumerate(VECTOR_LEAVES, start=1):
            frontier.append(leaf)
            assert frontier.root().hex() == ROOTS[size]

    @pytest.mark.parametrize(("index", "size", "expected"), INCLUSION)
    def test_inclusion_proofs_are_the_published_ones_and_verify(
        self, index: int, size: int, expected: list[str]
    ) -> None:
        # when
        proof = merkle.inclusion_proof(index, size, source(VECTOR_NODES))
        # then
        assert [h.hex()[:8] for h in proof] == expected
        root = bytes.fromhex(ROOTS[size])
        assert merkle.verify_inclusion(index, size, VECTOR_LEAVES[index], proof, root)

    @pytest.mark.parametrize(("first", "second", "expected"), CONSISTENCY)
    def test_consistency_proofs_are_the_published_ones_and_verify(
        self, first: int, second: int, expected: list[str]
    ) -> None:
        # when
        proof = merkle.consistency_proof(first, second, source(VECTOR_NODES))
        # then
        assert [h.hex()[:8] for h in proof] == expected
        first_root, second_root = bytes.fromhex(ROOTS[first]), bytes.fromhex(ROOTS[second])
        assert merkle.verify_consistency(first, second, first_root, second_root, proof)

    def test_the_offline_verifier_agrees_on_the_vectors(self) -> None:
        verifier = load_bundle_verifier()
        for size, expected in enumerate(ROOTS):
            leaves = [verifier.leaf_hash(data) for data in LEAF_INPUTS[:size]]
            assert verifier.root_of(leaves).hex() == expected


def flip(data: bytes, at: int) -> bytes:
    at %= len(data)
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


trees = st.lists(st.binary(max_size=12), min_size=1, max_size=70).map(
    lambda inputs: [merkle.leaf_hash(bytes([i % 256]) + data) for i, data in enumerate(inputs)]
)


class TestProofProperties:
    @settings(max_examples=150, deadline=None)
    @given(leaves=trees, data=st.data())
    def test_every_inclusion_proof_verifies_and_none_verifies_a_changed_leaf_or_root(
        self, leaves: list[bytes], data: st.DataObject
    ) -> None:
        # given
        size = len(leaves)
        nodes = build(leaves)
        root = merkle.root(size, source(nodes))
        index = data.draw(st.integers(min_value=0, max_value=size - 1))
        # when
        proof = merkle.inclusion_proof(index, size, source(nodes))
        # then
        assert root == reference_root(leaves)
        assert merkle.verify_inclusion(index, size, leaves[index], proof, root)
        at = data.draw(st.integers(min_value=0, max_value=31))
        assert not merkle.verify_inclusion(index, size, flip(leaves[index], at), proof, root)
        assert not merkle.verify_inclusion(index, size, leaves[index], proof, flip(root, at))
        if proof:
            which = data.draw(st.integers(min_value=0, max_value=len(proof) - 1))
            bent = [*proof[:which], flip(proof[which], at), *proof[which + 1 :]]
            assert not merkle.verify_inclusion(index, size, leaves[index], bent, root)
        if size > 1:
            other = (index + 1) % size  # the leaves are distinct: each starts with its index
            assert not merkle.verify_inclusion(other, size, leaves[index], proof, root)

    @settings(max_examples=150, deadline=None)
    @given(leaves=trees, data=st.data())
    def test_every_consistency_proof_verifies_and_none_verifies_a_changed_root(
        self, leaves: list[bytes], data: st.DataObject
    ) -> None:
        # given
        second = len(leaves)
        first = data.draw(st.integers(min_value=1, max_value=second))
        nodes = build(leaves)
        first_root = reference_root(leaves[:first])
        second_root = reference_root(leaves)
        # when
        proof = merkle.consistency_proof(first, second, source(nodes))
        # then
        assert merkle.verify_consistency(first, second, first_root, second_root, proof)
        at = data.draw(st.integers(min_value=0, max_value=31))
        assert not merkle.verify_consistency(
            first, second, flip(first_root, at), second_root, proof
        )
        assert not merkle.verify_consistency(
            first, second, first_root, flip(second_root, at), proof
        )
        if proof:
            which = data.draw(st.integers(min_value=0, max_value=len(proof) - 1))
            bent = [*proof[:which], flip(proof[which], at), *proof[which + 1 :]]
            assert not merkle.verify_consistency(first, second, first_root, second_root, bent)

    @settings(max_examples=100, deadline=None)
    @given(leaves=trees, data=st.data())
    def test_the_offline_verifier_accepts_exactly_what_the_log_proves(
        self, leaves: list[bytes], data: st.DataObject
    ) -> None:
        # given
        verifier = load_bundle_verifier()
        size = len(leaves)
        nodes = build(leaves)
        root = reference_root(leaves)
        index = data.draw(st.integers(min_value=0, max_value=size - 1))
        first = data.draw(st.integers(min_value=1, max_value=size))
        inclusion = merkle.inclusion_proof(index, size, source(nodes))
        consistency = merkle.consistency_proof(first, size, source(nodes))
        first_root = reference_root(leaves[:first])
        # then
        assert verifier.root_of(leaves) == root
        assert verifier.verify_inclusion(index, size, leaves[index], inclusion, root)
        assert not verifier.verify_inclusion(index, size, leaves[index], inclusion, flip(root, 3))
        assert verifier.verify_consistency(first, size, first_root, root, consistency)
        assert not verifier.verify_consistency(first, size, first_root, flip(root, 5), consistency)


class TestRefusals:
    def test_a_proof_beyond_the_tree_is_refused(self) -> None:
        with pytest.raises(merkle.ProofError):
            merkle.inclusion_proof(8, 8, source(VECTOR_NODES))
        with pytest.raises(merkle.ProofError):
            merkle.consistency_proof(5, 4, source(VECTOR_NODES))

    def test_an_index_outside_the_tree_never_verifies(self) -> None:
        root = bytes.fromhex(ROOTS[8])
        assert not merkle.verify_inclusion(8, 8, VECTOR_LEAVES[0], [], root)
        assert not merkle.verify_consistency(9, 8, root, root, [])
