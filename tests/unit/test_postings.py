"""Double entry: every money event maps to balanced postings; reversals book a red storno."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from eventsourcing.domain import BaseAggregate

from domain.bank import BankStatement
from domain.budget import DistrictBudget
from domain.expense import Expense
from domain.grant import Grant
from domain.money import Money, total
from domain.platform import Platform
from domain.postings import Ledger, Posting, platform_funds, postings
from domain.transfer import PlatformTransfer
from domain.values import BankLineKind, Direction, PaymentMethod
from service.fixtures import d
from tests.unit.builders import (
    ALLOCATED_ON,
    CHAIR,
    FIRST_TRANCHE_ON,
    LATER,
    OFFICIAL,
    TREASURER,
    a_budget,
    a_recognised_platform,
    an_approved_expense,
    an_awarded_grant,
    an_open_statement,
    eur,
    the_schedule,
)


def the_only_new_event(aggregate: BaseAggregate[Any]) -> Any:
    (event,) = aggregate.collect_events()
    return event


@dataclass
class History:
    """A small history with one event of each money kind, in store order."""

    events: dict[str, Any]
    budget: DistrictBudget
    platform: Platform
    other: Platform
    grant: Grant
    statement: BankStatement

    def accounts(self) -> dict[str, object]:
        return {
            "budget": self.budget.id,
            "grant": self.grant.id,
            "platform": self.platform.id,
            "other": self.other.id,
        }


def a_history() -> History:
    events: dict[str, Any] = {}
    budget = DistrictBudget.allocate(
        district="Zuidoost",
        year=2019,
        amount=eur("1000000"),
        occurred_on=ALLOCATED_ON,
        actor=OFFICIAL,
    )
    events["allocated"] = the_only_new_event(budget)
    platform = a_recognised_platform()
    other = a_recognised_platform("Hart voor de K-buurt")

    grant = Grant.award(
        budget=budget,
        platform=platform,
        reference="SUB-2019-G",
        amount=eur("250000"),
        period_start=d("2019-11-01"),
        period_end=d("2020-12-31"),
        purpose="plans of the G-buurt residents",
        tranches=the_schedule(),
        decision_ref="VERLENING-1",
        reason="the plans fit the district's goals",
        occurred_on=d("2019-11-01"),
        actor=OFFICIAL,
    )
    events["committed"] = the_only_new_event(budget)
    grant.collect_events()

    grant.pay_tranche(
        platform=platform,
        number=1,
        amount=eur("125000"),
        occurred_on=FIRST_TRANCHE_ON,
        actor=OFFICIAL,
    )
    events["tranche"] = the_only_new_event(grant)
    grant.receive_refund(amount=eur("1000"), occurred_on=LATER, actor=OFFICIAL)
    events["refund"] = the_only_new_event(grant)
    grant.revoke(
        budget=budget,
        effective_on=d("2019-11-01"),
        retroactive=True,
        decision_ref="INTREKKING-1",
        reason="money spent against the statutes",
        occurred_on=LATER,
        actor=OFFICIAL,
    )
    events["released"] = the_only_new_event(budget)
    grant.collect_events()
    grant.claim_recovery(
        amount=eur("96000"),
        decision_ref="T-1",
        reason="no ground",
        occurred_on=LATER,
        actor=OFFICIAL,
    )
    events["claim"] = the_only_new_event(grant)
    grant.receive_recovery(amount=eur("62000"), occurred_on=LATER, actor=OFFICIAL)
    events["recovery"] = the_only_new_event(grant)

    by_bank = an_approved_expense(platform, amount="450")
    by_bank.pay(occurred_on=LATER, actor=TREASURER)
    events["expense_by_bank"] = the_only_new_event(by_bank)
    in_cash = an_approved_expense(platform, amount="80", payment_method=PaymentMethod.CASH)
    in_cash.pay(occurred_on=LATER, actor=TREASURER)
    events["expense_in_cash"] = the_only_new_event(in_cash)

    statement = an_open_statement(platform)
    lines: list[tuple[str, Direction, BankLineKind, str, str | None]] = [
        ("line_in", Direction.IN, BankLineKind.DEPOSIT, "300", None),
        ("line_cash", Direction.OUT, BankLineKind.CASH_WITHDRAWAL, "9600", None),
        ("line_out", Direction.OUT, BankLineKind.TRANSFER, "20000", None),
        ("line_matched", Direction.OUT, BankLineKind.TRANSFER, "450", "expense"),
    ]
    for line_no, (name, direction, kind, amount, matches) in enumerate(lines, 1):
        statement.record_line(
            line_no=line_no,
            direction=direction,
            kind=kind,
            amount=eur(amount),
            counterparty_name=CHAIR,
            matches=matches,
            occurred_on=LATER,
            actor=TREASURER,
        )
        events[name] = the_only_new_event(statement)

    transfer = PlatformTransfer.make(
        reference="OVERBOEKING-1",
        from_platform=platform,
        to_platform=other,
        amount=eur("10000"),
        occurred_on=LATER,
        actor=OFFICIAL,
    )
    events["transfer"] = the_only_new_event(transfer)
    return History(events, budget, platform, other, grant, statement)


MONEY_EVENTS = [
    "allocated",
    "committed",
    "released",
    "tranche",
    "refund",
    "claim",
    "recovery",
    "expense_by_bank",
    "expense_in_cash",
    "line_in",
    "line_cash",
    "line_out",
    "transfer",
]

EXPECTED_ACCOUNTS = {
    # event: (debited account, credited account, amount)
    "allocated": ("budget:{budget}:available", "budget:{budget}:allocation", "1000000"),
    "committed": ("grant:{grant}:commitment", "budget:{budget}:available", "250000"),
    "released": ("budget:{budget}:available", "grant:{grant}:commitment", "125000"),
    "tranche": ("platform:{platform}:bank", "grant:{grant}:commitment", "125000"),
    "refund": ("budget:{budget}:returned", "platform:{platform}:bank", "1000"),
    "claim": ("grant:{grant}:receivable", "budget:{budget}:recoveries", "96000"),
    "recovery": ("budget:{budget}:returned", "grant:{grant}:receivable", "62000"),
    "expense_by_bank": ("platform:{platform}:expense:venue", "platform:{platform}:bank", "450"),
    "expense_in_cash": ("platform:{platform}:expense:venue", "platform:{platform}:cash", "80"),
    "line_in": ("platform:{platform}:bank", "platform:{platform}:other_income", "300"),
    "line_cash": ("platform:{platform}:cash", "platform:{platform}:bank", "9600"),
    "line_out": ("platform:{platform}:unexplained", "platform:{platform}:bank", "20000"),
    "transfer": ("platform:{other}:bank", "platform:{platform}:bank", "10000"),
}


@pytest.mark.parametrize("name", MONEY_EVENTS)
def test_the_postings_of_each_money_event_sum_to_zero(name: str) -> None:
    # given
    event = a_history().events[name]

    # when
    entries = postings(event)

    # then
    assert len(entries) == 2
    assert total([p.amount for p in entries]) == Money(0)


@pytest.mark.parametrize("name", MONEY_EVENTS)
def test_each_money_event_debits_and_credits_the_documented_accounts(name: str) -> None:
    # given
    history = a_history()
    debit, credit, amount = EXPECTED_ACCOUNTS[name]
    ids = history.accounts()

    # when
    entries = postings(history.events[name])

    # then
    assert entries == [
        Posting(debit.format(**ids), eur(amount)),
        Posting(credit.format(**ids), -eur(amount)),
    ]


def test_a_bank_line_that_confirms_a_booked_payment_posts_nothing() -> None:
    # given
    line = a_history().events["line_matched"]

    # when
    entries = postings(line)

    # then
    assert line.matches == "expense"
    assert entries == []


def test_events_that_move_no_money_post_nothing() -> None:
    # given
    platform = a_recognised_platform()
    expense = an_approved_expense(platform)
    expense.reject(reason="no invoice", occurred_on=LATER, actor=CHAIR)
    rejection = the_only_new_event(expense)
    platform.suspend(
        decision_ref="S-1", effective_on=LATER, reason="report", occurred_on=LATER, actor=OFFICIAL
    )
    suspension = the_only_new_event(platform)

    # when
    entries = [postings(rejection), postings(suspension)]

    # then
    assert entries == [[], []]


def reverse(aggregate: Grant | Expense | BankStatement | PlatformTransfer, version: int) -> Any:
    aggregate.reverse(reverses_version=version, reason="error", occurred_on=LATER, actor=OFFICIAL)
    return the_only_new_event(aggregate)


def a_paid_tranche() -> tuple[Grant, Platform, Any]:
    """A grant with its first tranche paid and nothing returned or claimed, so that the
    tranche can be reversed; and that tranche's event."""
    platform = a_recognised_platform()
    grant = an_awarded_grant(a_budget(), platform)
    grant.pay_tranche(
        platform=platform,
        number=1,
        amount=eur("125000"),
        occurred_on=FIRST_TRANCHE_ON,
        actor=OFFICIAL,
    )
    return grant, platform, the_only_new_event(grant)


