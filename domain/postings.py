"""Double entry: a pure mapping from every money event to balanced postings.

A posting is an account and a signed amount (debit positive, credit negative). The
postings of each event sum to zero, and so do the postings of the whole store.

Chart of accounts (ids are aggregate UUIDs):

- ``budget:<id>:allocation``   the district's allocation (source of the budget)
- ``budget:<id>:available``    allocated and not committed to a grant
- ``budget:<id>:returned``     money that came back to the district (refunds, recoveries)
- ``budget:<id>:recoveries``   recovery claims decided (terugvordering)
- ``grant:<id>:commitment``    awarded and not yet paid out
- ``grant:<id>:receivable``    claimed back and not yet received
- ``platform:<id>:bank``       the platform's bank account
- ``platform:<id>:cash``       cash withdrawn and not yet accounted for by a cash expense
- ``platform:<id>:expense:<category>``  spending by category
- ``platform:<id>:unexplained``         outflows the bank reported without a matching record
- ``platform:<id>:other_income``        inflows the bank reported without a matching record
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from domain.bank import BankStatement
from domain.budget import DistrictBudget
from domain.expense import Expense
from domain.grant import Grant
from domain.ids import text
from domain.money import Money
from domain.transfer import PlatformTransfer
from domain.values import BankLineKind, Direction, PaymentMethod

REVERSALS = (
    Grant.EntryReversed,
    Expense.EntryReversed,
    BankStatement.EntryReversed,
    PlatformTransfer.EntryReversed,
)


@dataclass(frozen=True)
class Posting:
    account: str
    amount: Money


Leg = tuple[str, str, str, int]
"""A posting taken apart: the account's kind, entity id and field, and the signed cents.

