"""Signals over corrections and later decisions: a tranche reversed, a platform recognised
again after a revocation, a receipt attached twice or reused after a rejection, a payment
to an officer's earlier account, a payee paid in cash. Each case folds the domain's own
events through the signals projection, beside the case across the rule."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, time
from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.domain import BaseAggregate

from domain.bank import BankStatement
from domain.expense import Expense
from domain.platform import Platform
from domain.risk import RiskConfig
from domain.values import BankLineKind, Direction, PaymentMethod, Role
from projections.base import fold
from projections.rows import MemoryRows
from projections.signals import Signals
from service.fixtures import assessment, d, dutch_iban
from tests.unit import builders
from tests.unit.builders import (
    CHAIR,
    OFFICIAL,
    RECEIPT,
    SUPPLIER_IBAN,
    TREASURER,
    a_budget,
    a_recognised_platform,
    an_awarded_grant,
    eur,
    with_board,
    with_tranche_paid,
)


@pytest.fixture
def history(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The events the given steps record, in order (the builders record through it)."""
    events: list[Any] = []

    def recorded(aggregate: BaseAggregate[Any]) -> None:
        events.extend(aggregate.collect_events())

    monkeypatch.setattr(builders, "recorded", recorded)
    return events


def findings(events: list[Any], platform: Platform) -> dict[str, list[dict[str, Any]]]:
    """The platform's findings by rule, each event recorded on its business date."""
    on_time = [
        dataclasses.replace(e, timestamp=datetime.combine(e.occurred_on, time(12), tzinfo=UTC))
        for e in events
    ]
    rows = fold(Signals(RiskConfig(), workers=1), enumerate(on_time, 1), MemoryRows())
    doc = rows.get("findings", str(platform.id))
    assert doc is not None
    found: dict[str, list[dict[str, Any]]] = {}
    for finding in doc["findings"]:
        found.setdefault(finding["rule"], []).append(finding)
    return found


def an_expense(
    platform: Platform,
    *,
    payee: str = "Drukkerij",
    method: PaymentMethod = PaymentMethod.BANK,
    receipt: str | None = RECEIPT,
    invoice: str = "F-1",
    on: str = "2020-02-01",
) -> Expense:
    return Expense.submit(
        expense_id=uuid4(),
        platform_id=platform.id,
        payee_name=payee,
        payee_iban=SUPPLIER_IBAN if method is PaymentMethod.BANK else None,
        amount=eur("120"),
        category="communicatie",
        description="flyers",
        payment_method=method,
        occurred_on=d(on),
        actor=TREASURER,
        invoice_number=invoice,
        receipt_sha256=receipt,
    )


def a_transfer(platform: Platform, iban: str, on: str, amount: str = "2000") -> BankStatement:
    statement = BankStatement.open(
        platform_id=platform.id,
        statement_ref=f"{on[:7]}-{iban[-4:]}",
        account_iban=dutch_iban(1),
        occurred_on=d(on),
        actor=TREASURER,
    )
    statement.record_line(
        line_no=1,
        direction=Direction.OUT,
        kind=BankLineKind.TRANSFER,
        amount=eur(amount),
        counterparty_name="M. de Groot",
        counterparty_iban=iban,
        occurred_on=d(on),
        actor=TREASURER,
    )
    return statement


class TestTranches:
    @pytest.mark.parametrize(("reversed_", "overdue"), [(False, True), (True, False)])
    def test_a_tranche_reversed_as_recorded_in_error_owes_no_report(
        self, history: list[Any], reversed_: bool, overdue: bool
    ) -> None:
        # given tranche 1 paid on 20 December (reversed the next day, or not), and tranche
        # 2 requested on 1 April, 103 days later, with no report on tranche 1
        budget = a_budget()
        platform = with_board(a_recognised_platform())
        grant = with_tranche_paid(an_awarded_grant(budget, platform), platform)
        if reversed_:
            grant.reverse(
                reverses_version=grant.version,
                reason="paid to the wrong account",
                occurred_on=d("2019-12-21"),
                actor=OFFICIAL,
            )
        grant.request_tranche(number=2, occurred_on=d("2020-04-01"), actor=TREASURER)
        builders.recorded(grant)
        # when
        found = findings(history, platform)
        # then a report is overdue only on a tranche that stayed paid
        assert ("governance_decay" in found) is overdue


