"""Which events are a platform's: its history (and so its export) holds what its replay
folds, and an as-of replay still knows a record's platform and grant when the record's
first event is dated after the date. Runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import date
from uuid import UUID, uuid4

from domain.expense import Expense
from domain.money import Money
from domain.platform import Platform
from domain.risk import risk_score
from domain.values import BankLineKind, Direction, PaymentMethod
from projections.registry import runner
from projections.replay import platform_positions, replay_platform
from projections.store import ReadModelStore
from service.application import BankLine, Buurtkas
from service.demo import load_demo
from service.fixtures import assessment
from service.reports import platform_history, registered_platforms
from tests.integration.givens import (
    OFFICIAL,
    TREASURER,
    eur,
    given_budget,
    given_grant,
    given_platform,
)


def funded_platform(app: Buurtkas) -> tuple[UUID, UUID]:
    """A platform and its grant, whose first tranche (EUR 50,000) was paid on 1 March."""
    platform_id = given_platform(app)
    grant_id = given_grant(app, given_budget(app), platform_id)
    app.pay_tranche(
        grant_id, number=1, amount=eur("50000"), occurred_on=date(2020, 3, 1), actor=OFFICIAL
    )
    return platform_id, grant_id


class TestPlatformScope:
    def test_a_platforms_history_holds_what_its_replay_folds_and_its_budget_commitments(
        self, app: Buurtkas, store: ReadModelStore
    ) -> None:
        # given the demo, its platform index built
        load_demo(app)
        runner(app, store, "platform_index").catch_up()
        events = dict(app.stored_events())
        for platform in registered_platforms(app):
            # when
            history = {line.position for line in platform_history(app, platform.originator_id)}
            indexed = set(platform_positions(app, store, platform.originator_id))
            # then the history holds every event the index does (bank matches included),
            # and besides only the budget commitments of the platform's grants
            assert indexed <= history, platform.name
            extra = {type(events[p]).__name__ for p in history - indexed}
            assert extra <= {"GrantCommitted", "CommitmentReleased"}, platform.name
        k_buurt = next(p for p in registered_platforms(app) if "K-buurt" in p.name)
        topics = {
            type(events[line.position]).__qualname__
            for line in platform_history(app, k_buurt.originator_id)
        }
        assert "BankMatch.Matched" in topics
        assert "DistrictBudget.GrantCommitted" in topics

    def test_cash_withdrawn_before_the_statement_that_lists_it_shows_in_an_earlier_replay(
        self, app: Buurtkas, store: ReadModelStore
    ) -> None:
        # given money received, then a month-end statement (opened on 30 April) listing
        # three cash withdrawals of 3 to 5 April
        platform_id, _ = funded_platform(app)
        app.record_bank_lines(
            platform_id=platform_id,
            statement_ref="2020-04",
            occurred_on=date(2020, 4, 30),
            actor="bank",
            lines=[
                BankLine(
                    line_no=n,
                    direction=Direction.OUT,
                    kind=BankLineKind.CASH_WITHDRAWAL,
                    amount=eur("3000"),
                    counterparty_name="ATM",
                    occurred_on=date(2020, 4, 2 + n),
                )
                for n in (1, 2, 3)
            ],
        )
        # when the platform is replayed as of 20 April, and as of 30 April
        early = replay_platform(app, store, platform_id, as_of=date(2020, 4, 20))
        late = replay_platform(app, store, platform_id, as_of=date(2020, 4, 30))
        # then the withdrawals are in both, figures and signals alike
        for replay in (early, late):
            assert replay.balances["cash_on_hand"] == 9_000_00
            rules = {f["rule"] for f in replay.signals["findings"]}
            assert {"cash_or_self_transfer", "unapproved_payment"} <= rules, replay.as_of

    def test_an_expense_stored_paid_before_it_was_submitted_counts_against_its_grant_as_of_then(
        self, app: Buurtkas, store: ReadModelStore
    ) -> None:
        # given an expense submitted on 20 May and paid with a business date of 10 May (a
        # history stored before payments had to follow submissions: the event is written
        # as it was then, past today's rule)
        platform_id, grant_id = funded_platform(app)
        expense_id = app.submit_expense(
            expense_id=uuid4(),
            platform_id=platform_id,
            grant_id=grant_id,
            payee_name="Drukkerij",
            amount=Money(1_200_00),
            category="communicatie",
            description="flyers",
            payment_method=PaymentMethod.BANK,
            occurred_on=date(2020, 5, 20),
            actor=TREASURER,
        )
        app.approve_expense(expense_id, occurred_on=date(2020, 5, 21), actor=OFFICIAL)
        expense = app.load(Expense, expense_id, "expense")
        expense.trigger_event(
            Expense.Paid,
            platform_id=expense.platform_id,
            amount=expense.amount,
            category=expense.category,
            payment_method=expense.payment_method,
            occurred_on=date(2020, 5, 10),
            actor=TREASURER,
        )
        app.save(expense)
        # when
        replay = replay_platform(app, store, platform_id, as_of=date(2020, 5, 15))
        # then the platform's spending and its grant's spending say the same
        assert replay.balances["spent"] == 1_200_00
        assert [g["spent"] for g in replay.grants] == [1_200_00]

    def test_a_replay_shows_the_recognition_in_force_on_its_date_as_the_platform_rules_it(
        self, app: Buurtkas, store: ReadModelStore
    ) -> None:
        # given recognition decided on 10 January, in force from 1 February, and a
        # suspension decided on 1 June, in force from 1 July
        platform_id = given_platform(app, recognised=False)
        app.apply_for_recognition(
            platform_id, application_ref="A-1", occurred_on=date(2020, 1, 4), actor=OFFICIAL
        )
        app.decide_recognition(
            platform_id,
            granted=True,
            assessment=assessment(),
            decision_ref="D-1",
            effective_on=date(2020, 2, 1),
            reason="meets the criteria",
            occurred_on=date(2020, 1, 10),
            actor=OFFICIAL,
        )
        app.suspend_recognition(
            platform_id,
            decision_ref="D-2",
            effective_on=date(2020, 7, 1),
            reason="accounts overdue",
            occurred_on=date(2020, 6, 1),
            actor=OFFICIAL,
        )
        platform = app.load(Platform, platform_id, "platform")
        days = [date(2020, 1, 20), date(2020, 2, 15), date(2020, 6, 15), date(2020, 7, 2)]
        # when
        replays = [replay_platform(app, store, platform_id, as_of=day) for day in days]
        at_head = replay_platform(
            app, store, platform_id, position=app.recorder.max_notification_id()
        )
        # then each date shows the state the platform's own rule gives for it, and the
        # last decision taken by then; by position, the state as last decided
        assert [r.status["recognition"] for r in replays] == [
            platform.recognition_on(day).value for day in days
        ]
        assert [r.status["recognition"] for r in replays] == [
            "unrecognised",
            "recognised",
            "recognised",
            "suspended",
        ]
        assert [r.status["decided"] for r in replays] == [
            "recognised",
            "recognised",
            "suspended",
            "suspended",
        ]
        assert at_head.status["recognition"] == "suspended"

    def test_an_application_is_not_shown_as_the_last_decision_of_a_replay(
        self, app: Buurtkas, store: ReadModelStore
    ) -> None:
        # given a revocation decided on 1 May with effect from 1 June, then a new
        # application on 15 May
        platform_id = given_platform(app)
        app.revoke_recognition(
            platform_id,
            decision_ref="I-1",
            effective_on=date(2020, 6, 1),
            reason="no longer meets the criteria",
            occurred_on=date(2020, 5, 1),
            actor=OFFICIAL,
        )
        app.apply_for_recognition(
            platform_id, application_ref="A-2", occurred_on=date(2020, 5, 15), actor=OFFICIAL
        )
        # when
        replay = replay_platform(app, store, platform_id, as_of=date(2020, 5, 20))
        # then it was recognised on the date, and the revocation was the last decision
        assert (replay.status["recognition"], replay.status["decided"]) == (
            "recognised",
            "revoked",
        )

    def test_money_dated_before_the_registration_is_folded_under_the_platform_by_every_model(
        self, app: Buurtkas, store: ReadModelStore
    ) -> None:
        # given a platform registered on 3 January whose bank account's December history
        # is recorded afterwards: a deposit, and two cash withdrawals
        platform_id = given_platform(app)
        app.record_bank_lines(
            platform_id=platform_id,
            statement_ref="2019-12",
            occurred_on=date(2020, 1, 6),
            actor="bank",
            lines=[
                BankLine(
                    line_no=1,
                    direction=Direction.IN,
                    kind=BankLineKind.TRANSFER,
                    amount=eur("20000"),
                    counterparty_name="Fonds",
                    occurred_on=date(2019, 12, 2),
                ),
                *(
                    BankLine(
                        line_no=n,
                        direction=Direction.OUT,
                        kind=BankLineKind.CASH_WITHDRAWAL,
                        amount=eur("3000"),
                        counterparty_name="ATM",
                        occurred_on=date(2019, 12, 2 + n),
                    )
                    for n in (2, 3)
                ),
            ],
        )
        # when the platform is replayed as of the end of December
        replay = replay_platform(app, store, platform_id, as_of=date(2019, 12, 31))
        # then its balances, its status and its signals all know the withdrawals
        assert replay.balances["cash_on_hand"] == 6_000_00
        assert replay.status["name"] == "Testbuurt"
        assert replay.status["recognition"] == "unrecognised"
        rules = {f["rule"] for f in replay.signals["findings"]}
        assert "cash_or_self_transfer" in rules
        assert replay.signals["score"]["level"] == "high"

    def test_a_replay_before_the_platform_existed_has_an_empty_score_and_makes_no_index(
        self, app: Buurtkas, store: ReadModelStore
    ) -> None:
        # given an event of another platform first, then this platform; no read model built
        given_budget(app)
        platform_id = given_platform(app)
        # when it is replayed at position 1 (the budget's allocation)
        replay = replay_platform(app, store, platform_id, position=1)
        # then the score has its usual fields, all empty, and no read model was made
        assert replay.events == 0
        assert replay.signals == {"findings": [], "score": risk_score([])}
        assert store.active_generation("platform_index") is None
