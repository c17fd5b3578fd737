"""The audit commands as an operator and an auditor use them: keygen, checkpoint, proof,
export, verify, and the nightly script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from audit import merkle
from projections.registry import open_store
from service.application import Buurtkas
from service.cli import main
from service.storage import persistence_env
from tests.integration.givens import given_platform
from tests.integration.superuser import Superuser

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def operator(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A store with the demo history and a configured signing key; returns the key prefix."""
    monkeypatch.setenv("BUURTKAS_DATABASE_URL", database_url)
    monkeypatch.setenv("BUURTKAS_LOG_FORMAT", "json")
    assert main(["keygen", "--out", str(tmp_path / "keys" / "audit")]) == 0
    monkeypatch.setenv("BUURTKAS_SIGNING_KEY", str(tmp_path / "keys" / "audit.key"))
    assert main(["demo"]) == 0
    return tmp_path / "keys" / "audit"


def checkpoints(database_url: str) -> int:
    store = open_store(persistence_env(database_url))
    try:
        return int(store.conn.execute("SELECT count(*) FROM audit_checkpoints")[0][0])
    finally:
        store.conn.close()


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, object]:
    capsys.readouterr()
    code = main(list(argv))
    return code, json.loads(capsys.readouterr().out)


def verify_bundle(
    bundle: Path, public_key: Path, *options: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "verify_bundle.py"),
            str(bundle),
            "--public-key",
            str(public_key),
            *options,
        ],
        capture_output=True,
        text=True,
        check=False,
    )


def edit_lines(path: Path, edit: Callable[[list[str]], list[str]]) -> None:
    """Rewrite an NDJSON file of a bundle, as someone with a copy of it could."""
    lines = path.read_bytes().decode().split("\n")
    path.write_bytes("\n".join(edit([line for line in lines if line])).encode() + b"\n")


def edit_json(path: Path, edit: Callable[[Any], Any]) -> None:
    path.write_text(json.dumps(edit(json.loads(path.read_text())), indent=2) + "\n")


