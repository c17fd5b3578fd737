"""Transcodings for the value types stored in events: date, enums, money and records.

Names are stable: they are written into stored events and must never change.
"""

from __future__ import annotations

from datetime import date
from enum import Enum
from typing import Any, cast

from eventsourcing.persistence import JSONTranscoder, Transcoding

from domain.grant import TrancheSpec
from domain.money import Money
from domain.platform import CriterionAssessment
from domain.values import (
    BankLineKind,
    Criterion,
    Direction,
    LegalForm,
    Outcome,
    PaymentMethod,
    Role,
)


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class MoneyAsCents(Transcoding):
    type = Money
    name = "eur_cents"

    def encode(self, obj: Money) -> int:
        return obj.cents

    def decode(self, data: int) -> Money:
        return Money(data)


class EnumAsValue(Transcoding):
    def __init__(self, enum: type[Enum], name: str) -> None:
        self.type = enum
        self.name = name

    def encode(self, obj: Enum) -> Any:
        return obj.value

    def decode(self, data: Any) -> Enum:
        return cast(Enum, self.type(data))


class TrancheSpecAsDict(Transcoding):
    type = TrancheSpec
    name = "tranche_spec"

    def encode(self, obj: TrancheSpec) -> dict[str, Any]:
        return {"number": obj.number, "due_on": obj.due_on, "amount": obj.amount}

    def decode(self, data: dict[str, Any]) -> TrancheSpec:
        return TrancheSpec(**data)


class CriterionAssessmentAsDict(Transcoding):
    type = CriterionAssessment
    name = "criterion_assessment"

    def encode(self, obj: CriterionAssessment) -> dict[str, Any]:
        return {"criterion": obj.criterion, "outcome": obj.outcome, "note": obj.note}

    def decode(self, data: dict[str, Any]) -> CriterionAssessment:
        return CriterionAssessment(**data)


ENUMS: dict[str, type[Enum]] = {
    "legal_form": LegalForm,
    "role": Role,
    "criterion": Criterion,
    "outcome": Outcome,
    "payment_method": PaymentMethod,
    "direction": Direction,
    "bank_line_kind": BankLineKind,
}


def register_transcodings(transcoder: JSONTranscoder) -> None:
    """Register every buurtkas value type with the library's JSON transcoder."""
    transcoder.register(DateAsISO())
    transcoder.register(MoneyAsCents())
    transcoder.register(TrancheSpecAsDict())
    transcoder.register(CriterionAssessmentAsDict())
    for name, enum in ENUMS.items():
        transcoder.register(EnumAsValue(enum, name))
