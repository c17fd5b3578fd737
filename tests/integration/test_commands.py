"""Every command of the application service, through a real store (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain.bank import BankStatement
from domain.budget import DistrictBudget
from domain.errors import (
    AlreadyExists,
    BudgetExceeded,
    DomainError,
    GrantRevoked,
    InvalidIban,
    InvalidTransition,
    InvalidValue,
    NotFound,
    PlatformNotRecognised,
    ScheduleBelowAward,
    SelfApproval,
    TrancheBeyondAward,
)
from domain.expense import Expense
from domain.grant import Grant, TrancheSpec
from domain.matching import BankMatch, parse_reference
from domain.money import Money
from domain.platform import Platform
from domain.transfer import PlatformTransfer
from domain.values import (
    BankLineKind,
    Direction,
    ExpenseState,
    GrantState,
    LegalForm,
    PaymentMethod,
    RecognitionState,
    Role,
)
from service.application import BankLine, Buurtkas
from tests.integration.givens import (
    CHAIR,
    DAY,
    OFFICIAL,
    TREASURER,
    eur,
    given_budget,
    given_grant,
    given_platform,
)


def events_of(app: Buurtkas, aggregate_id: UUID) -> list[str]:
    return [
        type(app.mapper.to_domain_event(e)).__name__
        for e in app.recorder.select_events(aggregate_id)
    ]


def submit(app: Buurtkas, platform_id: UUID, amount: str = "120.00") -> UUID:
    return app.submit_expense(
        expense_id=uuid4(),
        platform_id=platform_id,
        payee_name="Drukkerij",
        amount=eur(amount),
        category="communicatie",
        description="flyers",
        payment_method=PaymentMethod.BANK,
        occurred_on=DAY,
        actor=TREASURER,
        invoice_number="F-1",
    )


class TestCommandsThroughTheStore:
    def test_an_allocated_budget_is_stored_and_reloaded(self, app: Buurtkas) -> None:
        # given / when
        budget_id = given_budget(app, "250000.50")
        # then
        budget = app.load(DistrictBudget, budget_id, "budget")
        assert (budget.district, budget.year, budget.amount) == ("Zuidoost", 2020, eur("250000.50"))
        assert budget.unawarded == eur("250000.50")

    def test_a_registered_platform_keeps_its_members_and_recognition(self, app: Buurtkas) -> None:
        # given / when
        platform_id = given_platform(app)
        # then
        platform = app.load(Platform, platform_id, "platform")
        assert platform.holders_of(Role.CHAIR) == [CHAIR]
        assert platform.holders_of(Role.TREASURER) == [TREASURER]
        assert platform.recognition is RecognitionState.RECOGNISED
        assert len(platform.last_assessment) == 10

    def test_members_leave_and_relatives_are_declared(self, app: Buurtkas) -> None:
        # given
        platform_id = given_platform(app)
        # when
        app.declare_relative(
            platform_id,
            person=CHAIR,
            relative_name="Cas Chair",
            relative_iban="NL91ABNA0417164300",
            occurred_on=DAY,
            actor=OFFICIAL,
        )
        app.leave_member(
            platform_id, person=TREASURER, role=Role.TREASURER, occurred_on=DAY, actor=OFFICIAL
        )
        # then
        platform = app.load(Platform, platform_id, "platform")
        assert platform.members[CHAIR].relatives == {"Cas Chair": "NL91ABNA0417164300"}
        assert TREASURER in platform.former_members
        assert platform.holders_of(Role.TREASURER) == []

    def test_recognition_is_suspended_lifted_and_revoked(self, app: Buurtkas) -> None:
        # given
        platform_id = given_platform(app)
        decision: dict[str, Any] = {"reason": "r", "occurred_on": DAY, "actor": OFFICIAL}
        # when
        app.suspend_recognition(
            platform_id, decision_ref="S1", effective_on=date(2020, 2, 1), **decision
        )
        app.lift_suspension(
            platform_id, decision_ref="L1", effective_on=date(2020, 3, 1), **decision
        )
        app.revoke_recognition(
            platform_id, decision_ref="R1", effective_on=date(2020, 4, 1), **decision
        )
        # then
        platform = app.load(Platform, platform_id, "platform")
        assert platform.recognition is RecognitionState.REVOKED
        assert platform.recognition_on(date(2020, 2, 15)) is RecognitionState.SUSPENDED
        assert platform.recognition_on(date(2020, 3, 15)) is RecognitionState.RECOGNISED
        assert events_of(app, platform_id)[-3:] == [
            "RecognitionSuspended",
            "SuspensionLifted",
            "RecognitionRevoked",
        ]

    def test_an_award_commits_the_budget_in_the_same_save(self, app: Buurtkas) -> None:
        # given
        budget_id, platform_id = given_budget(app), given_platform(app)
        before = app.recorder.max_notification_id() or 0
        # when
        grant_id = given_grant(app, budget_id, platform_id, amount="100000")
        # then
        assert app.recorder.max_notification_id() == before + 2
        assert app.load(DistrictBudget, budget_id, "b").unawarded == eur("400000")
        grant = app.load(Grant, grant_id, "g")
        assert (grant.amount, grant.platform_id, grant.state) == (
            eur("100000"),
            platform_id,
            GrantState.AWARDED,
        )

    def test_an_amendment_commits_or_releases_the_difference(self, app: Buurtkas) -> None:
        # given
        budget_id, platform_id = given_budget(app), given_platform(app)
        grant_id = given_grant(app, budget_id, platform_id, amount="100000")
        # when
        app.amend_grant(
            grant_id,
            amount=eur("150000"),
            period_end=date(2021, 6, 30),
            tranches=[
                TrancheSpec(1, date(2020, 1, 10), eur("50000")),
                TrancheSpec(2, date(2021, 1, 10), eur("100000")),
            ],
            decision_ref="W1",
            reason="more plans",
            occurred_on=DAY,
            actor=OFFICIAL,
        )
        # then
        assert app.load(DistrictBudget, budget_id, "b").unawarded == eur("350000")
        assert app.load(Grant, grant_id, "g").amount == eur("150000")

    def test_a_tranche_payment_is_stored(self, app: Buurtkas) -> None:
        # given
        budget_id, platform_id = given_budget(app), given_platform(app)
        grant_id = given_grant(app, budget_id, platform_id)
        # when
        app.pay_tranche(grant_id, number=1, amount=eur("50000"), occurred_on=DAY, actor=OFFICIAL)
        # then
        assert app.load(Grant, grant_id, "g").paid == {1: eur("50000")}

    def test_a_revocation_releases_the_unpaid_commitment(self, app: Buurtkas) -> None:
        # given
        budget_id, platform_id = given_budget(app), given_platform(app)
        grant_id = given_grant(app, budget_id, platform_id)
        app.pay_tranche(grant_id, number=1, amount=eur("50000"), occurred_on=DAY, actor=OFFICIAL)
        # when
        app.revoke_grant(
            grant_id,
            effective_on=DAY,
            retroactive=True,
            decision_ref="I1",
            reason="fraud",
            occurred_on=DAY,
            actor=OFFICIAL,
        )
        # then
        assert app.load(Grant, grant_id, "g").state is GrantState.REVOKED
        assert app.load(DistrictBudget, budget_id, "b").unawarded == eur("450000")

    def test_settlement_claim_recovery_and_refund(self, app: Buurtkas) -> None:
        # given
        budget_id, platform_id = given_budget(app), given_platform(app)
        grant_id = given_grant(app, budget_id, platform_id)
        for n in (1, 2):
            app.pay_tranche(
                grant_id, number=n, amount=eur("50000"), occurred_on=DAY, actor=OFFICIAL
            )
        # when
        app.receive_refund(grant_id, amount=eur("5000"), occurred_on=DAY, actor=OFFICIAL)
        app.settle_grant(
            grant_id,
            amount=eur("80000"),
            decision_ref="V1",
            reason="lower",
            occurred_on=DAY,
            actor=OFFICIAL,
        )
        app.claim_recovery(
            grant_id,
            amount=eur("15000"),
            decision_ref="T1",
            reason="back",
            occurred_on=DAY,
            actor=OFFICIAL,
        )
        app.receive_recovery(grant_id, amount=eur("10000"), occurred_on=DAY, actor=OFFICIAL)
        # then
        grant = app.load(Grant, grant_id, "g")
        assert (grant.settled, grant.refunded, grant.claimed, grant.recovered) == (
            eur("80000"),
            eur("5000"),
            eur("15000"),
            eur("10000"),
        )
        assert grant.reclaimable == Money(0)

    def test_an_expense_goes_from_submitted_to_paid_and_back_by_correction(
        self, app: Buurtkas
    ) -> None:
        # given
        platform_id = given_platform(app)
        expense_id = submit(app, platform_id)
        # when
        app.attach_receipt(expense_id, receipt_sha256="ab" * 32, occurred_on=DAY, actor=TREASURER)
        app.approve_expense(expense_id, occurred_on=DAY, actor=CHAIR)
        app.pay_expense(expense_id, occurred_on=DAY, actor=TREASURER)
        app.reverse_entry(
            expense_id,
            reverses_version=4,
            reason="paid twice by mistake",
            occurred_on=DAY,
            actor=TREASURER,
        )
        # then
        expense = app.load(Expense, expense_id, "e")
        assert expense.state is ExpenseState.APPROVED
        assert expense.receipt_sha256 == "ab" * 32
        assert events_of(app, expense_id) == [
            "Submitted",
            "ReceiptAttached",
            "Approved",
            "Paid",
            "EntryReversed",
        ]

    @pytest.mark.parametrize(
        ("day", "message"),
        [(date(2019, 12, 31), "falls outside grant"), (date(2021, 1, 1), "falls outside grant")],
    )
    def test_an_expense_outside_its_grants_period_is_not_charged_to_it_and_nothing_is_stored(
        self, app: Buurtkas, day: date, message: str
    ) -> None:
        # given a grant for 2020
        platform_id = given_platform(app)
        grant_id = given_grant(app, given_budget(app), platform_id, amount="100000")
        before = app.recorder.max_notification_id()
        # when an expense of ``day`` is charged to it
        with pytest.raises(InvalidValue) as refused:
            app.submit_expense(
                expense_id=uuid4(),
                platform_id=platform_id,
                grant_id=grant_id,
                payee_name="Drukkerij",
                amount=eur("120.00"),
                category="communicatie",
                description="flyers",
                payment_method=PaymentMethod.BANK,
                occurred_on=day,
                actor=TREASURER,
            )
        # then
        assert refused.value.field == "grant_id"
        assert message in refused.value.message
        assert app.recorder.max_notification_id() == before

    def test_a_rejected_expense_records_the_reason(self, app: Buurtkas) -> None:
        # given
        expense_id = submit(app, given_platform(app))
        # when
        app.reject_expense(expense_id, reason="no invoice", occurred_on=DAY, actor=CHAIR)
        # then
        assert app.load(Expense, expense_id, "e").state is ExpenseState.REJECTED

    def test_bank_lines_arrive_in_batches_on_one_statement(self, app: Buurtkas) -> None:
        # given
        platform_id = given_platform(app)
        lines = [
            BankLine(
                line_no=n,
                direction=Direction.OUT,
                kind=BankLineKind.CASH_WITHDRAWAL,
                amount=eur("300"),
                counterparty_name="ATM",
                occurred_on=DAY,
            )
            for n in (1, 2)
        ]
        # when
        first = app.record_bank_lines(
            platform_id=platform_id,
            statement_ref="2020-01",
            lines=lines,
            occurred_on=DAY,
            actor="bank",
        )
        second = app.record_bank_lines(
            platform_id=platform_id,
            statement_ref="2020-01",
            occurred_on=DAY,
            actor="bank",
            lines=[
                BankLine(
                    line_no=3,
                    direction=Direction.IN,
                    kind=BankLineKind.DEPOSIT,
                    amount=eur("10"),
                    counterparty_name="Gift",
                    occurred_on=DAY,
                )
            ],
        )
        # then
        assert first == second
        assert app.load(BankStatement, first, "s").line_numbers == {1, 2, 3}
        assert events_of(app, first) == ["Opened", *["LineRecorded"] * 3]

    def test_a_transfer_between_platforms_and_its_reversal(self, app: Buurtkas) -> None:
        # given
        a, b = given_platform(app, "Aap", number=1), given_platform(app, "Noot", number=2)
        # when
        transfer_id = app.make_transfer(
            reference="T-1",
            from_platform_id=a,
            to_platform_id=b,
            amount=eur("750"),
            occurred_on=DAY,
            actor=OFFICIAL,
        )
        app.reverse_entry(
            transfer_id,
            reverses_version=1,
            reason="wrong platform",
            occurred_on=DAY,
            actor=OFFICIAL,
        )
        # then
        transfer = app.load(PlatformTransfer, transfer_id, "t")
        assert transfer.reversible_versions() == {}
        assert events_of(app, transfer_id) == ["Made", "EntryReversed"]


def refused_commands() -> list[tuple[str, type[DomainError], str]]:
    return [
        ("award beyond the budget", BudgetExceeded, "amount"),
        ("award to an unrecognised platform", PlatformNotRecognised, "platform"),
        ("award with a schedule short of the amount", ScheduleBelowAward, "tranches"),
        ("transfer from an unrecognised platform", PlatformNotRecognised, "from_platform_id"),
        ("tranche beyond the award", TrancheBeyondAward, "amount"),
        ("tranche on a revoked grant", GrantRevoked, "number"),
        ("expense approved by its submitter", SelfApproval, "actor"),
        ("platform registered twice", AlreadyExists, "name"),
        ("unknown grant", NotFound, "grant"),
        ("invalid IBAN", InvalidIban, "account_iban"),
        ("a batch with one bad bank line", InvalidValue, "line_no"),
    ]


class TestRefusalsStoreNothing:
    @pytest.mark.parametrize(
        ("case", "error", "field"), refused_commands(), ids=[c[0] for c in refused_commands()]
    )
    def test_a_refused_command_raises_a_typed_error_and_stores_nothing(
        self, app: Buurtkas, case: str, error: type[DomainError], field: str
    ) -> None:
        # given
        budget_id = given_budget(app, "200000")
        platform_id = given_platform(app)
        unrecognised = given_platform(app, "Nieuw", recognised=False, number=2)
        grant_id = given_grant(app, budget_id, platform_id, reference="G-1", amount="100000")
        revoked_id = given_grant(
            app, budget_id, platform_id, reference="G-2", amount="1000", tranches=("1000",)
        )
        app.revoke_grant(
            revoked_id,
            effective_on=DAY,
            retroactive=False,
            decision_ref="I",
            reason="r",
            occurred_on=DAY,
            actor=OFFICIAL,
        )
        app.pay_tranche(grant_id, number=1, amount=eur("50000"), occurred_on=DAY, actor=OFFICIAL)
        app.settle_grant(
            grant_id,
            amount=eur("50000"),
            decision_ref="V",
            reason="lower",
            occurred_on=DAY,
            actor=OFFICIAL,
        )
        expense_id = submit(app, platform_id)
        too_much = str(app.load(DistrictBudget, budget_id, "b").unawarded + Money(1))
        before = app.recorder.max_notification_id()
        commands: dict[str, Callable[[], object]] = {
            "award beyond the budget": lambda: given_grant(
                app, budget_id, platform_id, "G-3", too_much, (too_much,)
            ),
            "award to an unrecognised platform": lambda: given_grant(
                app, budget_id, unrecognised, "G-4", "10", ("10",)
            ),
            "award with a schedule short of the amount": lambda: given_grant(
                app, budget_id, platform_id, "G-5", "1000", ("500",)
            ),
            "transfer from an unrecognised platform": lambda: app.make_transfer(
                reference="T-9",
                from_platform_id=unrecognised,
                to_platform_id=platform_id,
                amount=eur("10"),
                occurred_on=DAY,
                actor=OFFICIAL,
            ),
            "tranche beyond the award": lambda: app.pay_tranche(
                grant_id, number=2, amount=eur("50000"), occurred_on=DAY, actor=OFFICIAL
            ),
            "tranche on a revoked grant": lambda: app.pay_tranche(
                revoked_id, number=1, amount=eur("1000"), occurred_on=DAY, actor=OFFICIAL
            ),
            "expense approved by its submitter": lambda: app.approve_expense(
                expense_id, occurred_on=DAY, actor=TREASURER
            ),
            "platform registered twice": lambda: given_platform(app),
            "unknown grant": lambda: app.pay_tranche(
                uuid4(), number=1, amount=eur("1"), occurred_on=DAY, actor=OFFICIAL
            ),
            "invalid IBAN": lambda: app.register_platform(
                name="Fout",
                neighbourhood="x",
                district="Zuidoost",
                legal_form=LegalForm.VERENIGING,
                kvk="12345678",
                account_iban="NL91ABNA0417164301",
                occurred_on=DAY,
                actor=OFFICIAL,
            ),
            "a batch with one bad bank line": lambda: app.record_bank_lines(
                platform_id=platform_id,
                statement_ref="2020-02",
                occurred_on=DAY,
                actor="bank",
                lines=[
                    BankLine(
                        line_no=n,
                        direction=Direction.OUT,
                        kind=BankLineKind.TRANSFER,
                        amount=eur("5"),
                        counterparty_name="X",
                        occurred_on=DAY,
                    )
                    for n in (1, 2, 2)
                ],
            ),
        }
        # when
        with pytest.raises(error) as refused:
            commands[case]()
        # then
        assert refused.value.field == field
        assert f"[rule: {error.rule}]" in str(refused.value)
        assert app.recorder.max_notification_id() == before


def paid_expense(app: Buurtkas, platform_id: UUID, amount: str = "120.00") -> UUID:
    expense_id = submit(app, platform_id, amount)
    app.approve_expense(expense_id, occurred_on=DAY, actor=CHAIR)
    app.pay_expense(expense_id, occurred_on=DAY, actor=TREASURER)
    return expense_id


def line_for(app: Buurtkas, platform_id: UUID, statement_ref: str, matches: str | None) -> UUID:
    """One line of 120.00 out on ``statement_ref``, naming the record it confirms."""
    return app.record_bank_lines(
        platform_id=platform_id,
        statement_ref=statement_ref,
        occurred_on=DAY,
        actor="bank",
        lines=[out_line(1, "120.00", matches)],
    )


def out_line(line_no: int, amount: str, matches: str | None) -> BankLine:
    return BankLine(
        line_no=line_no,
        direction=Direction.OUT,
        kind=BankLineKind.TRANSFER,
        amount=eur(amount),
        counterparty_name="Drukkerij",
        occurred_on=DAY,
        matches=matches,
    )


class TestBankLinesConfirmRecords:
    def test_a_line_confirms_a_paid_expense_once(self, app: Buurtkas) -> None:
        # given
        platform_id = given_platform(app)
        expense_id = paid_expense(app, platform_id)
        # when
        statement_id = line_for(app, platform_id, "2020-01", f"expense:{expense_id}")
        # then
        match = app.load(
            BankMatch, BankMatch.id_for(platform_id, parse_reference(f"expense:{expense_id}")), "m"
        )
        assert (match.active, match.statement_id, match.line_version) == (True, statement_id, 2)

    @pytest.mark.parametrize(
        ("label", "amount", "message"),
        [
            ("expense:{missing}", "120.00", "names no such record"),
            ("expense:{expense}", "120.01", "is EUR 120.00, the line EUR 120.01"),
            ("tranche:G-404:1", "120.00", "names no such record"),
            ("invoice 12", "120.00", "must look like expense:<id>"),
        ],
    )
    def test_a_line_that_does_not_confirm_its_record_is_refused_and_nothing_is_stored(
        self, app: Buurtkas, label: str, amount: str, message: str
    ) -> None:
        # given
        platform_id = given_platform(app)
        expense_id = paid_expense(app, platform_id)
        before = app.recorder.max_notification_id()
        matches = label.format(missing=uuid4(), expense=expense_id)
        # when
        with pytest.raises(InvalidValue) as refused:
            app.record_bank_lines(
                platform_id=platform_id,
                statement_ref="2020-01",
                occurred_on=DAY,
                actor="bank",
                lines=[out_line(1, amount, matches)],
            )
        # then
        assert refused.value.field == "matches"
        assert message in refused.value.message
        assert app.recorder.max_notification_id() == before

    @pytest.mark.parametrize(
        "spelling",
        ["{hex}", "{{{uuid}}}", "urn:uuid:{uuid}", "{upper}", " {uuid} "],
        ids=["hex", "braces", "urn", "upper-case", "spaces"],
    )
    def test_a_second_line_cannot_confirm_a_confirmed_record_by_spelling_it_otherwise(
        self, app: Buurtkas, spelling: str
    ) -> None:
        # given an expense confirmed by a line
        platform_id = given_platform(app)
        expense_id = paid_expense(app, platform_id)
        line_for(app, platform_id, "2020-01", f"expense:{expense_id}")
        before = app.recorder.max_notification_id()
        other = spelling.format(hex=expense_id.hex, uuid=expense_id, upper=str(expense_id).upper())
        # when another line names the same expense spelt otherwise
        with pytest.raises(InvalidTransition) as refused:
            line_for(app, platform_id, "2020-02", f"expense:{other}")
        # then it is refused, and nothing is stored
        assert refused.value.field == "matches"
        assert "already confirmed by another line" in refused.value.message
        assert app.recorder.max_notification_id() == before

    def test_a_line_stores_the_reference_it_confirms_in_its_canonical_spelling(
        self, app: Buurtkas
    ) -> None:
        # given
        platform_id = given_platform(app)
        expense_id = paid_expense(app, platform_id)
        # when
        statement_id = line_for(
            app, platform_id, "2020-01", f"  expense:{{{expense_id.hex.upper()}}}"
        )
        # then
        statement = app.load(BankStatement, statement_id, "statement")
        assert statement.lines[2].matches == f"expense:{expense_id}"

    def test_a_second_line_cannot_hide_an_outflow_behind_a_confirmed_record(
        self, app: Buurtkas
    ) -> None:
        # given
        platform_id = given_platform(app)
        expense_id = paid_expense(app, platform_id)
        line_for(app, platform_id, "2020-01", f"expense:{expense_id}")
        before = app.recorder.max_notification_id()
        # when
        with pytest.raises(InvalidTransition) as refused:
            line_for(app, platform_id, "2020-02", f"expense:{expense_id}")
        # then
        assert refused.value.field == "matches"
        assert "already confirmed by another line" in refused.value.message
        assert app.recorder.max_notification_id() == before

    def test_a_bank_confirmed_payment_cannot_be_reversed_by_the_books(self, app: Buurtkas) -> None:
        # given
        platform_id = given_platform(app)
        expense_id = paid_expense(app, platform_id)
        line_for(app, platform_id, "2020-01", f"expense:{expense_id}")
        before = app.recorder.max_notification_id()
        # when
        with pytest.raises(InvalidTransition) as refused:
            app.reverse_entry(
                expense_id, reverses_version=3, reason="oops", occurred_on=DAY, actor=TREASURER
            )
        # then
        assert refused.value.field == "reverses_version"
        assert app.recorder.max_notification_id() == before

    def test_reversing_a_matching_line_frees_the_record_for_the_right_line(
        self, app: Buurtkas
    ) -> None:
        # given
        platform_id = given_platform(app)
        expense_id = paid_expense(app, platform_id)
        statement_id = line_for(app, platform_id, "2020-01", f"expense:{expense_id}")
        # when
        app.reverse_entry(
            statement_id,
            reverses_version=2,
            reason="wrong statement",
            occurred_on=DAY,
            actor="bank",
        )
        line_for(app, platform_id, "2020-02", f"expense:{expense_id}")
        # then
        match = app.load(
            BankMatch, BankMatch.id_for(platform_id, parse_reference(f"expense:{expense_id}")), "m"
        )
        assert match.active
        assert match.statement_id == BankStatement.id_for(platform_id, "2020-02")
        assert app.load(BankStatement, statement_id, "s").line_numbers == set()
