"""District budgets: a district's money for one year, from which grants are awarded."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.base import Fact, actor_of, business_date
from domain.errors import BudgetExceeded, InvalidValue
from domain.money import Money
from domain.values import stable_id, text


class DistrictBudget(Aggregate):
    TOPIC = "buurtkas.budget.DistrictBudget"

    class Event(Fact):
        TOPIC = "buurtkas.budget.Event"

    class Allocated(Event, Aggregate.Created):
        TOPIC = "buurtkas.budget.Allocated"
        district: str
        year: int
        amount: Money

    class GrantCommitted(Event):
        TOPIC = "buurtkas.budget.GrantCommitted"
        grant_id: UUID
        amount: Money

        def apply(self, aggregate: DistrictBudget) -> None:
            aggregate.committed += self.amount
            aggregate.grant_ids.append(self.grant_id)

    class CommitmentReleased(Event):
        TOPIC = "buurtkas.budget.CommitmentReleased"
        grant_id: UUID
        amount: Money

        def apply(self, aggregate: DistrictBudget) -> None:
            aggregate.committed -= self.amount

    Created = Allocated

    def __init__(self, district: str, year: int, amount: Money) -> None:
        self.district = district
        self.year = year
        self.amount = amount
        self.committed = Money(0)
        self.grant_ids: list[UUID] = []

    @staticmethod
    def id_for(district: str, year: int) -> UUID:
        return stable_id("budget", district, str(year))

    @classmethod
    def allocate(
        cls, *, district: str, year: int, amount: Money, occurred_on: date, actor: str
    ) -> DistrictBudget:
        district = text("district", district)
        if not isinstance(year, int) or not 2000 <= year <= 2100:
            raise InvalidValue("year", "must be a year between 2000 and 2100")
        return cls._create(
            cls.Allocated,
            id=cls.id_for(district, year),
            district=district,
            year=year,
            amount=amount.require_positive("amount"),
            occurred_on=business_date("occurred_on", occurred_on),
            actor=actor_of(actor),
        )

    @property
    def unawarded(self) -> Money:
        return self.amount - self.committed

    def commit(self, *, grant_id: UUID, amount: Money, occurred_on: date, actor: str) -> None:
        """Reserve ``amount`` for a grant; refused beyond the unawarded amount."""
        amount.require_positive("amount")
        occurred_on, actor = business_date("occurred_on", occurred_on), actor_of(actor)
        if amount > self.unawarded:
            raise BudgetExceeded(
                "amount",
                f"EUR {amount} exceeds the unawarded budget of {self.district} {self.year} "
                f"(EUR {self.unawarded})",
            )
        self.trigger_event(
            self.GrantCommitted,
            grant_id=grant_id,
            amount=amount,
            occurred_on=occurred_on,
            actor=actor,
        )

    def release(self, *, grant_id: UUID, amount: Money, occurred_on: date, actor: str) -> None:
        """Return ``amount`` of a grant's commitment to the unawarded budget."""
        occurred_on, actor = business_date("occurred_on", occurred_on), actor_of(actor)
        if amount > self.committed:
            raise InvalidValue("amount", f"EUR {amount} exceeds the committed EUR {self.committed}")
        if amount.cents > 0:
            self.trigger_event(
                self.CommitmentReleased,
                grant_id=grant_id,
                amount=amount,
                occurred_on=occurred_on,
                actor=actor,
            )
