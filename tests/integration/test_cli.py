"""The buurtkas command line, run as a user would run it (in-process, real store)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from eventsourcing.persistence import PersistenceError

from projections.registry import open_store
from projections.runner import Runner
from projections.signals import Signals
from service.application import Buurtkas
from service.cli import main
from service.storage import persistence_env, sqlite_path


@pytest.fixture
def cli_env(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("BUURTKAS_DATABASE_URL", database_url)
    monkeypatch.setenv("BUURTKAS_LOG_FORMAT", "json")
    return database_url


def run_with_output_closed(command: list[str], *, stderr: int) -> tuple[int, str]:
    """Run ``buurtkas COMMAND`` in its own process, its output buffered as in a pipe, and
    close the reading end at once; return its status and what it logged (if piped apart)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    with subprocess.Popen(
        [sys.executable, "-m", "service.cli", *command],
        stdout=subprocess.PIPE,
        stderr=stderr,
        env=env,
    ) as process:
        assert process.stdout is not None
        process.stdout.close()
        errors = process.stderr.read().decode() if process.stderr is not None else ""
        return process.wait(timeout=120), errors


class TestCommandLine:
    def test_demo_then_balances_prints_every_demo_platform(
        self, cli_env: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        # given
        assert main(["demo"]) == 0
        capsys.readouterr()
        # when
        code = main(["balances", "--json"])
        # then
        rows = json.loads(capsys.readouterr().out)
        assert code == 0
        assert {r["neighbourhood"] for r in rows} >= {
            "K-buurt",
            "G-buurt",
            "Bloemenbuurt",
            "Kleine Wereld",
            "Slotermeer Noordoost",
        }
        g = next(r for r in rows if r["neighbourhood"] == "G-buurt")
        assert (g["received"], g["unexplained"], g["cash_withdrawn_unaccounted"]) == (
            "125000.00",
            "66150.00",
            "30000.00",
        )

    def test_demo_twice_says_nothing_was_added(
        self, cli_env: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        # given
        main(["demo"])
        # when
        code = main(["demo"])
        # then
        assert code == 0
        assert "already present" in capsys.readouterr().out

    def test_history_lists_position_dates_actor_amount_and_summary(
        self, cli_env: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        # given
        main(["demo"])
        capsys.readouterr()
        # when
        code = main(["history", "--platform", "G-buurt", "--json"])
        # then
        lines = json.loads(capsys.readouterr().out)
        assert code == 0
        assert set(lines[0]) == {
            "position",
            "occurred_on",
            "recorded_at",
            "actor",
            "amount",
            "event",
            "summary",
        }
        chair = [x for x in lines if "to Yvonne Koster" in x["summary"]]
        assert [x["amount"] for x in chair] == ["12500.00", "15000.00", "9650.00"]

    @pytest.mark.parametrize(
        "command",
        [["history", "--platform", "G-buurt"], ["balances"]],
        ids=["longer-than-a-buffer", "within-a-buffer"],
    )
    def test_a_reader_that_closes_the_pipe_ends_the_command_quietly(
        self, cli_env: str, capsys: pytest.CaptureFixture[str], command: list[str]
    ) -> None:
        # given something to print, and a reader that goes away before it is printed
        assert main(["demo"]) == 0
        capsys.readouterr()
        # when
        code, errors = run_with_output_closed(command, stderr=subprocess.PIPE)
        # then: the status of a command SIGPIPE ended, and no error or traceback
        assert code == 128 + signal.SIGPIPE, errors
        assert "command.output_closed" in errors
        assert "error" not in errors.casefold()
        assert "Traceback" not in errors
        assert "Exception ignored" not in errors

    def test_a_reader_of_both_output_and_log_that_goes_away_ends_the_command_quietly(
        self, cli_env: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        # given (as `buurtkas balances 2>&1 | head`)
        assert main(["demo"]) == 0
        capsys.readouterr()
        # when
        code, _ = run_with_output_closed(["balances"], stderr=subprocess.STDOUT)
        # then
        assert code == 128 + signal.SIGPIPE

    def test_generate_reports_events_per_second(
        self, cli_env: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        # when
        code = main(["generate", "--events", "250", "--seed", "4"])
        # then
        captured = capsys.readouterr()
        assert code == 0
        assert captured.out.startswith("Generated 250 events in ")
        log = json.loads(captured.err.strip().splitlines()[-1])
        assert log["event"] == "generate.completed"
        assert log["events"] == 250

    def test_rebuild_logs_where_the_time_went_in_each_phase_of_its_batches(
        self, cli_env: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        # given
        main(["demo"])
        capsys.readouterr()
        # when
        code = main(["rebuild", "signals"])
        # then
        captured = capsys.readouterr()
        assert code == 0
        logs = [json.loads(line) for line in captured.err.splitlines() if line.startswith("{")]
        (rebuilt,) = [entry for entry in logs if entry["event"] == "projection.rebuilt"]
        phases = {key: value for key, value in rebuilt.items() if key.endswith("_seconds")}
        assert set(phases) == {
            "read_seconds",
            "fold_seconds",
            "findings_seconds",
            "encode_seconds",
            "commit_seconds",
        }
        assert all(value >= 0 for value in phases.values())  # (rounded to 1 ms: some 0)
        assert phases["read_seconds"] > 0
        assert phases["fold_seconds"] > 0
        assert sum(phases.values()) <= rebuilt["seconds"] + 0.005

    def test_a_refusal_exits_2_naming_the_field_and_rule(
        self, cli_env: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        # when
        code = main(["generate", "--events", "5"])
        # then
        assert code == 2
        assert "events: must be at least 20" in capsys.readouterr().err

    def test_an_unknown_platform_exits_2(
        self, cli_env: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        # given
        assert main(["demo"]) == 0
        capsys.readouterr()
        # when
        code = main(["history", "--platform", "Nergens"])
        # then
        assert code == 2
        assert "platform: no platform named 'Nergens'" in capsys.readouterr().err


def test_an_unsupported_database_url_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # given
    monkeypatch.setenv("BUURTKAS_DATABASE_URL", "mysql://x/y")
    # when
    code = main(["balances"])
    # then
    assert code == 2
    assert "BUURTKAS_DATABASE_URL: unsupported scheme 'mysql'" in capsys.readouterr().err


def test_replay_uses_the_configured_risk_thresholds(
    cli_env: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    # given: cash withdrawals are only flagged above EUR 5,000
    main(["demo"])
    config = tmp_path / "risk.json"
    config.write_text('{"version": "strict-cash-off", "cash_single_cents": 500000}')
    monkeypatch.setenv("BUURTKAS_RISK_CONFIG", str(config))
    capsys.readouterr()
    # when
    code = main(["replay", "--platform", "G-buurt", "--as-of", "2020-04-01", "--json"])
    # then
    replay = json.loads(capsys.readouterr().out)
    assert code == 0
    assert replay["config"].startswith("strict-cash-off:")
    cash = [f for f in replay["findings"] if f["rule"] == "cash_or_self_transfer"]
    assert [f["detail"] for f in cash] == [
        "cash withdrawals over 1000 EUR a month in 1 months (at most 30000 EUR)",
        "3 transfers to an officer's own account",
    ]  # no single withdrawal (at most EUR 4,000) is over the configured EUR 5,000


def test_project_with_other_thresholds_rebuilds_the_signals_and_projections_shows_the_builds(
    cli_env: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    # given read models built with the default thresholds, then other thresholds configured
    main(["demo"])
    main(["project"])
    config = tmp_path / "risk.json"
    config.write_text('{"version": "late-20", "late_days": 20}')
    monkeypatch.setenv("BUURTKAS_RISK_CONFIG", str(config))
    capsys.readouterr()
    main(["projections", "--json"])
    before = {s["projection"]: s for s in json.loads(capsys.readouterr().out)}
    # when
    code = main(["project"])
    captured = capsys.readouterr()
    main(["projections", "--json"])
    after = {s["projection"]: s for s in json.loads(capsys.readouterr().out)}
    # then the signals were named stale, rebuilt into a new generation, and are current
    assert code == 0
    assert not before["signals"]["current"]
    assert before["signals"]["build"].startswith(f"v{Signals.version} risk 2026-11-1:")
    logs = [json.loads(line) for line in captured.err.splitlines() if line.startswith("{")]
    stale = [entry for entry in logs if entry["event"] == "projection.stale"]
    assert [(entry["projection"], entry["wanted"][:15]) for entry in stale] == [
        ("signals", f"v{Signals.version} risk late-20"[:15])
    ]
    rebuilt = [entry["projection"] for entry in logs if entry["event"] == "projection.rebuilt"]
    assert rebuilt == ["signals"]
    assert after["signals"]["generation"] == before["signals"]["generation"] + 1
    assert after["signals"]["build"].startswith(f"v{Signals.version} risk late-20:")
    assert all(s["current"] for s in after.values())
    assert after["balances"]["generation"] == before["balances"]["generation"]


def test_a_rebuild_that_another_process_started_over_exits_1_and_the_active_model_is_kept(
    cli_env: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given read models, and another process that drops the generation `buurtkas rebuild`
    # fills as soon as it begins (an operator's rebuild starting over)
    main(["demo"])
    main(["project"])
    catch_up = Runner.catch_up

    def dropped_meanwhile(self: Runner, generation: int | None = None) -> int:
        if generation is not None:
            other = open_store(self.source.app.store_env)
            other.drop_generation(self.name, generation)
            other.conn.close()
        return catch_up(self, generation)

    monkeypatch.setattr(Runner, "catch_up", dropped_meanwhile)
    capsys.readouterr()
    main(["projections", "--json"])
    before = {s["projection"]: s for s in json.loads(capsys.readouterr().out)}
    # when
    code = main(["rebuild", "status"])
    captured = capsys.readouterr()
    # then it says so and exits 1, and readers still have the complete old generation
    assert code == 1
    assert "another process changed this read model meanwhile" in captured.err
    logs = [json.loads(line) for line in captured.err.splitlines() if line.startswith("{")]
    assert [entry["event"] for entry in logs if entry["level"] == "error"] == [
        "projection.concurrent_update"
    ]
    main(["projections", "--json"])
    after = {s["projection"]: s for s in json.loads(capsys.readouterr().out)}
    assert after["status"] == before["status"]


READERS = [
    ["verify"],
    ["balances"],
    ["history", "--platform", "G-buurt"],
    ["replay", "--platform", "G-buurt", "--position", "1"],
    ["projections"],
    ["project"],
    ["rebuild", "balances"],
    ["export", "--platform", "G-buurt", "--out", "bundle"],
]


class TestCommandsThatReadAStore:
    @pytest.mark.parametrize("argv", READERS, ids=[a[0] for a in READERS])
    def test_a_url_with_no_event_store_is_refused_and_nothing_is_made_there(
        self, cli_env: str, capsys: pytest.CaptureFixture[str], argv: list[str]
    ) -> None:
        # given a URL where no event store was made (a mistyped one, say)
        # when a command that reads the store runs against it
        code = main(argv)
        # then it exits 2 saying so, and makes no store there (no file, no tables)
        assert code == 2
        assert "BUURTKAS_DATABASE_URL: no event store" in capsys.readouterr().err
        path = sqlite_path(cli_env)
        if path is not None:
            assert not Path(path).exists()
        else:
            probe = Buurtkas(env=persistence_env(cli_env, create_tables=False))
            try:
                with pytest.raises(PersistenceError):
                    probe.recorder.max_notification_id()
            finally:
                probe.close()

    @pytest.mark.parametrize(
        ("argv", "message"),
        [
            (["rebuild", "balances", "--batch-size", "0"], "--batch-size: must be at least 1"),
            (["project", "--batch-size", "-1"], "--batch-size: must be at least 1"),
            (["replay", "--platform", "G-buurt", "--position", "0"], "--position: must be at"),
            (["replay", "--platform", "G-buurt", "--as-of", "0001-01-01"], "must lie between"),
            (["replay", "--platform", "G-buurt", "--as-of", "2020-W01-1"], "not a date YYYY-MM"),
            (["replay", "--platform", "G-buurt", "--as-of", "20200101"], "not a date YYYY-MM"),
        ],
    )
    def test_an_option_out_of_range_is_refused_before_anything_runs(
        self, cli_env: str, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
    ) -> None:
        # given
        assert main(["demo"]) == 0
        capsys.readouterr()
        # when
        with pytest.raises(SystemExit) as refused:
            main(argv)
        # then
        assert refused.value.code == 2
        assert message in capsys.readouterr().err

    def test_a_replay_beyond_the_head_of_the_store_is_refused(
        self, cli_env: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        # given the demo (494 events)
        assert main(["demo"]) == 0
        capsys.readouterr()
        # when
        code = main(["replay", "--platform", "G-buurt", "--position", "99999"])
        # then
        assert code == 2
        assert "--position: 99999 is beyond the head of the store (494)" in capsys.readouterr().err
