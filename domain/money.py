"""Money as integer euro cents. Never float.

Amounts enter the system as strings such as ``"1234.56"`` and leave it the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from domain.errors import InvalidAmount

CURRENCY: Final = "EUR"
MAX_CENTS: Final = 100_000_000 * 100
"""The largest amount the system accepts in one value: EUR 100,000,000."""

_AMOUNT = re.compile(
    r"^\s*(?:(?P<pre>[A-Za-z]{3})\s*)?(?P<sign>[-+])?(?P<units>[0-9]+)"
    r"(?:\.(?P<frac>[0-9]*))?\s*(?P<post>[A-Za-z]{3})?\s*$"
)


@dataclass(frozen=True, order=True, slots=True)
class Money:
    """An amount in euro cents. Balances may be negative; amounts in commands may not."""

    cents: int

    def __post_init__(self) -> None:
        if type(self.cents) is not int:
            raise TypeError(f"Money needs integer cents, got {type(self.cents).__name__}")

    @classmethod
    def zero(cls) -> Money:
        return cls(0)

    @classmethod
    def parse(cls, field: str, text: object) -> Money:
        """Parse a positive amount such as ``"1234.56"`` or ``"EUR 12"``.

        Refuses floats, more than two decimals, other currencies, zero, negatives and
        amounts over EUR 100,000,000, naming ``field`` in the error.
        """
        if isinstance(text, bool) or not isinstance(text, str | int):
            raise InvalidAmount(field, "must be a string such as '1234.56' (never a float)")
        match = _AMOUNT.match(str(text))
        if match is None:
            raise InvalidAmount(field, f"{text!r} is not an amount such as '1234.56'")
        for currency in (match["pre"], match["post"]):
            if currency is not None and currency.upper() != CURRENCY:
                raise InvalidAmount(field, f"currency must be {CURRENCY}, got {currency.upper()}")
        frac = match["frac"] or ""
        if len(frac) > 2:
            raise InvalidAmount(field, "has more than two decimals")
        cents = int(match["units"]) * 100 + int(frac.ljust(2, "0"))
        if match["sign"] == "-":
            cents = -cents
        return cls(cents).require_positive(field)

    def require_positive(self, field: str) -> Money:
        """Return self when 0 < amount <= the maximum, else refuse naming ``field``."""
        if self.cents <= 0:
            raise InvalidAmount(field, "must be more than zero")
        if self.cents > MAX_CENTS:
            raise InvalidAmount(field, "must not exceed EUR 100000000.00")
        return self

    def __add__(self, other: Money) -> Money:
        return Money(self.cents + other.cents)

    def __sub__(self, other: Money) -> Money:
        return Money(self.cents - other.cents)

    def __neg__(self) -> Money:
        return Money(-self.cents)

    def __str__(self) -> str:
        sign = "-" if self.cents < 0 else ""
        units, cents = divmod(abs(self.cents), 100)
        return f"{sign}{units}.{cents:02d}"

    def __repr__(self) -> str:
        return f"Money('{self}')"


def total(amounts: list[Money] | tuple[Money, ...]) -> Money:
    return Money(sum(a.cents for a in amounts))
