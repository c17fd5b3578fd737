"""Tampering as a database superuser who switched the triggers off: verify names every case.

The history is the demo, a signed checkpoint, 300 synthetic events and a second signed
checkpoint. Each case edits the store behind buurtkas's back; ``buurtkas verify`` must
fail and name the position, and an export of the tampered store must fail the offline
bundle verifier.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit import log as audit_log
from audit.log import CheckpointDamaged
from projections.registry import open_store
from service.application import Buurtkas
from service.demo import load_demo
from service.export import ExportError, export_bundle
from service.integrity import IntegrityReport, verify
from service.storage import persistence_env
from service.synthetic import generate
from tests.integration.superuser import Superuser

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class SignedStore:
    url: str
    scan_options: dict[str, Any]
    key: Ed25519PrivateKey
    first_checkpoint_size: int
    first_checkpoint_last_position: int
    head: int


SCANS: dict[str, dict[str, Any]] = {
    "one process": {"parallel_from": 10**9},
    # Ranges of 64 leaves checked by two worker processes, their subtrees composed; the
    # workers started by a fork server, or forked (as when the checking process runs no
    # other thread).
    "parallel ranges": {"parallel_from": 0, "min_level": 6, "start_method": "forkserver"},
    "parallel ranges, forked": {"parallel_from": 0, "min_level": 6, "start_method": "fork"},
}


@pytest.fixture(params=list(SCANS))
def signed_store(database_url: str, request: pytest.FixtureRequest) -> SignedStore:
    app = Buurtkas(env=persistence_env(database_url))
    store = open_store(app.store_env)
    key = Ed25519PrivateKey.generate()
    try:
        load_demo(app)
        first = audit_log.write_checkpoint(store.conn, key)
        first_last = app.recorder.max_notification_id() or 0
        generate(app, 300, seed=5)
        audit_log.write_checkpoint(store.conn, key)
        head = app.recorder.max_notification_id() or 0
    finally:
        store.conn.close()
        app.close()
    return SignedStore(database_url, SCANS[request.param], key, first.tree_size, first_last, head)


def check(signed: SignedStore) -> IntegrityReport:
    app = Buurtkas(env=persistence_env(signed.url))
    try:
        return verify(
            app,
            signed.key.public_key(),
            read_models=False,
            workers=2,
            scan_options=signed.scan_options,
        )
    finally:
        app.close()


def store_findings(report: IntegrityReport) -> list[dict[str, object]]:
    store = next(c for c in report.checks if c.name == "store")
    assert not store.ok
    return store.details


def bundle_verifies(signed: SignedStore, out: Path) -> int:
    app = Buurtkas(env=persistence_env(signed.url))
    store = open_store(app.store_env)
    try:
        export_bundle(app, store.conn, out / "bundle")
    finally:
        store.conn.close()
        app.close()
    public = signed.key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (out / "audit.pub").write_bytes(public)
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "verify_bundle.py"),
            str(out / "bundle"),
            "--public-key",
            str(out / "audit.pub"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.returncode


def proof_of_position_verifies(signed: SignedStore, position: int) -> bool:
    app = Buurtkas(env=persistence_env(signed.url))
    store = open_store(app.store_env)
    try:
        latest = audit_log.latest_checkpoint(store.conn)
        leaf = audit_log.leaf_at(store.conn, position)
        assert latest is not None
        assert leaf is not None
        try:
            proof = audit_log.inclusion_proof(store.conn, leaf, latest.tree_size, latest.root_hash)
        except audit_log.MissingNode:
            return False
        return proof.verifies()
    finally:
        store.conn.close()
        app.close()


@pytest.fixture
def superuser(signed_store: SignedStore) -> Iterator[Superuser]:
    su = Superuser(signed_store.url)
    su.disable_triggers()
    yield su
    su.close()


class TestTamperingIsDetected:
    def test_an_untouched_store_verifies_and_its_export_is_intact(
        self, signed_store: SignedStore, tmp_path: Path
    ) -> None:
        # when
        report = check(signed_store)
        # then
        assert report.ok, report.to_json()
        assert bundle_verifies(signed_store, tmp_path) == 0

    def test_one_changed_byte_of_an_event_is_named_by_position(
        self, signed_store: SignedStore, superuser: Superuser, tmp_path: Path
    ) -> None:
        # when
        superuser.flip_byte(600)
        # then
        findings = store_findings(check(signed_store))
        assert (findings[0]["kind"], findings[0]["position"]) == ("event_differs", 600)
        assert bundle_verifies(signed_store, tmp_path) == 1

    def test_a_deleted_event_is_named_by_position(
        self, signed_store: SignedStore, superuser: Superuser, tmp_path: Path
    ) -> None:
        # when
        superuser.delete_event(321)
        # then
        findings = store_findings(check(signed_store))
        assert (findings[0]["kind"], findings[0]["position"]) == ("leaf_without_event", 321)
        assert bundle_verifies(signed_store, tmp_path) == 1

    def test_two_swapped_events_are_both_named(
        self, signed_store: SignedStore, superuser: Superuser, tmp_path: Path
    ) -> None:
        # when
        superuser.swap_events(520, 530)
        # then
        findings = store_findings(check(signed_store))
        named = [(f["kind"], f["position"]) for f in findings]
        assert named == [("event_differs", 520), ("event_differs", 530)]
        assert bundle_verifies(signed_store, tmp_path) == 1

    @pytest.mark.parametrize(
        ("column", "expression", "sqlite_only"),
        [
            pytest.param("originator_id", "originator_id || '00'", True, id="id one byte longer"),
            pytest.param(
                "originator_id", "'  ' || substr(originator_id, 1, 30)", True, id="id padded"
            ),
            pytest.param("originator_id", "'not an aggregate id'", True, id="id not hexadecimal"),
            pytest.param("originator_version", "-1", False, id="version negative"),
            pytest.param("originator_version", "'seven'", True, id="version not a number"),
            pytest.param("topic", "NULL", False, id="topic null"),
            pytest.param("state", "NULL", False, id="state null"),
        ],
    )
    def test_a_column_set_to_what_no_append_writes_is_named_by_position(
        self,
        signed_store: SignedStore,
        superuser: Superuser,
        column: str,
        expression: str,
        sqlite_only: bool,
        tmp_path: Path,
    ) -> None:
        # given a column the database's own type lets take such a value
        if sqlite_only and superuser.postgres:
            pytest.skip("PostgreSQL's column type refuses this value")
        # when
        superuser.set_column(610, column, expression)
        # then the check names the event instead of failing on it, and the export shows
        # it as stored, failing the offline verification
        findings = store_findings(check(signed_store))
        assert [(f["kind"], f["position"]) for f in findings] == [("event_differs", 610)]
        assert bundle_verifies(signed_store, tmp_path) == 1

    @pytest.mark.parametrize(
        ("column", "value", "named"),
        [
            pytest.param(
                "recorded_at", "yesterday", [("event_differs", 610)], id="recorded time as text"
            ),
            pytest.param(
                "recorded_at", b"\x01", [("event_differs", 610)], id="recorded time as bytes"
            ),
            pytest.param("hash", "not a hash", [("event_differs", 610)], id="hash as text"),
        ],
    )
    def test_a_leaf_column_set_to_what_no_seal_writes_is_named(
        self,
        signed_store: SignedStore,
        superuser: Superuser,
        column: str,
        value: str | bytes,
        named: list[tuple[str, int | None]],
        tmp_path: Path,
    ) -> None:
        # given a leaf column the database's own type lets take such a value
        if superuser.postgres:
            pytest.skip("PostgreSQL's column type refuses this value")
        # when
        superuser.run(f"UPDATE audit_leaves SET {column} = ? WHERE position = 610", (value,))
        # then the check names the leaf's event instead of failing on the value, and the
        # export shows it as stored, failing the offline verification
        findings = store_findings(check(signed_store))
        found = [(f["kind"], f["position"]) for f in findings]
        assert all(finding in found for finding in named), found
        assert bundle_verifies(signed_store, tmp_path) == 1

    def test_a_leaf_position_that_is_not_a_number_is_named_and_refused_by_the_export(
        self, signed_store: SignedStore, superuser: Superuser, tmp_path: Path
    ) -> None:
        # given a leaf column the database's own type lets take such a value
        if superuser.postgres:
            pytest.skip("PostgreSQL's column type refuses this value")
        # when the leaf of 610 loses its position, and the leaf before it is deleted
        superuser.run("UPDATE audit_leaves SET position = 'six hundred ten' WHERE position = 610")
        superuser.run("DELETE FROM audit_leaves WHERE position = 609")
        # then the check names the gap, the leaf and both events left without a leaf
        findings = store_findings(check(signed_store))
        found = [(f["kind"], f["position"]) for f in findings]
        assert ("leaf_index_gap", None) in found
        assert ("leaf_position_invalid", None) in found
        assert ("event_without_leaf", 609) in found
        assert ("event_without_leaf", 610) in found
        # and the export refuses, naming the leaf, rather than leave an event out
        with pytest.raises(ExportError, match="leaf 609 has position 'six hundred ten'"):
            bundle_verifies(signed_store, tmp_path)

    def test_a_checkpoint_size_that_is_not_a_number_fails_the_check_and_the_export(
        self, signed_store: SignedStore, superuser: Superuser, tmp_path: Path
    ) -> None:
        # given a checkpoint column the database's own type lets take such a value
        if superuser.postgres:
            pytest.skip("PostgreSQL's column type refuses this value")
        # when
        superuser.run("UPDATE audit_checkpoints SET tree_size = 'all of it'")
        # then the store check fails and says why; the export refuses
        store = next(c for c in check(signed_store).checks if c.name == "store")
        assert not store.ok
        assert "has tree size 'all of it', not a whole number" in store.summary
        with pytest.raises(CheckpointDamaged, match="'all of it'"):
            bundle_verifies(signed_store, tmp_path)

    @pytest.mark.parametrize(
        ("column", "value"),
        [
            ("signed_at", "'2019-12-31T23:59:59Z'"),
            ("key_id", "'0000000000000000'"),
            ("signed_at", "x'00ff'"),
            ("key_id", "42"),
        ],
        ids=["time changed", "key id changed", "time as bytes", "key id as a number"],
    )
    def test_a_checkpoint_whose_time_or_key_id_was_changed_fails_its_signature(
        self,
        signed_store: SignedStore,
        superuser: Superuser,
        tmp_path: Path,
        column: str,
        value: str,
    ) -> None:
        # given bytes only where the database's column type lets them in
        if superuser.postgres and value.startswith("x'"):
            pytest.skip("PostgreSQL's column type refuses this value")
        # when the first checkpoint's signed time or key id is rewritten
        superuser.run(
            f"UPDATE audit_checkpoints SET {column} = {value} "
            f"WHERE tree_size = {signed_store.first_checkpoint_size}"
        )
        # then that checkpoint fails its signature, and only that one
        findings = store_findings(check(signed_store))
        assert [f["kind"] for f in findings] == ["bad_signature"]
        assert f"(size {signed_store.first_checkpoint_size})" in str(findings[0]["detail"])
        # and a bundle exported from the store fails the offline verifier
        assert bundle_verifies(signed_store, tmp_path) == 1

    def test_a_forged_event_without_a_leaf_is_named_by_position(
        self, signed_store: SignedStore, superuser: Superuser, tmp_path: Path
    ) -> None:
        # when
        position = superuser.forge_event(copy_of=600)
        # then
        findings = store_findings(check(signed_store))
        assert position == signed_store.head + 1
        assert (findings[0]["kind"], findings[0]["position"]) == ("event_without_leaf", position)

    def test_a_forged_event_below_the_first_position_is_named_by_position(
        self, signed_store: SignedStore, superuser: Superuser
    ) -> None:
        # given the leaves' positions run without a hole from the first event to the last
        # when an event is slipped in below the first position
        position = superuser.forge_event(copy_of=600, at=0)
        # then
        findings = store_findings(check(signed_store))
        assert (findings[0]["kind"], findings[0]["position"]) == ("event_without_leaf", 0)
        assert position == 0

    def test_a_forged_event_inside_a_checkpoint_fails_the_export(
        self, signed_store: SignedStore, superuser: Superuser, tmp_path: Path
    ) -> None:
        # given: a forged row placed at a position inside the signed range
        superuser.delete_event(700)
        forged = superuser.forge_event(copy_of=600)
        superuser.swap_events(700, forged)
        # then
        findings = store_findings(check(signed_store))
        assert (findings[0]["kind"], findings[0]["position"]) == ("event_differs", 700)
        assert bundle_verifies(signed_store, tmp_path) == 1

    @pytest.mark.parametrize(
        ("change", "value", "kind", "sqlite_only"),
        [
            pytest.param("UPDATE", bytes(32), "subtree_differs", False, id="hash changed"),
            pytest.param("UPDATE", "not a hash", "subtree_differs", True, id="hash as text"),
            pytest.param("DELETE", None, "subtree_missing", False, id="subtree deleted"),
        ],
    )
    def test_a_stored_subtree_changed_is_named_although_the_history_is_intact(
        self,
        signed_store: SignedStore,
        superuser: Superuser,
        change: str,
        value: bytes | str | None,
        kind: str,
        sqlite_only: bool,
        tmp_path: Path,
    ) -> None:
        # given the stored subtree over leaves 604..607 (level 2), which no consistency
        # proof between the checkpoints reads
        if sqlite_only and superuser.postgres:
            pytest.skip("PostgreSQL's column type refuses this value")
        where = "WHERE level = 2 AND end_leaf = 607"
        # when
        if change == "UPDATE":
            superuser.run(f"UPDATE audit_nodes SET hash = ? {where}", (value,))
        else:
            superuser.run(f"DELETE FROM audit_nodes {where}")
        # then the history still checks out, and the subtrees check names the subtree by
        # its last leaf and that leaf's position
        checks = {c.name: c for c in check(signed_store).checks}
        assert checks["store"].ok
        assert not checks["subtrees"].ok
        named = [
            (d["kind"], d["level"], d["last_leaf"], d["position"])
            for d in checks["subtrees"].details
        ]
        assert named == [(kind, 2, 607, 608)]
        # and it matters: the inclusion proof of leaf 600, whose path holds that subtree
        # (the sibling of leaves 600..603), no longer verifies
        assert not proof_of_position_verifies(signed_store, 601)

    def test_a_leaf_moved_out_of_its_place_is_named_as_a_gap_not_as_a_shorter_log(
        self, signed_store: SignedStore, superuser: Superuser, tmp_path: Path
    ) -> None:
        # when: the leaf of position 600 is given an index outside the tree
        superuser.move_leaf(600, -1)
        # then the gap is named where the tree resumes, and the log, as long as it was
        # signed, is not said to have lost its tail
        findings = store_findings(check(signed_store))
        kinds = [f["kind"] for f in findings]
        assert ("leaf_index_gap", 601) in [(f["kind"], f["position"]) for f in findings]
        assert "log_shorter_than_checkpoint" not in kinds
        assert bundle_verifies(signed_store, tmp_path) == 1

    def test_a_truncated_tail_is_caught_by_the_signed_checkpoint(
        self, signed_store: SignedStore, superuser: Superuser, tmp_path: Path
    ) -> None:
        # when: the last five events go, with their leaves and subtrees
        superuser.truncate_tail(5)
        # then
        findings = store_findings(check(signed_store))
        first_missing = signed_store.head - 4
        assert (findings[0]["kind"], findings[0]["position"]) == (
            "log_shorter_than_checkpoint",
            first_missing,
        )
        assert bundle_verifies(signed_store, tmp_path) == 1

    def test_events_and_seals_rewritten_consistently_are_caught_by_the_signed_checkpoint(
        self, signed_store: SignedStore, superuser: Superuser, tmp_path: Path
    ) -> None:
        # when: an event after the first checkpoint is changed and every seal recomputed
        superuser.rewrite_consistently(650)
        # then: every event matches its (forged) leaf, but not the signed root
        findings = store_findings(check(signed_store))
        assert [f["kind"] for f in findings] == ["root_differs"]
        assert findings[0]["position"] == signed_store.head
        assert f"after position {signed_store.first_checkpoint_last_position}" in str(
            findings[0]["detail"]
        )
        assert bundle_verifies(signed_store, tmp_path) == 1

    def test_a_rewrite_before_every_checkpoint_is_caught_by_the_first(
        self, signed_store: SignedStore, superuser: Superuser
    ) -> None:
        # when
        superuser.rewrite_consistently(40)
        # then
        findings = store_findings(check(signed_store))
        assert [f["kind"] for f in findings] == ["root_differs", "root_differs"]
        assert findings[0]["position"] == signed_store.first_checkpoint_last_position
        assert "no earlier checkpoint holds" in str(findings[0]["detail"])
