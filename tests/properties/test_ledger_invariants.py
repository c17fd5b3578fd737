"""Hypothesis: random valid command sequences keep the ledger's invariants.

The machine drives the domain aggregates directly, saves what each command changed in a
real store (SQLite and PostgreSQL), and keeps its own simple model of every platform's
money and recognition. A transfer is made exactly when both platforms are recognised.
After each step: the postings of the whole store sum to zero; no grant has paid more than
its award; every grant's schedule adds up to its award; every platform's funds in the
ledger equal the model's received minus spent; no grant got back (refunds and recoveries)
more than it paid, nor has more claimed than is still owed; every settlement of a grant
not revoked can be paid as scheduled; no grant decision or tranche is dated before its
award; an award is raised only for a recognised platform. At the end, every aggregate replayed
from the store equals the one built by the commands, and every stored event decodes to
exactly the event that was saved.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import date, timedelta
from typing import Any, TypeVar
from uuid import UUID

import pytest
from eventsourcing.domain import Aggregate
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from domain.bank import BankStatement
from domain.budget import DistrictBudget
from domain.errors import DomainError
from domain.expense import Expense
from domain.grant import Grant, TrancheSpec
from domain.matching import BankMatch
from domain.money import Money, total
from domain.platform import Platform
from domain.postings import Ledger, platform_funds
from domain.transfer import PlatformTransfer
from domain.values import (
    BankLineKind,
    Direction,
    GrantState,
    LegalForm,
    PaymentMethod,
    Role,
    stable_id,
)
from service.application import Buurtkas
from service.fixtures import assessment, dutch_iban
from service.storage import persistence_env
from tests.conftest import fresh_schema

START = date(2020, 1, 1)
ACTOR = "official"
cents = st.integers(min_value=1, max_value=5_000_000)
OFF_SCHEDULE = st.sampled_from([0, 0, 0, -1, 1])
"""How far an award or amendment is from its schedule's total: mostly not at all."""
T = TypeVar("T")


def pick(data: st.DataObject, items: list[T]) -> T:
    """Draw one of ``items`` by index (aggregates are not hashable)."""
    return items[data.draw(st.integers(min_value=0, max_value=len(items) - 1))]


@contextmanager
def fresh_store(kind: str, postgres_url: str | None) -> Iterator[Buurtkas]:
    with ExitStack() as stack:
        if kind == "sqlite":
            url = "sqlite:///:memory:"
        else:
            assert postgres_url is not None
            url = stack.enter_context(fresh_schema(postgres_url))
        app = Buurtkas(env=persistence_env(url))
        stack.callback(app.close)
        yield app


