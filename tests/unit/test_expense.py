"""Expenses: submitted, approved by someone else than the submitter, paid or rejected."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import InvalidAmount, InvalidIban, InvalidTransition, InvalidValue, SelfApproval
from domain.expense import Expense, require_chargeable
from domain.grant import Grant
from domain.money import Money
from domain.platform import Platform
from domain.values import ExpenseState, PaymentMethod
from service.fixtures import d
from tests.unit.builders import (
    CHAIR,
    OFFICIAL,
    PERIOD_END,
    PERIOD_START,
    RECEIPT,
    SECRETARY,
    SUPPLIER_IBAN,
    TREASURER,
    a_budget,
    a_paid_expense,
    a_recognised_platform,
    a_registered_platform,
    a_submitted_expense,
    an_approved_expense,
    an_awarded_grant,
    eur,
    one_new_event,
)


def a_rejected_expense(platform: Platform) -> Expense:
    expense = a_submitted_expense(platform)
    expense.reject(reason="no invoice", occurred_on=d("2020-02-11"), actor=CHAIR)
    expense.collect_events()
    return expense


def submit(**changes: object) -> Expense:
    command: dict[str, object] = {
        "expense_id": uuid4(),
        "platform_id": uuid4(),
        "payee_name": "Buurthuis De Kempering",
        "amount": eur("450"),
        "category": "venue",
        "description": "",
        "payment_method": PaymentMethod.BANK,
        "occurred_on": d("2020-02-10"),
        "actor": TREASURER,
    } | changes
    return Expense.submit(**command)  # type: ignore[arg-type]


# Submission ---------------------------------------------------------------------------


def test_submitting_an_expense_records_payee_amount_and_evidence() -> None:
    # given
    platform = a_registered_platform()
    expense_id = uuid4()

    # when
    expense = Expense.submit(
        expense_id=expense_id,
        platform_id=platform.id,
        payee_name=" Bakkerij Jansen ",
        payee_iban=SUPPLIER_IBAN.lower(),
        amount=eur("86.40"),
        category=" Catering ",
        description="coffee and cake for the meeting",
        invoice_number=" 2020-0042 ",
        receipt_sha256=RECEIPT.upper(),
        payment_method=PaymentMethod.BANK,
        occurred_on=d("2020-02-10"),
        actor=TREASURER,
        grant_id=None,
    )

    # then
    event = one_new_event(expense, 0, Expense.Submitted)
    assert expense.id == expense_id
    assert (event.platform_id, event.grant_id) == (platform.id, None)
    assert (event.payee_name, event.payee_iban) == ("Bakkerij Jansen", SUPPLIER_IBAN)
    assert (event.amount, event.category) == (eur("86.40"), "catering")
    assert (event.invoice_number, event.receipt_sha256) == ("2020-0042", RECEIPT)
    assert (event.payment_method, event.occurred_on, event.actor) == (
        PaymentMethod.BANK,
        d("2020-02-10"),
        TREASURER,
    )
    assert expense.state is ExpenseState.SUBMITTED
    assert (expense.submitted_by, expense.business_date) == (TREASURER, d("2020-02-10"))
    assert (expense.approved_by, expense.paid_on) == (None, None)


@pytest.mark.parametrize(
    ("changes", "error", "field", "rule"),
    [
        ({"payee_name": " "}, InvalidValue, "payee_name", "invalid_value"),
        ({"payee_iban": "NL58ABNA0000000002"}, InvalidIban, "payee_iban", "invalid_iban"),
        ({"amount": Money(0)}, InvalidAmount, "amount", "invalid_amount"),
        ({"amount": Money(-100)}, InvalidAmount, "amount", "invalid_amount"),
        ({"category": ""}, InvalidValue, "category", "invalid_value"),
        ({"category": "c" * 51}, InvalidValue, "category", "invalid_value"),
        ({"description": "x" * 2001}, InvalidValue, "description", "invalid_value"),
        ({"invoice_number": "n" * 201}, InvalidValue, "invoice_number", "invalid_value"),
        ({"receipt_sha256": "not-a-hash"}, InvalidValue, "receipt_sha256", "invalid_value"),
        ({"occurred_on": "2020-02-10"}, InvalidValue, "occurred_on", "invalid_value"),
        ({"actor": ""}, InvalidValue, "actor", "invalid_value"),
    ],
)
def test_a_submission_with_an_invalid_field_is_refused(
    changes: dict[str, object], error: type[InvalidValue], field: str, rule: str
) -> None:
    # given
    command = changes

    # when
    with pytest.raises(error) as info:
        submit(**command)

    # then
    assert type(info.value) is error
    assert info.value.field == field
    assert f"[rule: {rule}]" in str(info.value)


def test_a_receipt_attached_later_is_recorded() -> None:
    # given
    expense = a_paid_expense(a_registered_platform())
    before = len(expense.pending_events)

    # when
    expense.attach_receipt(receipt_sha256=RECEIPT, occurred_on=d("2020-02-20"), actor=TREASURER)

    # then
    event = one_new_event(expense, before, Expense.ReceiptAttached)
    assert (event.receipt_sha256, event.occurred_on, event.actor) == (
        RECEIPT,
        d("2020-02-20"),
        TREASURER,
    )
    assert expense.receipt_sha256 == RECEIPT


def test_a_receipt_that_is_not_a_sha256_hash_is_refused() -> None:
    # given
    expense = a_submitted_expense(a_registered_platform())
    before = len(expense.pending_events)

    # when
    with pytest.raises(InvalidValue) as info:
        expense.attach_receipt(receipt_sha256="abc", occurred_on=d("2020-02-20"), actor=TREASURER)

    # then
    assert info.value.field == "receipt_sha256"
    assert "must be 64 hexadecimal characters" in str(info.value)
    assert "[rule: invalid_value]" in str(info.value)
    assert len(expense.pending_events) == before
    assert expense.receipt_sha256 is None


# Approval -----------------------------------------------------------------------------


def test_an_expense_is_approved_by_someone_else_than_the_submitter() -> None:
    # given
    expense = a_submitted_expense(a_registered_platform(), submitted_by=TREASURER)
    before = len(expense.pending_events)

    # when
    expense.approve(occurred_on=d("2020-02-11"), actor=f" {SECRETARY} ")

    # then
    event = one_new_event(expense, before, Expense.Approved)
    assert (event.actor, event.occurred_on) == (SECRETARY, d("2020-02-11"))
    assert expense.state is ExpenseState.APPROVED
    assert expense.approved_by == SECRETARY


@pytest.mark.parametrize("approver", [TREASURER, f"  {TREASURER} ", TREASURER.upper()])
def test_an_expense_approved_by_its_submitter_is_refused(approver: str) -> None:
    # given
    expense = a_submitted_expense(a_registered_platform(), submitted_by=TREASURER)
    before = len(expense.pending_events)

    # when
    with pytest.raises(SelfApproval) as info:
        expense.approve(occurred_on=d("2020-02-11"), actor=approver)

    # then
    assert info.value.field == "actor"
    assert f"{TREASURER} submitted this expense and may not approve it" in str(info.value)
    assert "[rule: approval_by_submitter]" in str(info.value)
    assert len(expense.pending_events) == before
    assert expense.state is ExpenseState.SUBMITTED


@pytest.mark.parametrize(
    ("given_expense", "state"),
    [(an_approved_expense, "approved"), (a_paid_expense, "paid"), (a_rejected_expense, "rejected")],
)
def test_approving_an_expense_that_is_no_longer_submitted_is_refused(
    given_expense: Callable[[Platform], Expense], state: str
) -> None:
    # given
    expense = given_expense(a_registered_platform())
    before = len(expense.pending_events)

    # when
    with pytest.raises(InvalidTransition) as info:
        expense.approve(occurred_on=d("2020-02-13"), actor=SECRETARY)

    # then
    assert info.value.field == "state"
    assert f"cannot approve an expense that is {state}" in str(info.value)
    assert "[rule: invalid_transition]" in str(info.value)
    assert len(expense.pending_events) == before


def test_an_approval_without_an_actor_is_refused() -> None:
    # given
    expense = a_submitted_expense(a_registered_platform())
    before = len(expense.pending_events)

    # when
    with pytest.raises(InvalidValue) as info:
        expense.approve(occurred_on=d("2020-02-11"), actor="")

    # then
    assert info.value.field == "actor"
    assert "[rule: invalid_value]" in str(info.value)
    assert len(expense.pending_events) == before


# Rejection ----------------------------------------------------------------------------


@pytest.mark.parametrize("given_expense", [a_submitted_expense, an_approved_expense])
def test_a_submitted_or_approved_expense_can_be_rejected(
    given_expense: Callable[[Platform], Expense],
) -> None:
    # given
    expense = given_expense(a_registered_platform())
    before = len(expense.pending_events)

    # when
    expense.reject(reason="no invoice", occurred_on=d("2020-02-12"), actor=CHAIR)

    # then
    event = one_new_event(expense, before, Expense.Rejected)
    assert (event.reason, event.actor) == ("no invoice", CHAIR)
    assert expense.state is ExpenseState.REJECTED


@pytest.mark.parametrize(
    ("given_expense", "state"), [(a_paid_expense, "paid"), (a_rejected_expense, "rejected")]
)
def test_rejecting_a_paid_or_rejected_expense_is_refused(
    given_expense: Callable[[Platform], Expense], state: str
) -> None:
    # given
    expense = given_expense(a_registered_platform())
    before = len(expense.pending_events)

    # when
    with pytest.raises(InvalidTransition) as info:
        expense.reject(reason="too late", occurred_on=d("2020-02-13"), actor=CHAIR)

    # then
    assert info.value.field == "state"
    assert f"cannot reject an expense that is {state}" in str(info.value)
    assert "[rule: invalid_transition]" in str(info.value)
    assert len(expense.pending_events) == before


def test_a_rejection_without_a_reason_is_refused() -> None:
    # given
    expense = a_submitted_expense(a_registered_platform())
    before = len(expense.pending_events)

    # when
    with pytest.raises(InvalidValue) as info:
        expense.reject(reason="", occurred_on=d("2020-02-12"), actor=CHAIR)

    # then
    assert info.value.field == "reason"
    assert "[rule: invalid_value]" in str(info.value)
    assert len(expense.pending_events) == before
    assert expense.state is ExpenseState.SUBMITTED


# Payment ------------------------------------------------------------------------------


def test_paying_an_approved_expense_records_the_outflow() -> None:
    # given
    platform = a_registered_platform()
    expense = an_approved_expense(platform, payment_method=PaymentMethod.CASH)
    before = len(expense.pending_events)

    # when
    expense.pay(occurred_on=d("2020-02-12"), actor=TREASURER)

    # then
    event = one_new_event(expense, before, Expense.Paid)
    assert (event.platform_id, event.amount, event.category) == (platform.id, eur("450"), "venue")
    assert (event.payment_method, event.occurred_on, event.actor) == (
        PaymentMethod.CASH,
        d("2020-02-12"),
        TREASURER,
    )
    assert expense.state is ExpenseState.PAID
    assert expense.paid_on == d("2020-02-12")
    assert expense.reversible_versions() == {event.originator_version: ("payment", eur("450"))}


@pytest.mark.parametrize(
    ("given_expense", "state"),
    [
        (a_submitted_expense, "submitted"),
        (a_rejected_expense, "rejected"),
        (a_paid_expense, "paid"),
    ],
)
def test_paying_an_expense_that_is_not_approved_is_refused(
    given_expense: Callable[[Platform], Expense], state: str
) -> None:
    # given
    expense = given_expense(a_registered_platform())
    before = len(expense.pending_events)

    # when
    with pytest.raises(InvalidTransition) as info:
        expense.pay(occurred_on=d("2020-02-13"), actor=TREASURER)

    # then
    assert info.value.field == "state"
    assert f"cannot pay an expense that is {state}" in str(info.value)
    assert "[rule: invalid_transition]" in str(info.value)
    assert len(expense.pending_events) == before


# Corrections --------------------------------------------------------------------------


def test_reversing_a_payment_leaves_the_expense_approved_and_unpaid() -> None:
    # given
    expense = a_paid_expense(a_registered_platform())
    payment_version = expense.version
    before = len(expense.pending_events)

    # when
    expense.reverse(
        reverses_version=payment_version,
        reason="paid from the wrong account",
        occurred_on=d("2020-02-14"),
        actor=TREASURER,
    )

    # then
    event = one_new_event(expense, before, Expense.EntryReversed)
    assert (event.reverses_version, event.reason) == (
        payment_version,
        "paid from the wrong account",
    )
    assert expense.state is ExpenseState.APPROVED
    assert expense.paid_on is None
    assert expense.reversible_versions() == {}


def test_a_reversed_payment_can_be_paid_again() -> None:
    # given
    expense = a_paid_expense(a_registered_platform())
    expense.reverse(
        reverses_version=expense.version, reason="error", occurred_on=d("2020-02-14"), actor=CHAIR
    )
    before = len(expense.pending_events)

    # when
    expense.pay(occurred_on=d("2020-02-15"), actor=TREASURER)

    # then
    one_new_event(expense, before, Expense.Paid)
    assert expense.paid_on == d("2020-02-15")
    assert list(expense.reversible_versions()) == [expense.version]


@pytest.mark.parametrize("version", [1, 2, 42])
def test_reversing_an_event_that_is_not_a_payment_is_refused(version: int) -> None:
    # given: version 1 is the submission and 2 the approval
    expense = an_approved_expense(a_registered_platform())
    before = len(expense.pending_events)

    # when
    with pytest.raises(InvalidValue) as info:
        expense.reverse(
            reverses_version=version, reason="error", occurred_on=d("2020-02-14"), actor=CHAIR
        )

    # then
    assert info.value.field == "reverses_version"
    assert f"event {version} of this Expense is not a reversible money event" in str(info.value)
    assert "[rule: invalid_value]" in str(info.value)
    assert len(expense.pending_events) == before


def test_reversing_a_payment_twice_is_refused() -> None:
    # given
    expense = a_paid_expense(a_registered_platform())
    payment_version = expense.version
    expense.reverse(
        reverses_version=payment_version, reason="error", occurred_on=d("2020-02-14"), actor=CHAIR
    )
    before = len(expense.pending_events)

    # when
    with pytest.raises(InvalidTransition) as info:
        expense.reverse(
            reverses_version=payment_version,
            reason="again",
            occurred_on=d("2020-02-14"),
            actor=CHAIR,
        )

    # then
    assert info.value.field == "reverses_version"
    assert f"event {payment_version} is already reversed" in str(info.value)
    assert "[rule: invalid_transition]" in str(info.value)
    assert len(expense.pending_events) == before


def test_attaching_no_receipt_is_refused() -> None:
    # given
    expense = a_submitted_expense(a_registered_platform())
    before = len(expense.pending_events)

    # when
    with pytest.raises(InvalidValue) as info:
        expense.attach_receipt(receipt_sha256=None, occurred_on=d("2020-02-11"), actor=TREASURER)  # type: ignore[arg-type]

    # then
    assert info.value.field == "receipt_sha256"
    assert len(expense.pending_events) == before


# Dates and grants ---------------------------------------------------------------------

DECISIONS: dict[str, Callable[[Expense, date], None]] = {
    "approved": lambda e, day: e.approve(occurred_on=day, actor=CHAIR),
    "rejected": lambda e, day: e.reject(reason="no invoice", occurred_on=day, actor=CHAIR),
}


@given(done=st.sampled_from(sorted(DECISIONS)), days=st.integers(min_value=-4000, max_value=4000))
def test_a_decision_on_an_expense_is_recorded_exactly_when_dated_on_or_after_its_submission(
    done: str, days: int
) -> None:
    # given an expense submitted on 2020-02-10
    expense = a_submitted_expense(a_registered_platform())
    day = d("2020-02-10") + timedelta(days=days)
    decide = DECISIONS[done]
    # when it is approved or rejected on ``day``
    if days < 0:
        with pytest.raises(InvalidValue) as refused:
            decide(expense, day)
        # then it is refused when that is before the submission, naming the date
        assert refused.value.field == "occurred_on"
        assert "submitted on 2020-02-10" in refused.value.message
        assert not expense.pending_events
    else:
        decide(expense, day)
        # and recorded otherwise
        assert [getattr(e, "occurred_on", None) for e in expense.collect_events()] == [day]


def test_an_expense_paid_before_it_was_submitted_is_refused() -> None:
    # given an expense submitted on 2020-02-10 and approved on 2020-02-11
    expense = an_approved_expense(a_registered_platform())
    # when it is paid on 2020-02-09
    with pytest.raises(InvalidValue) as refused:
        expense.pay(occurred_on=d("2020-02-09"), actor=TREASURER)
    # then
    assert refused.value.field == "occurred_on"
    assert not expense.pending_events


def chargeable_grant(state: str) -> Grant:
    budget = a_budget()
    grant = an_awarded_grant(budget, a_recognised_platform())
    if state == "revoked":
        grant.revoke(
            budget=budget,
            decision_ref="INTREKKING-1",
            reason="the platform lost its recognition",
            effective_on=d("2020-03-01"),
            retroactive=False,
            occurred_on=d("2020-03-01"),
            actor=OFFICIAL,
        )
    elif state == "settled":
        grant.settle(
            budget=budget,
            amount=eur("250000"),
            decision_ref="VASTSTELLING-1",
            reason="nothing was spent",
            occurred_on=d("2020-03-01"),
            actor=OFFICIAL,
        )
    grant.collect_events()
    return grant


@pytest.mark.parametrize(
    ("state", "day", "message"),
    [
        ("revoked", PERIOD_START, "is revoked: no expense is charged to it"),
        ("settled", PERIOD_START, "is settled: no expense is charged to it"),
        ("awarded", PERIOD_START - timedelta(days=1), "falls outside grant"),
        ("awarded", PERIOD_END + timedelta(days=1), "falls outside grant"),
    ],
)
def test_an_expense_is_not_charged_to_a_grant_no_longer_in_force_or_outside_its_period(
    state: str, day: date, message: str
) -> None:
    # given
    grant = chargeable_grant(state)
    # when
    with pytest.raises(InvalidValue) as refused:
        require_chargeable(grant, grant.platform_id, day)
    # then
    assert refused.value.field == "grant_id"
    assert message in refused.value.message


@pytest.mark.parametrize("day", [PERIOD_START, PERIOD_END])
def test_an_expense_inside_the_period_of_a_grant_in_force_is_charged_to_it(day: date) -> None:
    # given
    grant = chargeable_grant("awarded")
    # when / then nothing is refused
    require_chargeable(grant, grant.platform_id, day)
