"""Retry-safe commands: Idempotency-Key and expected_version."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent

from audit.recorders import Append, in_append_transaction
from domain.grant import Grant
from domain.money import Money
from service.http import idempotency
from service.http.policy import Role
from service.http.recording import Captured, capture
from tests.http.conftest import Api
from tests.http.givens import ASSESSMENT, budget, grant, ok, recognised, registered

RECORD = UUID("00000000-0000-4000-8000-000000000001")
BUDGET = {"district": "Zuidoost", "year": 2020, "amount": "250000.00", "occurred_on": "2020-01-02"}


def tranche(version: int = 1) -> dict[str, Any]:
    return {
        "number": 1,
        "amount": "50000.00",
        "occurred_on": "2020-01-15",
        "expected_version": version,
    }


class TestIdempotencyKeys:
    def test_the_same_key_and_body_get_the_first_response_and_store_nothing_more(
        self, api: Api
    ) -> None:
        # given
        first = api.post("/budgets", BUDGET, key="allocate-zuidoost-2020")
        events = api.events()
        # when
        again = api.post("/budgets", BUDGET, key="allocate-zuidoost-2020")
        # then
        assert (first.status_code, again.status_code) == (201, 201)
        assert again.json() == first.json()
        assert again.headers["Idempotent-Replayed"] == "true"
        assert "Idempotent-Replayed" not in first.headers
        assert api.events() == events == 1

    def test_the_same_key_with_another_body_is_refused_and_nothing_is_stored(
        self, api: Api
    ) -> None:
        # given
        ok(api.post("/budgets", BUDGET, key="k-1"), 201)
        # when
        response = api.post("/budgets", {**BUDGET, "year": 2021}, key="k-1")
        # then
        problem = ok(response, 422)
        assert (problem["field"], problem["rule"]) == ("Idempotency-Key", "idempotency_key_reused")
        assert api.events() == 1

    def test_a_post_without_a_key_is_refused_with_400_naming_the_header(
        self, sqlite_api: Api
    ) -> None:
        # given
        api = sqlite_api
        # when
        missing = api.client.post("/budgets", json=BUDGET, headers=api.bearer("official"))
        malformed = api.client.post(
            "/budgets", json=BUDGET, headers={**api.bearer("official"), "Idempotency-Key": "a b"}
        )
        # then
        for response in (missing, malformed):
            problem = ok(response, 400)
            assert (problem["field"], problem["rule"]) == (
                "Idempotency-Key",
                "idempotency_key_required",
            )
        assert api.events() == 0

    def test_a_refused_command_keeps_no_response_so_its_retry_can_succeed(
        self, sqlite_api: Api
    ) -> None:
        api = sqlite_api
        # given: the platform is not recognised yet, so the award is refused
        platform_id = registered(api)
        budget_id = budget(api)
        body = {
            "budget_id": str(budget_id),
            "platform_id": str(platform_id),
            "reference": "G-RETRY",
            "amount": "1000.00",
            "period_start": "2020-01-01",
            "period_end": "2020-12-31",
            "purpose": "retry",
            "tranches": [{"number": 1, "due_on": "2020-06-01", "amount": "1000.00"}],
            "decision_ref": "B-1",
            "reason": "awarded",
            "occurred_on": "2020-03-01",
        }
        refused = api.post("/grants", body, key="award-retry")
        ok(
            api.post(
                f"/platforms/{platform_id}/recognition/applications",
                {"application_ref": "A", "occurred_on": "2020-01-04", "expected_version": 1},
            )
        )
        ok(
            api.post(
                f"/platforms/{platform_id}/recognition/decisions",
                {
                    "granted": True,
                    "assessment": ASSESSMENT,
                    "decision_ref": "D",
                    "effective_on": "2020-02-01",
                    "reason": "ok",
                    "occurred_on": "2020-02-01",
                    "expected_version": 2,
                },
            )
        )
        # when
        retried = api.post("/grants", body, key="award-retry")
        # then
        assert ok(refused, 422)["rule"] == "platform_not_recognised"
        assert ok(retried, 201)["id"] == str(Grant.id_for("G-RETRY"))

    def test_a_retry_that_would_store_a_new_record_is_refused_by_its_key_and_replayed(
        self, api: Api
    ) -> None:
        # given: an expense whose id the service makes up, so that running the same
        # command again would store a second expense
        platform_id = recognised(api)
        tess = api.token(Role.TREASURER, platform_id, subject="treasurer:tess@testbuurt")
        body = {
            "platform_id": str(platform_id),
            "payee_name": "Drukkerij De Letter",
            "amount": "120.00",
            "category": "communicatie",
            "payment_method": "bank",
            "occurred_on": "2020-02-01",
        }
        first = api.post("/expenses", body, who=tess, key="expense-1")
        events = api.events()
        # when
        again = api.post("/expenses", body, who=tess, key="expense-1")
        # then: the first answer, and no second expense
        assert (first.status_code, again.status_code) == (201, 201)
        assert again.json() == first.json()
        assert again.headers["Idempotent-Replayed"] == "true"
        assert api.events() == events

    def test_keys_belong_to_the_tokens_subject(self, sqlite_api: Api) -> None:
        api = sqlite_api
        # given
        other = api.token(Role.OFFICIAL, subject="official:other")
        ok(api.post("/budgets", BUDGET, key="shared-key"), 201)
        # when
        response = api.post("/budgets", {**BUDGET, "year": 2021}, who=other, key="shared-key")
        # then
        assert ok(response, 201)["version"] == 1
        assert api.events() == 2

    def test_concurrent_retries_with_one_key_store_one_event_and_all_get_its_answer(
        self, api: Api
    ) -> None:
        # given
        grant_id = grant(api, budget(api), recognised(api))
        events = api.events()
        # when
        with ThreadPoolExecutor(max_workers=6) as pool:
            responses = list(
                pool.map(
                    lambda _: api.post(
                        f"/grants/{grant_id}/tranche-payments", tranche(), key="pay-1"
                    ),
                    range(6),
                )
            )
        # then
        assert [r.status_code for r in responses] == [200] * 6, [r.text for r in responses]
        assert len({r.text for r in responses}) == 1
        assert ok(responses[0])["version"] == 2
        assert api.events() == events + 1
        assert api.services.app.load(Grant, grant_id, "grant").paid_total == Money(5_000_000)

    def test_the_key_is_stored_by_the_commands_own_append_and_rolls_back_with_it(
        self, api: Api
    ) -> None:
        # given a command whose append is refused after its key was written in it
        services = api.services

        def refuse(append: Append) -> None:
            raise RuntimeError("refused after the key was written")

        with capture() as captured:
            pending = idempotency.Pending("official:test", "atomic", "print", 201, None, captured)
            # when
            with (
                pytest.raises(RuntimeError, match="refused after the key"),
                in_append_transaction(pending),
                in_append_transaction(refuse),
            ):
                services.app.allocate_budget(
                    district="Zuidoost",
                    year=2020,
                    amount=Money(25_000_000),
                    occurred_on=date(2020, 1, 2),
                    actor="official:test",
                )
        # then the key was written inside the append (its response was built there) ...
        assert pending.result is not None
        assert pending.result.version == 1
        # ... and neither the event nor the key was kept
        assert api.events() == 0
        assert services.keys.find("official:test", "atomic", "print") is None

    def test_a_key_left_unanswered_by_an_earlier_service_is_cleared_at_start(
        self, api: Api
    ) -> None:
        # given a key claimed by an earlier version of the service that never answered
        with api.services.pool.connection() as conn:
            conn.execute(
                f"INSERT INTO {idempotency.TABLE} (subject, idem_key, fingerprint, claimed_at) "
                "VALUES (?, ?, ?, ?)",
                (
                    "official:test",
                    "orphan",
                    idempotency.fingerprint("POST", "/budgets", BUDGET),
                    time.time_ns() - 120 * 10**9,
                ),
            )
        # when the service starts again
        idempotency.setup(api.services.pool)
        response = api.post("/budgets", BUDGET, key="orphan")
        replayed = api.post("/budgets", BUDGET, key="orphan")
        # then
        assert ok(response, 201) == ok(replayed, 201)
        assert replayed.headers["Idempotent-Replayed"] == "true"
        assert api.events() == 1


class TestExpectedVersion:
    def test_a_change_on_a_stale_version_is_409_and_stores_nothing(self, sqlite_api: Api) -> None:
        api = sqlite_api
        # given
        grant_id = grant(api, budget(api), recognised(api))
        ok(api.post(f"/grants/{grant_id}/tranche-payments", tranche(1)))
        events = api.events()
        # when
        response = api.post(f"/grants/{grant_id}/tranche-payments", {**tranche(1), "number": 2})
        # then
        problem = ok(response, 409)
        assert (problem["field"], problem["rule"]) == ("expected_version", "concurrent_update")
        assert "at version 2, not 1" in problem["detail"]
        assert api.events() == events

    def test_a_change_without_its_expected_version_is_refused_naming_the_field(
        self, sqlite_api: Api
    ) -> None:
        api = sqlite_api
        # given
        grant_id = grant(api, budget(api), recognised(api))
        body = tranche()
        del body["expected_version"]
        # when
        response = api.post(f"/grants/{grant_id}/tranche-payments", body)
        # then
        problem = ok(response, 422)
        assert (problem["field"], problem["rule"]) == ("expected_version", "required")


class _Cursor:
    def __init__(self) -> None:
        self.inserted: list[tuple[Any, ...]] = []

    def execute(self, statement: Any, params: Any = ()) -> None:
        self.inserted.append(tuple(params))

    def executemany(self, statement: Any, params: Any) -> None:
        raise AssertionError("not used")

    def fetchall(self) -> Any:
        return []


def _append(cursor: _Cursor, events: list[StoredEvent], first: int) -> Append:
    positions = list(range(first, first + len(events)))
    return Append(cursor, "?", "", positions, events)


class TestTheKeysRowInTheAppend:
    def _pending(self) -> idempotency.Pending:
        return idempotency.Pending("official:x", "k", "print", 201, RECORD, Captured())

    def test_an_append_the_store_retries_writes_the_key_again_with_the_new_positions(
        self,
    ) -> None:
        # given the key written by an append whose transaction was then lost
        pending, cursor = self._pending(), _Cursor()
        events = [StoredEvent(RECORD, 1, "buurtkas:x", b"{}")]
        pending(_append(cursor, events, first=10))
        # when the store retries the same append (same events, new positions)
        pending(_append(cursor, events, first=11))
        # then the key is written again, and the answer names the retried positions
        assert len(cursor.inserted) == 2
        assert pending.result is not None
        assert [e.position for e in pending.result.events] == [11]

    def test_a_second_append_of_other_events_in_one_command_is_refused(self) -> None:
        # given one append under the key
        pending, cursor = self._pending(), _Cursor()
        pending(_append(cursor, [StoredEvent(RECORD, 1, "buurtkas:x", b"{}")], first=10))
        # when the command appends other events again
        with pytest.raises(RuntimeError, match="appended twice"):
            pending(_append(cursor, [StoredEvent(RECORD, 2, "buurtkas:x", b"{}")], first=11))
        # then nothing more was written
        assert len(cursor.inserted) == 1
