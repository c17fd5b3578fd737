"""Value types and validators used by the aggregates: identifiers, texts and enumerations."""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import Enum
from typing import TypeVar
from uuid import NAMESPACE_URL, UUID, uuid5

from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from domain.errors import InvalidIban, InvalidKvkNumber, InvalidValue

MAX_TEXT = 2000
MAX_NAME = 200
_KVK = re.compile(r"^[0-9]{8}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_ID_NAMESPACE = uuid5(NAMESPACE_URL, "urn:buurtkas")


def stable_id(kind: str, *parts: str) -> UUID:
    """Deterministic aggregate id from a natural key, so re-loading data finds the same ids."""
    return uuid5(_ID_NAMESPACE, "/".join((kind, *(p.strip().casefold() for p in parts))))


class LegalForm(Enum):
    STICHTING = "stichting"
    VERENIGING = "vereniging"


class Role(Enum):
    CHAIR = "chair"
    SECRETARY = "secretary"
    TREASURER = "treasurer"
    BOARD_MEMBER = "board_member"
    CORE_GROUP = "core_group"


BOARD_ROLES = frozenset({Role.CHAIR, Role.SECRETARY, Role.TREASURER, Role.BOARD_MEMBER})


class Criterion(Enum):
    """The recognition criteria proposed for neighbourhood platforms."""

    CAPACITY_TO_ACT = "capacity_to_act"
    INVOLVES_MANY_RESIDENTS = "involves_many_residents"
    WORKS_WITH_VULNERABLE = "works_with_vulnerable"
    BUILDS_CAPABILITY = "builds_capability"
    CONNECTS_AND_OPEN = "connects_and_open"
    BROAD_DIVERSE_SUPPORT = "broad_diverse_support"
    TRANSPARENT_AND_FINDABLE = "transparent_and_findable"
    INFORMS_NEIGHBOURHOOD = "informs_neighbourhood"
    ADVANCES_COUNCIL_PROGRAMME = "advances_council_programme"
    MOBILISES_OUTSIDE_MONEY = "mobilises_outside_money"


class Outcome(Enum):
    MET = "met"
    NOT_MET = "not_met"


class RecognitionState(Enum):
    UNRECOGNISED = "unrecognised"
    APPLIED = "applied"
    RECOGNISED = "recognised"
    REFUSED = "refused"
    SUSPENDED = "suspended"
    REVOKED = "revoked"


class GrantState(Enum):
    AWARDED = "awarded"
    REVOKED = "revoked"
    SETTLED = "settled"


class ExpenseState(Enum):
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    PAID = "paid"


class PaymentMethod(Enum):
    BANK = "bank"
    CASH = "cash"
    CARD = "card"


class Direction(Enum):
    IN = "in"
    OUT = "out"


class BankLineKind(Enum):
    TRANSFER = "transfer"
    CASH_WITHDRAWAL = "cash_withdrawal"
    CARD_PAYMENT = "card_payment"
    DIRECT_DEBIT = "direct_debit"
    BANK_FEE = "bank_fee"
    DEPOSIT = "deposit"


E = TypeVar("E", bound=Enum)


def parse_enum(enum: type[E], field: str, value: object) -> E:
    if isinstance(value, enum):
        return value
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(str(m.value) for m in enum)
        raise InvalidValue(field, f"must be one of {allowed}, got {value!r}") from None


def text(field: str, value: object, *, max_length: int = MAX_NAME, required: bool = True) -> str:
    """A trimmed single text value of bounded length."""
    if not isinstance(value, str):
        raise InvalidValue(field, "must be text")
    cleaned = value.strip()
    if required and not cleaned:
        raise InvalidValue(field, "must not be empty")
    if len(cleaned) > max_length:
        raise InvalidValue(field, f"must be at most {max_length} characters")
    return cleaned


def optional_text(field: str, value: object, *, max_length: int = MAX_NAME) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return text(field, value, max_length=max_length)


def iban(field: str, value: object) -> str:
    """A valid IBAN (country format and checksum), in compact upper-case form."""
    if not isinstance(value, str):
        raise InvalidIban(field, "must be text")
    try:
        return str(IBAN(value).compact)
    except SchwiftyException as error:
        raise InvalidIban(field, f"{value!r} is not a valid IBAN ({error})") from None


def optional_iban(field: str, value: object) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return iban(field, value)


def kvk_number(field: str, value: object) -> str:
    if not isinstance(value, str) or not _KVK.fullmatch(value.strip()):
        raise InvalidKvkNumber(field, "must be exactly 8 digits")
    return value.strip()


def sha256_hex(field: str, value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _SHA256.match(value.strip().lower()):
        raise InvalidValue(field, "must be 64 hexadecimal characters (SHA-256)")
    return value.strip().lower()


EARLIEST = date(1900, 1, 1)
LATEST = date(2199, 12, 31)
"""The dates a record may carry: wide enough for any book kept under the Civil Code, and
far enough inside Python's own range that date arithmetic on them (a window of days
before a payment, the day before a revocation) never overflows."""


def calendar_date(field: str, value: object) -> date:
    """A date (not a datetime) between ``EARLIEST`` and ``LATEST``."""
    if not isinstance(value, date) or isinstance(value, datetime):
        raise InvalidValue(field, "must be a date (YYYY-MM-DD)")
    if not EARLIEST <= value <= LATEST:
        raise InvalidValue(
            field, f"must lie between {EARLIEST.isoformat()} and {LATEST.isoformat()}"
        )
    return value


def period(start_field: str, start: date, end_field: str, end: date) -> None:
    for name, value in ((start_field, start), (end_field, end)):
        calendar_date(name, value)
    if end < start:
        raise InvalidValue(end_field, f"must not be before {start_field} ({start.isoformat()})")