class TestAuditCommands:
    def test_keygen_writes_a_private_key_only_its_owner_reads_and_refuses_to_overwrite(
        self, operator: Path
    ) -> None:
        # then
        assert oct(Path(f"{operator}.key").stat().st_mode & 0o777) == "0o600"
        assert Path(f"{operator}.pub").read_text().startswith("-----BEGIN PUBLIC KEY-----")
        assert main(["keygen", "--out", str(operator)]) == 2

    def test_checkpoint_then_proof_gives_an_inclusion_proof_that_verifies(
        self, operator: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        # given
        code, checkpoint = run_json(capsys, "checkpoint")
        assert code == 0
        # when
        code, proof = run_json(capsys, "proof", "--position", "123")
        # then
        assert code == 0
        assert isinstance(checkpoint, dict)
        assert isinstance(proof, dict)
        assert proof["checkpoint"] == checkpoint
        assert checkpoint["tree_size"] == 494
        assert merkle.verify_inclusion(
            proof["leaf_index"],
            proof["tree_size"],
            bytes.fromhex(proof["leaf_hash"]),
            [bytes.fromhex(h) for h in proof["path"]],
            bytes.fromhex(checkpoint["root_hash"]),
        )

    def test_a_consistency_proof_between_two_checkpoints_verifies(
        self, operator: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        # given
        assert main(["checkpoint"]) == 0
        assert main(["generate", "--events", "300"]) == 0
        assert main(["checkpoint"]) == 0
        # when
        code, answer = run_json(capsys, "proof", "--between", "494", "794")
        # then
        assert code == 0
        assert isinstance(answer, dict)
        first, second = answer["first"], answer["second"]
        assert merkle.verify_consistency(
            494,
            794,
            bytes.fromhex(first["root_hash"]),
            bytes.fromhex(second["root_hash"]),
            [bytes.fromhex(h) for h in answer["proof"]],
        )
        assert main(["proof", "--between", "494", "500"]) == 2

    def test_checkpoint_without_a_signing_key_is_refused_naming_the_setting(
        self, operator: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        # given
        monkeypatch.delenv("BUURTKAS_SIGNING_KEY")
        # when
        code = main(["checkpoint"])
        # then
        assert code == 2
        assert "BUURTKAS_SIGNING_KEY" in capsys.readouterr().err

    def test_verify_reports_each_check_in_json_and_exits_0_when_intact(
        self, operator: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        # given
        assert main(["checkpoint"]) == 0
        assert main(["project"]) == 0
        # when
        code, report = run_json(capsys, "verify", "--json")
        # then
        assert code == 0
        assert isinstance(report, dict)
        assert report["ok"] is True
        assert [c["check"] for c in report["checks"]] == [
            "store",
            "subtrees",
            "read_models",
            "ledger",
        ]
        assert report["checks"][1]["figures"]["findings"] == {}
        assert report["checks"][2]["figures"]["balances"]["differences"] == 0

    def test_verify_fails_a_read_model_further_behind_the_head_than_allowed(
        self, operator: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        # given read models projected, and then 1,200 events nobody projected
        assert main(["checkpoint"]) == 0
        assert main(["project"]) == 0
        assert main(["generate", "--events", "1200", "--seed", "4"]) == 0
        assert main(["checkpoint"]) == 0
        # when the check runs with the default allowance (1,000), and with 2,000
        code, report = run_json(capsys, "verify", "--json")
        allowed, relaxed = run_json(capsys, "verify", "--json", "--max-lag", "2000")
        # then the first fails naming each read model's lag; the second passes
        assert code == 1
        assert isinstance(report, dict)
        assert isinstance(relaxed, dict)
        read_models = report["checks"][2]
        assert "more than 1000 events behind the head" in read_models["summary"]
        behind = [d for d in read_models["details"] if d["difference"] == "behind"]
        assert {d["read_model"] for d in behind} == {
            "balances",
            "status",
            "signals",
            "platform_index",
        }
        assert {d["lag"] for d in behind} == {1200}
        assert read_models["figures"]["balances"]["lag"] == 1200
        assert allowed == 0
        assert relaxed["ok"] is True

    def test_verify_names_the_position_of_a_changed_event_and_exits_1(
        self, operator: Path, database_url: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        # given
        assert main(["checkpoint"]) == 0
        su = Superuser(database_url)
        su.disable_triggers()
        su.flip_byte(77)
        su.close()
        # when
        code, report = run_json(capsys, "verify", "--json", "--skip-read-models")
        # then
        assert code == 1
        assert isinstance(report, dict)
        store = report["checks"][0]
        assert store["details"][0]["position"] == 77
        assert "first at position 77" in store["summary"]

    def test_verify_names_a_read_model_row_that_differs_from_a_fresh_replay(
        self, operator: Path, database_url: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        # given
        assert main(["checkpoint"]) == 0
        assert main(["project"]) == 0
        su = Superuser(database_url)
        query = "SELECT generation FROM rm_active WHERE projection = ?"
        table = f"rm_balances_{su.run(query, ('balances',))[0][0]}"
        key = su.run(f"SELECT MIN(key) FROM {table} WHERE kind = 'platform'")[0][0]
        su.run(f"DELETE FROM {table} WHERE kind = 'platform' AND key = ?", (key,))
        su.close()
        # when
        code, report = run_json(capsys, "verify", "--json")
        # then
        assert code == 1
        assert isinstance(report, dict)
        store, subtrees, read_models, ledger = report["checks"]
        assert store["ok"] is True
        assert subtrees["ok"] is True
        assert ledger["ok"] is True
        assert read_models["ok"] is False
        assert read_models["details"][0] == {
            "read_model": "balances",
            "kind": "platform",
            "key": key,
            "difference": "missing row",
        }

    def test_an_exported_platform_verifies_offline_and_fails_once_tampered(
        self, operator: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        # given
        assert main(["checkpoint"]) == 0
        # when
        code = main(["export", "--platform", "G-buurt", "--out", str(tmp_path / "g")])
        result = verify_bundle(tmp_path / "g", Path(f"{operator}.pub"))
        # then
        assert code == 0
        assert result.returncode == 0, result.stdout
        assert "inclusion proofs tie the events to the checkpoint" in result.stdout
        manifest = json.loads((tmp_path / "g" / "manifest.json").read_text())
        assert manifest["platform"] == "Stichting Bewonersplatform G-buurt"
        # and when an auditor's copy is edited
        lines = (tmp_path / "g" / "events.ndjson").read_text().splitlines()
        event = json.loads(lines[3])
        event["topic"] = event["topic"] + "x"
        lines[3] = json.dumps(event)
        (tmp_path / "g" / "events.ndjson").write_text("\n".join(lines) + "\n")
        # then
        tampered = verify_bundle(tmp_path / "g", Path(f"{operator}.pub"))
        assert tampered.returncode == 1
        assert f"first differing position: {event['position']}" in tampered.stdout

    def test_a_bundle_checked_with_another_public_key_fails(
        self, operator: Path, tmp_path: Path
    ) -> None:
        # given
        assert main(["checkpoint"]) == 0
        assert main(["export", "--out", str(tmp_path / "all")]) == 0
        assert main(["keygen", "--out", str(tmp_path / "other")]) == 0
        # when
        result = verify_bundle(tmp_path / "all", tmp_path / "other.pub")
        # then
        assert result.returncode == 1
        assert "[FAIL] checkpoint" in result.stdout

    def test_completeness_is_read_from_the_events_never_from_the_manifest(
        self, operator: Path, tmp_path: Path
    ) -> None:
        # given a whole-store bundle, and a platform's bundle of the same checkpoint
        assert main(["checkpoint"]) == 0
        assert main(["export", "--out", str(tmp_path / "all")]) == 0
        assert main(["export", "--platform", "G-buurt", "--out", str(tmp_path / "g")]) == 0
        public = Path(f"{operator}.pub")
        # when each is checked, the platform's also as if it had to be complete, and then
        # once its manifest is made to call it the whole store
        whole = verify_bundle(tmp_path / "all", public, "--require-complete")
        selection = verify_bundle(tmp_path / "g", public)
        required = verify_bundle(tmp_path / "g", public, "--require-complete")
        edit_json(
            tmp_path / "g" / "manifest.json",
            lambda m: {**m, "scope": "store", "platform": None, "proofs": "root"},
        )
        relabelled = verify_bundle(tmp_path / "g", public)
        # then only the whole store passes as complete; the selection passes saying that
        # it proves nothing missing, and fails when completeness is required or claimed
        assert whole.returncode == 0, whole.stdout
        assert "the checkpoint's whole log" in whole.stdout
        assert selection.returncode == 0, selection.stdout
        assert "none is proven missing" in selection.stdout
        assert required.returncode == 1
        assert "[FAIL] the bundle holds" in required.stdout
        assert relabelled.returncode == 1
        assert "(the manifest calls it the whole store)" in relabelled.stdout

    def test_an_edited_readable_state_fails_the_bundle_naming_the_event(
        self, operator: Path, tmp_path: Path
    ) -> None:
        # given a bundle whose first event's readable copy says another amount and actor
        assert main(["checkpoint"]) == 0
        assert main(["export", "--out", str(tmp_path / "all")]) == 0

        def edit(lines: list[str]) -> list[str]:
            event = json.loads(lines[0])
            event["state"]["actor"] = "someone else"
            return [json.dumps(event), *lines[1:]]

        edit_lines(tmp_path / "all" / "events.ndjson", edit)
        # when
        result = verify_bundle(tmp_path / "all", Path(f"{operator}.pub"))
        # then its stored bytes still match their leaf, but the readable copy is refused
        assert result.returncode == 1
        assert "[ok] every event's leaf hash matches its stored bytes" in result.stdout
        assert (
            "[FAIL] every event's readable state is what its stored bytes say (first "
            "differing position: 1)" in result.stdout
        )

    @pytest.mark.parametrize(
        "forgery",
        ["a key given twice", "a version given as true", "an id in capitals"],
    )
    def test_an_event_line_in_other_than_its_one_form_fails_the_bundle(
        self, operator: Path, tmp_path: Path, forgery: str
    ) -> None:
        # given a bundle with one event line rewritten into a form its readers disagree on
        # (the event of version 1: true packs as 1)
        assert main(["checkpoint"]) == 0
        assert main(["export", "--out", str(tmp_path / "all")]) == 0

        def edit(lines: list[str]) -> list[str]:
            at = next(i for i, line in enumerate(lines) if json.loads(line)["version"] == 1)
            event = json.loads(lines[at])
            if forgery == "a key given twice":
                forged = json.dumps({"topic": "buurtkas.forged.Event", **event})
                line = '{"topic": "buurtkas.forged.Event", ' + forged[1:]
            elif forgery == "a version given as true":
                line = json.dumps({**event, "version": True})
            else:
                line = json.dumps({**event, "aggregate_id": event["aggregate_id"].upper()})
            return [*lines[:at], line, *lines[at + 1 :]]

        edit_lines(tmp_path / "all" / "events.ndjson", edit)
        # when
        result = verify_bundle(tmp_path / "all", Path(f"{operator}.pub"))
        # then
        assert result.returncode == 1, result.stdout
        assert "bundle NOT intact" in result.stdout

    def test_a_name_holding_a_line_separator_does_not_break_an_intact_bundle(
        self, operator: Path, database_url: str, tmp_path: Path
    ) -> None:
        # given a platform whose name holds U+2028, which is no line feed
        app = Buurtkas(env=persistence_env(database_url))
        try:
            given_platform(app, "Buurt\u2028platform", number=77)
        finally:
            app.close()
        assert main(["checkpoint"]) == 0
        assert main(["export", "--out", str(tmp_path / "all")]) == 0
        # when
        result = verify_bundle(tmp_path / "all", Path(f"{operator}.pub"))
        # then
        assert result.returncode == 0, result.stdout

    def test_after_a_new_signing_key_the_bundle_verifies_with_both_public_keys(
        self, operator: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # given a checkpoint signed with the first key, then one with a new key
        assert main(["checkpoint"]) == 0
        assert main(["keygen", "--out", str(tmp_path / "new")]) == 0
        monkeypatch.setenv("BUURTKAS_SIGNING_KEY", str(tmp_path / "new.key"))
        monkeypatch.delenv("BUURTKAS_AUDIT_PUBLIC_KEY", raising=False)
        assert main(["demo"]) == 0  # nothing new: the same size signed again
        assert main(["checkpoint"]) == 0
        assert main(["export", "--out", str(tmp_path / "all")]) == 0
        # when it is checked with the new key alone, and with both
        new_only = verify_bundle(tmp_path / "all", tmp_path / "new.pub")
        both = verify_bundle(
            tmp_path / "all", tmp_path / "new.pub", "--public-key", f"{operator}.pub"
        )
        # then the first needs the retired key too, naming it; the second passes
        assert new_only.returncode == 1
        assert "give the retired public key too" in new_only.stdout
        assert both.returncode == 0, both.stdout

    def test_a_checkpoint_the_auditor_kept_must_be_in_the_bundles_history(
        self, operator: Path, database_url: str, tmp_path: Path
    ) -> None:
        # given a checkpoint an auditor kept, later events, a later checkpoint and bundle
        assert main(["checkpoint", "--out", str(tmp_path / "kept.json")]) == 0
        app = Buurtkas(env=persistence_env(database_url))
        try:
            given_platform(app, "Nieuwbuurt", number=78)
        finally:
            app.close()
        assert main(["checkpoint"]) == 0
        assert main(["export", "--out", str(tmp_path / "all")]) == 0
        public = Path(f"{operator}.pub")
        kept = ("--checkpoint", str(tmp_path / "kept.json"))
        # when it is checked against the kept checkpoint, then once that checkpoint was
        # taken out of the bundle's history
        intact = verify_bundle(tmp_path / "all", public, *kept)
        edit_json(
            tmp_path / "all" / "checkpoints.json",
            lambda history: [{"checkpoint": history[-1]["checkpoint"]}],
        )
        cut = verify_bundle(tmp_path / "all", public, *kept)
        # then
        assert intact.returncode == 0, intact.stdout
        assert "so the log grew from it" in intact.stdout
        assert cut.returncode == 1
        assert "[FAIL] the checkpoint you kept" in cut.stdout

    def test_export_without_a_checkpoint_is_refused(
        self, operator: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        # when
        code = main(["export", "--out", str(tmp_path / "none")])
        # then
        assert code == 2
        assert "buurtkas checkpoint" in capsys.readouterr().err


class TestNightlyScript:
    def test_the_nightly_script_keeps_checkpoints_and_fails_once_history_was_cut(
        self, operator: Path, database_url: str, tmp_path: Path
    ) -> None:
        # given
        env = {**os.environ, "BUURTKAS": str(Path(sys.executable).parent / "buurtkas")}
        nightly = [str(ROOT / "scripts" / "nightly.sh"), str(tmp_path / "audit")]
        # when: two nights
        first = subprocess.run(nightly, env=env, capture_output=True, text=True, check=False)
        second = subprocess.run(nightly, env=env, capture_output=True, text=True, check=False)
        # then
        assert first.returncode == 0, first.stderr
        assert second.returncode == 0, second.stderr
        assert len(list((tmp_path / "audit" / "checkpoints").glob("*.json"))) >= 1
        # and when the tail and every checkpoint in the database are removed
        su = Superuser(database_url)
        su.disable_triggers()
        su.truncate_tail(3)
        su.run("DELETE FROM audit_checkpoints")
        su.close()
        third = subprocess.run(nightly, env=env, capture_output=True, text=True, check=False)
        # then the checkpoints kept outside the database still catch it
        assert third.returncode == 1
        reports = sorted((tmp_path / "audit" / "reports").glob("*.json"))
        report = json.loads(reports[-1].read_text())
        assert report["checks"][0]["details"][0]["kind"] == "log_shorter_than_checkpoint"

    def test_the_nightly_script_exits_2_and_signs_nothing_where_there_is_no_event_store(
        self, operator: Path, tmp_path: Path
    ) -> None:
        # given a configured signing key, and a URL with no event store behind it
        missing = tmp_path / "typo" / "buurtkas.db"
        env = {
            **os.environ,
            "BUURTKAS": str(Path(sys.executable).parent / "buurtkas"),
            "BUURTKAS_DATABASE_URL": f"sqlite:///{missing}",
        }
        nightly = [str(ROOT / "scripts" / "nightly.sh"), str(tmp_path / "audit")]
        # when
        night = subprocess.run(nightly, env=env, capture_output=True, text=True, check=False)
        # then it could not run the check, says why, and signed no checkpoint
        assert night.returncode == 2, night.stderr
        assert "no event store" in night.stderr
        assert not list((tmp_path / "audit" / "checkpoints").glob("*.json"))
        assert not missing.exists()

    def test_a_checkpoint_that_cannot_be_written_out_is_not_signed(
        self, operator: Path, database_url: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        # given one checkpoint signed, and a directory where a file should go
        assert main(["checkpoint"]) == 0
        (tmp_path / "adir").mkdir()
        capsys.readouterr()
        # when
        code = main(["checkpoint", "--out", str(tmp_path / "adir")])
        # then it is refused before signing: the store still holds one checkpoint
        assert code == 2
        assert "--out: cannot write the checkpoint" in capsys.readouterr().err
        assert checkpoints(database_url) == 1

    def test_a_command_the_trail_cannot_seal_exits_1_saying_nothing_was_stored(
        self, operator: Path, database_url: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        # given the subtree the next leaf would complete, written past buurtkas
        superuser = Superuser(database_url)
        try:
            size = int(superuser.run("SELECT COUNT(*) FROM audit_leaves")[0][0])
            if size % 2 == 0:  # one event more: the next leaf then completes a pair
                assert main(["generate", "--events", "21", "--seed", "5"]) == 0
                size = int(superuser.run("SELECT COUNT(*) FROM audit_leaves")[0][0])
            assert size % 2 == 1
            superuser.run(
                "INSERT INTO audit_nodes (end_leaf, level, hash) VALUES (?, ?, ?)",
                (size, 1, bytes(32)),
            )
            capsys.readouterr()
            # when
            code = main(["generate", "--events", "20", "--seed", "6"])
            # then
            assert code == 1
            assert "nothing was stored" in capsys.readouterr().err
            assert int(superuser.run("SELECT COUNT(*) FROM audit_leaves")[0][0]) == size
        finally:
            superuser.close()