``posting(leg).account`` is ``"<kind>:<entity>:<field>"``."""


def posting(leg: Leg) -> Posting:
    kind, entity, field, cents = leg
    return Posting(f"{kind}:{entity}:{field}", Money(cents))


def is_reversal(event: object) -> bool:
    return isinstance(event, REVERSALS)


def postings(event: Any, original: Any = None) -> list[Posting]:
    """The postings of ``event``; a reversal needs the ``original`` event it reverses."""
    if is_reversal(event):
        if original is None or original.originator_version != event.reverses_version:
            raise ValueError("a reversal's postings need the event it reverses")
        return [Posting(p.account, -p.amount) for p in postings(original)]
    return [posting(leg) for leg in legs(event)]


def legs(event: Any) -> list[Leg]:
    """The postings of a (not reversing) event as legs: a debit and its credit, or none."""
    found = _LEGS.get(type(event))
    if found is None:
        found = _legs_of(type(event))
    return found(event)


def books(cls: type) -> bool:
    """Whether events of class ``cls`` can post: money events and reversals."""
    return issubclass(cls, REVERSALS) or _legs_of(cls) is not _no_legs


def _legs_of(cls: type) -> Callable[[Any], list[Leg]]:
    found = _LEGS.get(cls)
    if found is None:
        found = _LEGS[cls] = next((f for types, f in _CASES if issubclass(cls, types)), _no_legs)
    return found


def _move(debit: tuple[str, str, str], credit: tuple[str, str, str], cents: int) -> list[Leg]:
    return [(*debit, cents), (*credit, -cents)]


def _no_legs(event: Any) -> list[Leg]:
    return []


def _allocated(e: DistrictBudget.Allocated) -> list[Leg]:
    b = text(e.originator_id)
    return _move(("budget", b, "available"), ("budget", b, "allocation"), e.amount.cents)


def _committed(e: DistrictBudget.GrantCommitted) -> list[Leg]:
    grant, b = text(e.grant_id), text(e.originator_id)
    return _move(("grant", grant, "commitment"), ("budget", b, "available"), e.amount.cents)


def _released(e: DistrictBudget.CommitmentReleased) -> list[Leg]:
    grant, b = text(e.grant_id), text(e.originator_id)
    return _move(("budget", b, "available"), ("grant", grant, "commitment"), e.amount.cents)


def _tranche_paid(e: Grant.TranchePaid) -> list[Leg]:
    p, g = text(e.platform_id), text(e.originator_id)
    return _move(("platform", p, "bank"), ("grant", g, "commitment"), e.amount.cents)


def _refund_received(e: Grant.RefundReceived) -> list[Leg]:
    b, p = text(e.budget_id), text(e.platform_id)
    return _move(("budget", b, "returned"), ("platform", p, "bank"), e.amount.cents)


def _recovery_claimed(e: Grant.RecoveryClaimed) -> list[Leg]:
    g, b = text(e.originator_id), text(e.budget_id)
    return _move(("grant", g, "receivable"), ("budget", b, "recoveries"), e.amount.cents)


def _recovery_received(e: Grant.RecoveryReceived) -> list[Leg]:
    b, g = text(e.budget_id), text(e.originator_id)
    return _move(("budget", b, "returned"), ("grant", g, "receivable"), e.amount.cents)


def _expense_paid(e: Expense.Paid) -> list[Leg]:
    p = text(e.platform_id)
    source = "cash" if e.payment_method is PaymentMethod.CASH else "bank"
    return _move(("platform", p, f"expense:{e.category}"), ("platform", p, source), e.amount.cents)


def _bank_line(line: BankStatement.LineRecorded) -> list[Leg]:
    if line.matches is not None:
        return []  # confirms a payment already booked (tranche, expense or transfer)
    p = text(line.platform_id)
    cents = line.amount.cents
    if line.direction is Direction.IN:
        return _move(("platform", p, "bank"), ("platform", p, "other_income"), cents)
    if line.kind is BankLineKind.CASH_WITHDRAWAL:
        return _move(("platform", p, "cash"), ("platform", p, "bank"), cents)
    return _move(("platform", p, "unexplained"), ("platform", p, "bank"), cents)


def _transfer(e: PlatformTransfer.Made) -> list[Leg]:
    to, source = text(e.to_platform_id), text(e.from_platform_id)
    return _move(("platform", to, "bank"), ("platform", source, "bank"), e.amount.cents)


_CASES: list[tuple[type, Callable[[Any], list[Leg]]]] = [
    (DistrictBudget.Allocated, _allocated),
    (DistrictBudget.GrantCommitted, _committed),
    (DistrictBudget.CommitmentReleased, _released),
    (Grant.TranchePaid, _tranche_paid),
    (Grant.RefundReceived, _refund_received),
    (Grant.RecoveryClaimed, _recovery_claimed),
    (Grant.RecoveryReceived, _recovery_received),
    (Expense.Paid, _expense_paid),
    (BankStatement.LineRecorded, _bank_line),
    (PlatformTransfer.Made, _transfer),
]
_LEGS: dict[type, Callable[[Any], list[Leg]]] = {}
"""The legs function of each event class, resolved once from ``_CASES`` (first match)."""


def platform_funds(balances: dict[str, Money], platform_id: object) -> Money:
    """Money the platform holds: its bank account plus cash not yet accounted for."""
    bank = balances.get(f"platform:{platform_id}:bank", Money(0))
    cash = balances.get(f"platform:{platform_id}:cash", Money(0))
    return bank + cash


class Ledger:
    """Folds events, in store order, into account balances.

    Besides the balance, each account keeps its gross debits and credits. A reversal is
    booked as a red storno: it reduces the side the original posting was on, so gross
    turnover (such as money received) excludes what was corrected.
    """

    def __init__(self) -> None:
        self.balances: dict[str, Money] = {}
        self.debits: dict[str, Money] = {}
        self.credits: dict[str, Money] = {}
        self._money_events: dict[tuple[Any, int], Any] = {}

    def apply(self, event: Any) -> list[Posting]:
        if is_reversal(event):
            original = self._money_events.pop((event.originator_id, event.reverses_version), None)
            if original is None:  # the reversed event had no postings (a matched bank line)
                return []
            entries = postings(event, original)
            for entry in postings(original):
                side = self.debits if entry.amount.cents > 0 else self.credits
                side[entry.account] = side.get(entry.account, Money(0)) - abs_money(entry.amount)
        else:
            entries = postings(event)
            if entries:
                self._money_events[(event.originator_id, event.originator_version)] = event
            for entry in entries:
                side = self.debits if entry.amount.cents > 0 else self.credits
                side[entry.account] = side.get(entry.account, Money(0)) + abs_money(entry.amount)
        for entry in entries:
            self.balances[entry.account] = self.balances.get(entry.account, Money(0)) + entry.amount
        return entries

    def total(self) -> Money:
        return Money(sum(m.cents for m in self.balances.values()))


def abs_money(amount: Money) -> Money:
    return Money(abs(amount.cents))
