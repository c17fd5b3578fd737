"""A platform's books over HTTP: expenses, bank statement lines, transfers, corrections."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

from domain.bank import BankStatement
from domain.expense import Expense
from domain.grant import Grant
from domain.matching import BankMatch, parse_reference
from domain.money import Money
from domain.transfer import PlatformTransfer
from domain.values import ExpenseState
from service.http.policy import Role
from tests.http.conftest import Api
from tests.http.givens import budget, expense, grant, ok, paid_tranche, recognised

RECEIPT = "ab" * 32


def treasurers(api: Api, platform_id: UUID) -> tuple[str, str]:
    """Two treasurer tokens of one platform: one submits, the other approves."""
    return (
        api.token(Role.TREASURER, platform_id, subject="treasurer:tess@testbuurt"),
        api.token(Role.TREASURER, platform_id, subject="treasurer:chris@testbuurt"),
    )


def line(line_no: int, **fields: Any) -> dict[str, Any]:
    return {
        "line_no": line_no,
        "direction": "out",
        "kind": "transfer",
        "amount": "120.00",
        "counterparty_name": "Drukkerij De Letter",
        "occurred_on": "2020-02-03",
        **fields,
    }


class TestExpenses:
    def test_an_expense_is_submitted_given_a_receipt_approved_by_another_and_paid(
        self, api: Api
    ) -> None:
        # given
        platform_id = recognised(api)
        tess, chris = treasurers(api, platform_id)
        expense_id = expense(api, platform_id, tess)
        step = {"occurred_on": "2020-02-02"}
        # when
        version = ok(
            api.post(
                f"/expenses/{expense_id}/receipt",
                {"receipt_sha256": RECEIPT, **step, "expected_version": 1},
                who=tess,
            )
        )["version"]
        version = ok(
            api.post(
                f"/expenses/{expense_id}/approval", {**step, "expected_version": version}, who=chris
            )
        )["version"]
        version = ok(
            api.post(
                f"/expenses/{expense_id}/payment", {**step, "expected_version": version}, who=tess
            )
        )["version"]
        # then
        paid = api.services.app.load(Expense, expense_id, "expense")
        assert version == 4
        assert paid.state is ExpenseState.PAID
        assert (paid.submitted_by, paid.approved_by) == (
            "treasurer:tess@testbuurt",
            "treasurer:chris@testbuurt",
        )
        assert paid.receipt_sha256 == RECEIPT

    def test_the_submitter_cannot_approve_their_own_expense(self, sqlite_api: Api) -> None:
        api = sqlite_api
        # given
        platform_id = recognised(api)
        tess, _ = treasurers(api, platform_id)
        expense_id = expense(api, platform_id, tess)
        # when
        response = api.post(
            f"/expenses/{expense_id}/approval",
            {"occurred_on": "2020-02-02", "expected_version": 1},
            who=tess,
        )
        # then
        problem = ok(response, 422)
        assert (problem["field"], problem["rule"]) == ("actor", "approval_by_submitter")
        assert api.services.app.load(Expense, expense_id, "e").state is ExpenseState.SUBMITTED

    def test_a_rejected_expense_cannot_be_paid(self, api: Api) -> None:
        # given
        platform_id = recognised(api)
        tess, chris = treasurers(api, platform_id)
        expense_id = expense(api, platform_id, tess, amount="75.00", expense_id=str(UUID(int=5)))
        ok(
            api.post(
                f"/expenses/{expense_id}/rejection",
                {"reason": "no invoice", "occurred_on": "2020-02-02", "expected_version": 1},
                who=chris,
            )
        )
        # when
        response = api.post(
            f"/expenses/{expense_id}/payment",
            {"occurred_on": "2020-02-03", "expected_version": 2},
            who=tess,
        )
        # then
        assert expense_id == UUID(int=5)
        problem = ok(response, 409)
        assert (problem["field"], problem["rule"]) == ("state", "invalid_transition")

    def test_an_expense_cannot_take_the_id_a_named_record_will_need(self, sqlite_api: Api) -> None:
        # given two platforms, and the id the other platform's March statement will have
        api = sqlite_api
        mine = recognised(api)
        theirs = recognised(api, name="Andere buurt", number=2)
        tess, _ = treasurers(api, mine)
        statement_id = BankStatement.id_for(theirs, "2020-03")
        head = api.services.app.recorder.max_notification_id()
        # when a treasurer submits an expense with that id
        response = api.post(
            "/expenses",
            {
                "platform_id": str(mine),
                "expense_id": str(statement_id),
                "payee_name": "Drukkerij De Letter",
                "amount": "1.00",
                "category": "communicatie",
                "payment_method": "bank",
                "occurred_on": "2020-02-01",
            },
            who=tess,
        )
        # then it is refused naming the field, nothing is stored, and the other platform's
        # statement can still be opened under its id
        problem = ok(response, 422)
        assert problem["field"] == "expense_id"
        assert "version 5" in problem["detail"]
        assert api.services.app.recorder.max_notification_id() == head
        treasurer = api.token(Role.TREASURER, theirs, subject="treasurer:other")
        ok(
            api.post(
                f"/platforms/{theirs}/bank-lines",
                {
                    "statement_ref": "2020-03",
                    "occurred_on": "2020-03-31",
                    "expected_version": 0,
                    "lines": [line(1, direction="in", kind="deposit", amount="10.00")],
                },
                who=treasurer,
            )
        )


class TestBankLinesTransfersAndCorrections:
    def test_a_batch_of_bank_lines_opens_the_statement_and_confirms_a_paid_expense(
        self, api: Api
    ) -> None:
        # given
        platform_id = recognised(api)
        tess, chris = treasurers(api, platform_id)
        expense_id = expense(api, platform_id, tess)
        for path, who, version in (("approval", chris, 1), ("payment", tess, 2)):
            ok(
                api.post(
                    f"/expenses/{expense_id}/{path}",
                    {"occurred_on": "2020-02-02", "expected_version": version},
                    who=who,
                )
            )
        # when
        result = ok(
            api.post(
                f"/platforms/{platform_id}/bank-lines",
                {
                    "statement_ref": "2020-02",
                    "occurred_on": "2020-02-29",
                    "expected_version": 0,
                    "lines": [
                        line(1, matches=f"expense:{expense_id}"),
                        line(2, kind="bank_fee", amount="2.50", counterparty_name="Bank"),
                    ],
                },
                who=tess,
            )
        )
        # then
        statement_id = BankStatement.id_for(platform_id, "2020-02")
        assert (UUID(result["id"]), result["version"]) == (statement_id, 3)
        types = [e["type"] for e in result["events"]]
        assert types.count("buurtkas.bank.LineRecorded") == 2
        assert "buurtkas.match.Matched" in types
        match_id = BankMatch.id_for(platform_id, parse_reference(f"expense:{expense_id}"))
        assert api.services.app.exists(match_id)

    def test_a_bank_line_dated_before_1900_is_refused_naming_the_field_and_nothing_is_stored(
        self, api: Api
    ) -> None:
        # given
        platform_id = recognised(api)
        tess, _ = treasurers(api, platform_id)
        head = api.events()
        # when a line dated 1 January of the year 1 comes in (it once stopped the signals)
        refused = api.post(
            f"/platforms/{platform_id}/bank-lines",
            {
                "statement_ref": "2020-02",
                "occurred_on": "2020-02-29",
                "expected_version": 0,
                "lines": [{**line(1), "occurred_on": "0001-01-01"}],
            },
            who=tess,
        )
        # then
        problem = ok(refused, 422)
        assert (problem["field"], problem["rule"]) == ("lines.0.occurred_on", "invalid_value")
        assert "between 1900-01-01 and 2199-12-31" in problem["detail"]
        assert api.events() == head

    def test_bank_lines_for_an_existing_statement_need_its_version(self, sqlite_api: Api) -> None:
        api = sqlite_api
        # given
        platform_id = recognised(api)
        tess, _ = treasurers(api, platform_id)
        body = {"statement_ref": "2020-02", "occurred_on": "2020-02-29"}
        ok(
            api.post(
                f"/platforms/{platform_id}/bank-lines",
                {**body, "expected_version": 0, "lines": [line(1)]},
                who=tess,
            )
        )
        # when
        stale = api.post(
            f"/platforms/{platform_id}/bank-lines",
            {**body, "expected_version": 0, "lines": [line(2)]},
            who=tess,
        )
        current = api.post(
            f"/platforms/{platform_id}/bank-lines",
            {**body, "expected_version": 2, "lines": [line(2)]},
            who=tess,
        )
        # then
        assert ok(stale, 409)["rule"] == "concurrent_update"
        assert ok(current)["version"] == 3

    def test_only_an_official_reverses_a_bank_line_and_not_the_treasurer_who_recorded_it(
        self, api: Api
    ) -> None:
        # given an outflow a treasurer recorded on the platform's statement
        platform_id = recognised(api)
        tess, _ = treasurers(api, platform_id)
        ok(
            api.post(
                f"/platforms/{platform_id}/bank-lines",
                {
                    "statement_ref": "2020-02",
                    "occurred_on": "2020-02-29",
                    "expected_version": 0,
                    "lines": [line(1, amount="9500.00", counterparty_name="Chair, own account")],
                },
                who=tess,
            )
        )
        statement_id = BankStatement.id_for(platform_id, "2020-02")
        correction = {
            "aggregate_id": str(statement_id),
            "reverses_version": 2,
            "reason": "typed wrongly",
            "occurred_on": "2020-03-01",
            "expected_version": 2,
        }
        head = api.events()
        # when the treasurer reverses it, and then an official
        refused = api.post("/corrections", correction, who=tess)
        unchanged = api.events()
        reversed_ = api.post("/corrections", correction)
        # then the treasurer is refused and nothing is stored; the official's is recorded
        problem = ok(refused, 403)
        assert problem["rule"] == "bank_line_by_official"
        assert unchanged == head
        assert ok(reversed_)["version"] == 3

    def test_a_transfer_is_made_and_corrected_by_a_reversal(self, api: Api) -> None:
        # given
        source = recognised(api, "Bronbuurt", 1)
        target = recognised(api, "Doelbuurt", 2)
        made = ok(
            api.post(
                "/transfers",
                {
                    "reference": "T-2020-1",
                    "from_platform_id": str(source),
                    "to_platform_id": str(target),
                    "amount": "1500.00",
                    "description": "shared festival",
                    "occurred_on": "2020-03-01",
                },
            ),
            201,
        )
        # when
        corrected = ok(
            api.post(
                "/corrections",
                {
                    "aggregate_id": made["id"],
                    "reverses_version": 1,
                    "reason": "booked twice",
                    "occurred_on": "2020-03-02",
                    "expected_version": 1,
                },
            )
        )
        # then
        transfer = api.services.app.load(PlatformTransfer, UUID(made["id"]), "transfer")
        assert transfer.amount == Money(150_000)
        assert corrected["version"] == 2
        assert transfer.reversible_versions() == {}
        assert [e["type"] for e in corrected["events"]] == ["buurtkas.transfer.EntryReversed"]

    @pytest.mark.parametrize(
        ("decision", "state"), [("revocations", "revoked"), ("suspensions", "suspended")]
    )
    @pytest.mark.parametrize("side", ["from", "to"])
    def test_a_transfer_from_or_to_a_platform_no_longer_recognised_is_refused(
        self, api: Api, decision: str, state: str, side: str
    ) -> None:
        # given two recognised platforms, one of which the council then suspends or revokes
        source = recognised(api, "Bronbuurt", 1)
        target = recognised(api, "Doelbuurt", 2)
        ended = source if side == "from" else target
        ok(
            api.post(
                f"/platforms/{ended}/recognition/{decision}",
                {
                    "decision_ref": "BESLUIT-1",
                    "effective_on": "2020-02-01",
                    "reason": "no annual report",
                    "occurred_on": "2020-02-01",
                    "expected_version": 5,
                },
            )
        )
        before = api.events()
        # when
        response = api.post(
            "/transfers",
            {
                "reference": "T-2020-2",
                "from_platform_id": str(source),
                "to_platform_id": str(target),
                "amount": "99999999.00",
                "occurred_on": "2020-03-01",
            },
        )
        # then
        problem = ok(response, 422)
        assert (problem["field"], problem["rule"]) == (
            f"{side}_platform_id",
            "platform_not_recognised",
        )
        assert f"is {state} on 2020-03-01" in problem["detail"]
        assert api.events() == before

    def test_a_tranche_paid_in_error_is_reversed(self, sqlite_api: Api) -> None:
        api = sqlite_api
        # given
        grant_id = grant(api, budget(api), recognised(api))
        version = paid_tranche(api, grant_id)
        # when
        response = api.post(
            "/corrections",
            {
                "aggregate_id": str(grant_id),
                "reverses_version": version,
                "reason": "paid to the wrong account",
                "occurred_on": "2020-01-20",
                "expected_version": version,
            },
        )
        # then
        assert ok(response)["version"] == version + 1
        assert api.services.app.load(Grant, grant_id, "grant").paid_total == Money(0)