def revoked_then_recognised(
    revoked: tuple[str, str], applied_on: str, recognised: tuple[str, str]
) -> Platform:
    """A recognised platform with a grant to the end of 2020, its recognition revoked and
    then granted again: each decision as (decided on, in effect from)."""
    platform = with_board(a_recognised_platform())
    an_awarded_grant(a_budget(), platform)
    platform.revoke(
        decision_ref="INTREKKING-1",
        effective_on=d(revoked[1]),
        reason="no longer meets the criteria",
        occurred_on=d(revoked[0]),
        actor=OFFICIAL,
    )
    platform.apply_for_recognition(
        application_ref="AANVRAAG-2", occurred_on=d(applied_on), actor=OFFICIAL
    )
    platform.decide_recognition(
        granted=True,
        assessment=assessment(),
        decision_ref="ERKENNING-2",
        effective_on=d(recognised[1]),
        reason="meets the criteria again",
        occurred_on=d(recognised[0]),
        actor=OFFICIAL,
    )
    builders.recorded(platform)
    return platform


class TestRecognisedAgain:
    @pytest.mark.parametrize(("paid_on", "outside"), [("2020-01-15", True), ("2020-03-10", False)])
    def test_spending_after_a_revocation_is_outside_until_recognition_is_granted_again(
        self, history: list[Any], paid_on: str, outside: bool
    ) -> None:
        # given recognition revoked from 1 December 2019 and granted again from 1 February
        platform = revoked_then_recognised(
            ("2019-12-01", "2019-12-01"), "2020-01-10", ("2020-01-20", "2020-02-01")
        )
        # when money leaves the account in the gap, or after it
        builders.recorded(a_transfer(platform, SUPPLIER_IBAN, paid_on))
        found = findings(history, platform)
        # then
        assert ("outside_grant_window" in found) is outside

    def test_a_recognition_granted_with_effect_before_a_pending_revocation_does_not_end_it(
        self, history: list[Any]
    ) -> None:
        # given a revocation decided on 1 May with effect from 1 June, and a recognition
        # granted on 20 May with effect from that day: from 1 June the revocation is in force
        platform = revoked_then_recognised(
            ("2020-05-01", "2020-06-01"), "2020-05-10", ("2020-05-20", "2020-05-20")
        )
        # when money leaves the account on 15 July
        builders.recorded(a_transfer(platform, SUPPLIER_IBAN, "2020-07-15"))
        found = findings(history, platform)
        # then it is outside, as the platform's own rule has it revoked then
        assert platform.recognition_on(d("2020-07-15")).value == "revoked"
        assert "outside_grant_window" in found


