"""A deterministic synthetic city-wide history of exactly N events, for scale tests.

The same ``events`` and ``seed`` give the same events (ids, amounts, business dates);
only the recorded times differ. Platform number 0 is busy: it takes about one event in
a hundred, so that replaying one platform inside a large store can be measured. Each
platform lives through grants (award, a request before each tranche, its payment, a
spending report on the previous tranche), expenses through their steps, bank lines,
transfers and membership changes.
Events are saved in batches of at most ``batch_size`` (500 by default): on PostgreSQL
one very large save stalls inside psycopg's pipeline mode.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.bank import BankStatement
from domain.budget import DistrictBudget
from domain.expense import Expense
from domain.grant import Grant, TrancheSpec
from domain.matching import BankMatch
from domain.money import Money
from domain.platform import Platform
from domain.transfer import PlatformTransfer
from domain.values import BankLineKind, Direction, LegalForm, PaymentMethod, Role
from service.application import Buurtkas
from service.fixtures import assessment, dutch_iban

DISTRICTS = ("Centrum", "Nieuw-West", "Noord", "Oost", "West", "Zuid", "Zuidoost")
CATEGORIES = ("activiteiten", "communicatie", "huur", "materialen", "vrijwilligers", "uitvoering")
MIN_EVENTS = 20
START = date(2019, 1, 1)
SPAN_DAYS = 365 * 6
GRANT_CENTS = 250_000_00
TRANCHES = 5
ACTOR = "generator"
BUSY_SHARE = 0.01


class GenerateError(ValueError):
    pass


@dataclass
class SyntheticPlatform:
    index: int
    platform: Platform
    budget: DistrictBudget
    treasurer: str
    approver: str
    grant: Grant | None = None
    grants: int = 0
    funds_cents: int = 0
    statement: BankStatement | None = None
    statement_month: str = ""
    payees: list[tuple[str, str]] = field(default_factory=list)


class Generator:
    def __init__(self, app: Buurtkas, events: int, seed: int, batch_size: int = 500) -> None:
        if events < MIN_EVENTS:
            raise GenerateError(f"events: must be at least {MIN_EVENTS}")
        if not 1 <= batch_size <= 500:
            raise GenerateError("batch_size: must be between 1 and 500")
        self.app = app
        self.target = events
        self.seed = seed
        self.rng = random.Random(seed)  # noqa: S311 - reproducible test data, not security
        self.batch_size = batch_size
        self.pending: dict[UUID, Aggregate] = {}
        self.counted: dict[UUID, int] = {}
        self.pending_count = 0
        self.emitted = 0
        self.budgets: dict[tuple[str, int], DistrictBudget] = {}
        self.expense_no = 0
        self.platform_count = max(1, min(500, events // 2000))
        self.platforms: list[SyntheticPlatform] = []

    def platform_name(self, index: int) -> str:
        return f"Synthetisch platform s{self.seed}-{index:04d}"

    # Bookkeeping ------------------------------------------------------------------

    def today(self) -> date:
        return START + timedelta(days=SPAN_DAYS * self.emitted // self.target)

    def track(self, aggregate: Aggregate) -> None:
        """Count the aggregate's new pending events; save a batch when it is full."""
        self.pending[aggregate.id] = aggregate
        added = len(aggregate.pending_events)
        already = self.counted.get(aggregate.id, 0)
        self.emitted += added - already
        self.pending_count += added - already
        self.counted[aggregate.id] = added
        if self.pending_count >= self.batch_size - 5:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.app.save(*self.pending.values())
            self.pending.clear()
            self.counted.clear()
            self.pending_count = 0

    def remaining(self) -> int:
        return self.target - self.emitted

    # Set-up -------------------------------------------------------------------------

    def budget_for(self, district: str, year: int) -> DistrictBudget:
        key = (district, year)
        if key not in self.budgets:
            budget = DistrictBudget.allocate(
                district=district,
                year=year,
                amount=Money(50_000_000_00),
                occurred_on=date(year, 1, 2),
                actor=ACTOR,
            )
            self.budgets[key] = budget
            self.track(budget)
        return self.budgets[key]

    def setup_platform(self, index: int) -> SyntheticPlatform:
        district = f"{DISTRICTS[index % len(DISTRICTS)]} (synthetisch {self.seed})"
        day = self.today()
        platform = Platform.register(
            name=self.platform_name(index),
            neighbourhood=f"Buurt {index:04d}",
            district=district,
            legal_form=LegalForm.STICHTING,
            kvk=f"9{index:07d}",
            account_iban=dutch_iban(7_000_000 + index),
            occurred_on=day,
            actor=ACTOR,
        )
        people = [
            (f"Voorzitter {index}", Role.CHAIR),
            (f"Penningmeester {index}", Role.TREASURER),
            (f"Secretaris {index}", Role.SECRETARY),
        ]
        for n, (person, role) in enumerate(people):
            platform.join(
                person=person,
                role=role,
                occurred_on=day,
                actor=ACTOR,
                iban=dutch_iban(8_000_000 + index * 10 + n),
            )
        platform.apply_for_recognition(application_ref=f"A-{index}", occurred_on=day, actor=ACTOR)
        platform.decide_recognition(
            granted=True,
            assessment=assessment(),
            decision_ref=f"SDC-{index}",
            effective_on=day,
            reason="Voldoet aan de criteria",
            occurred_on=day,
            actor=ACTOR,
        )
        self.track(platform)
        synthetic = SyntheticPlatform(
            index=index,
            platform=platform,
            budget=self.budget_for(district, day.year),
            treasurer=people[1][0],
            approver=people[0][0],
            payees=[
                (f"Leverancier {index}-{k}", dutch_iban(9_000_000 + index * 100 + k))
                for k in range(12)
            ],
        )
        return synthetic

    # Activities ---------------------------------------------------------------------

    def award(self, sp: SyntheticPlatform) -> None:
        day = self.today()
        sp.budget = self.budget_for(sp.platform.district, day.year)
        sp.grants += 1
        end = day + timedelta(days=730)
        part = GRANT_CENTS // TRANCHES
        sp.grant = Grant.award(
            budget=sp.budget,
            platform=sp.platform,
            reference=f"SYN-s{self.seed}-{sp.index}-{sp.grants}",
            amount=Money(GRANT_CENTS),
            period_start=day,
            period_end=end,
            purpose="Buurtplannen",
            tranches=[
                TrancheSpec(n, day + timedelta(days=120 * (n - 1)), Money(part))
                for n in range(1, TRANCHES + 1)
            ],
            decision_ref=f"BESCHIKKING-SYN-s{self.seed}-{sp.index}-{sp.grants}",
            reason="Verleend",
            occurred_on=day,
            actor=ACTOR,
        )
        self.track(sp.budget)
        self.track(sp.grant)

    def pay_tranche(self, sp: SyntheticPlatform) -> bool:
        grant = sp.grant
        if grant is None:
            return False
        unpaid = [t for t in grant.tranches if t.number not in grant.paid]
        if not unpaid:
            return False
        tranche = unpaid[0]
        day = self.today()
        # The platform accounts for the tranche before (its spending report) and asks for
        # the next one; the district then pays it.
        last = max(grant.paid, default=None)
        if last is not None and last not in grant.reported:
            paid = next(t.amount.cents for t in grant.tranches if t.number == last)
            spent = min(paid, max(0, paid - max(0, sp.funds_cents)))
            grant.submit_report(
                tranche=last,
                spent=Money(spent),
                summary=f"Besteding tranche {last}",
                occurred_on=day,
                actor=sp.treasurer,
            )
        if tranche.number not in grant.requested:
            grant.request_tranche(number=tranche.number, occurred_on=day, actor=sp.treasurer)
        grant.pay_tranche(
            platform=sp.platform,
            number=tranche.number,
            amount=tranche.amount,
            occurred_on=day,
            actor=ACTOR,
        )
        sp.funds_cents += tranche.amount.cents
        self.track(grant)
        return True

    def statement(self, sp: SyntheticPlatform, *, roll_over: bool = True) -> BankStatement:
        day = self.today()
        month = f"{day.year}-{day.month:02d}"
        if sp.statement is None or (roll_over and sp.statement_month != month):
            sp.statement = BankStatement.open(
                platform_id=sp.platform.id,
                statement_ref=month,
                account_iban=sp.platform.iban,
                occurred_on=day,
                actor=ACTOR,
            )
            sp.statement_month = month
            self.track(sp.statement)
        return sp.statement

    def bank_line(
        self,
        sp: SyntheticPlatform,
        amount: Money,
        payee: tuple[str, str],
        matches: str | None,
        kind: BankLineKind = BankLineKind.TRANSFER,
        roll_over: bool = True,
        record: Aggregate | None = None,
    ) -> None:
        statement = self.statement(sp, roll_over=roll_over)
        statement.record_line(
            line_no=len(statement.line_numbers) + 1,
            direction=Direction.OUT,
            kind=kind,
            amount=amount,
            counterparty_name=payee[0],
            counterparty_iban=payee[1] if kind is BankLineKind.TRANSFER else None,
            matches=matches,
            occurred_on=self.today(),
            actor=ACTOR,
        )
        sp.funds_cents -= amount.cents
        self.track(statement)
        if record is not None:
            self.track(
                BankMatch.confirm_line(
                    statement=statement,
                    line_version=statement.version,
                    record=record,
                    existing=None,
                    occurred_on=self.today(),
                    actor=ACTOR,
                )
            )

    def expense(self, sp: SyntheticPlatform, variant: str = "paid") -> None:
        """An expense: ``paid`` (and confirmed by the bank), ``rejected``, ``late_receipt``
        (the receipt attached afterwards) or ``corrected`` (a payment recorded in error
        and reversed before the bank saw it)."""
        self.expense_no += 1
        payee = self.rng.choice(sp.payees)
        cents = self.rng.choice(
            (self.rng.randint(2_000, 60_000), self.rng.randint(60_000, 400_000))
        )
        day = self.today()
        expense = Expense.submit(
            expense_id=UUID(int=self.rng.getrandbits(128), version=4),
            platform_id=sp.platform.id,
            grant_id=charged_to(sp.grant, day),
            payee_name=payee[0],
            payee_iban=payee[1],
            amount=Money(cents),
            category=self.rng.choice(CATEGORIES),
            description=f"Uitgave {self.expense_no}",
            invoice_number=f"INV-{self.expense_no}",
            receipt_sha256=None if variant == "late_receipt" else f"{self.expense_no:064x}",
            payment_method=PaymentMethod.BANK,
            occurred_on=day,
            actor=sp.treasurer,
        )
        if variant == "rejected":
            expense.reject(reason="Geen factuur", occurred_on=day, actor=sp.approver)
            self.track(expense)
            return
        if variant == "late_receipt":
            expense.attach_receipt(
                receipt_sha256=f"{self.expense_no:064x}", occurred_on=day, actor=sp.treasurer
            )
        expense.approve(occurred_on=day, actor=sp.approver)
        expense.pay(occurred_on=day, actor=sp.treasurer)
        if variant == "corrected":
            expense.reverse(
                reverses_version=expense.version,
                reason="Dubbel geboekt",
                occurred_on=day,
                actor=sp.treasurer,
            )
            self.track(expense)
            return
        self.track(expense)
        self.bank_line(sp, Money(cents), payee, matches=f"expense:{expense.id}", record=expense)

    def transfer(self, sp: SyntheticPlatform) -> None:
        """A transfer to another platform; one in four is reversed as a mistake."""
        others = [p for p in self.platforms if p is not sp]
        if not others:
            self.expense(sp)
            return
        target = self.rng.choice(others)
        self.expense_no += 1
        transfer = PlatformTransfer.make(
            reference=f"SYN-s{self.seed}-T{self.expense_no}",
            from_platform=sp.platform,
            to_platform=target.platform,
            amount=Money(self.rng.randint(10_000, 200_000)),
            occurred_on=self.today(),
            actor=ACTOR,
        )
        if self.rng.random() < 0.25:
            transfer.reverse(
                reverses_version=1,
                reason="Verkeerd platform",
                occurred_on=self.today(),
                actor=ACTOR,
            )
        else:
            sp.funds_cents -= transfer.amount.cents
            target.funds_cents += transfer.amount.cents
        self.track(transfer)

    def member_change(self, sp: SyntheticPlatform) -> None:
        """A core-group member leaves and another joins."""
        self.expense_no += 1
        sp.platform.join(
            person=f"Kerngroeplid {self.expense_no}",
            role=Role.CORE_GROUP,
            occurred_on=self.today(),
            actor=ACTOR,
        )
        sp.platform.leave(
            person=f"Kerngroeplid {self.expense_no}",
            role=Role.CORE_GROUP,
            occurred_on=self.today(),
            actor=ACTOR,
        )
        self.track(sp.platform)

    def pick(self) -> SyntheticPlatform:
        if self.rng.random() < BUSY_SHARE or len(self.platforms) == 1:
            return self.platforms[0]
        return self.platforms[self.rng.randrange(1, len(self.platforms))]

    def step(self, sp: SyntheticPlatform) -> None:
        if self.remaining() < 10:  # one step adds at most 9 events; finish with single lines
            self.bank_line(
                self.platforms[0],
                Money(self.rng.randint(100, 5_000)),
                ("Bank", ""),
                None,
                kind=BankLineKind.BANK_FEE,
                roll_over=False,
            )
            return
        if sp.grant is None or (
            all(t.number in sp.grant.paid for t in sp.grant.tranches) and sp.funds_cents < 0
        ):
            self.award(sp)
        elif sp.funds_cents < 20_000_00 and self.pay_tranche(sp):
            return
        roll = self.rng.random()
        if roll < 0.03:
            self.bank_line(
                sp, Money(self.rng.randint(100, 30_000)), self.rng.choice(sp.payees), None
            )
        elif roll < 0.04:
            self.expense(sp, "rejected")
        elif roll < 0.05:
            self.expense(sp, "late_receipt")
        elif roll < 0.055:
            self.expense(sp, "corrected")
        elif roll < 0.06:
            self.transfer(sp)
        elif roll < 0.062:
            self.member_change(sp)
        else:
            self.expense(sp)

    def run(self, progress: Callable[[int], None] | None = None) -> int:
        if self.app.exists(Platform.id_for(self.platform_name(0))):
            raise GenerateError(
                f"seed: a synthetic history with seed {self.seed} is already in this store; "
                "use another seed"
            )
        for index in range(self.platform_count):
            if index > 0 and self.remaining() < 30:
                break
            self.platforms.append(self.setup_platform(index))
        self.statement(self.platforms[0])
        while self.remaining() > 0:
            self.step(self.pick())
            if progress is not None and self.pending_count == 0:
                progress(self.emitted)
        self.flush()
        return self.emitted


def generate(
    app: Buurtkas,
    events: int,
    seed: int,
    batch_size: int = 500,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Append a synthetic history of exactly ``events`` events; return how many were stored."""
    return Generator(app, events, seed, batch_size).run(progress)


def charged_to(grant: Grant | None, day: date) -> UUID | None:
    """The grant an expense of ``day`` is charged to: the platform's, inside its period
    (as ``submit_expense`` requires); else none."""
    if grant is None or not grant.period_start <= day <= grant.period_end:
        return None
    return grant.id
