"""``buurtkas serve --workers 2``: worker processes serve requests, while the serving process
keeps the read models current for all of them."""

from __future__ import annotations

import time

from tests.http.givens import registered
from tests.http.served import served

SETTLE_SECONDS = 30.0


def test_with_two_workers_a_command_is_stored_once_and_read_back_through_the_projector(
    database_url: str,
) -> None:
    # given the service as two worker processes with the projector in the serving process
    with served(database_url, ("official", "viewer"), workers=2, projector=True) as server:
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
