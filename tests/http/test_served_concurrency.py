"""Real concurrency: 20 clients at once against ``buurtkas serve`` on PostgreSQL.

The server runs in its own process (uvicorn) over a fresh schema, and again as two worker
processes; each client is a thread with its own HTTP connection, and all of them are
released at the same moment.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import UUID

import httpx
import pytest

from service.application import Buurtkas
from service.storage import persistence_env
from tests.http.givens import budget, grant, recognised
from tests.http.served import Served, served

pytestmark = pytest.mark.postgres

CLIENTS = 20


@pytest.fixture(params=[1, 2], ids=["one process", "two worker processes"])
def server(postgres_schema_url: str, request: pytest.FixtureRequest) -> Iterator[Served]:
    with served(postgres_schema_url, workers=request.param) as running:
        yield running


def all_at_once(
    server: Served, send: Callable[[httpx.Client, int], httpx.Response]
) -> list[httpx.Response]:
    """``send(client, i)`` from CLIENTS threads, each with its own connection, released
    together."""
    barrier = threading.Barrier(CLIENTS)

    def one(i: int) -> httpx.Response:
        with httpx.Client(base_url=server.base_url, timeout=60.0) as client:
            client.get("/health/live")  # connect before the race starts
            barrier.wait()
            return send(client, i)

    with ThreadPoolExecutor(CLIENTS) as pool:
        return list(pool.map(one, range(CLIENTS)))


def stored_topics(database_url: str, aggregate_id: UUID) -> list[str]:
    app = Buurtkas(env=persistence_env(database_url))
    try:
        return [e.topic for e in app.recorder.select_events(aggregate_id)]
    finally:
        app.close()


def test_twenty_clients_paying_one_tranche_with_one_key_store_one_payment(
    server: Served, postgres_schema_url: str
) -> None:
    # given a grant with an unpaid first tranche, and one payment request with one key
    grant_id = grant(server, budget(server), recognised(server))
    body = {"number": 1, "amount": "50000.00", "occurred_on": "2020-01-15", "expected_version": 1}
    key = uuid.uuid4().hex
    headers = server.headers("official", key)

    def pay(client: httpx.Client, _: int) -> httpx.Response:
        return client.post(f"/grants/{grant_id}/tranche-payments", json=body, headers=headers)

    # when 20 clients send it at the same moment
    responses = all_at_once(server, pay)

    # then every client gets the same 200 answer at once (no "retry later"), one first-hand
    assert [r.status_code for r in responses] == [200] * CLIENTS, [r.text for r in responses]
    assert len({r.text for r in responses}) == 1
    assert sum(r.headers.get("Idempotent-Replayed") != "true" for r in responses) == 1
    # and the store holds exactly one payment of the tranche
    topics = stored_topics(postgres_schema_url, grant_id)
    assert topics.count("buurtkas.grant.TranchePaid") == 1


def test_twenty_conflicting_updates_of_one_platform_give_one_success_and_409s(
    server: Served, postgres_schema_url: str
) -> None:
    # given a recognised platform at a known version
    platform_id = recognised(server)
    version = len(stored_topics(postgres_schema_url, platform_id))

    def join(client: httpx.Client, i: int) -> httpx.Response:
        body: dict[str, Any] = {
            "person": f"Member {i:02d}",
            "role": "core_group",
            "occurred_on": "2020-02-01",
            "expected_version": version,
        }
        return client.post(
            f"/platforms/{platform_id}/memberships",
            json=body,
            headers=server.headers("official", uuid.uuid4().hex),
        )

    # when 20 clients each add another member, all expecting that same version
    responses = all_at_once(server, join)

    # then exactly one succeeds and every other one is refused with a conflict, never a 500
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [409] * (CLIENTS - 1), [r.text for r in responses]
    rules = sorted({r.json()["rule"] for r in responses if r.status_code == 409})
    assert rules == ["concurrent_update"]
    assert all(
        r.headers["content-type"].startswith("application/problem+json")
        for r in responses
        if r.status_code == 409
    )
    # and the platform got exactly one more event
    assert len(stored_topics(postgres_schema_url, platform_id)) == version + 1