class TestReceipts:
    @pytest.mark.parametrize(("again", "duplicate"), [("same", False), ("another", True)])
    def test_a_receipt_attached_again_to_its_own_expense_is_not_used_twice(
        self, history: list[Any], again: str, duplicate: bool
    ) -> None:
        # given an expense submitted with a receipt
        platform = with_board(a_recognised_platform())
        first = an_expense(platform)
        builders.recorded(first)
        # when the same receipt is attached again to it, or to another expense
        if again == "same":
            first.attach_receipt(receipt_sha256=RECEIPT, occurred_on=d("2020-02-02"), actor=CHAIR)
            builders.recorded(first)
        else:
            other = an_expense(platform, receipt=None, invoice="F-2", payee="Catering")
            other.attach_receipt(receipt_sha256=RECEIPT, occurred_on=d("2020-02-02"), actor=CHAIR)
            builders.recorded(other)
        found = findings(history, platform)
        # then
        assert ("duplicate_payment" in found) is duplicate

    @pytest.mark.parametrize(("rejected", "duplicate"), [(True, False), (False, True)])
    def test_a_rejected_expenses_receipt_may_come_again_with_its_new_submission(
        self, history: list[Any], rejected: bool, duplicate: bool
    ) -> None:
        # given an expense with a receipt, rejected (or not), then submitted again with it
        platform = with_board(a_recognised_platform())
        first = an_expense(platform, invoice="F-1")
        if rejected:
            first.reject(reason="wrong category", occurred_on=d("2020-02-02"), actor=CHAIR)
        builders.recorded(first)
        builders.recorded(an_expense(platform, invoice="F-1b", on="2020-02-03"))
        # when
        found = findings(history, platform)
        # then
        assert ("duplicate_payment" in found) is duplicate

    def test_every_receipt_a_rejected_expense_had_may_come_again(self, history: list[Any]) -> None:
        # given an expense that had receipt S attached, then T, and was rejected
        platform = with_board(a_recognised_platform())
        first = an_expense(platform, receipt=None, invoice="F-1")
        first.attach_receipt(receipt_sha256=RECEIPT, occurred_on=d("2020-02-02"), actor=CHAIR)
        first.attach_receipt(receipt_sha256="cd" * 32, occurred_on=d("2020-02-03"), actor=CHAIR)
        first.reject(reason="wrong category", occurred_on=d("2020-02-04"), actor=CHAIR)
        builders.recorded(first)
        # when another expense comes with S
        builders.recorded(an_expense(platform, invoice="F-2", on="2020-02-05"))
        found = findings(history, platform)
        # then
        assert "duplicate_payment" not in found

    @pytest.mark.parametrize(
        ("order", "rejected", "duplicate"),
        [
            ("theirs first", True, False),
            ("ours first", True, False),
            ("theirs first", False, True),
        ],
    )
    def test_a_receipt_another_platform_used_on_an_expense_it_rejected_is_free_again(
        self, history: list[Any], order: str, rejected: bool, duplicate: bool
    ) -> None:
        # given another platform's expense with receipt S, and ours with S, in either order;
        # theirs then rejected (or not)
        ours = with_board(a_recognised_platform("Stichting Ons"))
        theirs = with_board(a_recognised_platform("Stichting Ander"))
        their_expense = an_expense(theirs, invoice="A-1")
        our_expense = an_expense(ours, invoice="O-1", on="2020-02-03")
        for expense in (
            (their_expense, our_expense)
            if order == "theirs first"
            else (our_expense, their_expense)
        ):
            builders.recorded(expense)
        if rejected:
            their_expense.reject(reason="not theirs", occurred_on=d("2020-02-04"), actor=CHAIR)
            builders.recorded(their_expense)
        # when
        found = findings(history, ours)
        # then
        assert ("duplicate_payment" in found) is duplicate


class TestRelatedParties:
    @pytest.mark.parametrize(("account", "own"), [(2, True), (3, True), (9, False)])
    def test_a_transfer_to_any_account_an_officer_declared_is_a_self_transfer(
        self, history: list[Any], account: int, own: bool
    ) -> None:
        # given a chair who declared account 2, then joined again in a second role with
        # account 3
        platform = a_recognised_platform()
        for role, declared, day in (
            (Role.CHAIR, 2, "2019-09-02"),
            (Role.BOARD_MEMBER, 3, "2019-10-01"),
        ):
            platform.join(
                person=CHAIR,
                role=role,
                iban=dutch_iban(declared),
                occurred_on=d(day),
                actor=OFFICIAL,
            )
        builders.recorded(platform)
        # when money goes to an account (under the bank's spelling of a name)
        builders.recorded(a_transfer(platform, dutch_iban(account), "2020-03-05"))
        found = findings(history, platform)
        # then
        details = [f["detail"] for f in found.get("cash_or_self_transfer", [])]
        assert any("officer's own account" in detail for detail in details) is own
        assert ("related_party_payee" in found) is own

    @pytest.mark.parametrize(("payee", "related"), [("Lisa Koster", True), ("Drukkerij", False)])
    def test_an_expense_paid_in_cash_to_a_declared_relative_is_a_related_party_payment(
        self, history: list[Any], payee: str, related: bool
    ) -> None:
        # given the chair's declared relative Lisa Koster
        platform = with_board(a_recognised_platform())
        platform.declare_relative(
            person=CHAIR,
            relative_name="Lisa Koster",
            relative_iban=dutch_iban(7),
            occurred_on=d("2020-01-05"),
            actor=OFFICIAL,
        )
        builders.recorded(platform)
        # when an expense is paid in cash, approved by the chair
        expense = an_expense(platform, payee=payee, method=PaymentMethod.CASH, on="2020-02-01")
        expense.approve(occurred_on=d("2020-02-02"), actor=CHAIR)
        expense.pay(occurred_on=d("2020-02-03"), actor=TREASURER)
        builders.recorded(expense)
        found = findings(history, platform)
        # then
        assert ("related_party_payee" in found) is related
        if related:
            paid_at = len(history)  # the payment is the last event recorded
            assert found["related_party_payee"][0]["positions"] == [paid_at]
