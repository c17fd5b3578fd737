"""Transfers of money between two platforms' accounts.

A transfer is a decision an official records, not a fact from the bank: it is refused
when it breaks a rule. District money moves only between platforms the council
recognises, on the transfer's business date and now: a suspended platform counts as not
recognised, like a revoked one (see ``Platform.require_in_good_standing``).

The paying platform's funds are not checked, and cannot be consistently with the
aggregates as they are. Its funds (bank plus cash on hand, ``postings.platform_funds``)
are the sum of money events held by other aggregates: its grants' ``TranchePaid`` and
``RefundReceived``, its expenses' ``Paid``, its statements' unmatched lines, transfers
in and out, and their reversals. Their ids cannot be derived from the platform (grants
are listed only by the district's budgets, expense ids are the caller's, statements and
transfers are keyed by free references), the ``Platform`` records none of them, and only
the ``platform_index`` read model lists them, eventually. Folding them at command time
means a scan of the whole store per transfer, and even then two concurrent transfers
from one platform would both pass, since neither writes to anything the other reads. A
correct check needs a per-platform account aggregate that every money command (tranche
payment, refund, expense payment, bank lines, transfer, correction) changes in its own
save: new stored events, an opening balance for existing stores, and more events per
command in the demo, the synthetic history and every HTTP response.
"""

from __future__ import annotations

from datetime import date
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.base import Fact, Ledgered, actor_of, business_date
from domain.errors import InvalidValue
from domain.money import Money
from domain.platform import Platform
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
        from_platform: Platform,
        to_platform: Platform,
        amount: Money,
        occurred_on: date,
        actor: str,
        description: str = "",
    ) -> PlatformTransfer:
        """Move ``amount`` from one recognised platform's account to another's."""
        if from_platform.id == to_platform.id:
            raise InvalidValue("to_platform_id", "a transfer needs two different platforms")
        reference = text("reference", reference)
        amount = amount.require_positive("amount")
        description = text("description", description, max_length=MAX_TEXT, required=False)
        occurred_on = business_date("occurred_on", occurred_on)
        actor = actor_of(actor)
        from_platform.require_in_good_standing(
            "from_platform_id",
            occurred_on,
            dated="transfer",
            rule="money is transferred only from a recognised platform",
        )
        to_platform.require_in_good_standing(
            "to_platform_id",
            occurred_on,
            dated="transfer",
            rule="money is transferred only to a recognised platform",
        )
        return cls._create(
            cls.Made,
            id=cls.id_for(reference),
            reference=reference,
            from_platform_id=from_platform.id,
            to_platform_id=to_platform.id,
            amount=amount,
            description=description,
            occurred_on=occurred_on,
            actor=actor,
        )
