"""``buurtkas project --follow``: a process of its own that keeps the read models current."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

from tests.http.served import BUURTKAS, buurtkas_env

SETTLE_SECONDS = 60.0


def run(database_url: str, *argv: str) -> str:
    done = subprocess.run(
        [BUURTKAS, *argv],
        env=buurtkas_env(database_url),
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def lags(database_url: str) -> dict[str, int]:
    rows = json.loads(run(database_url, "projections", "--json"))
    return {row["projection"]: row["lag"] for row in rows}


def wait_for_log(process: subprocess.Popen[bytes], log: Path, text: str) -> None:
    """Wait until the process's log holds ``text``; fail if it ends or SETTLE_SECONDS pass."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while text not in log.read_text():
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, f"no {text} in the log: {log.read_text()}"
        time.sleep(0.1)


def test_a_following_projector_folds_events_appended_while_it_runs_and_stops_cleanly(
    database_url: str, tmp_path: Path
) -> None:
    # given a store with the demo history, and a projector following it
    run(database_url, "demo")
    log = tmp_path / "follower.log"
    with log.open("wb") as sink:
        follower = subprocess.Popen(
            [BUURTKAS, "project", "--follow", "--batch-size", "50"],
            env={**buurtkas_env(database_url), "BUURTKAS_LOG_LEVEL": "info"},
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )
    try:
        # (it has made its tables and caught up: two processes making tables at once race)
        wait_for_log(follower, log, '"projection.following"')
        # when more events are appended while it runs (several batches of every model)
        run(database_url, "generate", "--events", "300")
        # then every read model catches up with them, and the projector is still running
        deadline = time.monotonic() + SETTLE_SECONDS
        behind = lags(database_url)
        while any(behind.values()):
            assert follower.poll() is None, log.read_text()
            assert time.monotonic() < deadline, behind
            time.sleep(0.2)
            behind = lags(database_url)
        assert set(behind) == {"balances", "status", "signals", "platform_index"}
        assert follower.poll() is None
    finally:
        # and asked to stop, it finishes its fold and exits with success
        follower.send_signal(signal.SIGTERM)
        follower.wait(timeout=30)
    assert follower.returncode == 0, log.read_text()
    assert "Traceback" not in log.read_text()
    assert '"projection.stopped_following"' in log.read_text()


def test_a_follower_started_for_a_parent_stops_by_itself_once_that_parent_is_gone(
    database_url: str, tmp_path: Path
) -> None:
    # given a store, and a short-lived process that has already ended
    run(database_url, "demo")
    gone = subprocess.Popen(["true"])
    gone.wait()
    for parent, keeps_following in ((os.getpid(), True), (gone.pid, False)):
        log = tmp_path / f"follower-{parent}.log"
        with log.open("wb") as sink:
            # when a projector follows on behalf of a parent: this test's own process (its
            # real parent), or the process that has ended
            follower = subprocess.Popen(
                [BUURTKAS, "project", "--follow", "--parent", str(parent)],
                env={**buurtkas_env(database_url), "BUURTKAS_LOG_LEVEL": "info"},
                stdout=subprocess.DEVNULL,
                stderr=sink,
            )
        try:
            if keeps_following:
                # then while its parent lives it keeps following
                wait_for_log(follower, log, '"projection.following"')
                time.sleep(1.0)
                assert follower.poll() is None, log.read_text()
            else:
                # then without it, it stops by itself, cleanly
                follower.wait(timeout=SETTLE_SECONDS)
                assert follower.returncode == 0, log.read_text()
                assert '"projection.stopped_following"' in log.read_text()
        finally:
            if follower.poll() is None:
                follower.send_signal(signal.SIGTERM)
                follower.wait(timeout=30)
        assert follower.returncode == 0, log.read_text()
