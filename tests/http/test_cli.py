"""``buurtkas token create`` and ``buurtkas serve``, run as a user would run them."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar

from projections.db import connect
from service.cli import main
from service.http import idempotency
from service.storage import persistence_env
from tests.http.served import free_port

ROOT = Path(__file__).resolve().parents[2]


def free_port_number() -> str:
    return str(free_port())


def environment(monkeypatch: pytest.MonkeyPatch, database_url: str) -> str:
    monkeypatch.setenv("BUURTKAS_DATABASE_URL", database_url)
    monkeypatch.setenv("BUURTKAS_LOG_FORMAT", "json")
    return database_url


@pytest.fixture
def cli_env(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    return environment(monkeypatch, database_url)


@pytest.fixture
def sqlite_cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """For behaviour decided before the store is written."""
    return environment(monkeypatch, f"sqlite:///{tmp_path}/buurtkas.db")


def rows(database_url: str, statement: str) -> list[tuple[Any, ...]]:
    conn = connect(persistence_env(database_url))
    try:
        return conn.execute(statement)
    finally:
        conn.close()


def stored_tokens(database_url: str) -> list[tuple[Any, ...]]:
    return rows(
        database_url,
        "SELECT token_hash, subject, role, platform_id FROM http_tokens ORDER BY subject",
    )


class TestTokenCommand:
    def test_a_new_token_is_printed_once_and_only_its_hash_is_stored(
        self, cli_env: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        # given
        assert main(["demo"]) == 0
        capsys.readouterr()
        # when
        code = main(["token", "create", "--role", "treasurer", "--platform", "K-buurt"])
        # then
        printed = capsys.readouterr()
        token = printed.out.strip()
        assert code == 0
        assert token.startswith("bkt_")
        assert len(token) > 40
        assert token not in printed.err
        [(digest, subject, role, platform_id)] = stored_tokens(cli_env)
        assert digest == hashlib.sha256(token.encode()).hexdigest()
        assert (role, subject.startswith("treasurer:")) == ("treasurer", True)
        assert platform_id is not None

    @pytest.mark.parametrize(
        ("arguments", "message"),
        [
            (["--role", "treasurer"], "--platform: a treasurer token needs the platform"),
            (["--role", "viewer", "--platform", "K-buurt"], "is not bound to one platform"),
            (["--role", "official", "--subject", "two words"], "--subject:"),
        ],
    )
    def test_a_token_that_cannot_be_made_is_refused_naming_the_option(
        self,
        sqlite_cli_env: str,
        capsys: pytest.CaptureFixture[str],
        arguments: list[str],
        message: str,
    ) -> None:
        # given
        assert main(["demo"]) == 0
        capsys.readouterr()
        # when
        code = main(["token", "create", *arguments])
        # then
        assert code == 2
        assert message in capsys.readouterr().err
        assert stored_tokens(sqlite_cli_env) == []


class TestServeCommand:
    def test_serve_runs_the_app_built_from_the_settings_on_the_given_address(
        self, sqlite_cli_env: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # given
        started: dict[str, Any] = {}

        def fake_run(app: Any, **options: Any) -> None:
            started.update(app=app, **options)

        monkeypatch.setattr("uvicorn.run", fake_run)
        # when
        code = main(["serve", "--host", "0.0.0.0", "--port", "9123", "--no-projector"])
        # then
        assert code == 0
        assert isinstance(started["app"], Litestar)
        assert (started["host"], started["port"], started["access_log"]) == ("0.0.0.0", 9123, False)

    def test_serve_with_workers_makes_the_tables_once_and_leaves_the_app_to_each_worker(
        self, sqlite_cli_env: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # given
        started: dict[str, Any] = {}

        class FakeSupervisor:
            def __init__(self, config: Any, sockets: list[Any]) -> None:
                started.update(config=config)
                self.processes: list[Any] = []
                for sock in sockets:
                    sock.close()

            def run(self) -> None:
                # the serving process made the service's tables before any worker starts
                started["tables"] = {
                    row[0] for row in rows(sqlite_cli_env, "SELECT name FROM sqlite_master")
                }

        monkeypatch.setattr("uvicorn.supervisors.Multiprocess", FakeSupervisor)
        # when
        code = main(["serve", "--port", free_port_number(), "--workers", "3", "--no-projector"])
        # then
        assert code == 0
        config = started["config"]
        assert config.app == "service.http.app:create_worker_app"
        assert (config.factory, config.workers) == (True, 3)
        assert {"http_tokens", "http_idempotency"} <= started["tables"]

    def test_serve_exits_with_a_failed_start_status_when_its_workers_cannot_start(
        self, sqlite_cli_env: str, tmp_path: Path
    ) -> None:
        # given workers whose app cannot start (its start-up hook fails), under the real
        # uvicorn supervisor, which stops once a worker fails to start
        log = tmp_path / "serve.log"
        driver = (
            "import sys\n"
            "import service.http.cli as serving\n"
            "serving.WORKER_APP = 'tests.http.failing_worker:create_app'\n"
            "from service.cli import main\n"
            f"sys.exit(main(['serve', '--workers', '2', '--port', '{free_port_number()}', "
            "'--no-projector']))\n"
        )
        # when
        with log.open("w") as out:
            done = subprocess.run(
                [sys.executable, "-c", driver],
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=120,
                check=False,
            )
        # then the command says so in its exit status and its log, instead of exiting 0
        lines = log.read_text().splitlines()
        assert done.returncode == 3, lines[-20:]
        failed = [json.loads(line) for line in lines if "http.worker_failed_to_start" in line]
        assert [line["exit_status"] for line in failed] == [3]

    def test_a_worker_builds_its_app_from_the_environment_and_never_creates_tables(
        self, sqlite_cli_env: str
    ) -> None:
        # given the environment a worker inherits (BUURTKAS_DATABASE_URL set by the fixture)
        from service.http.app import create_worker_app

        # when a worker builds its app
        app = create_worker_app()
        # then it serves the configured database, leaves tables to the starting process
        # (workers creating them together would race on PostgreSQL) and runs no projector
        settings = app.state.settings
        assert (settings.database_url, settings.create_tables) == (sqlite_cli_env, False)
        assert app.state.follow_projections is False

    @pytest.mark.parametrize("workers", ["0", "65", "two"])
    def test_a_worker_count_out_of_range_is_refused_naming_the_option(
        self, sqlite_cli_env: str, capsys: pytest.CaptureFixture[str], workers: str
    ) -> None:
        # when
        with pytest.raises(SystemExit) as exit_:
            main(["serve", "--workers", workers])
        # then
        assert exit_.value.code == 2
        assert "--workers:" in capsys.readouterr().err


class TestTokenListAndRevoke:
    def test_tokens_are_listed_by_id_and_revoked_by_id_never_shown_in_clear(
        self, cli_env: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        # given two tokens
        assert main(["token", "create", "--role", "auditor", "--subject", "auditor:eva"]) == 0
        assert main(["token", "create", "--role", "viewer", "--subject", "viewer:piet"]) == 0
        secrets = capsys.readouterr().out.split()
        # when
        assert main(["token", "list", "--json"]) == 0
        listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        eva = next(t for t in listed if t["subject"] == "auditor:eva")
        assert main(["token", "revoke", eva["token_id"]]) == 0
        revoked = capsys.readouterr().out
        assert main(["token", "list"]) == 0
        table = capsys.readouterr().out
        # then
        assert [(t["subject"], t["role"], t["revoked_at"]) for t in listed] == [
            ("auditor:eva", "auditor", None),
            ("viewer:piet", "viewer", None),
        ]
        assert f"token {eva['token_id']} revoked at" in revoked
        eva_line, piet_line = table.splitlines()
        assert "auditor:eva" in eva_line
        assert "revoked" in eva_line
        assert "active" in piet_line
        for secret in secrets:
            assert secret not in table
            assert hashlib.sha256(secret.encode()).hexdigest() not in table

    def test_revoking_an_unknown_token_is_refused_naming_the_argument(
        self, sqlite_cli_env: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        # when
        code = main(["token", "revoke", "0123456789ab"])
        # then
        assert code == 2
        assert "TOKEN_ID: no token with id '0123456789ab'" in capsys.readouterr().err


class TestKeysPrune:
    def test_old_idempotency_keys_are_forgotten_and_recent_ones_kept(
        self, cli_env: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        # given a key stored 40 days ago and one stored now
        conn = connect(persistence_env(cli_env))
        try:
            idempotency.setup_table(conn)
            day = 86_400 * 10**9
            for key, age in (("old", 40 * day), ("new", 0)):
                conn.execute(
                    f"INSERT INTO {idempotency.TABLE} (subject, idem_key, fingerprint, "
                    "claimed_at, status, response) VALUES (?, ?, ?, ?, ?, ?)",
                    ("official:test", key, "print", time.time_ns() - age, 201, "{}"),
                )
        finally:
            conn.close()
        # when
        code = main(["keys", "prune", "--older-than-days", "30"])
        # then
        assert code == 0
        assert "forgot 1 idempotency keys older than 30 days" in capsys.readouterr().out
        conn = connect(persistence_env(cli_env))
        try:
            kept = conn.execute(f"SELECT idem_key FROM {idempotency.TABLE}")
        finally:
            conn.close()
        assert kept == [("new",)]

    def test_a_prune_of_less_than_a_day_is_refused_naming_the_option(
        self, sqlite_cli_env: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        # when
        with pytest.raises(SystemExit) as exit_:
            main(["keys", "prune", "--older-than-days", "0"])
        # then
        assert exit_.value.code == 2
        assert "--older-than-days: at least 1 day" in capsys.readouterr().err