class LedgerMachine(RuleBasedStateMachine):
    """Commands on random platforms, grants, expenses, bank lines and transfers."""

    app: Buurtkas

    def __init__(self) -> None:
        super().__init__()
        self.day = START
        self.aggregates: dict[UUID, Aggregate] = {}
        self.saved_events: list[Any] = []
        self.platforms: list[Platform] = []
        self.grants: list[Grant] = []
        self.open_expenses: list[Expense] = []
        self.paid_expenses: list[Expense] = []
        self.received: dict[UUID, int] = {}
        self.spent: dict[UUID, int] = {}
        self.counter = 0
        self.confirmed: set[UUID] = set()
        self.recognised: set[UUID] = set()
        """The model of recognition: platforms recognised now (every decision takes effect
        on the day it is made, so also on any later day)."""

    # Helpers -----------------------------------------------------------------------

    def next_day(self) -> date:
        self.day += timedelta(days=1)
        return self.day

    def save(self, *aggregates: Aggregate) -> None:
        for aggregate in aggregates:
            self.aggregates[aggregate.id] = aggregate
        recordings = self.app.save(*aggregates)
        self.saved_events.extend(r.domain_event for r in recordings)

    def refused(self, command: Callable[[], object], *aggregates: Aggregate) -> bool:
        """Run a command that may be refused; a refusal must leave nothing pending."""
        before = [len(a.pending_events) for a in aggregates]
        try:
            command()
        except DomainError:
            assert [len(a.pending_events) for a in aggregates] == before
            return True
        return False

    # Rules -------------------------------------------------------------------------

    @initialize()
    def allocate(self) -> None:
        self.budget = DistrictBudget.allocate(
            district="Zuidoost",
            year=2020,
            amount=Money(100_000_000),
            occurred_on=START,
            actor=ACTOR,
        )
        self.save(self.budget)

    @rule(recognised=st.booleans())
    def register_platform(self, recognised: bool) -> None:
        n = len(self.platforms) + 1
        platform = Platform.register(
            name=f"P{n}",
            neighbourhood=f"B{n}",
            district="Zuidoost",
            legal_form=LegalForm.STICHTING,
            kvk=f"{n:08d}",
            account_iban=dutch_iban(n),
            occurred_on=self.day,
            actor=ACTOR,
        )
        platform.join(person="chair", role=Role.CHAIR, occurred_on=self.day, actor=ACTOR)
        if recognised:
            platform.apply_for_recognition(application_ref="a", occurred_on=self.day, actor=ACTOR)
            platform.decide_recognition(
                granted=True,
                assessment=assessment(),
                decision_ref="d",
                effective_on=self.day,
                reason="ok",
                occurred_on=self.day,
                actor=ACTOR,
            )
        self.platforms.append(platform)
        if recognised:
            self.recognised.add(platform.id)
        self.received[platform.id] = self.spent[platform.id] = 0
        self.save(platform)

    @precondition(lambda self: self.platforms)
    @rule(data=st.data(), parts=st.lists(cents, min_size=1, max_size=4), off=OFF_SCHEDULE)
    def award(self, data: st.DataObject, parts: list[int], off: int) -> None:
        platform = pick(data, self.platforms)
        day = self.next_day()
        grants: list[Grant] = []
        refused = self.refused(
            lambda: grants.append(
                Grant.award(
                    budget=self.budget,
                    platform=platform,
                    reference=f"G{len(self.grants) + 1}",
                    amount=Money(max(1, sum(parts) + off)),
                    period_start=day,
                    period_end=day + timedelta(days=400),
                    purpose="p",
                    tranches=[TrancheSpec(i, day, Money(c)) for i, c in enumerate(parts, 1)],
                    decision_ref="b",
                    reason="r",
                    occurred_on=day,
                    actor=ACTOR,
                )
            ),
            self.budget,
        )
        if not refused:
            self.grants.extend(grants)
            self.save(self.budget, grants[0])

    @precondition(lambda self: self.grants)
    @rule(data=st.data())
    def pay_tranche(self, data: st.DataObject) -> None:
        grant = pick(data, self.grants)
        tranche = pick(data, grant.tranches)
        platform = next(p for p in self.platforms if p.id == grant.platform_id)
        if not self.refused(
            lambda: grant.pay_tranche(
                platform=platform,
                number=tranche.number,
                amount=tranche.amount,
                occurred_on=self.next_day(),
                actor=ACTOR,
            ),
            grant,
        ):
            self.received[platform.id] += tranche.amount.cents
            self.save(grant)

    @precondition(lambda self: self.grants)
    @rule(data=st.data(), retroactive=st.booleans())
    def revoke(self, data: st.DataObject, retroactive: bool) -> None:
        grant = pick(data, self.grants)
        if not self.refused(
            lambda: grant.revoke(
                budget=self.budget,
                effective_on=grant.awarded_on if retroactive else self.day,
                retroactive=retroactive,
                decision_ref="i",
                reason="r",
                occurred_on=self.next_day(),
                actor=ACTOR,
            ),
            grant,
            self.budget,
        ):
            self.save(self.budget, grant)

    @precondition(lambda self: self.grants)
    @rule(data=st.data(), amount=cents)
    def refund(self, data: st.DataObject, amount: int) -> None:
        grant = pick(data, self.grants)
        if not self.refused(
            lambda: grant.receive_refund(
                amount=Money(amount), occurred_on=self.next_day(), actor=ACTOR
            ),
            grant,
        ):
            self.spent[grant.platform_id] += amount
            self.save(grant)

    @precondition(lambda self: self.platforms)
    @rule(data=st.data(), amount=cents, method=st.sampled_from(PaymentMethod))
    def submit_and_approve(self, data: st.DataObject, amount: int, method: PaymentMethod) -> None:
        platform = pick(data, self.platforms)
        self.counter += 1
        expense = Expense.submit(
            expense_id=stable_id("expense", str(self.counter)),
            platform_id=platform.id,
            payee_name="payee",
            amount=Money(amount),
            category="cat",
            description="",
            payment_method=method,
            occurred_on=self.next_day(),
            actor="treasurer",
        )
        expense.approve(occurred_on=self.day, actor="chair")
        self.open_expenses.append(expense)
        self.save(expense)

    @precondition(lambda self: self.open_expenses)
    @rule(data=st.data())
    def pay_expense(self, data: st.DataObject) -> None:
        expense = pick(data, self.open_expenses)
        expense.pay(occurred_on=self.next_day(), actor="treasurer")
        self.open_expenses.remove(expense)
        self.paid_expenses.append(expense)
        self.spent[expense.platform_id] += expense.amount.cents
        self.save(expense)

    @precondition(lambda self: self.paid_expenses)
    @rule(data=st.data())
    def correct_payment(self, data: st.DataObject) -> None:
        expense = pick(data, self.paid_expenses)
        if expense.id in self.confirmed:  # the bank confirmed it: the books cannot undo it
            return
        version = next(iter(expense.reversible_versions()))
        expense.reverse(
            reverses_version=version, reason="error", occurred_on=self.next_day(), actor="treasurer"
        )
        self.paid_expenses.remove(expense)
        self.open_expenses.append(expense)
        self.spent[expense.platform_id] -= expense.amount.cents
        self.save(expense)

    @precondition(lambda self: self.platforms)
    @rule(
        data=st.data(),
        amount=cents,
        kind=st.sampled_from(
            [BankLineKind.CASH_WITHDRAWAL, BankLineKind.TRANSFER, BankLineKind.DEPOSIT]
        ),
    )
    def bank_line(self, data: st.DataObject, amount: int, kind: BankLineKind) -> None:
        platform = pick(data, self.platforms)
        self.counter += 1
        statement = BankStatement.open(
            platform_id=platform.id,
            statement_ref=f"S{self.counter}",
            account_iban=platform.iban,
            occurred_on=self.day,
            actor="bank",
        )
        direction = Direction.IN if kind is BankLineKind.DEPOSIT else Direction.OUT
        statement.record_line(
            line_no=1,
            direction=direction,
            kind=kind,
            amount=Money(amount),
            counterparty_name="x",
            occurred_on=self.next_day(),
            actor="bank",
        )
        if direction is Direction.IN:
            self.received[platform.id] += amount
        elif kind is not BankLineKind.CASH_WITHDRAWAL:  # cash stays the platform's money
            self.spent[platform.id] += amount
        self.save(statement)

    @precondition(lambda self: len(self.platforms) >= 2)
    @rule(data=st.data(), amount=cents)
    def transfer(self, data: st.DataObject, amount: int) -> None:
        source = pick(data, self.platforms)
        target = pick(data, [p for p in self.platforms if p is not source])
        self.counter += 1
        made: list[PlatformTransfer] = []
        refused = self.refused(
            lambda: made.append(
                PlatformTransfer.make(
                    reference=f"T{self.counter}",
                    from_platform=source,
                    to_platform=target,
                    amount=Money(amount),
                    occurred_on=self.next_day(),
                    actor=ACTOR,
                )
            ),
            source,
            target,
        )
        recognised = {source.id, target.id} <= self.recognised
        assert refused is not recognised  # made exactly between two recognised platforms
        if not refused:
            self.spent[source.id] += amount
            self.received[target.id] += amount
            self.save(made[0])

    @precondition(lambda self: self.grants)
    @rule(data=st.data(), cut=st.integers(min_value=0, max_value=100), off=OFF_SCHEDULE)
    def amend(self, data: st.DataObject, cut: int, off: int) -> None:
        grant = pick(data, self.grants)
        paid = grant.paid_total.cents
        amount = max(paid, 1, grant.amount.cents * cut // 100)
        unpaid = [t for t in grant.tranches if t.number not in grant.paid]
        rest = amount - paid
        tranches = [t for t in grant.tranches if t.number in grant.paid]
        if rest > 0:
            number = max([t.number for t in grant.tranches]) + 1 if not unpaid else unpaid[0].number
            tranches.append(TrancheSpec(number, grant.period_start, Money(rest)))
        if not tranches:
            return
        platform = next(p for p in self.platforms if p.id == grant.platform_id)
        new_amount = Money(max(1, amount + off))
        refused = self.refused(
            lambda: grant.amend(
                budget=self.budget,
                platform=platform,
                amount=new_amount,
                period_end=grant.period_end,
                tranches=tranches,
                decision_ref="w",
                reason="r",
                occurred_on=self.next_day(),
                actor=ACTOR,
            ),
            grant,
            self.budget,
        )
        if new_amount > grant.amount and platform.id not in self.recognised:
            assert refused  # an award is raised only for a recognised platform
        if not refused:
            self.save(self.budget, grant)

    @precondition(lambda self: self.grants)
    @rule(data=st.data(), share=st.integers(min_value=0, max_value=100))
    def settle(self, data: st.DataObject, share: int) -> None:
        grant = pick(data, self.grants)
        paid = grant.paid_total
        payable = [paid]
        for t in sorted(grant.tranches):
            if t.number not in grant.paid:
                payable.append(payable[-1] + t.amount)
        amount = data.draw(
            st.sampled_from(
                [
                    Money(grant.amount.cents * share // 100),  # mostly not payable
                    Money(paid.cents * share // 100),  # at most what was paid
                    *payable[1:],  # what was paid plus whole tranches in schedule order
                ]
            )
        )
        if not self.refused(
            lambda: grant.settle(
                budget=self.budget,
                amount=amount,
                decision_ref="v",
                reason="r",
                occurred_on=self.next_day(),
                actor=ACTOR,
            ),
            grant,
            self.budget,
        ):
            self.save(self.budget, grant)

    @precondition(lambda self: self.grants)
    @rule(data=st.data(), share=st.integers(min_value=1, max_value=100))
    def claim_and_recover(self, data: st.DataObject, share: int) -> None:
        grant = pick(data, self.grants)
        amount = Money(max(1, grant.reclaimable.cents * share // 100))
        if not self.refused(
            lambda: grant.claim_recovery(
                amount=amount,
                decision_ref="t",
                reason="r",
                occurred_on=self.next_day(),
                actor=ACTOR,
            ),
            grant,
        ):
            grant.receive_recovery(amount=amount, occurred_on=self.day, actor=ACTOR)
            self.save(grant)

    @precondition(lambda self: self.grants)
    @rule(data=st.data(), share=st.integers(min_value=1, max_value=100))
    def claim(self, data: st.DataObject, share: int) -> None:
        grant = pick(data, self.grants)
        amount = Money(max(1, grant.reclaimable.cents * share // 100))
        if not self.refused(
            lambda: grant.claim_recovery(
                amount=amount,
                decision_ref="t",
                reason="r",
                occurred_on=self.next_day(),
                actor=ACTOR,
            ),
            grant,
        ):
            self.save(grant)

    @precondition(lambda self: self.grants)
    @rule(data=st.data(), amount=cents)
    def receive_recovery(self, data: st.DataObject, amount: int) -> None:
        grant = pick(data, self.grants)
        chosen = data.draw(st.sampled_from([Money(amount), grant.claimed - grant.recovered]))
        if not self.refused(
            lambda: grant.receive_recovery(amount=chosen, occurred_on=self.next_day(), actor=ACTOR),
            grant,
        ):
            self.save(grant)

    @precondition(lambda self: self.grants)
    @rule(
        data=st.data(),
        command=st.sampled_from(["tranche", "revoke", "revoke_effect", "settle", "amend"]),
    )
    def backdate_before_the_award(self, data: st.DataObject, command: str) -> None:
        grant = pick(data, self.grants)
        platform = next(p for p in self.platforms if p.id == grant.platform_id)
        before = grant.awarded_on - timedelta(days=1)
        decided = before if command != "revoke_effect" else self.next_day()
        commands: dict[str, Callable[[], object]] = {
            "tranche": lambda: grant.pay_tranche(
                platform=platform,
                number=grant.tranches[0].number,
                amount=grant.tranches[0].amount,
                occurred_on=before,
                actor=ACTOR,
            ),
            "revoke": lambda: grant.revoke(
                budget=self.budget,
                effective_on=grant.awarded_on,
                retroactive=True,
                decision_ref="i",
                reason="r",
                occurred_on=before,
                actor=ACTOR,
            ),
            "revoke_effect": lambda: grant.revoke(
                budget=self.budget,
                effective_on=before,
                retroactive=True,
                decision_ref="i",
                reason="r",
                occurred_on=decided,
                actor=ACTOR,
            ),
            "settle": lambda: grant.settle(
                budget=self.budget,
                amount=grant.paid_total,
                decision_ref="v",
                reason="r",
                occurred_on=before,
                actor=ACTOR,
            ),
            "amend": lambda: grant.amend(
                budget=self.budget,
                platform=platform,
                amount=grant.amount,
                period_end=grant.period_end,
                tranches=grant.tranches,
                decision_ref="w",
                reason="r",
                occurred_on=before,
                actor=ACTOR,
            ),
        }
        refused = self.refused(commands[command], grant, self.budget)
        assert refused  # refused for its date, or for another rule first (a revoked grant)
        assert not grant.pending_events
        assert not self.budget.pending_events

    @precondition(lambda self: self.grants)
    @rule(data=st.data())
    def reverse_grant_entry(self, data: st.DataObject) -> None:
        grant = pick(data, self.grants)
        versions = sorted(grant.reversible_versions())
        if not versions:
            return
        version = pick(data, versions)
        kind, amount = grant.reversible_versions()[version]
        if self.refused(
            lambda: grant.reverse(
                reverses_version=version,
                reason="error",
                occurred_on=self.next_day(),
                actor=ACTOR,
                budget=self.budget,
            ),
            grant,
            self.budget,
        ):
            assert kind == "tranche"  # only a tranche reversal can be refused
            return
        if kind == "tranche":
            self.received[grant.platform_id] -= amount.cents
        elif kind == "refund":
            self.spent[grant.platform_id] -= amount.cents
        self.save(grant, self.budget)

    @precondition(lambda self: self.platforms)
    @rule(data=st.data(), verb=st.sampled_from(["suspend", "lift_suspension", "revoke"]))
    def decide_recognition(self, data: st.DataObject, verb: str) -> None:
        platform = pick(data, self.platforms)
        if not self.refused(
            lambda: getattr(platform, verb)(
                decision_ref="s",
                effective_on=self.day,
                reason="r",
                occurred_on=self.next_day(),
                actor=ACTOR,
            ),
            platform,
        ):
            if verb == "lift_suspension":
                self.recognised.add(platform.id)
            else:
                self.recognised.discard(platform.id)
            self.save(platform)

    @precondition(lambda self: self.paid_expenses)
    @rule(data=st.data())
    def confirm_by_bank(self, data: st.DataObject) -> None:
        expense = pick(data, self.paid_expenses)
        if expense.payment_method is PaymentMethod.CASH or expense.id in self.confirmed:
            return
        platform = next(p for p in self.platforms if p.id == expense.platform_id)
        self.counter += 1
        statement = BankStatement.open(
            platform_id=platform.id,
            statement_ref=f"S{self.counter}",
            account_iban=platform.iban,
            occurred_on=self.day,
            actor="bank",
        )
        statement.record_line(
            line_no=1,
            direction=Direction.OUT,
            kind=BankLineKind.TRANSFER,
            amount=expense.amount,
            counterparty_name="payee",
            matches=f"expense:{expense.id}",
            occurred_on=self.next_day(),
            actor="bank",
        )
        match = BankMatch.confirm_line(
            statement=statement,
            line_version=statement.version,
            record=expense,
            existing=None,
            occurred_on=self.day,
            actor="bank",
        )
        self.confirmed.add(expense.id)
        self.save(statement, match)

    # Invariants --------------------------------------------------------------------

    def ledger(self) -> Ledger:
        ledger = Ledger()
        for _, event in self.app.stored_events():
            ledger.apply(event)
        return ledger

    @invariant()
    def postings_sum_to_zero_and_funds_match_the_model(self) -> None:
        ledger = self.ledger()
        assert ledger.total() == Money(0)
        for platform in self.platforms:
            expected = self.received[platform.id] - self.spent[platform.id]
            assert platform_funds(ledger.balances, platform.id) == Money(expected)

    @invariant()
    def tranches_never_exceed_the_award(self) -> None:
        for grant in self.grants:
            assert grant.paid_total <= grant.amount
        assert Money(0) <= self.budget.committed <= self.budget.amount

    @invariant()
    def every_schedule_adds_up_to_its_award(self) -> None:
        for grant in self.grants:
            assert total([t.amount for t in grant.tranches]) == grant.amount

    @invariant()
    def the_budget_accounts_for_every_cent(self) -> None:
        ledger = self.ledger()
        budget = f"budget:{self.budget.id}"
        allocated = -ledger.balances[f"{budget}:allocation"].cents
        available = ledger.balances[f"{budget}:available"].cents
        commitments = [
            ledger.balances.get(f"grant:{g.id}:commitment", Money(0)).cents for g in self.grants
        ]
        paid = sum(g.paid_total.cents for g in self.grants)
        assert all(c >= 0 for c in commitments)
        assert allocated == available + sum(commitments) + paid
        assert self.budget.committed.cents == sum(commitments) + paid

    @invariant()
    def a_revoked_grant_keeps_nothing_committed(self) -> None:
        ledger = self.ledger()
        for grant in self.grants:
            if grant.state is GrantState.REVOKED:
                commitment = ledger.balances.get(f"grant:{grant.id}:commitment", Money(0))
                assert commitment == Money(0)

    @invariant()
    def money_returned_never_exceeds_what_was_paid(self) -> None:
        for grant in self.grants:
            assert grant.refunded + grant.recovered <= grant.paid_total
            assert Money(0) <= grant.to_recover
            assert grant.refunded + grant.recovered + grant.to_recover <= grant.paid_total
            assert Money(0) <= grant.reclaimable

    @invariant()
    def every_settlement_of_a_grant_not_revoked_can_be_paid_as_scheduled(self) -> None:
        for grant in self.grants:
            if grant.settled is None or grant.state is GrantState.REVOKED:
                continue
            payable = [grant.paid_total]
            for t in sorted(grant.tranches):
                if t.number not in grant.paid:
                    payable.append(payable[-1] + t.amount)
            assert grant.settled <= grant.paid_total or grant.settled in payable

    @invariant()
    def no_grant_decision_or_tranche_is_dated_before_its_award(self) -> None:
        awarded: dict[UUID, date] = {}
        for event in self.saved_events:
            if isinstance(event, Grant.Awarded):
                awarded[event.originator_id] = event.occurred_on
            elif isinstance(
                event,
                Grant.TranchePaid
                | Grant.Revoked
                | Grant.Settled
                | Grant.Amended
                | Grant.RecoveryClaimed,
            ):
                assert event.occurred_on >= awarded[event.originator_id]
                if isinstance(event, Grant.Revoked):
                    assert event.effective_on >= awarded[event.originator_id]

    @invariant()
    def no_tranche_is_paid_after_its_grant_was_revoked(self) -> None:
        revoked: set[UUID] = set()
        for event in self.saved_events:
            if isinstance(event, Grant.Revoked):
                revoked.add(event.originator_id)
            elif isinstance(event, Grant.TranchePaid):
                assert event.originator_id not in revoked

    def teardown(self) -> None:
        for aggregate_id, aggregate in self.aggregates.items():
            assert self.app.repository.get(aggregate_id) == aggregate
        stored = [event for _, event in self.app.stored_events()]
        assert stored == self.saved_events


@pytest.mark.parametrize(
    ("store", "examples"),
    [("sqlite", 300), pytest.param("postgres", 30, marks=pytest.mark.postgres)],
)
def test_random_command_sequences_keep_the_ledger_invariants_and_replay_exactly(
    store: str, examples: int, request: pytest.FixtureRequest
) -> None:
    postgres_url = request.getfixturevalue("postgres_database") if store == "postgres" else None

    def machine() -> LedgerMachine:
        instance = LedgerMachine()
        context = fresh_store(store, postgres_url)
        instance.app = context.__enter__()
        original_teardown = instance.teardown

        def teardown() -> None:
            try:
                original_teardown()
            finally:
                context.__exit__(None, None, None)

        instance.teardown = teardown  # type: ignore[method-assign]
        return instance

    run_state_machine_as_test(
        machine,  # type: ignore[arg-type]  # hypothesis accepts any factory
        settings=settings(
            max_examples=examples,
            stateful_step_count=40,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
