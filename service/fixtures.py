"""Helpers shared by the demo history and the synthetic generator."""

from __future__ import annotations

from datetime import date
from typing import Final

from schwifty import IBAN

from domain.platform import CriterionAssessment
from domain.values import Criterion, Outcome

BANK_CODES: Final = ("INGB", "ABNA", "RABO", "TRIO", "SNSB", "ASNB", "BUNQ", "KNAB")


def dutch_iban(n: int) -> str:
    """A valid, deterministic Dutch IBAN for number ``n`` (invented accounts)."""
    bank = BANK_CODES[n % len(BANK_CODES)]
    return str(IBAN.generate("NL", bank_code=bank, account_code=f"{n % 10**10:010d}").compact)


def assessment(not_met: dict[Criterion, str] | None = None) -> list[CriterionAssessment]:
    """All criteria met except those in ``not_met`` (with the council's note)."""
    not_met = not_met or {}
    return [
        CriterionAssessment(
            criterion=c,
            outcome=Outcome.NOT_MET if c in not_met else Outcome.MET,
            note=not_met.get(c, ""),
        )
        for c in Criterion
    ]


def d(text: str) -> date:
    return date.fromisoformat(text)
