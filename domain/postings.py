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

from dataclasses import dataclass
from typing import Any

from domain.bank import BankStatement
from domain.budget import DistrictBudget
from domain.expense import Expense
from domain.grant import Grant
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


def _move(debit: str, credit: str, amount: Money) -> list[Posting]:
    return [Posting(debit, amount), Posting(credit, -amount)]


def is_reversal(event: object) -> bool:
    return isinstance(event, REVERSALS)


def postings(event: Any, original: Any = None) -> list[Posting]:
    """The postings of ``event``; a reversal needs the ``original`` event it reverses."""
    if is_reversal(event):
        if original is None or original.originator_version != event.reverses_version:
            raise ValueError("a reversal's postings need the event it reverses")
        return [Posting(p.account, -p.amount) for p in postings(original)]
    match event:
        case DistrictBudget.Allocated():
            b = event.originator_id
            return _move(f"budget:{b}:available", f"budget:{b}:allocation", event.amount)
        case DistrictBudget.GrantCommitted():
            b = event.originator_id
            return _move(
                f"grant:{event.grant_id}:commitment", f"budget:{b}:available", event.amount
            )
        case DistrictBudget.CommitmentReleased():
            b = event.originator_id
            return _move(
                f"budget:{b}:available", f"grant:{event.grant_id}:commitment", event.amount
            )
        case Grant.TranchePaid():
            g = event.originator_id
            return _move(
                f"platform:{event.platform_id}:bank", f"grant:{g}:commitment", event.amount
            )
        case Grant.RefundReceived():
            return _move(
                f"budget:{event.budget_id}:returned",
                f"platform:{event.platform_id}:bank",
                event.amount,
            )
        case Grant.RecoveryClaimed():
            g = event.originator_id
            return _move(
                f"grant:{g}:receivable", f"budget:{event.budget_id}:recoveries", event.amount
            )
        case Grant.RecoveryReceived():
            g = event.originator_id
            return _move(
                f"budget:{event.budget_id}:returned", f"grant:{g}:receivable", event.amount
            )
        case Expense.Paid():
            p = event.platform_id
            source = "cash" if event.payment_method is PaymentMethod.CASH else "bank"
            return _move(
                f"platform:{p}:expense:{event.category}", f"platform:{p}:{source}", event.amount
            )
        case BankStatement.LineRecorded():
            return _bank_line(event)
        case PlatformTransfer.Made():
            return _move(
                f"platform:{event.to_platform_id}:bank",
                f"platform:{event.from_platform_id}:bank",
                event.amount,
            )
    return []


def _bank_line(line: BankStatement.LineRecorded) -> list[Posting]:
    if line.matches is not None:
        return []  # confirms a payment already booked (tranche, expense or transfer)
    p = line.platform_id
    if line.direction is Direction.IN:
        return _move(f"platform:{p}:bank", f"platform:{p}:other_income", line.amount)
    if line.kind is BankLineKind.CASH_WITHDRAWAL:
        return _move(f"platform:{p}:cash", f"platform:{p}:bank", line.amount)
    return _move(f"platform:{p}:unexplained", f"platform:{p}:bank", line.amount)


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
