"""Bank statements of a platform's account.

Statement lines are facts from the bank, the ground truth of what left the account.
They are always recorded, even when they break policy: the breach is what an auditor
must see. Only malformed data is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.base import Fact, Ledgered, actor_of, business_date
from domain.errors import InvalidValue
from domain.money import Money
from domain.values import (
    MAX_TEXT,
    BankLineKind,
    Direction,
    iban,
    optional_iban,
    optional_text,
    parse_enum,
    stable_id,
    text,
)


@dataclass(frozen=True)
class BankLineInfo:
    line_no: int
    direction: Direction
    amount: Money
    matches: str | None


class BankStatement(Ledgered):
    TOPIC = "buurtkas.bank.BankStatement"

    class Event(Fact):
        TOPIC = "buurtkas.bank.Event"

    class Opened(Event, Aggregate.Created):
        TOPIC = "buurtkas.bank.Opened"
        platform_id: UUID
        statement_ref: str
        account_iban: str

    class LineRecorded(Event):
        TOPIC = "buurtkas.bank.LineRecorded"
        platform_id: UUID
        line_no: int
        direction: Direction
        kind: BankLineKind
        amount: Money
        counterparty_name: str
        counterparty_iban: str | None
        description: str
        matches: str | None

        def apply(self, aggregate: BankStatement) -> None:
            aggregate.line_numbers.add(self.line_no)
            aggregate.lines[self.originator_version] = BankLineInfo(
                self.line_no, self.direction, self.amount, self.matches
            )
            aggregate._mark_reversible(self.originator_version, "line", self.amount)

    class EntryReversed(Event):
        TOPIC = "buurtkas.bank.EntryReversed"
        reverses_version: int
        reason: str

        def apply(self, aggregate: BankStatement) -> None:
            aggregate._apply_reversal(self.reverses_version)
            aggregate.line_numbers.discard(aggregate.lines[self.reverses_version].line_no)

    Created = Opened

    def __init__(self, platform_id: UUID, statement_ref: str, account_iban: str) -> None:
        self._init_reversible()
        self.platform_id = platform_id
        self.statement_ref = statement_ref
        self.account_iban = account_iban
        self.line_numbers: set[int] = set()
        self.lines: dict[int, BankLineInfo] = {}

    @staticmethod
    def id_for(platform_id: UUID, statement_ref: str) -> UUID:
        return stable_id("statement", str(platform_id), statement_ref)

    @classmethod
    def open(
        cls,
        *,
        platform_id: UUID,
        statement_ref: str,
        account_iban: str,
        occurred_on: date,
        actor: str,
    ) -> BankStatement:
        statement_ref = text("statement_ref", statement_ref)
        return cls._create(
            cls.Opened,
            id=cls.id_for(platform_id, statement_ref),
            platform_id=platform_id,
            statement_ref=statement_ref,
            account_iban=iban("account_iban", account_iban),
            occurred_on=business_date("occurred_on", occurred_on),
            actor=actor_of(actor),
        )

    def record_line(
        self,
        *,
        line_no: int,
        direction: Direction,
        kind: BankLineKind,
        amount: Money,
        counterparty_name: str,
        occurred_on: date,
        actor: str,
        counterparty_iban: str | None = None,
        description: str = "",
        matches: str | None = None,
    ) -> None:
        """Record one line as the bank reported it. Policy breaches are not refused."""
        if not isinstance(line_no, int) or isinstance(line_no, bool) or line_no < 1:
            raise InvalidValue("line_no", "must be a positive whole number")
        direction = parse_enum(Direction, "direction", direction)
        kind = parse_enum(BankLineKind, "kind", kind)
        if line_no in self.line_numbers:
            raise InvalidValue("line_no", f"line {line_no} of {self.statement_ref} is recorded")
        if kind is BankLineKind.DEPOSIT and direction is not Direction.IN:
            raise InvalidValue("direction", "a deposit comes in")
        if kind in (BankLineKind.CASH_WITHDRAWAL, BankLineKind.BANK_FEE) and (
            direction is not Direction.OUT
        ):
            raise InvalidValue("direction", f"a {kind.value} goes out")
        self.trigger_event(
            self.LineRecorded,
            platform_id=self.platform_id,
            line_no=line_no,
            direction=direction,
            kind=kind,
            amount=amount.require_positive("amount"),
            counterparty_name=text("counterparty_name", counterparty_name),
            counterparty_iban=optional_iban("counterparty_iban", counterparty_iban),
            description=text("description", description, max_length=MAX_TEXT, required=False),
            matches=optional_text("matches", matches),
            occurred_on=business_date("occurred_on", occurred_on),
            actor=actor_of(actor),
        )
