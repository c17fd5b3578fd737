"""The double-entry invariants of a whole history, checked event by event.

- every event's postings sum to zero, and so does the whole ledger;
- no grant commitment is ever negative (nothing paid beyond what was awarded);
- no district budget's available amount is ever negative (nothing awarded beyond it);
- no claim on a platform (receivable) is ever negative (nothing recovered beyond the claim).

A history written through buurtkas keeps them; one that breaks them was written around it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from domain.money import Money
from domain.postings import Ledger

NEVER_NEGATIVE = (":commitment", ":available", ":receivable")


@dataclass(frozen=True)
class Violation:
    position: int
    rule: str
    detail: str


@dataclass
class LedgerCheck:
    events: int = 0
    postings: int = 0
    violations: list[Violation] = field(default_factory=list)
    total: Money = field(default_factory=lambda: Money(0))


def check_ledger(events: Iterable[tuple[int, Any]], limit: int = 20) -> LedgerCheck:
    """Fold ``(position, event)`` pairs in store order; list up to ``limit`` violations."""
    ledger = Ledger()
    result = LedgerCheck()

    def violate(position: int, rule: str, detail: str) -> None:
        if len(result.violations) < limit:
            result.violations.append(Violation(position, rule, detail))

    for position, event in events:
        result.events += 1
        entries = ledger.apply(event)
        result.postings += len(entries)
        imbalance = sum(entry.amount.cents for entry in entries)
        if imbalance:
            violate(position, "balanced_postings", f"postings sum to {Money(imbalance)}")
        for entry in entries:
            if entry.account.endswith(NEVER_NEGATIVE):
                balance = ledger.balances[entry.account]
                if balance.cents < 0:
                    violate(position, "never_negative", f"{entry.account} is {balance}")
    result.total = ledger.total()
    if result.total.cents:
        violate(0, "balanced_ledger", f"the ledger sums to {result.total}, not 0")
    return result
