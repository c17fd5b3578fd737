"""Field types of the API contract: money as decimal strings, ISO dates, bounded texts.

Limits are part of the contract (and of the OpenAPI document): texts and lists have a
maximum length, amounts at most two decimals and EUR 100,000,000. Unknown fields are
refused. Money never travels as a number.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)

from domain.errors import InvalidAmount
from domain.money import Money
from domain.values import EARLIEST, LATEST
from service.http import patterns

AMOUNT_PATTERN = patterns.AMOUNT
MAX_VERSION = 2_147_483_647
MAX_POSITION = 2**62
"""Larger than any position a store will reach, small enough for every database."""
_ZERO = re.compile(r"^0+(\.0{1,2})?$")
_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def _whole_number(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("must be a whole number")
    return value


def _boolean(value: object) -> object:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


Whole = Annotated[int, BeforeValidator(_whole_number)]
"""An integer, never a string, a float or a boolean (the request is validated leniently)."""
Boolean = Annotated[bool, BeforeValidator(_boolean)]


def _valid_amount(value: str) -> str:
    try:
        return str(Money.parse("amount", value))
    except InvalidAmount as error:
        raise ValueError(error.message) from None


def _valid_amount_or_zero(value: str) -> str:
    return "0.00" if _ZERO.fullmatch(value) else _valid_amount(value)


def _iso_date(value: object) -> date:
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            pass
        else:
            if EARLIEST <= day <= LATEST:
                return day
            raise ValueError(f"must lie between {EARLIEST.isoformat()} and {LATEST.isoformat()}")
    raise ValueError("must be a date written YYYY-MM-DD")


Amount = Annotated[
    str,
    StringConstraints(pattern=AMOUNT_PATTERN, max_length=12),
    Field(
        description="EUR, a decimal string with at most two decimals, more than 0.00 and at "
        "most 100000000.00",
        examples=["1234.56"],
    ),
    AfterValidator(_valid_amount),
]
AmountOrZero = Annotated[
    str,
    StringConstraints(pattern=AMOUNT_PATTERN, max_length=12),
    Field(
        description="EUR, a decimal string with at most two decimals, from 0.00 to 100000000.00",
        examples=["0.00"],
    ),
    AfterValidator(_valid_amount_or_zero),
]
MoneyText = Annotated[
    str,
    Field(description="EUR, a decimal string (negative for a debit balance)", examples=["-12.50"]),
]
Day = Annotated[date, BeforeValidator(_iso_date), Field(description="A date, YYYY-MM-DD")]
Version = Annotated[
    Whole,
    Field(
        ge=1,
        le=MAX_VERSION,
        description="The record's version this change was decided on (see the version in "
        "its GET response or in the last command's response); 409 when it has moved on",
    ),
]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=patterns.ONE_LINE)]
Reference = Annotated[
    str, StringConstraints(min_length=1, max_length=200, pattern=patterns.ONE_LINE)
]
Reason = Annotated[
    str, StringConstraints(min_length=1, max_length=2000, pattern=patterns.MULTI_LINE)
]
Text = Annotated[str, StringConstraints(max_length=2000, pattern=patterns.MULTI_LINE)]
IbanText = Annotated[
    str,
    StringConstraints(min_length=5, max_length=42, pattern=patterns.ONE_LINE),
    Field(description="An IBAN", examples=["NL91ABNA0417164300"]),
]
Sha256 = Annotated[
    str,
    StringConstraints(pattern=patterns.SHA256),
    Field(description="SHA-256, 64 hex digits"),
]

LegalFormName = Literal["stichting", "vereniging"]
MemberRoleName = Literal["chair", "secretary", "treasurer", "board_member", "core_group"]
CriterionName = Literal[
    "capacity_to_act",
    "involves_many_residents",
    "works_with_vulnerable",
    "builds_capability",
    "connects_and_open",
    "broad_diverse_support",
    "transparent_and_findable",
    "informs_neighbourhood",
    "advances_council_programme",
    "mobilises_outside_money",
]
OutcomeName = Literal["met", "not_met"]
PaymentMethodName = Literal["bank", "cash", "card"]
DirectionName = Literal["in", "out"]
BankLineKindName = Literal[
    "transfer", "cash_withdrawal", "card_payment", "direct_debit", "bank_fee", "deposit"
]


class Command(BaseModel):
    """A command body: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


class Reply(BaseModel):
    """A response body."""


def money(cents: int) -> str:
    return str(Money(int(cents)))


def cents(amount: str) -> Money:
    """An amount the contract already checked (``Amount`` or ``AmountOrZero``) as Money."""
    units, _, fraction = amount.partition(".")
    return Money(int(units) * 100 + int(fraction.ljust(2, "0")))
