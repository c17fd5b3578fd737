"""``buurtkas project --follow``: a process of its own that keeps the read models current."""

from __future__ import annotations

import json
import signal
import subprocess
import time

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


def test_a_following_projector_folds_events_appended_while_it_runs_and_stops_cleanly(
    database_url: str,
) -> None:
    # given a store with the demo history, and a projector following it
    run(database_url, "demo")
    follower = subprocess.Popen(
        [BUURTKAS, "project", "--follow", "--batch-size", "50"],
        env={**buurtkas_env(database_url), "BUURTKAS_LOG_LEVEL": "info"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # (it has made its tables and caught up: two processes making tables at once race)
        assert follower.stderr is not None
        for line in follower.stderr:
            if '"projection.following"' in line:
                break
        else:
            raise AssertionError("the projector stopped before following")
        # when more events are appended while it runs (several batches of every model)
        run(database_url, "generate", "--events", "300")
        # then every read model catches up with them, and the projector is still running
        deadline = time.monotonic() + SETTLE_SECONDS
        behind = lags(database_url)
        while any(behind.values()):
            assert follower.poll() is None, follower.communicate()[1]
            assert time.monotonic() < deadline, behind
            time.sleep(0.2)
            behind = lags(database_url)
        assert set(behind) == {"balances", "status", "signals", "platform_index"}
        assert follower.poll() is None
    finally:
        # and asked to stop, it finishes its fold and exits with success
        follower.send_signal(signal.SIGTERM)
        _, errors = follower.communicate(timeout=30)
    assert follower.returncode == 0, errors
    assert "Traceback" not in errors, errors
