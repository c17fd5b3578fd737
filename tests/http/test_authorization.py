"""Who may do what: every route times every role, and a treasurer's single platform.

The matrix below is written out by hand, independently of ``service/http/policy.py``:
a route added without a line here fails the test. A forbidden request is 403 before its
body is read; an allowed GET with real ids answers 200, an allowed POST with an empty
body gets past authorisation (to body validation, 422).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import product
from typing import Any
from uuid import UUID

import pytest

from domain.bank import BankStatement
from domain.expense import Expense
from domain.grant import Grant
from domain.platform import Platform
from tests.http.conftest import K_BUURT, Api
from tests.http.givens import ok

OFFICIAL, TREASURER, AUDITOR, VIEWER = "official", "treasurer", "auditor", "viewer"
ROLES = (OFFICIAL, TREASURER, AUDITOR, VIEWER)
EVERYONE = set(ROLES)

ALLOWED: dict[str, set[str]] = {
    # platforms and recognition: the council's decisions
    "registerPlatform": {OFFICIAL},
    "joinMember": {OFFICIAL},
    "leaveMember": {OFFICIAL},
    "declareRelative": {OFFICIAL},
    "applyForRecognition": {OFFICIAL},
    "decideRecognition": {OFFICIAL},
    "suspendRecognition": {OFFICIAL},
    "liftSuspension": {OFFICIAL},
    "revokeRecognition": {OFFICIAL},
    # budgets, grants, transfers
    "allocateBudget": {OFFICIAL},
    "awardGrant": {OFFICIAL},
    "amendGrant": {OFFICIAL},
    "payTranche": {OFFICIAL},
    "requestTranche": {OFFICIAL, TREASURER},
    "submitGrantReport": {OFFICIAL, TREASURER},
    "revokeGrant": {OFFICIAL},
    "settleGrant": {OFFICIAL},
    "claimRecovery": {OFFICIAL},
    "receiveRecovery": {OFFICIAL},
    "receiveRefund": {OFFICIAL},
    "makeTransfer": {OFFICIAL},
    # a platform's own books
    "submitExpense": {TREASURER},
    "attachReceipt": {TREASURER},
    "approveExpense": {TREASURER},
    "rejectExpense": {TREASURER},
    "payExpense": {TREASURER},
    "recordBankLines": {TREASURER},
    "reverseEntry": {OFFICIAL, TREASURER},
    # reading
    "listPlatforms": EVERYONE,
    "getPlatformBalance": EVERYONE,
    "getPlatformStatus": EVERYONE,
    "getGrant": EVERYONE,
    "listBudgets": {OFFICIAL, AUDITOR, VIEWER},
    "getBudget": {OFFICIAL, AUDITOR, VIEWER},
    "getExpense": {OFFICIAL, TREASURER, AUDITOR},
    "listPlatformEvents": {OFFICIAL, TREASURER, AUDITOR},
    "listRiskFindings": {OFFICIAL, AUDITOR},
    "replayPlatform": {AUDITOR},
    "getLatestCheckpoint": {AUDITOR},
    "getInclusionProof": {AUDITOR},
    "listProjections": {OFFICIAL, AUDITOR},
    # public
    "live": EVERYONE,
    "ready": EVERYONE,
}
PUBLIC = {"live", "ready"}

G_BUURT = Platform.id_for("Stichting Bewonersplatform G-buurt")


def routes(api: Api) -> Iterator[tuple[str, str, str]]:
    """(operation id, method, path template) of every API route."""
    for route in api.client.app.routes:
        for handler in getattr(route, "route_handlers", []):
            if handler.operation_id is None:
                continue  # the OpenAPI document's own routes
            for method in sorted(handler.http_methods - {"OPTIONS", "HEAD"}):
                yield str(handler.operation_id), method, route.path


def first_expense_of(api: Api, platform_id: UUID) -> UUID:
    for _, event in api.services.app.stored_events():
        if isinstance(event, Expense.Submitted) and event.platform_id == platform_id:
            return event.originator_id
    raise AssertionError("the demo has an expense of this platform")


@pytest.fixture
def world(demo_api: Api) -> dict[str, Any]:
    """Ids of K-buurt's records (the demo treasurer's platform)."""
    events = [e for _, e in demo_api.services.app.stored_events()]
    award = next(e for e in events if isinstance(e, Grant.Awarded) and e.platform_id == K_BUURT)
    return {
        "platform_id": K_BUURT,
        "grant_id": award.originator_id,
        "budget_id": award.budget_id,
        "expense_id": first_expense_of(demo_api, K_BUURT),
        "position": 1,
    }


def fill(template: str, ids: dict[str, Any]) -> str:
    return re.sub(r"\{(\w+):\w+\}", lambda m: str(ids[m[1]]), template)


QUERY = {"replayPlatform": {"as_of": "2020-04-01"}}


class TestAuthorizationMatrix:
    def test_the_matrix_names_every_route(self, sqlite_api: Api) -> None:
        # when
        found = {operation for operation, _, _ in routes(sqlite_api)}
        # then
        assert found == set(ALLOWED)
        assert len(list(routes(sqlite_api))) == 43

    def test_every_route_is_allowed_or_forbidden_for_every_role(
        self, demo_api: Api, world: dict[str, Any]
    ) -> None:
        # given
        api = demo_api
        wrong: list[str] = []
        cells = 0
        # when
        for (operation, method, template), role in product(routes(api), ROLES):
            cells += 1
            path = fill(template, world)
            if method == "GET":
                response = api.get(path, who=role, **QUERY.get(operation, {}))
                allowed_status = {200}
            else:
                response = api.post(path, {}, who=role)
                allowed_status = {422}
            expected = allowed_status if role in ALLOWED[operation] else {403}
            if response.status_code not in expected:
                wrong.append(f"{method} {template} as {role}: {response.status_code}")
        # then
        assert wrong == []
        assert cells == 43 * 4

    def test_every_route_but_health_needs_a_bearer_token(
        self, demo_api: Api, world: dict[str, Any]
    ) -> None:
        # given
        api = demo_api
        wrong: list[str] = []
        # when
        for operation, method, template in routes(api):
            path = fill(template, world)
            for headers in ({}, {"Authorization": "Bearer bkt_not-a-token"}):
                response = api.client.request(method, path, headers=headers, json={})
                expected = 200 if operation in PUBLIC else 401
                if response.status_code != expected or (
                    expected == 401 and "Bearer" not in response.headers["WWW-Authenticate"]
                ):
                    wrong.append(f"{method} {template} {headers}: {response.status_code}")
        # then
        assert wrong == []


class TestTreasurerReach:
    def test_a_treasurer_reads_only_its_own_platform(
        self, demo_api: Api, world: dict[str, Any]
    ) -> None:
        # given
        api = demo_api
        g_grant = Grant.id_for("ZO-2019-G")
        g_expense = first_expense_of(api, G_BUURT)
        # when
        listed = ok(api.get("/platforms", who=TREASURER))
        refused = [
            api.get(path, who=TREASURER)
            for path in (
                f"/platforms/{G_BUURT}/balance",
                f"/platforms/{G_BUURT}/status",
                f"/platforms/{G_BUURT}/events",
                f"/grants/{g_grant}",
                f"/expenses/{g_expense}",
            )
        ]
        own = [
            api.get(f"/platforms/{K_BUURT}/{view}", who=TREASURER)
            for view in ("balance", "status", "events")
        ]
        # then
        assert [row["id"] for row in listed] == [str(K_BUURT)]
        assert [r.status_code for r in refused] == [403] * 5
        assert {r.json()["rule"] for r in refused} == {"outside_platform"}
        assert [r.status_code for r in own] == [200] * 3

    def test_a_treasurer_writes_nothing_of_another_platform(
        self, demo_api: Api, world: dict[str, Any]
    ) -> None:
        # given
        api = demo_api
        g_expense = first_expense_of(api, G_BUURT)
        g_statement = next(
            e.originator_id
            for _, e in api.services.app.stored_events()
            if isinstance(e, BankStatement.Opened) and e.platform_id == G_BUURT
        )
        events = api.events()
        line = {
            "line_no": 999,
            "direction": "out",
            "kind": "bank_fee",
            "amount": "1.00",
            "counterparty_name": "Bank",
            "occurred_on": "2020-05-01",
        }
        correction = {
            "reverses_version": 2,
            "reason": "wrong",
            "occurred_on": "2020-05-01",
            "expected_version": 2,
        }
        # when
        responses = [
            api.post(
                "/expenses",
                {
                    "platform_id": str(G_BUURT),
                    "payee_name": "Someone",
                    "amount": "10.00",
                    "category": "materialen",
                    "payment_method": "bank",
                    "occurred_on": "2020-05-01",
                },
                who=TREASURER,
            ),
            api.post(
                f"/expenses/{g_expense}/approval",
                {"occurred_on": "2020-05-01", "expected_version": 1},
                who=TREASURER,
            ),
            api.post(
                f"/platforms/{G_BUURT}/bank-lines",
                {
                    "statement_ref": "2020-05",
                    "occurred_on": "2020-05-01",
                    "expected_version": 0,
                    "lines": [line],
                },
                who=TREASURER,
            ),
            api.post(
                "/corrections", {**correction, "aggregate_id": str(g_statement)}, who=TREASURER
            ),
            api.post(
                "/corrections",
                {**correction, "aggregate_id": str(world["grant_id"])},
                who=TREASURER,
            ),
        ]
        # then
        assert [r.status_code for r in responses] == [403] * 5
        assert {r.json()["rule"] for r in responses} == {"outside_platform"}
        assert api.events() == events
