"""Given-steps for pure domain tests: aggregates built in memory, no store.

Every builder returns its aggregate with the pending events of the given steps already
collected, so a test sees only the events of its own "when" step.
"""

from __future__ import annotations

from datetime import date
from typing import Any, TypeVar
from uuid import uuid4

from eventsourcing.domain import BaseAggregate

from domain.bank import BankStatement
from domain.budget import DistrictBudget
from domain.expense import Expense
from domain.grant import Grant, TrancheSpec
from domain.money import Money
from domain.platform import Platform
from domain.values import LegalForm, PaymentMethod, Role
from service.fixtures import assessment, d, dutch_iban

DISTRICT = "Zuidoost"
OFFICIAL = "official:zuidoost"
CHAIR = "Chris Chair"
TREASURER = "Tess Treasurer"
SECRETARY = "Sam Secretary"

PLATFORM_IBAN = dutch_iban(1)
CHAIR_IBAN = dutch_iban(101)
SUPPLIER_IBAN = dutch_iban(201)

ALLOCATED_ON = d("2019-01-02")
REGISTERED_ON = d("2019-03-01")
RECOGNISED_ON = d("2019-09-01")
AWARDED_ON = d("2019-11-01")
PERIOD_START = d("2019-11-01")
PERIOD_END = d("2020-12-31")
FIRST_TRANCHE_ON = d("2019-12-20")
SECOND_TRANCHE_ON = d("2020-06-02")
LATER = d("2020-03-15")
RECOGNITION_ENDED_ON = d("2019-10-01")

RECEIPT = "ab" * 32

E = TypeVar("E")


def eur(amount: str) -> Money:
    return Money.parse("amount", amount)


def one_new_event(aggregate: BaseAggregate[Any], before: int, event_class: type[E]) -> E:
    """The single event a command added to ``aggregate`` after ``before`` pending events."""
    new = aggregate.pending_events[before:]
    assert len(new) == 1, f"expected exactly one new event, got {new!r}"
    event = new[0]
    assert isinstance(event, event_class), f"expected {event_class.__name__}, got {event!r}"
    return event


def recorded(aggregate: BaseAggregate[Any]) -> None:
    """As if the given steps were saved: their events are no longer pending."""
    aggregate.collect_events()


# Budgets -------------------------------------------------------------------------------


def a_budget(
    amount: str = "1000000.00", district: str = DISTRICT, year: int = 2019
) -> DistrictBudget:
    budget = DistrictBudget.allocate(
        district=district, year=year, amount=eur(amount), occurred_on=ALLOCATED_ON, actor=OFFICIAL
    )
    recorded(budget)
    return budget


# Platforms -----------------------------------------------------------------------------


def a_registered_platform(
    name: str = "Stichting G-buurt", district: str = DISTRICT, account: int = 1
) -> Platform:
    platform = Platform.register(
        name=name,
        neighbourhood=f"{name} buurt",
        district=district,
        legal_form=LegalForm.STICHTING,
        kvk=f"{70000000 + account:08d}",
        account_iban=dutch_iban(account),
        occurred_on=REGISTERED_ON,
        actor=OFFICIAL,
    )
    recorded(platform)
    return platform


def an_applying_platform(name: str = "Stichting G-buurt", district: str = DISTRICT) -> Platform:
    platform = a_registered_platform(name, district)
    platform.apply_for_recognition(
        application_ref=f"AANVRAAG-{name}", occurred_on=d("2019-06-01"), actor=OFFICIAL
    )
    recorded(platform)
    return platform


def a_recognised_platform(
    name: str = "Stichting G-buurt",
    district: str = DISTRICT,
    effective_on: date = RECOGNISED_ON,
) -> Platform:
    platform = an_applying_platform(name, district)
    platform.decide_recognition(
        granted=True,
        assessment=assessment(),
        decision_ref=f"ERKENNING-{name}",
        effective_on=effective_on,
        reason="meets every recognition criterion",
        occurred_on=effective_on,
        actor=OFFICIAL,
    )
    recorded(platform)
    return platform


def a_suspended_platform(effective_on: date = RECOGNITION_ENDED_ON) -> Platform:
    platform = a_recognised_platform()
    platform.suspend(
        decision_ref="SCHORSING-1",
        effective_on=effective_on,
        reason="annual report overdue",
        occurred_on=effective_on,
        actor=OFFICIAL,
    )
    recorded(platform)
    return platform


def a_revoked_platform(effective_on: date = RECOGNITION_ENDED_ON) -> Platform:
    platform = a_recognised_platform()
    platform.revoke(
        decision_ref="INTREKKING-1",
        effective_on=effective_on,
        reason="no longer meets the criteria",
        occurred_on=effective_on,
        actor=OFFICIAL,
    )
    recorded(platform)
    return platform


