"""Expenses of a platform: submitted, approved by someone else, paid, or rejected."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.base import Fact, Ledgered, actor_of, business_date, reason_of
from domain.errors import InvalidTransition, InvalidValue, SelfApproval
from domain.grant import Grant
from domain.money import Money
from domain.values import (
    MAX_TEXT,
    ExpenseState,
    GrantState,
    PaymentMethod,
    optional_iban,
    optional_text,
    parse_enum,
    sha256_hex,
    text,
)

MAX_CATEGORY = 50


class Expense(Ledgered):
    TOPIC = "buurtkas.expense.Expense"

    class Event(Fact):
        TOPIC = "buurtkas.expense.Event"

    class Submitted(Event, Aggregate.Created):
        TOPIC = "buurtkas.expense.Submitted"
        platform_id: UUID
        grant_id: UUID | None
        payee_name: str
        payee_iban: str | None
        amount: Money
        category: str
        description: str
        invoice_number: str | None
        receipt_sha256: str | None
        payment_method: PaymentMethod

    class ReceiptAttached(Event):
        TOPIC = "buurtkas.expense.ReceiptAttached"
        receipt_sha256: str

        def apply(self, aggregate: Expense) -> None:
            aggregate.receipt_sha256 = self.receipt_sha256

    class Approved(Event):
        TOPIC = "buurtkas.expense.Approved"

        def apply(self, aggregate: Expense) -> None:
            aggregate.state = ExpenseState.APPROVED
            aggregate.approved_by = self.actor

    class Rejected(Event):
        TOPIC = "buurtkas.expense.Rejected"
        reason: str

        def apply(self, aggregate: Expense) -> None:
            aggregate.state = ExpenseState.REJECTED

    class Paid(Event):
        TOPIC = "buurtkas.expense.Paid"
        platform_id: UUID
        amount: Money
        category: str
        payment_method: PaymentMethod

        def apply(self, aggregate: Expense) -> None:
            aggregate.state = ExpenseState.PAID
            aggregate.paid_on = self.occurred_on
            aggregate._mark_reversible(self.originator_version, "payment", self.amount)

    class EntryReversed(Event):
        TOPIC = "buurtkas.expense.EntryReversed"
        reverses_version: int
        reason: str

        def apply(self, aggregate: Expense) -> None:
            aggregate._apply_reversal(self.reverses_version)
            aggregate.state = ExpenseState.APPROVED
            aggregate.paid_on = None

    Created = Submitted

    def __init__(
        self,
        platform_id: UUID,
        grant_id: UUID | None,
        payee_name: str,
        payee_iban: str | None,
        amount: Money,
        category: str,
        description: str,
        invoice_number: str | None,
        receipt_sha256: str | None,
        payment_method: PaymentMethod,
        actor: str,
        occurred_on: date,
    ) -> None:
        self._init_reversible()
        self.platform_id = platform_id
        self.grant_id = grant_id
        self.payee_name = payee_name
        self.payee_iban = payee_iban
        self.amount = amount
        self.category = category
        self.description = description
        self.invoice_number = invoice_number
        self.receipt_sha256 = receipt_sha256
        self.payment_method = payment_method
        self.submitted_by = actor
        self.business_date = occurred_on
        self.state = ExpenseState.SUBMITTED
        self.approved_by: str | None = None
        self.paid_on: date | None = None

    @classmethod
    def submit(
        cls,
        *,
        expense_id: UUID,
        platform_id: UUID,
        payee_name: str,
        amount: Money,
        category: str,
        description: str,
        payment_method: PaymentMethod,
        occurred_on: date,
        actor: str,
        grant_id: UUID | None = None,
        payee_iban: str | None = None,
        invoice_number: str | None = None,
        receipt_sha256: str | None = None,
    ) -> Expense:
        return cls._create(
            cls.Submitted,
            id=expense_id,
            platform_id=platform_id,
            grant_id=grant_id,
            payee_name=text("payee_name", payee_name),
            payee_iban=optional_iban("payee_iban", payee_iban),
            amount=amount.require_positive("amount"),
            category=text("category", category, max_length=MAX_CATEGORY).lower(),
            description=text("description", description, max_length=MAX_TEXT, required=False),
            invoice_number=optional_text("invoice_number", invoice_number),
            receipt_sha256=sha256_hex("receipt_sha256", receipt_sha256),
            payment_method=parse_enum(PaymentMethod, "payment_method", payment_method),
            occurred_on=business_date("occurred_on", occurred_on),
            actor=actor_of(actor),
        )

    def attach_receipt(self, *, receipt_sha256: str, occurred_on: date, actor: str) -> None:
        if receipt_sha256 is None:
            raise InvalidValue("receipt_sha256", "must be 64 hexadecimal characters (SHA-256)")
        self.trigger_event(
            self.ReceiptAttached,
            receipt_sha256=sha256_hex("receipt_sha256", receipt_sha256),
            occurred_on=business_date("occurred_on", occurred_on),
            actor=actor_of(actor),
        )

    def approve(self, *, occurred_on: date, actor: str) -> None:
        actor = actor_of(actor)
        self._require(ExpenseState.SUBMITTED, "approve")
        occurred_on = self._after_submission(occurred_on, "approved")
        if actor.casefold() == self.submitted_by.casefold():
            raise SelfApproval(
                "actor",
                f"{self.submitted_by} submitted this expense and may not approve it as well",
            )
        self.trigger_event(
            self.Approved, occurred_on=business_date("occurred_on", occurred_on), actor=actor
        )

    def reject(self, *, reason: str, occurred_on: date, actor: str) -> None:
        if self.state not in (ExpenseState.SUBMITTED, ExpenseState.APPROVED):
            raise InvalidTransition("state", f"cannot reject an expense that is {self.state.value}")
        self.trigger_event(
            self.Rejected,
            reason=reason_of(reason),
            occurred_on=self._after_submission(occurred_on, "rejected"),
            actor=actor_of(actor),
        )

    def pay(self, *, occurred_on: date, actor: str) -> None:
        self._require(ExpenseState.APPROVED, "pay")
        self.trigger_event(
            self.Paid,
            platform_id=self.platform_id,
            amount=self.amount,
            category=self.category,
            payment_method=self.payment_method,
            occurred_on=self._after_submission(occurred_on, "paid"),
            actor=actor_of(actor),
        )

    def _after_submission(self, occurred_on: date, done: str) -> date:
        """A decision on the expense is dated on or after the day it was submitted."""
        day = business_date("occurred_on", occurred_on)
        if day < self.business_date:
            raise InvalidValue(
                "occurred_on",
                f"the expense was submitted on {self.business_date.isoformat()}; it cannot be "
                f"{done} on {day.isoformat()}, before that",
            )
        return day

    def _require(self, state: ExpenseState, verb: str) -> None:
        if self.state is not state:
            raise InvalidTransition("state", f"cannot {verb} an expense that is {self.state.value}")


def require_chargeable(grant: Grant, platform_id: UUID, occurred_on: date) -> None:
    """An expense may be charged to ``grant`` (its spending counts towards the grant's
    settlement) only if the grant is the platform's, still in force and unsettled, and
    the expense falls inside the grant's period. Otherwise it is submitted without one."""
    if grant.platform_id != platform_id:
        raise InvalidValue("grant_id", "the grant belongs to another platform")
    if grant.state is not GrantState.AWARDED:
        raise InvalidValue(
            "grant_id",
            f"grant {grant.reference} is {grant.state.value}: no expense is charged to it",
        )
    day = business_date("occurred_on", occurred_on)
    if not grant.period_start <= day <= grant.period_end:
        raise InvalidValue(
            "grant_id",
            f"the expense of {day.isoformat()} falls outside grant {grant.reference}'s period "
            f"({grant.period_start.isoformat()} to {grant.period_end.isoformat()})",
        )
