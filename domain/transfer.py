"""Transfers of money between two platforms' accounts."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.base import Fact, Ledgered, actor_of, business_date
from domain.errors import InvalidValue
from domain.money import Money
from domain.values import MAX_TEXT, stable_id, text


class PlatformTransfer(Ledgered):
    TOPIC = "buurtkas.transfer.PlatformTransfer"

    class Event(Fact):
        TOPIC = "buurtkas.transfer.Event"

    class Made(Event, Aggregate.Created):
        TOPIC = "buurtkas.transfer.Made"
        reference: str
        from_platform_id: UUID
        to_platform_id: UUID
        amount: Money
        description: str

        def apply(self, aggregate: PlatformTransfer) -> None:
            aggregate._mark_reversible(self.originator_version, "transfer", self.amount)

    class EntryReversed(Event):
        TOPIC = "buurtkas.transfer.EntryReversed"
        reverses_version: int
        reason: str

        def apply(self, aggregate: PlatformTransfer) -> None:
            aggregate._apply_reversal(self.reverses_version)

    Created = Made

    def __init__(
        self, reference: str, from_platform_id: UUID, to_platform_id: UUID, amount: Money
    ) -> None:
        self._init_reversible()
        self.reference = reference
        self.from_platform_id = from_platform_id
        self.to_platform_id = to_platform_id
        self.amount = amount

    @staticmethod
    def id_for(reference: str) -> UUID:
        return stable_id("transfer", reference)

    @classmethod
    def make(
        cls,
        *,
        reference: str,
        from_platform_id: UUID,
        to_platform_id: UUID,
        amount: Money,
        occurred_on: date,
        actor: str,
        description: str = "",
    ) -> PlatformTransfer:
        if from_platform_id == to_platform_id:
            raise InvalidValue("to_platform_id", "a transfer needs two different platforms")
        reference = text("reference", reference)
        return cls._create(
            cls.Made,
            id=cls.id_for(reference),
            reference=reference,
            from_platform_id=from_platform_id,
            to_platform_id=to_platform_id,
            amount=amount.require_positive("amount"),
            description=text("description", description, max_length=MAX_TEXT, required=False),
            occurred_on=business_date("occurred_on", occurred_on),
            actor=actor_of(actor),
        )