def with_board(platform: Platform) -> Platform:
    """A chair with her own account, a treasurer and a secretary."""
    platform.join(person=CHAIR, role=Role.CHAIR, iban=CHAIR_IBAN, occurred_on=LATER, actor=OFFICIAL)
    platform.join(person=TREASURER, role=Role.TREASURER, occurred_on=LATER, actor=OFFICIAL)
    platform.join(person=SECRETARY, role=Role.SECRETARY, occurred_on=LATER, actor=OFFICIAL)
    recorded(platform)
    return platform


# Grants --------------------------------------------------------------------------------


def the_schedule() -> list[TrancheSpec]:
    """Two tranches of EUR 125,000 each."""
    return [
        TrancheSpec(1, d("2019-12-15"), eur("125000")),
        TrancheSpec(2, d("2020-06-01"), eur("125000")),
    ]


def an_awarded_grant(
    budget: DistrictBudget,
    platform: Platform,
    amount: str = "250000",
    tranches: list[TrancheSpec] | None = None,
    reference: str = "SUB-2019-G",
) -> Grant:
    grant = Grant.award(
        budget=budget,
        platform=platform,
        reference=reference,
        amount=eur(amount),
        period_start=PERIOD_START,
        period_end=PERIOD_END,
        purpose="plans of the G-buurt residents",
        tranches=the_schedule() if tranches is None else tranches,
        decision_ref=f"VERLENING-{reference}",
        reason="the plans fit the district's goals",
        occurred_on=AWARDED_ON,
        actor=OFFICIAL,
    )
    recorded(budget)
    recorded(grant)
    return grant


def with_tranche_paid(grant: Grant, platform: Platform, number: int = 1) -> Grant:
    scheduled = {t.number: t for t in grant.tranches}[number]
    grant.pay_tranche(
        platform=platform,
        number=number,
        amount=scheduled.amount,
        occurred_on=FIRST_TRANCHE_ON if number == 1 else SECOND_TRANCHE_ON,
        actor=OFFICIAL,
    )
    recorded(grant)
    return grant


def revoked(grant: Grant, budget: DistrictBudget, retroactive: bool = True) -> Grant:
    grant.revoke(
        budget=budget,
        effective_on=AWARDED_ON if retroactive else LATER,
        retroactive=retroactive,
        decision_ref="INTREKKING-SUB-2019-G",
        reason="money spent against the statutes",
        occurred_on=LATER,
        actor=OFFICIAL,
    )
    recorded(budget)
    recorded(grant)
    return grant


def settled(grant: Grant, budget: DistrictBudget, amount: str) -> Grant:
    grant.settle(
        budget=budget,
        amount=eur(amount),
        decision_ref="VASTSTELLING-SUB-2019-G",
        reason="accounted spending",
        occurred_on=LATER,
        actor=OFFICIAL,
    )
    recorded(budget)
    recorded(grant)
    return grant


def claimed(grant: Grant, amount: str) -> Grant:
    grant.claim_recovery(
        amount=eur(amount),
        decision_ref="TERUGVORDERING-1",
        reason="paid without ground",
        occurred_on=LATER,
        actor=OFFICIAL,
    )
    recorded(grant)
    return grant


# Expenses and bank statements ------------------------------------------------------------


def a_submitted_expense(
    platform: Platform,
    amount: str = "450.00",
    submitted_by: str = TREASURER,
    payment_method: PaymentMethod = PaymentMethod.BANK,
) -> Expense:
    expense = Expense.submit(
        expense_id=uuid4(),
        platform_id=platform.id,
        payee_name="Buurthuis De Kempering",
        payee_iban=SUPPLIER_IBAN,
        amount=eur(amount),
        category="Venue",
        description="hall hire for the neighbourhood meeting",
        invoice_number="F-2020-017",
        receipt_sha256=None,
        payment_method=payment_method,
        occurred_on=d("2020-02-10"),
        actor=submitted_by,
    )
    recorded(expense)
    return expense


def an_approved_expense(platform: Platform, **kwargs: Any) -> Expense:
    expense = a_submitted_expense(platform, **kwargs)
    expense.approve(occurred_on=d("2020-02-11"), actor=CHAIR)
    recorded(expense)
    return expense


def a_paid_expense(platform: Platform, **kwargs: Any) -> Expense:
    expense = an_approved_expense(platform, **kwargs)
    expense.pay(occurred_on=d("2020-02-12"), actor=TREASURER)
    recorded(expense)
    return expense


def an_open_statement(platform: Platform, statement_ref: str = "2020-03") -> BankStatement:
    statement = BankStatement.open(
        platform_id=platform.id,
        statement_ref=statement_ref,
        account_iban=platform.iban,
        occurred_on=d("2020-03-31"),
        actor=TREASURER,
    )
    recorded(statement)
    return statement
