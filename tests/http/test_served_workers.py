"""``buurtkas serve``: one process whose child process keeps the read models current, or
worker processes serving requests while the serving process keeps them current."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.http.givens import registered
from tests.http.served import served

SETTLE_SECONDS = 30.0


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # it ended meanwhile
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def projector_children(server: int) -> list[int]:
    """The server's child processes, once it has started one (fails after SETTLE_SECONDS)."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while not (found := children(server)):
        assert time.monotonic() < deadline, "no projector child"
        time.sleep(0.1)
    return found


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.parametrize("workers", [1, 2])
def test_a_command_is_stored_once_and_read_back_through_the_projector(
    database_url: str, workers: int
) -> None:
    # given the service as one process (its projector a child process) or as two worker
    # processes (the projector in the serving process)
    with served(database_url, ("official", "viewer"), workers=workers, projector=True) as server:
        # when an official registers a platform, and repeats the request with the same key
        body = {
            "name": "Werkbuurt",
            "neighbourhood": "Werkbuurt buurt",
            "district": "Zuidoost",
            "legal_form": "stichting",
            "kvk": "00000077",
            "account_iban": "NL91ABNA0417164300",
            "occurred_on": "2020-01-03",
        }
        first = server.post("/platforms", body, key="werkbuurt-1")
        again = server.post("/platforms", body, key="werkbuurt-1")
        other = registered(server, "Tweede", 78)
        # then the repeat is the first answer, replayed, whichever worker took it
        assert first.status_code == 201, first.text
        assert (again.status_code, again.json()) == (201, first.json())
        assert again.headers["Idempotent-Replayed"] == "true"
        # and the read models catch up, so both platforms' status reads through the workers
        deadline = time.monotonic() + SETTLE_SECONDS
        ready = server.get("/health/ready", "viewer")
        while ready.json().get("status") != "ready" or any(
            p["lag"] for p in ready.json()["projections"]
        ):
            assert time.monotonic() < deadline, ready.text
            time.sleep(0.2)
            ready = server.get("/health/ready", "viewer")
        for platform in (first.json()["id"], str(other)):
            status = server.get(f"/platforms/{platform}/status", "viewer")
            assert status.status_code == 200, status.text


def test_the_projector_child_of_one_server_process_ends_when_the_server_is_killed(
    database_url: str,
) -> None:
    # given one server process and its projector child, following the store
    with served(database_url, ("official", "viewer"), projector=True) as server:
        projectors = projector_children(server.pid)
        assert len(projectors) == 1
        deadline = time.monotonic() + SETTLE_SECONDS
        ready = server.get("/health/ready", "viewer")
        while ready.json().get("status") != "ready":
            assert time.monotonic() < deadline, ready.text
            time.sleep(0.2)
            ready = server.get("/health/ready", "viewer")
        # when the server is killed outright (no shutdown of its own)
        os.kill(server.pid, signal.SIGKILL)
        # then its projector stops by itself instead of following on as an orphan
        deadline = time.monotonic() + SETTLE_SECONDS
        while running(projectors[0]):
            assert time.monotonic() < deadline, "the projector outlived its server"
            time.sleep(0.1)


def test_a_projector_child_that_dies_is_started_again_and_the_models_follow_on(
    database_url: str,
) -> None:
    # given one server process and its projector child
    with served(database_url, ("official", "viewer"), projector=True) as server:
        projectors = projector_children(server.pid)
        # when the child is killed while the server runs
        os.kill(projectors[0], signal.SIGKILL)
        # then the server starts another one
        deadline = time.monotonic() + SETTLE_SECONDS
        while not (again := [p for p in children(server.pid) if p != projectors[0]]):
            assert time.monotonic() < deadline, "no new projector child"
            time.sleep(0.2)
        assert running(again[0])
        # and a command stored after that is folded into the read models
        platform = registered(server, "Nieuwbuurt", 79)
        ready = server.get("/health/ready", "viewer")
        while any(p["lag"] for p in ready.json()["projections"]):
            assert time.monotonic() < deadline, ready.text
            time.sleep(0.2)
            ready = server.get("/health/ready", "viewer")
        assert server.get(f"/platforms/{platform}/status", "viewer").status_code == 200
