"""Matching bank statement lines to the records they confirm.

A line whose ``matches`` names a record (``expense:<id>``, ``tranche:<grant>:<n>``,
``refund:<grant>:<version>`` or ``transfer:<reference>``) confirms a payment already
booked, so it books nothing itself. To keep that from hiding money, a match is checked
(same platform, direction and amount) and is unique: each record is confirmed by at
most one line, enforced by a ``BankMatch`` aggregate whose id derives from the record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.bank import BankStatement
from domain.base import Fact, actor_of, business_date, reason_of
from domain.errors import InvalidTransition, InvalidValue
from domain.expense import Expense
from domain.grant import Grant
from domain.money import Money
from domain.transfer import PlatformTransfer
from domain.values import Direction, ExpenseState, PaymentMethod, stable_id

KINDS = ("expense", "tranche", "refund", "transfer")


@dataclass(frozen=True)
class Reference:
    kind: str
    key: str
    detail: str = ""

    def __str__(self) -> str:
        return ":".join(p for p in (self.kind, self.key, self.detail) if p)


def parse_reference(text: str) -> Reference:
    """The reference ``text`` names, in its one canonical spelling.

    A record has one spelling, so that it has one match: an expense id in the standard
    form of a UUID (whether written in hexadecimal, in braces or as a URN), a number
    without leading zeros. Otherwise ``expense:<hex>`` and ``tranche:G1:01`` would be
    other records than ``expense:<uuid>`` and ``tranche:G1:1``, and a second line could
    confirm a record a first one already confirms, hiding the money it moved."""
    kind, _, rest = text.strip().partition(":")
    rest = rest.strip()
    if kind not in KINDS or not rest:
        raise InvalidValue(
            "matches",
            "must look like expense:<id>, tranche:<grant>:<n>, "
            "refund:<grant>:<version> or transfer:<reference>",
        )
    if kind in ("tranche", "refund"):
        key, _, detail = rest.rpartition(":")
        if not key.strip() or not (detail.isascii() and detail.isdigit()):
            raise InvalidValue("matches", f"{kind} references end in a number: {kind}:<grant>:<n>")
        return Reference(kind, key.strip(), str(int(detail)))
    if kind == "expense":
        try:
            return Reference(kind, str(UUID(rest)))
        except ValueError:
            raise InvalidValue("matches", f"{rest!r} is not an expense id") from None
    return Reference(kind, rest)


@dataclass(frozen=True)
class Expectation:
    """What a line confirming a record must show."""

    platform_id: UUID
    direction: Direction
    amount: Money

    def check(self, platform_id: UUID, direction: Direction, amount: Money, what: str) -> None:
        if platform_id != self.platform_id:
            raise InvalidValue("matches", f"{what} belongs to another platform")
        if direction is not self.direction:
            raise InvalidValue(
                "matches", f"{what} goes {self.direction.value}, the line {direction.value}"
            )
        if amount != self.amount:
            raise InvalidValue("matches", f"{what} is EUR {self.amount}, the line EUR {amount}")


def record_id(reference: Reference) -> UUID:
    """The id of the aggregate a reference names."""

    if reference.kind == "expense":
        return UUID(reference.key)  # canonical: ``parse_reference`` checked it
    if reference.kind == "transfer":
        return PlatformTransfer.id_for(reference.key)
    return Grant.id_for(reference.key)


def expectation(reference: Reference, record: Aggregate, line_platform_id: UUID) -> Expectation:
    """What a line must show to confirm ``record``; refused when it confirms nothing."""

    what = str(reference)
    if isinstance(record, Expense) and reference.kind == "expense":
        if record.state is not ExpenseState.PAID or record.payment_method is PaymentMethod.CASH:
            raise InvalidValue("matches", f"{what} is not a paid bank or card expense")
        return Expectation(record.platform_id, Direction.OUT, record.amount)
    if isinstance(record, Grant) and reference.kind == "tranche":
        paid = record.paid.get(int(reference.detail))
        if paid is None:
            raise InvalidValue("matches", f"{what} was not paid")
        return Expectation(record.platform_id, Direction.IN, paid)
    if isinstance(record, Grant) and reference.kind == "refund":
        kind, amount = record.reversible_versions().get(int(reference.detail), ("", Money(0)))
        if kind != "refund":
            raise InvalidValue("matches", f"{what} is not a refund of this grant")
        return Expectation(record.platform_id, Direction.OUT, amount)
    if isinstance(record, PlatformTransfer) and reference.kind == "transfer":
        if not record.reversible_versions():
            raise InvalidValue("matches", f"{what} was reversed")
        if line_platform_id == record.to_platform_id:
            return Expectation(record.to_platform_id, Direction.IN, record.amount)
        return Expectation(record.from_platform_id, Direction.OUT, record.amount)
    raise InvalidValue("matches", f"{what} names no such record")


class BankMatch(Aggregate):
    TOPIC = "buurtkas.match.BankMatch"

    class Event(Fact):
        TOPIC = "buurtkas.match.Event"

    class Matched(Event, Aggregate.Created):
        TOPIC = "buurtkas.match.Matched"
        platform_id: UUID
        reference: str
        statement_id: UUID
        line_version: int

    class Rematched(Event):
        TOPIC = "buurtkas.match.Rematched"
        statement_id: UUID
        line_version: int

        def apply(self, aggregate: BankMatch) -> None:
            aggregate.statement_id, aggregate.line_version = self.statement_id, self.line_version
            aggregate.active = True

    class Released(Event):
        TOPIC = "buurtkas.match.Released"
        reason: str

        def apply(self, aggregate: BankMatch) -> None:
            aggregate.active = False

    Created = Matched

    def __init__(
        self, platform_id: UUID, reference: str, statement_id: UUID, line_version: int
    ) -> None:
        self.platform_id = platform_id
        self.reference = reference
        self.statement_id = statement_id
        self.line_version = line_version
        self.active = True

    @staticmethod
    def id_for(platform_id: UUID, reference: Reference | str) -> UUID:
        """The match of a record, by its reference (a ``Reference`` is in its canonical
        spelling; a text is taken as it was written)."""
        return stable_id("bank-match", str(platform_id), str(reference))

    @classmethod
    def match(
        cls,
        *,
        existing: BankMatch | None,
        platform_id: UUID,
        reference: Reference,
        statement_id: UUID,
        line_version: int,
        occurred_on: date,
        actor: str,
    ) -> BankMatch:
        """Confirm ``reference`` by one line; refused when another line confirms it."""
        occurred_on, actor = business_date("occurred_on", occurred_on), actor_of(actor)
        if existing is None:
            return cls._create(
                cls.Matched,
                id=cls.id_for(platform_id, reference),
                platform_id=platform_id,
                reference=str(reference),
                statement_id=statement_id,
                line_version=line_version,
                occurred_on=occurred_on,
                actor=actor,
            )
        if existing.active:
            raise InvalidTransition("matches", f"{reference} is already confirmed by another line")
        existing.trigger_event(
            cls.Rematched,
            statement_id=statement_id,
            line_version=line_version,
            occurred_on=occurred_on,
            actor=actor,
        )
        return existing

    @classmethod
    def confirm_line(
        cls,
        *,
        statement: BankStatement,
        line_version: int,
        record: Aggregate,
        existing: BankMatch | None,
        occurred_on: date,
        actor: str,
    ) -> BankMatch:
        """Check that the statement's line confirms ``record``, and claim the record."""
        line = statement.lines[line_version]
        if line.matches is None:
            raise InvalidValue("matches", "the line names no record")
        reference = parse_reference(line.matches)
        expected = expectation(reference, record, statement.platform_id)
        expected.check(statement.platform_id, line.direction, line.amount, str(reference))
        return cls.match(
            existing=existing,
            platform_id=statement.platform_id,
            reference=reference,
            statement_id=statement.id,
            line_version=line_version,
            occurred_on=occurred_on,
            actor=actor,
        )

    def release(self, *, reason: str, occurred_on: date, actor: str) -> None:
        if self.active:
            self.trigger_event(
                self.Released,
                reason=reason_of(reason),
                occurred_on=business_date("occurred_on", occurred_on),
                actor=actor_of(actor),
            )


def confirmable(record: Aggregate, version: int) -> list[tuple[UUID, Reference]]:
    """The bank references under which the money event ``version`` of ``record`` is known."""
    if isinstance(record, Expense):
        return [(record.platform_id, Reference("expense", str(record.id)))]
    if isinstance(record, Grant):
        kind, _ = record.reversible_versions().get(version, ("", Money(0)))
        if kind == "tranche":
            number = record.tranche_by_version[version]
            return [(record.platform_id, Reference("tranche", record.reference, str(number)))]
        if kind == "refund":
            return [(record.platform_id, Reference("refund", record.reference, str(version)))]
        return []
    if isinstance(record, PlatformTransfer):
        reference = Reference("transfer", record.reference)
        return [(record.from_platform_id, reference), (record.to_platform_id, reference)]
    return []