def reversible_events() -> list[tuple[Any, Any]]:
    """(original, reversal) pairs, one of each reversible kind."""
    history = a_history()
    platform = history.platform
    tranche_grant, _, tranche = a_paid_tranche()
    pairs = [(tranche, reverse(tranche_grant, tranche.originator_version))]
    pairs += [
        (history.events[name], reverse(history.grant, history.events[name].originator_version))
        for name in ("refund", "recovery")
    ]
    expense = an_approved_expense(platform)
    expense.pay(occurred_on=LATER, actor=TREASURER)
    paid = the_only_new_event(expense)
    pairs.append((paid, reverse(expense, paid.originator_version)))
    for name in ("line_in", "line_cash", "line_out"):
        line = history.events[name]
        pairs.append((line, reverse(history.statement, line.originator_version)))
    transfer = PlatformTransfer.make(
        reference="OVERBOEKING-9",
        from_platform=platform,
        to_platform=history.other,
        amount=eur("10"),
        occurred_on=LATER,
        actor=OFFICIAL,
    )
    made = the_only_new_event(transfer)
    pairs.append((made, reverse(transfer, 1)))
    return pairs


def test_a_reversal_posts_the_negation_of_the_event_it_reverses() -> None:
    # given
    pairs = reversible_events()

    # when
    entries = [(postings(original), postings(reversal, original)) for original, reversal in pairs]

    # then
    assert len(entries) == 8
    for original_entries, reversal_entries in entries:
        assert original_entries
        assert reversal_entries == [Posting(p.account, -p.amount) for p in original_entries]


