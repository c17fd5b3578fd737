"""The application service: one method per command, one aggregate method, one save.

Commands that change several aggregates together (a grant award commits the district
budget) save them in one ``save(a, b)``, atomically.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from typing import Any, TypeVar, cast
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, JSONTranscoder, Notification

from domain.bank import BankStatement
from domain.budget import DistrictBudget
from domain.codec import register_transcodings
from domain.errors import (
    AlreadyExists,
    ConcurrentUpdate,
    InvalidTransition,
    InvalidValue,
    NotFound,
)
from domain.expense import Expense, require_chargeable
from domain.grant import Grant, TrancheSpec
from domain.matching import BankMatch, confirmable, parse_reference
from domain.matching import record_id as record_id_of
from domain.money import Money
from domain.platform import CriterionAssessment, Platform
from domain.transfer import PlatformTransfer
from domain.values import BankLineKind, Direction, GrantState, LegalForm, PaymentMethod, Role

A = TypeVar("A", bound=Aggregate)

READ_BATCH = 1000


class BankLine:
    """One bank statement line as delivered by the bank."""

    __slots__ = (
        "amount",
        "counterparty_iban",
        "counterparty_name",
        "description",
        "direction",
        "kind",
        "line_no",
        "matches",
        "occurred_on",
    )

    def __init__(
        self,
        *,
        line_no: int,
        direction: Direction,
        kind: BankLineKind,
        amount: Money,
        counterparty_name: str,
        occurred_on: date,
        counterparty_iban: str | None = None,
        description: str = "",
        matches: str | None = None,
    ) -> None:
        self.line_no = line_no
        self.direction = direction
        self.kind = kind
        self.amount = amount
        self.counterparty_name = counterparty_name
        self.occurred_on = occurred_on
        self.counterparty_iban = counterparty_iban
        self.description = description
        self.matches = matches


class Buurtkas(Application[UUID]):
    """The buurtkas event store and its commands."""

    name = "buurtkas"

    def __init__(self, env: dict[str, str] | None = None) -> None:
        super().__init__(env)
        self.store_env = dict(env or {})
        """The persistence settings, for read models that share the event store's database."""

    @property
    def events_table(self) -> str:
        """The events table: ``stored_events`` on SQLite, ``buurtkas_events`` on PostgreSQL."""
        name: str = cast(Any, self.recorder).events_table_name
        return name

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_transcodings(transcoder)

    # Loading ----------------------------------------------------------------------

    def load(
        self, cls: type[A], aggregate_id: UUID, field: str, expected_version: int | None = None
    ) -> A:
        """The aggregate, refused as a concurrent update unless it is at ``expected_version``
        (when one is given): a change decided on a stale view is not applied."""
        try:
            aggregate: Aggregate = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise NotFound(field, f"no {cls.__name__} with id {aggregate_id}") from None
        if not isinstance(aggregate, cls):
            raise NotFound(field, f"{aggregate_id} is not a {cls.__name__}")
        if expected_version is not None and aggregate.version != expected_version:
            raise ConcurrentUpdate(
                "expected_version",
                f"{cls.__name__} {aggregate_id} is at version {aggregate.version}, "
                f"not {expected_version}; reload it and decide again",
            )
        return aggregate

    def exists(self, aggregate_id: UUID) -> bool:
        return bool(self.recorder.select_events(aggregate_id, limit=1))

    def _create(self, *aggregates: Aggregate, field: str) -> None:
        """Save aggregates of which the last is new; a taken key is refused naming ``field``."""
        try:
            self.save(*aggregates)
        except IntegrityError:
            if self.exists(aggregates[-1].id):
                raise AlreadyExists(field, "a record with this key already exists") from None
            raise ConcurrentUpdate("version", "changed by another command; try again") from None

    def _save(self, *aggregates: Aggregate) -> None:
        try:
            self.save(*aggregates)
        except IntegrityError:
            raise ConcurrentUpdate("version", "changed by another command; try again") from None

    # District budgets ---------------------------------------------------------------

    def allocate_budget(
        self, *, district: str, year: int, amount: Money, occurred_on: date, actor: str
    ) -> UUID:
        budget = DistrictBudget.allocate(
            district=district, year=year, amount=amount, occurred_on=occurred_on, actor=actor
        )
        self._create(budget, field="year")
        return budget.id

    # Platforms ----------------------------------------------------------------------

    def register_platform(
        self,
        *,
        name: str,
        neighbourhood: str,
        district: str,
        legal_form: LegalForm,
        kvk: str,
        account_iban: str,
        occurred_on: date,
        actor: str,
    ) -> UUID:
        platform = Platform.register(
            name=name,
            neighbourhood=neighbourhood,
            district=district,
            legal_form=legal_form,
            kvk=kvk,
            account_iban=account_iban,
            occurred_on=occurred_on,
            actor=actor,
        )
        self._create(platform, field="name")
        return platform.id

    def join_member(
        self,
        platform_id: UUID,
        *,
        person: str,
        role: Role,
        occurred_on: date,
        actor: str,
        iban: str | None = None,
        expected_version: int | None = None,
    ) -> None:
        platform = self.load(Platform, platform_id, "platform", expected_version)
        platform.join(person=person, role=role, iban=iban, occurred_on=occurred_on, actor=actor)
        self._save(platform)

    def leave_member(
        self,
        platform_id: UUID,
        *,
        person: str,
        role: Role,
        occurred_on: date,
        actor: str,
        expected_version: int | None = None,
    ) -> None:
        platform = self.load(Platform, platform_id, "platform", expected_version)
        platform.leave(person=person, role=role, occurred_on=occurred_on, actor=actor)
        self._save(platform)

    def declare_relative(
        self,
        platform_id: UUID,
        *,
        person: str,
        relative_name: str,
        occurred_on: date,
        actor: str,
        relative_iban: str | None = None,
        expected_version: int | None = None,
    ) -> None:
        platform = self.load(Platform, platform_id, "platform", expected_version)
        platform.declare_relative(
            person=person,
            relative_name=relative_name,
            relative_iban=relative_iban,
            occurred_on=occurred_on,
            actor=actor,
        )
        self._save(platform)

    def apply_for_recognition(
        self,
        platform_id: UUID,
        *,
        application_ref: str,
        occurred_on: date,
        actor: str,
        expected_version: int | None = None,
    ) -> None:
        platform = self.load(Platform, platform_id, "platform", expected_version)
        platform.apply_for_recognition(
            application_ref=application_ref, occurred_on=occurred_on, actor=actor
        )
        self._save(platform)

    def decide_recognition(
        self,
        platform_id: UUID,
        *,
        granted: bool,
        assessment: list[CriterionAssessment],
        decision_ref: str,
        effective_on: date,
        reason: str,
        occurred_on: date,
        actor: str,
        expected_version: int | None = None,
    ) -> None:
        platform = self.load(Platform, platform_id, "platform", expected_version)
        platform.decide_recognition(
            granted=granted,
            assessment=assessment,
            decision_ref=decision_ref,
            effective_on=effective_on,
            reason=reason,
            occurred_on=occurred_on,
            actor=actor,
        )
        self._save(platform)

    def suspend_recognition(
        self, platform_id: UUID, *, expected_version: int | None = None, **decision: Any
    ) -> None:
        platform = self.load(Platform, platform_id, "platform", expected_version)
        platform.suspend(**decision)
        self._save(platform)

    def lift_suspension(
        self, platform_id: UUID, *, expected_version: int | None = None, **decision: Any
    ) -> None:
        platform = self.load(Platform, platform_id, "platform", expected_version)
        platform.lift_suspension(**decision)
        self._save(platform)

    def revoke_recognition(
        self, platform_id: UUID, *, expected_version: int | None = None, **decision: Any
    ) -> None:
        platform = self.load(Platform, platform_id, "platform", expected_version)
        platform.revoke(**decision)
        self._save(platform)

    # Grants -------------------------------------------------------------------------

    def award_grant(
        self,
        *,
        budget_id: UUID,
        platform_id: UUID,
        reference: str,
        amount: Money,
        period_start: date,
        period_end: date,
        purpose: str,
        tranches: list[TrancheSpec],
        decision_ref: str,
        reason: str,
        occurred_on: date,
        actor: str,
    ) -> UUID:
        budget = self.load(DistrictBudget, budget_id, "budget_id")
        platform = self.load(Platform, platform_id, "platform_id")
        grant = Grant.award(
            budget=budget,
            platform=platform,
            reference=reference,
            amount=amount,
            period_start=period_start,
            period_end=period_end,
            purpose=purpose,
            tranches=tranches,
            decision_ref=decision_ref,
            reason=reason,
            occurred_on=occurred_on,
            actor=actor,
        )
        self._create(budget, grant, field="reference")
        return grant.id

    def amend_grant(
        self, grant_id: UUID, *, expected_version: int | None = None, **amendment: Any
    ) -> None:
        grant = self.load(Grant, grant_id, "grant", expected_version)
        budget = self.load(DistrictBudget, grant.budget_id, "budget")
        platform = self.load(Platform, grant.platform_id, "platform")
        grant.amend(budget=budget, platform=platform, **amendment)
        self._save(budget, grant)

    def pay_tranche(
        self,
        grant_id: UUID,
        *,
        number: int,
        amount: Money,
        occurred_on: date,
        actor: str,
        expected_version: int | None = None,
    ) -> None:
        grant = self.load(Grant, grant_id, "grant", expected_version)
        platform = self.load(Platform, grant.platform_id, "platform")
        grant.pay_tranche(
            platform=platform, number=number, amount=amount, occurred_on=occurred_on, actor=actor
        )
        self._save(grant)

    def request_tranche(
        self,
        grant_id: UUID,
        *,
        number: int,
        occurred_on: date,
        actor: str,
        expected_version: int | None = None,
    ) -> None:
        grant = self.load(Grant, grant_id, "grant", expected_version)
        grant.request_tranche(number=number, occurred_on=occurred_on, actor=actor)
        self._save(grant)

    def submit_report(
        self,
        grant_id: UUID,
        *,
        tranche: int,
        spent: Money,
        summary: str,
        occurred_on: date,
        actor: str,
        expected_version: int | None = None,
    ) -> None:
        grant = self.load(Grant, grant_id, "grant", expected_version)
        grant.submit_report(
            tranche=tranche, spent=spent, summary=summary, occurred_on=occurred_on, actor=actor
        )
        self._save(grant)

    def revoke_grant(
        self, grant_id: UUID, *, expected_version: int | None = None, **decision: Any
    ) -> None:
        grant = self.load(Grant, grant_id, "grant", expected_version)
        budget = self.load(DistrictBudget, grant.budget_id, "budget")
        grant.revoke(budget=budget, **decision)
        self._save(budget, grant)

    def settle_grant(
        self, grant_id: UUID, *, expected_version: int | None = None, **decision: Any
    ) -> None:
        grant = self.load(Grant, grant_id, "grant", expected_version)
        budget = self.load(DistrictBudget, grant.budget_id, "budget")
        grant.settle(budget=budget, **decision)
        self._save(budget, grant)

    def claim_recovery(
        self, grant_id: UUID, *, expected_version: int | None = None, **decision: Any
    ) -> None:
        grant = self.load(Grant, grant_id, "grant", expected_version)
        grant.claim_recovery(**decision)
        self._save(grant)

    def receive_recovery(
        self,
        grant_id: UUID,
        *,
        amount: Money,
        occurred_on: date,
        actor: str,
        expected_version: int | None = None,
    ) -> None:
        grant = self.load(Grant, grant_id, "grant", expected_version)
        grant.receive_recovery(amount=amount, occurred_on=occurred_on, actor=actor)
        self._save(grant)

    def receive_refund(
        self,
        grant_id: UUID,
        *,
        amount: Money,
        occurred_on: date,
        actor: str,
        expected_version: int | None = None,
    ) -> None:
        grant = self.load(Grant, grant_id, "grant", expected_version)
        grant.receive_refund(amount=amount, occurred_on=occurred_on, actor=actor)
        self._save(grant)

    # Expenses -----------------------------------------------------------------------

    def submit_expense(
        self,
        *,
        expense_id: UUID,
        platform_id: UUID,
        payee_name: str,
        amount: Money,
        category: str,
        description: str,
        payment_method: PaymentMethod,
        occurred_on: date,
        actor: str,
        grant_id: UUID | None = None,
        payee_iban: str | None = None,
        invoice_number: str | None = None,
        receipt_sha256: str | None = None,
    ) -> UUID:
        self.load(Platform, platform_id, "platform_id")
        if grant_id is not None:
            require_chargeable(self.load(Grant, grant_id, "grant_id"), platform_id, occurred_on)
        expense = Expense.submit(
            expense_id=expense_id,
            platform_id=platform_id,
            grant_id=grant_id,
            payee_name=payee_name,
            payee_iban=payee_iban,
            amount=amount,
            category=category,
            description=description,
            invoice_number=invoice_number,
            receipt_sha256=receipt_sha256,
            payment_method=payment_method,
            occurred_on=occurred_on,
            actor=actor,
        )
        self._create(expense, field="expense_id")
        return expense.id

    def attach_receipt(
        self,
        expense_id: UUID,
        *,
        receipt_sha256: str,
        occurred_on: date,
        actor: str,
        expected_version: int | None = None,
    ) -> None:
        expense = self.load(Expense, expense_id, "expense", expected_version)
        expense.attach_receipt(receipt_sha256=receipt_sha256, occurred_on=occurred_on, actor=actor)
        self._save(expense)

    def approve_expense(
        self,
        expense_id: UUID,
        *,
        occurred_on: date,
        actor: str,
        expected_version: int | None = None,
    ) -> None:
        expense = self.load(Expense, expense_id, "expense", expected_version)
        expense.approve(occurred_on=occurred_on, actor=actor)
        self._save(expense)

    def reject_expense(
        self,
        expense_id: UUID,
        *,
        reason: str,
        occurred_on: date,
        actor: str,
        expected_version: int | None = None,
    ) -> None:
        expense = self.load(Expense, expense_id, "expense", expected_version)
        expense.reject(reason=reason, occurred_on=occurred_on, actor=actor)
        self._save(expense)

    def pay_expense(
        self,
        expense_id: UUID,
        *,
        occurred_on: date,
        actor: str,
        expected_version: int | None = None,
    ) -> None:
        expense = self.load(Expense, expense_id, "expense", expected_version)
        expense.pay(occurred_on=occurred_on, actor=actor)
        self._save(expense)

    # Bank statements and transfers ------------------------------------------------------

    def record_bank_lines(
        self,
        *,
        platform_id: UUID,
        statement_ref: str,
        lines: Sequence[BankLine],
        occurred_on: date,
        actor: str,
        expected_version: int | None = None,
    ) -> UUID:
        """Record a batch of statement lines; the statement is opened on first use.

        A line that names the record it confirms (``matches``) is checked against that
        record and claims it, in the same save: no record is confirmed twice.
        ``expected_version`` is the statement's version (0: it must not exist yet).
        """
        platform = self.load(Platform, platform_id, "platform_id")
        statement_id = BankStatement.id_for(platform_id, statement_ref.strip())
        if self.exists(statement_id):
            statement = self.load(BankStatement, statement_id, "statement_ref", expected_version)
        elif expected_version:
            raise ConcurrentUpdate(
                "expected_version", f"statement {statement_ref.strip()} does not exist yet"
            )
        else:
            statement = BankStatement.open(
                platform_id=platform_id,
                statement_ref=statement_ref,
                account_iban=platform.iban,
                occurred_on=occurred_on,
                actor=actor,
            )
        matches: dict[UUID, BankMatch] = {}
        for line in lines:
            statement.record_line(
                line_no=line.line_no,
                direction=line.direction,
                kind=line.kind,
                amount=line.amount,
                counterparty_name=line.counterparty_name,
                counterparty_iban=line.counterparty_iban,
                description=line.description,
                matches=canonical_matches(line.matches),
                occurred_on=line.occurred_on,
                actor=actor,
            )
            if line.matches is not None:
                match = self._confirm(
                    statement, statement.version, matches, line.occurred_on, actor
                )
                matches[match.id] = match
        self._save(statement, *matches.values())
        return statement.id

    def _confirm(
        self,
        statement: BankStatement,
        line_version: int,
        batch: dict[UUID, BankMatch],
        occurred_on: date,
        actor: str,
    ) -> BankMatch:
        reference = parse_reference(statement.lines[line_version].matches or "")
        record_id = record_id_of(reference)
        if not self.exists(record_id):
            raise InvalidValue("matches", f"{reference} names no such record")
        record = self.load(Aggregate, record_id, "matches")
        match_id = BankMatch.id_for(statement.platform_id, reference)
        existing = batch.get(match_id) or self._match(match_id)
        return BankMatch.confirm_line(
            statement=statement,
            line_version=line_version,
            record=record,
            existing=existing,
            occurred_on=occurred_on,
            actor=actor,
        )

    def _line_match(self, platform_id: UUID, matches: str) -> BankMatch | None:
        """The match a stored line made: by the canonical reference, or by the text as
        written (a line stored before references were made canonical)."""
        try:
            found = self._match(BankMatch.id_for(platform_id, parse_reference(matches)))
        except InvalidValue:
            found = None
        return found or self._match(BankMatch.id_for(platform_id, matches.strip()))

    def _match(self, match_id: UUID) -> BankMatch | None:
        return self.load(BankMatch, match_id, "matches") if self.exists(match_id) else None

    def make_transfer(
        self,
        *,
        reference: str,
        from_platform_id: UUID,
        to_platform_id: UUID,
        amount: Money,
        occurred_on: date,
        actor: str,
        description: str = "",
    ) -> UUID:
        """An official's decision to move money between two recognised platforms.

        The paying platform's funds are not checked: no aggregate keeps them (see
        ``domain.transfer``)."""
        from_platform = self.load(Platform, from_platform_id, "from_platform")
        to_platform = self.load(Platform, to_platform_id, "to_platform")
        transfer = PlatformTransfer.make(
            reference=reference,
            from_platform=from_platform,
            to_platform=to_platform,
            amount=amount,
            description=description,
            occurred_on=occurred_on,
            actor=actor,
        )
        self._create(transfer, field="reference")
        return transfer.id

    # Corrections --------------------------------------------------------------------

    def reverse_entry(
        self,
        aggregate_id: UUID,
        *,
        reverses_version: int,
        reason: str,
        occurred_on: date,
        actor: str,
        expected_version: int | None = None,
    ) -> None:
        """Reverse a money event of a grant, expense, bank statement or transfer."""
        aggregate = self.load(Aggregate, aggregate_id, "aggregate_id", expected_version)
        if not isinstance(aggregate, Grant | Expense | BankStatement | PlatformTransfer):
            raise NotFound("aggregate_id", "only money records can be corrected")
        touched: list[Aggregate] = []  # changed with it, in the same save
        if isinstance(aggregate, BankStatement):
            line = aggregate.lines.get(reverses_version)
            if line is not None and line.matches is not None:
                match = self._line_match(aggregate.platform_id, line.matches)
                if match is not None:
                    match.release(reason=reason, occurred_on=occurred_on, actor=actor)
                    touched.append(match)
        else:
            for platform_id, reference in confirmable(aggregate, reverses_version):
                match = self._match(BankMatch.id_for(platform_id, reference))
                if match is not None and match.active:
                    raise InvalidTransition(
                        "reverses_version",
                        f"the bank confirmed {reference}; record the bank's correction line "
                        "or reverse that line first",
                    )
        reverse: Callable[..., None] = aggregate.reverse
        if isinstance(aggregate, Grant) and aggregate.state is GrantState.REVOKED:
            # a revoked grant's budget takes back a tranche reversed (see ``Grant.reverse``)
            budget = self.load(DistrictBudget, aggregate.budget_id, "budget_id")
            reverse = functools.partial(aggregate.reverse, budget=budget)
            touched.append(budget)
        reverse(
            reverses_version=reverses_version, reason=reason, occurred_on=occurred_on, actor=actor
        )
        self._save(aggregate, *touched)

    # Reading the store --------------------------------------------------------------

    def notifications(self, start: int = 1, stop: int | None = None) -> Iterator[Notification]:
        """Every stored event in store order, read in batches."""
        position = start
        while True:
            batch = self.recorder.select_notifications(position, READ_BATCH, stop=stop)
            yield from batch
            if len(batch) < READ_BATCH:
                return
            position = batch[-1].id + 1

    def stored_events(self, start: int = 1, stop: int | None = None) -> Iterator[tuple[int, Any]]:
        for notification in self.notifications(start, stop):
            yield notification.id, self.mapper.to_domain_event(notification)


def canonical_matches(matches: str | None) -> str | None:
    """A line's ``matches`` in the canonical spelling of the reference (blank: none)."""
    if matches is None or not matches.strip():
        return None
    return str(parse_reference(matches))