@pytest.mark.parametrize("given_original", ["missing", "another event"])
def test_a_reversals_postings_need_the_event_it_reverses(given_original: str) -> None:
    # given
    (_, tranche_reversal), (refund, _) = reversible_events()[:2]
    original = None if given_original == "missing" else refund

    # when
    with pytest.raises(ValueError, match="need the event it reverses") as info:
        postings(tranche_reversal, original)

    # then
    assert str(info.value) == "a reversal's postings need the event it reverses"


# Ledger -------------------------------------------------------------------------------


def test_the_ledger_of_a_whole_history_balances_to_zero() -> None:
    # given
    history = a_history()
    ledger = Ledger()

    # when
    for name in history.events:
        ledger.apply(history.events[name])

    # then
    assert ledger.total() == Money(0)
    bank = f"platform:{history.platform.id}:bank"
    cash = f"platform:{history.platform.id}:cash"
    # 125,000 tranche + 300 deposit - 1,000 refund - 450 expense - 9,600 cash - 20,000 - 10,000
    assert ledger.balances[bank] == eur("84250")
    # 9,600 withdrawn, 80 of it accounted for by a cash expense
    assert ledger.balances[cash] == eur("9520")
    assert platform_funds(ledger.balances, history.platform.id) == eur("93770")
    assert ledger.debits[bank] == eur("125300")
    assert ledger.credits[bank] == eur("41050")


def test_a_reversal_is_booked_as_a_red_storno_on_the_original_sides() -> None:
    # given
    grant, platform, tranche = a_paid_tranche()
    ledger = Ledger()
    ledger.apply(tranche)
    correction = reverse(grant, tranche.originator_version)
    bank = f"platform:{platform.id}:bank"
    commitment = f"grant:{grant.id}:commitment"

    # when
    entries = ledger.apply(correction)

    # then
    assert entries == [Posting(bank, -eur("125000")), Posting(commitment, eur("125000"))]
    assert (ledger.balances[bank], ledger.balances[commitment]) == (Money(0), Money(0))
    assert (ledger.debits[bank], ledger.credits[commitment]) == (Money(0), Money(0))
    assert bank not in ledger.credits
    assert commitment not in ledger.debits
    assert ledger.total() == Money(0)


def test_money_received_excludes_a_tranche_that_was_corrected() -> None:
    # given a tranche booked in error, reversed, then booked again
    platform = a_recognised_platform()
    grant = an_awarded_grant(a_budget(), platform)
    ledger = Ledger()
    grant.pay_tranche(
        platform=platform, number=1, amount=eur("125000"), occurred_on=LATER, actor=OFFICIAL
    )
    first = the_only_new_event(grant)
    ledger.apply(first)
    ledger.apply(reverse(grant, first.originator_version))
    grant.pay_tranche(
        platform=platform, number=1, amount=eur("125000"), occurred_on=LATER, actor=OFFICIAL
    )

    # when
    ledger.apply(the_only_new_event(grant))

    # then
    bank = f"platform:{platform.id}:bank"
    assert ledger.debits[bank] == eur("125000")
    assert ledger.credits.get(bank, Money(0)) == Money(0)
    assert ledger.balances[bank] == eur("125000")


def test_platform_funds_are_its_bank_balance_plus_unaccounted_cash() -> None:
    # given
    balances = {"platform:p1:bank": eur("100"), "platform:p1:cash": eur("20.50")}

    # when
    funds = (platform_funds(balances, "p1"), platform_funds(balances, "p2"))

    # then
    assert funds == (eur("120.50"), Money(0))


def test_reversing_a_bank_line_that_only_confirmed_a_payment_books_nothing() -> None:
    # given
    history = a_history()
    matched = history.events["line_matched"]
    ledger = Ledger()
    ledger.apply(matched)
    correction = reverse(history.statement, matched.originator_version)

    # when
    entries = ledger.apply(correction)

    # then
    assert entries == []
    assert ledger.total() == Money(0)
