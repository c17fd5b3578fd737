"""Grants under the Awb: award, tranches, amendment, revocation, settlement, recovery."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.budget import DistrictBudget
from domain.errors import (
    AmountBeyondLimit,
    BeforeAward,
    BudgetExceeded,
    DomainError,
    GrantRevoked,
    InvalidAmount,
    InvalidTransition,
    InvalidValue,
    PlatformNotRecognised,
    ReturnsBeyondPaid,
    ReversalBreaksReturns,
    ScheduleBelowAward,
    SettlementNotPayable,
    TrancheBeyondAward,
    TrancheNotScheduled,
)
from domain.grant import MAX_TRANCHES, Grant, TrancheSpec
from domain.money import Money, total
from domain.platform import Platform
from domain.values import GrantState
from service.fixtures import d
from tests.unit.builders import (
    AWARDED_ON,
    FIRST_TRANCHE_ON,
    LATER,
    OFFICIAL,
    PERIOD_END,
    PERIOD_START,
    a_budget,
    a_recognised_platform,
    a_registered_platform,
    a_revoked_platform,
    a_suspended_platform,
    an_applying_platform,
    an_awarded_grant,
    claimed,
    eur,
    one_new_event,
    revoked,
    settled,
    the_schedule,
    with_tranche_paid,
)


def award(budget: DistrictBudget, platform: Platform, **changes: object) -> Grant:
    """Award the default grant (EUR 250,000 in two tranches), with some arguments changed."""
    command: dict[str, object] = {
        "budget": budget,
        "platform": platform,
        "reference": "SUB-2019-G",
        "amount": eur("250000"),
        "period_start": PERIOD_START,
        "period_end": PERIOD_END,
        "purpose": "plans of the G-buurt residents",
        "tranches": the_schedule(),
        "decision_ref": "VERLENING-1",
        "reason": "the plans fit the district's goals",
        "occurred_on": AWARDED_ON,
        "actor": OFFICIAL,
    } | changes
    return Grant.award(**command)  # type: ignore[arg-type]


# Award --------------------------------------------------------------------------------


def test_awarding_a_grant_records_the_decision_and_commits_the_budget() -> None:
    # given
    budget = a_budget("1000000")
    platform = a_recognised_platform()
    schedule = the_schedule()

    # when
    grant = award(budget, platform, tranches=list(reversed(schedule)))

    # then
    event = one_new_event(grant, 0, Grant.Awarded)
    assert (event.reference, event.platform_id, event.budget_id) == (
        "SUB-2019-G",
        platform.id,
        budget.id,
    )
    assert (event.amount, event.period_start, event.period_end) == (
        eur("250000"),
        PERIOD_START,
        PERIOD_END,
    )
    assert event.tranches == schedule
    assert (event.purpose, event.decision_ref) == ("plans of the G-buurt residents", "VERLENING-1")
    assert (event.reason, event.occurred_on, event.actor) == (
        "the plans fit the district's goals",
        AWARDED_ON,
        OFFICIAL,
    )
    assert grant.id == Grant.id_for("sub-2019-g")
    assert grant.state is GrantState.AWARDED
    assert grant.paid_total == Money(0)
    assert grant.reclaimable == Money(0)
    commitment = one_new_event(budget, 0, DistrictBudget.GrantCommitted)
    assert (commitment.grant_id, commitment.amount) == (grant.id, eur("250000"))
    assert budget.unawarded == eur("750000")


def test_a_grant_beyond_the_budgets_unawarded_amount_is_refused() -> None:
    # given
    budget = a_budget("500000")
    an_awarded_grant(budget, a_recognised_platform("Hart voor de K-buurt"), reference="SUB-K")
    platform = a_recognised_platform()
    before = len(budget.pending_events)

    # when
    with pytest.raises(BudgetExceeded) as info:
        award(
            budget,
            platform,
            amount=eur("250000.01"),
            tranches=[*the_schedule(), TrancheSpec(3, PERIOD_END, eur("0.01"))],
        )

    # then
    assert info.value.field == "amount"
    assert "exceeds the unawarded budget of Zuidoost 2019 (EUR 250000.00)" in str(info.value)
    assert "[rule: budget_exceeded]" in str(info.value)
    assert len(budget.pending_events) == before
    assert budget.unawarded == eur("250000")


@pytest.mark.parametrize(
    ("given_platform", "state"),
    [
        (a_registered_platform, "unrecognised"),
        (an_applying_platform, "unrecognised"),
        (a_suspended_platform, "suspended"),
        (a_revoked_platform, "revoked"),
    ],
)
def test_a_grant_to_a_platform_not_recognised_is_refused(
    given_platform: Callable[[], Platform], state: str
) -> None:
    # given
    budget = a_budget()
    platform = given_platform()
    before = len(budget.pending_events)

    # when
    with pytest.raises(PlatformNotRecognised) as info:
        award(budget, platform)

    # then
    assert info.value.field == "platform"
    assert f"Stichting G-buurt is {state} on 2019-11-01" in str(info.value)
    assert "[rule: platform_not_recognised]" in str(info.value)
    assert len(budget.pending_events) == before
    assert budget.committed == Money(0)


def test_a_grant_dated_before_the_recognition_takes_effect_is_refused() -> None:
    # given
    budget = a_budget()
    platform = a_recognised_platform(effective_on=d("2019-12-01"))
    before = len(budget.pending_events)

    # when
    with pytest.raises(PlatformNotRecognised) as info:
        award(budget, platform, occurred_on=d("2019-11-30"))

    # then
    assert info.value.field == "platform"
    assert "is unrecognised on 2019-11-30" in str(info.value)
    assert "[rule: platform_not_recognised]" in str(info.value)
    assert len(budget.pending_events) == before


def test_a_grant_from_another_districts_budget_is_refused() -> None:
    # given
    budget = a_budget(district="Noord")
    platform = a_recognised_platform()
    before = len(budget.pending_events)

    # when
    with pytest.raises(InvalidValue) as info:
        award(budget, platform)

    # then
    assert info.value.field == "budget"
    assert "Stichting G-buurt is in Zuidoost, not Noord" in str(info.value)
    assert "[rule: invalid_value]" in str(info.value)
    assert len(budget.pending_events) == before


def one_euro_tranches(count: int) -> list[TrancheSpec]:
    return [TrancheSpec(n, PERIOD_START, eur("1")) for n in range(1, count + 1)]


@pytest.mark.parametrize(
    ("changes", "error", "field", "message"),
    [
        ({"tranches": []}, InvalidValue, "tranches", "at least one tranche (Awb 4:53)"),
        (
            {"tranches": one_euro_tranches(MAX_TRANCHES + 1)},
            InvalidValue,
            "tranches",
            "at most 60 tranches",
        ),
        (
            {"tranches": [TrancheSpec(1, PERIOD_START, eur("1"))] * 2},
            InvalidValue,
            "tranches",
            "must be unique and start at 1",
        ),
        (
            {"tranches": [TrancheSpec(0, PERIOD_START, eur("1"))]},
            InvalidValue,
            "tranches",
            "must be unique and start at 1",
        ),
        (
            {"tranches": [TrancheSpec(1, PERIOD_START, Money(0))]},
            InvalidAmount,
            "tranches[1].amount",
            "must be more than zero",
        ),
        (
            {"tranches": [TrancheSpec(2, d("2021-01-01"), eur("1"))]},
            InvalidValue,
            "tranches[2].due_on",
            "must fall inside the grant period",
        ),
        (
            {"tranches": [TrancheSpec(1, d("2019-10-31"), eur("1"))]},
            InvalidValue,
            "tranches[1].due_on",
            "must fall inside the grant period",
        ),
        (
            {"tranches": [*the_schedule(), TrancheSpec(3, PERIOD_END, eur("0.01"))]},
            TrancheBeyondAward,
            "tranches",
            "the schedule totals EUR 250000.01, beyond the award of EUR 250000.00",
        ),
        (
            {"tranches": the_schedule()[:1]},
            ScheduleBelowAward,
            "tranches",
            "the schedule totals EUR 125000.00, EUR 125000.00 short of the award of EUR 250000.00",
        ),
        (
            {"period_end": d("2019-10-31"), "tranches": []},
            InvalidValue,
            "period_end",
            "must not be before period_start",
        ),
        ({"amount": Money(0)}, InvalidAmount, "amount", "must be more than zero"),
        ({"reference": " "}, InvalidValue, "reference", "must not be empty"),
        ({"occurred_on": "2019-11-01"}, InvalidValue, "occurred_on", "must be a date"),
    ],
)
def test_an_award_with_an_invalid_schedule_or_field_is_refused_before_the_budget_is_touched(
    changes: dict[str, object], error: type[DomainError], field: str, message: str
) -> None:
    # given
    budget = a_budget()
    platform = a_recognised_platform()
    before = len(budget.pending_events)

    # when
    with pytest.raises(error) as info:
        award(budget, platform, **changes)

    # then
    assert type(info.value) is error
    assert info.value.field == field
    assert message in str(info.value)
    assert f"[rule: {error.rule}]" in str(info.value)
    assert len(budget.pending_events) == before
    assert budget.committed == Money(0)


def test_an_award_whose_schedule_adds_up_to_less_than_the_award_is_refused() -> None:
    # given EUR 1,000 to award and a schedule of one tranche of EUR 500
    budget, platform = a_budget(), a_recognised_platform()
    schedule = [TrancheSpec(1, FIRST_TRANCHE_ON, eur("500"))]
    before = len(budget.pending_events)

    # when
    with pytest.raises(ScheduleBelowAward) as info:
        award(budget, platform, amount=eur("1000"), tranches=schedule)

    # then nothing is committed: the EUR 500 no tranche could pay stays unawarded
    assert info.value.field == "tranches"
    assert "the schedule totals EUR 500.00, EUR 500.00 short of the award of EUR 1000.00" in str(
        info.value
    )
    assert "the tranches must add up to the award (Awb 4:53)" in str(info.value)
    assert "[rule: schedule_below_award]" in str(info.value)
    assert len(budget.pending_events) == before
    assert budget.committed == Money(0)


tranche_parts = st.lists(st.integers(min_value=1, max_value=5_000_000), min_size=1, max_size=6)


@settings(max_examples=200, deadline=None)
@given(parts=tranche_parts, data=st.data())
def test_an_award_is_accepted_exactly_when_its_schedule_adds_up_to_the_award(
    parts: list[int], data: st.DataObject
) -> None:
    # given a schedule and an award of its total, less or more
    scheduled = sum(parts)
    amount = data.draw(
        st.one_of(st.just(scheduled), st.integers(min_value=1, max_value=scheduled * 2)),
        label="amount",
    )
    budget, platform = a_budget(), a_recognised_platform()
    schedule = [TrancheSpec(n, FIRST_TRANCHE_ON, Money(c)) for n, c in enumerate(parts, 1)]

    # when the schedule adds up to the award
    if amount == scheduled:
        grant = award(budget, platform, amount=Money(amount), tranches=schedule)

        # then the award is made and committed whole
        assert total([t.amount for t in grant.tranches]) == grant.amount == Money(amount)
        assert budget.committed == Money(amount)
        return

    # when it does not
    refusal = ScheduleBelowAward if scheduled < amount else TrancheBeyondAward
    with pytest.raises(refusal) as info:
        award(budget, platform, amount=Money(amount), tranches=schedule)

    # then it is refused naming the schedule, and nothing is committed
    assert info.value.field == "tranches"
    assert budget.pending_events == []
    assert budget.committed == Money(0)


@pytest.mark.parametrize("field", ["purpose", "decision_ref", "reason", "actor"])
def test_an_award_refused_for_an_empty_text_leaves_the_budget_untouched(field: str) -> None:
    # given
    budget = a_budget()
    platform = a_recognised_platform()
    before = len(budget.pending_events)

    # when
    with pytest.raises(InvalidValue) as info:
        award(budget, platform, **{field: ""})

    # then
    assert info.value.field == field
    assert len(budget.pending_events) == before
    assert budget.committed == Money(0)


# Tranches -----------------------------------------------------------------------------


def test_paying_a_scheduled_tranche_records_it_for_the_platform() -> None:
    # given
    budget, platform = a_budget(), a_recognised_platform()
    grant = an_awarded_grant(budget, platform)
    before = len(grant.pending_events)

    # when
    grant.pay_tranche(
        platform=platform,
        number=1,
        amount=eur("125000"),
        occurred_on=FIRST_TRANCHE_ON,
        actor=OFFICIAL,
    )

    # then
    event = one_new_event(grant, before, Grant.TranchePaid)
    assert (event.number, event.amount) == (1, eur("125000"))
    assert (event.platform_id, event.budget_id) == (platform.id, budget.id)
    assert (event.occurred_on, event.actor) == (FIRST_TRANCHE_ON, OFFICIAL)
    assert grant.paid == {1: eur("125000")}
    assert grant.paid_total == eur("125000")
    assert grant.reversible_versions() == {event.originator_version: ("tranche", eur("125000"))}


def test_every_tranche_of_the_schedule_can_be_paid() -> None:
    # given
    budget, platform = a_budget(), a_recognised_platform()
    grant = with_tranche_paid(an_awarded_grant(budget, platform), platform, 1)

    # when
    grant.pay_tranche(
        platform=platform, number=2, amount=eur("125000"), occurred_on=LATER, actor=OFFICIAL
    )

    # then
    assert grant.paid_total == grant.amount == eur("250000")


@pytest.mark.parametrize(
    ("number", "amount", "field", "message"),
    [
        (3, "125000", "number", "tranche 3 is not in the award's schedule"),
        (1, "125000", "number", "tranche 1 was already paid"),
        (2, "96000", "amount", "tranche 2 is EUR 125000.00 by the award"),
        (2, "125000.01", "amount", "tranche 2 is EUR 125000.00 by the award"),
    ],
)
def test_a_tranche_not_in_the_schedule_already_paid_or_of_another_amount_is_refused(
    number: int, amount: str, field: str, message: str
) -> None:
    # given
    budget, platform = a_budget(), a_recognised_platform()
    grant = with_tranche_paid(an_awarded_grant(budget, platform), platform, 1)
    before = len(grant.pending_events)

    # when
    with pytest.raises(TrancheNotScheduled) as info:
        grant.pay_tranche(
            platform=platform, number=number, amount=eur(amount), occurred_on=LATER, actor=OFFICIAL
        )

    # then
    assert info.value.field == field
    assert message in str(info.value)
    assert "[rule: tranche_not_scheduled]" in str(info.value)
    assert len(grant.pending_events) == before
    assert grant.paid == {1: eur("125000")}


def test_a_tranche_beyond_the_award_is_refused() -> None:
    # given a settlement below the award: the schedule now asks more than the grant allows
    budget, platform = a_budget(), a_recognised_platform()
    grant = settled(an_awarded_grant(budget, platform), budget, "125000")
    grant = with_tranche_paid(grant, platform, 1)
    before = len(grant.pending_events)

    # when
    with pytest.raises(TrancheBeyondAward) as info:
        grant.pay_tranche(
            platform=platform, number=2, amount=eur("125000"), occurred_on=LATER, actor=OFFICIAL
        )

    # then
    assert info.value.field == "amount"
    assert "EUR 250000.00 would exceed the grant's EUR 125000.00" in str(info.value)
    assert "[rule: tranche_beyond_award]" in str(info.value)
    assert len(grant.pending_events) == before
    assert grant.paid_total == eur("125000")


def test_a_tranche_on_a_revoked_grant_is_refused() -> None:
    # given
    budget, platform = a_budget(), a_recognised_platform()
    grant = revoked(an_awarded_grant(budget, platform), budget)
    before = len(grant.pending_events)

    # when
    with pytest.raises(GrantRevoked) as info:
        grant.pay_tranche(
            platform=platform, number=1, amount=eur("125000"), occurred_on=LATER, actor=OFFICIAL
        )

    # then
    assert info.value.field == "number"
    assert "grant SUB-2019-G was revoked; no new tranches" in str(info.value)
    assert "[rule: grant_revoked]" in str(info.value)
    assert len(grant.pending_events) == before
    assert grant.paid == {}


@pytest.mark.parametrize(
    ("decision", "state"), [(Platform.suspend, "suspended"), (Platform.revoke, "revoked")]
)
def test_a_tranche_to_a_platform_no_longer_recognised_is_refused(
    decision: Callable[..., None], state: str
) -> None:
    # given
    budget, platform = a_budget(), a_recognised_platform()
    grant = an_awarded_grant(budget, platform)
    decision(
        platform,
        decision_ref="BESLUIT-9",
        effective_on=d("2019-12-01"),
        reason="report overdue",
        occurred_on=d("2019-12-01"),
        actor=OFFICIAL,
    )
    before = len(grant.pending_events)

    # when
    with pytest.raises(PlatformNotRecognised) as info:
        grant.pay_tranche(
            platform=platform,
            number=1,
            amount=eur("125000"),
            occurred_on=FIRST_TRANCHE_ON,
            actor=OFFICIAL,
        )

    # then
    assert info.value.field == "platform"
    assert f"Stichting G-buurt is {state} on 2019-12-20" in str(info.value)
    assert "[rule: platform_not_recognised]" in str(info.value)
    assert len(grant.pending_events) == before


def test_a_backdated_tranche_to_a_platform_suspended_now_is_refused() -> None:
    # given
    budget, platform = a_budget(), a_recognised_platform()
    grant = an_awarded_grant(budget, platform)
    platform.suspend(
        decision_ref="SCHORSING-1",
        effective_on=d("2020-01-01"),
        reason="report overdue",
        occurred_on=d("2020-01-05"),
        actor=OFFICIAL,
    )
    before = len(grant.pending_events)

    # when
    with pytest.raises(PlatformNotRecognised) as info:
        grant.pay_tranche(
            platform=platform,
            number=1,
            amount=eur("125000"),
            occurred_on=d("2019-12-31"),
            actor=OFFICIAL,
        )

    # then
    assert info.value.field == "platform"
    assert "is suspended now (payment dated 2019-12-31)" in info.value.message
    assert len(grant.pending_events) == before


def test_a_backdated_tranche_to_a_platform_revoked_and_applying_again_is_refused() -> None:
    # given a recognition revoked, and a new application not yet decided
    budget, platform = a_budget(), a_recognised_platform()
    grant = an_awarded_grant(budget, platform)
    platform.revoke(
        decision_ref="INTREKKING-1",
        effective_on=d("2020-01-01"),
        reason="report overdue",
        occurred_on=d("2020-01-05"),
        actor=OFFICIAL,
    )
    platform.apply_for_recognition(
        application_ref="AANVRAAG-2", occurred_on=d("2020-02-01"), actor=OFFICIAL
    )
    before = len(grant.pending_events)

    # when the payment is dated while the first recognition was in force
    with pytest.raises(PlatformNotRecognised) as info:
        grant.pay_tranche(
            platform=platform,
            number=1,
            amount=eur("125000"),
            occurred_on=d("2019-12-31"),
            actor=OFFICIAL,
        )

    # then
    assert info.value.field == "platform"
    assert "is applied now (payment dated 2019-12-31)" in info.value.message
    assert len(grant.pending_events) == before


def test_a_tranche_to_another_platform_than_the_grantee_is_refused() -> None:
    # given
    budget, platform = a_budget(), a_recognised_platform()
    grant = an_awarded_grant(budget, platform)
    other = a_recognised_platform("Hart voor de K-buurt")
    before = len(grant.pending_events)

    # when
    with pytest.raises(InvalidValue) as info:
        grant.pay_tranche(
            platform=other, number=1, amount=eur("125000"), occurred_on=LATER, actor=OFFICIAL
        )

    # then
    assert info.value.field == "platform"
    assert "grant SUB-2019-G is not for Hart voor de K-buurt" in str(info.value)
    assert "[rule: invalid_value]" in str(info.value)
    assert len(grant.pending_events) == before


def test_a_tranche_of_nothing_is_refused() -> None:
    # given
    budget, platform = a_budget(), a_recognised_platform()
    grant = an_awarded_grant(budget, platform)
    before = len(grant.pending_events)

    # when
    with pytest.raises(InvalidAmount) as info:
        grant.pay_tranche(
            platform=platform, number=1, amount=Money(0), occurred_on=LATER, actor=OFFICIAL
        )

    # then
    assert info.value.field == "amount"
    assert "[rule: invalid_amount]" in str(info.value)
    assert len(grant.pending_events) == before


# Amendment ----------------------------------------------------------------------------


def amend(
    grant: Grant,
    budget: DistrictBudget,
    platform: Platform,
    amount: str,
    tranches: list[TrancheSpec],
    occurred_on: date = LATER,
) -> None:
    grant.amend(
        budget=budget,
        platform=platform,
        amount=eur(amount),
        period_end=d("2021-06-30"),
        tranches=tranches,
        decision_ref="WIJZIGING-1",
        reason="more plans were approved",
        occurred_on=occurred_on,
        actor=OFFICIAL,
    )


def test_raising_the_award_commits_the_difference_from_the_budget() -> None:
    # given
    budget, platform = a_budget(), a_recognised_platform()
    grant = an_awarded_grant(budget, platform)
    new_schedule = [*the_schedule(), TrancheSpec(3, d("2021-03-01"), eur("50000"))]
    before = len(grant.pending_events), len(budget.pending_events)

    # when
    amend(grant, budget, platform, "300000", new_schedule)

    # then
    event = one_new_event(grant, before[0], Grant.Amended)
    assert (event.amount, event.period_end, event.tranches) == (
        eur("300000"),
        d("2021-06-30"),
        new_schedule,
    )
    assert (event.decision_ref, event.reason) == ("WIJZIGING-1", "more plans were approved")
    assert (grant.amount, grant.period_end, grant.tranches) == (
        eur("300000"),
        d("2021-06-30"),
        new_schedule,
    )
    commitment = one_new_event(budget, before[1], DistrictBudget.GrantCommitted)
    assert (commitment.grant_id, commitment.amount) == (grant.id, eur("50000"))
    assert budget.committed == eur("300000")


def test_lowering_the_award_releases_the_difference_to_the_budget() -> None:
    # given
    budget, platform = a_budget(), a_recognised_platform()
    grant = with_tranche_paid(an_awarded_grant(budget, platform), platform, 1)
    new_schedule = [the_schedule()[0], TrancheSpec(2, d("2020-06-01"), eur("75000"))]
    before = len(grant.pending_events), len(budget.pending_events)

    # when
    amend(grant, budget, platform, "200000", new_schedule)

    # then
    one_new_event(grant, before[0], Grant.Amended)
    release = one_new_event(budget, before[1], DistrictBudget.CommitmentReleased)
    assert (release.grant_id, release.amount) == (grant.id, eur("50000"))
    assert budget.committed == eur("200000")
    assert grant.amount == eur("200000")


def test_an_amendment_below_what_was_already_paid_is_refused() -> None:
    # given
    budget, platform = a_budget(), a_recognised_platform()
    grant = with_tranche_paid(an_awarded_grant(budget, platform), platform, 1)
    before = len(grant.pending_events), len(budget.pending_events)

    # when
    with pytest.raises(TrancheBeyondAward) as info:
        amend(grant, budget, platform, "100000", [TrancheSpec(1, d("2019-12-15"), eur("100000"))])

    # then
    assert info.value.field == "amount"
    assert "EUR 100000.00 is below the EUR 125000.00 already paid" in str(info.value)
    assert "[rule: tranche_beyond_award]" in str(info.value)
    assert (len(grant.pending_events), len(budget.pending_events)) == before
    assert grant.amount == eur("250000")


@pytest.mark.parametrize(
    "new_schedule",
    [
        [TrancheSpec(2, d("2020-06-01"), eur("250000"))],
        [TrancheSpec(1, d("2019-12-15"), eur("100000")), TrancheSpec(2, PERIOD_END, eur("150000"))],
    ],
    ids=["paid tranche dropped", "paid tranche changed"],
)
def test_an_amendment_that_drops_or_changes_a_paid_tranche_is_refused(
    new_schedule: list[TrancheSpec],
) -> None:
    # given
    budget, platform = a_budget(), a_recognised_platform()
    grant = with_tranche_paid(an_awarded_grant(budget, platform), platform, 1)
    before = len(grant.pending_events), len(budget.pending_events)

    # when
    with pytest.raises(TrancheNotScheduled) as info:
        amend(grant, budget, platform, "250000", new_schedule)

    # then
    assert info.value.field == "tranches"
    assert "paid tranche 1 (EUR 125000.00) must stay in the schedule" in str(info.value)
    assert "[rule: tranche_not_scheduled]" in str(info.value)
    assert (len(grant.pending_events), len(budget.pending_events)) == before


def test_an_amended_schedule_beyond_the_amended_award_is_refused() -> None:
    # given
    budget, platform = a_budget(), a_recognised_platform()
    grant = an_awarded_grant(budget, platform)
    before = len(grant.pending_events), len(budget.pending_events)

    # when
    with pytest.raises(TrancheBeyondAward) as info:
        amend(grant, budget, platform, "200000", the_schedule())

    # then
    assert info.value.field == "tranches"
    assert "[rule: tranche_beyond_award]" in str(info.value)
    assert (len(grant.pending_events), len(budget.pending_events)) == before


def test_an_amended_schedule_short_of_the_amended_award_is_refused() -> None:
    # given a grant of EUR 250,000 in two tranches, raised to EUR 300,000 by an amendment
    budget, platform = a_budget(), a_recognised_platform()
    grant = an_awarded_grant(budget, platform)
    before = len(grant.pending_events), len(budget.pending_events)

    # when the amendment keeps the old schedule
    with pytest.raises(ScheduleBelowAward) as info:
        amend(grant, budget, platform, "300000", the_schedule())

    # then
    assert info.value.field == "tranches"
    assert "the schedule totals EUR 250000.00, EUR 50000.00 short of the award" in str(info.value)
    assert "short of the award of EUR 300000.00" in str(info.value)
    assert "[rule: schedule_below_award]" in str(info.value)
    assert (len(grant.pending_events), len(budget.pending_events)) == before
    assert (grant.amount, budget.committed) == (eur("250000"), eur("250000"))


@settings(max_examples=200, deadline=None)
@given(first_paid=st.booleans(), parts=tranche_parts, data=st.data())
def test_an_amendment_is_accepted_exactly_when_its_schedule_adds_up_to_the_new_amount(
    first_paid: bool, parts: list[int], data: st.DataObject
) -> None:
    # given a grant of two tranches, perhaps with the first paid, and a new schedule that
    # keeps a paid tranche
    budget, platform = a_budget(), a_recognised_platform()
    grant = an_awarded_grant(budget, platform)
    if first_paid:
        grant = with_tranche_paid(grant, platform, 1)
    kept = the_schedule()[:1] if first_paid else []
    schedule = kept + [TrancheSpec(n, LATER, Money(c)) for n, c in enumerate(parts, len(kept) + 1)]
    scheduled = total([t.amount for t in schedule]).cents
    amount = data.draw(
        st.one_of(st.just(scheduled), st.integers(min_value=1, max_value=scheduled * 2)),
        label="amount",
    )
    before = len(grant.pending_events), len(budget.pending_events)

    # when the new schedule adds up to the new amount
    if amount == scheduled:
        amend(grant, budget, platform, str(Money(amount)), schedule)

        # then the amendment is recorded and the budget commits the new amount
        assert total([t.amount for t in grant.tranches]) == grant.amount == Money(amount)
        assert budget.committed == Money(amount)
        return

    # when it does not
    refusal = ScheduleBelowAward if scheduled < amount else TrancheBeyondAward
    with pytest.raises(refusal) as info:
        amend(grant, budget, platform, str(Money(amount)), schedule)

    # then it is refused naming the schedule (or the amount, when below what was paid),
    # and nothing changes
    assert info.value.field == ("amount" if amount < grant.paid_total.cents else "tranches")
    assert (len(grant.pending_events), len(budget.pending_events)) == before
    assert total([t.amount for t in grant.tranches]) == grant.amount == eur("250000")


def test_raising_the_award_beyond_the_budget_is_refused() -> None:
    # given
    budget, platform = a_budget("260000"), a_recognised_platform()
    grant = an_awarded_grant(budget, platform)
    new_schedule = [*the_schedule(), TrancheSpec(3, d("2021-03-01"), eur("50000"))]
    before = len(grant.pending_events), len(budget.pending_events)

    # when
    with pytest.raises(BudgetExceeded) as info:
        amend(grant, budget, platform, "300000", new_schedule)

    # then
    assert info.value.field == "amount"
    assert "[rule: budget_exceeded]" in str(info.value)
    assert (len(grant.pending_events), len(budget.pending_events)) == before
    assert grant.amount == eur("250000")


def test_amending_a_revoked_grant_is_refused() -> None:
    # given
    budget, platform = a_budget(), a_recognised_platform()
    grant = revoked(an_awarded_grant(budget, platform), budget)
    before = len(grant.pending_events), len(budget.pending_events)

    # when
    with pytest.raises(GrantRevoked) as info:
        amend(grant, budget, platform, "250000", the_schedule())

    # then
    assert info.value.field == "amount"
    assert "grant SUB-2019-G was revoked" in str(info.value)
    assert "[rule: grant_revoked]" in str(info.value)
    assert (len(grant.pending_events), len(budget.pending_events)) == before


def test_amending_a_settled_grant_is_refused() -> None:
    # given
    budget, platform = a_budget(), a_recognised_platform()
    grant = settled(an_awarded_grant(budget, platform), budget, "250000")
    before = len(grant.pending_events), len(budget.pending_events)

    # when
    with pytest.raises(InvalidTransition) as info:
        amend(grant, budget, platform, "250000", the_schedule())

    # then
    assert info.value.field == "amount"
    assert "grant SUB-2019-G is settled" in str(info.value)
    assert "[rule: invalid_transition]" in str(info.value)
    assert (len(grant.pending_events), len(budget.pending_events)) == before


def test_an_amendment_refused_for_an_empty_reason_leaves_the_budget_untouched() -> None:
    # given
    budget, platform = a_budget(), a_recognised_platform()
    grant = an_awarded_grant(budget, platform)
    before = len(budget.pending_events)

    # when
    with pytest.raises(InvalidValue) as info:
        grant.amend(
            budget=budget,
            platform=platform,
            amount=eur("200000"),
            period_end=PERIOD_END,
            tranches=[TrancheSpec(1, d("2019-12-15"), eur("200000"))],
            decision_ref="WIJZIGING-1",
            reason="",
            occurred_on=LATER,
            actor=OFFICIAL,
        )

    # then
    assert info.value.field == "reason"
    assert len(budget.pending_events) == before
    assert budget.committed == eur("250000")


def test_amending_against_another_budget_than_the_grants_own_is_refused() -> None:
    # given
    budget, platform = a_budget(), a_recognised_platform()
    grant = an_awarded_grant(budget, platform)
    other_budget = a_budget(year=2020)
    new_schedule = [*the_schedule(), TrancheSpec(3, d("2021-03-01"), eur("50000"))]
    before = len(other_budget.pending_events)

    # when
    with pytest.raises(InvalidValue) as info:
        amend(grant, other_budget, platform, "300000", new_schedule)

    # then
    assert info.value.field == "budget"
    assert len(other_budget.pending_events) == before


# Revocation ---------------------------------------------------------------------------


def test_revoking_a_grant_releases_what_was_not_paid() -> None:
    # given
    budget, platform = a_budget(), a_recognised_platform()
    grant = with_tranche_paid(an_awarded_grant(budget, platform), platform, 1)
    before = len(grant.pending_events), len(budget.pending_events)

    # when
    grant.revoke(
        budget=budget,
        effective_on=AWARDED_ON,
        retroactive=True,
        decision_ref="INTREKKING-1",
        reason="money spent against the statutes",
        occurred_on=d("2020-05-01"),
        actor=OFFICIAL,
    )

    # then
    event = one_new_event(grant, before[0], Grant.Revoked)
    assert (event.effective_on, event.retroactive, event.decision_ref) == (
        AWARDED_ON,
        True,
        "INTREKKING-1",
    )
    assert (event.reason, event.occurred_on) == (
        "money spent against the statutes",
        d("2020-05-01"),
    )
    assert grant.state is GrantState.REVOKED
    assert (grant.revoked_on, grant.retroactive) == (AWARDED_ON, True)
    release = one_new_event(budget, before[1], DistrictBudget.CommitmentReleased)
    assert (release.grant_id, release.amount) == (grant.id, eur("125000"))
    assert budget.committed == eur("125000")


def test_revoking_a_fully_paid_grant_releases_nothing() -> None:
    # given
    budget, platform = a_budget(), a_recognised_platform()
    grant = with_tranche_paid(an_awarded_grant(budget, platform), platform, 1)
    grant = with_tranche_paid(grant, platform, 2)
    before = len(grant.pending_events), len(budget.pending_events)

    # when
    grant.revoke(
        budget=budget,
        effective_on=LATER,
        retroactive=False,
        decision_ref="INTREKKING-1",
        reason="plans abandoned",
        occurred_on=LATER,
        actor=OFFICIAL,
    )

    # then
    one_new_event(grant, before[0], Grant.Revoked)
    assert len(budget.pending_events) == before[1]
    assert grant.retroactive is False


def test_revoking_a_settled_grant_releases_only_the_settled_but_unpaid_part() -> None:
    # given
    budget, platform = a_budget(), a_recognised_platform()
    grant = with_tranche_paid(an_awarded_grant(budget, platform), platform, 1)
    grant = settled(grant, budget, "250000")
    before = len(budget.pending_events)

    # when
    revoked(grant, budget, retroactive=False)

    # then
    assert grant.state is GrantState.REVOKED
    assert budget.committed == eur("125000")
    assert len(budget.pending_events) == before


def test_revoking_a_grant_twice_is_refused() -> None:
    # given
    budget, platform = a_budget(), a_recognised_platform()
    grant = revoked(an_awarded_grant(budget, platform), budget)
    before = len(grant.pending_events), len(budget.pending_events)

    # when
    with pytest.raises(InvalidTransition) as info:
        grant.revoke(
            budget=budget,
            effective_on=LATER,
            retroactive=True,
            decision_ref="INTREKKING-2",
            reason="again",
            occurred_on=LATER,
            actor=OFFICIAL,
        )

    # then
    assert info.value.field == "decision_ref"
    assert "grant SUB-2019-G is already revoked" in str(info.value)
    assert "[rule: invalid_transition]" in str(info.value)
    assert (len(grant.pending_events), len(budget.pending_events)) == before


def test_a_revocation_refused_for_an_empty_reason_leaves_the_budget_untouched() -> None:
    # given
    budget, platform = a_budget(), a_recognised_platform()
    grant = an_awarded_grant(budget, platform)
    before = len(budget.pending_events)

    # when
    with pytest.raises(InvalidValue) as info:
        grant.revoke(
            budget=budget,
            effective_on=LATER,
            retroactive=True,
            decision_ref="INTREKKING-1",
            reason="",
            occurred_on=LATER,
            actor=OFFICIAL,
        )

    # then
    assert info.value.field == "reason"
    assert len(budget.pending_events) == before
    assert budget.committed == eur("250000")


# Settlement ---------------------------------------------------------------------------


def settle(grant: Grant, budget: DistrictBudget, amount: Money, reason: str = "accounted") -> None:
    grant.settle(
        budget=budget,
        amount=amount,
        decision_ref="VASTSTELLING-1",
        reason=reason,
        occurred_on=LATER,
        actor=OFFICIAL,
    )


def test_settling_below_the_award_releases_the_rest_of_the_commitment() -> None:
    # given a schedule of 100,000, 100,000 and 50,000, the first tranche paid
    budget, platform = a_budget(), a_recognised_platform()
    schedule = [
        TrancheSpec(1, d("2019-12-15"), eur("100000")),
        TrancheSpec(2, d("2020-06-01"), eur("100000")),
        TrancheSpec(3, d("2020-09-01"), eur("50000")),
    ]
    grant = with_tranche_paid(an_awarded_grant(budget, platform, tranches=schedule), platform, 1)
    before = len(grant.pending_events), len(budget.pending_events)

    # when settled at what was paid plus the next tranche
    settle(grant, budget, eur("200000"))

    # then
    event = one_new_event(grant, before[0], Grant.Settled)
    assert (event.amount, event.decision_ref, event.reason) == (
        eur("200000"),
        "VASTSTELLING-1",
        "accounted",
    )
    assert grant.state is GrantState.SETTLED
    assert grant.settled == eur("200000")
    release = one_new_event(budget, before[1], DistrictBudget.CommitmentReleased)
    assert (release.grant_id, release.amount) == (grant.id, eur("50000"))
    assert grant.reclaimable == Money(0)


def test_settling_below_what_was_paid_keeps_the_paid_part_committed_and_makes_it_reclaimable() -> (
    None
):
    # given
    budget, platform = a_budget(), a_recognised_platform()
    grant = with_tranche_paid(an_awarded_grant(budget, platform), platform, 1)
    before = len(budget.pending_events)

    # when
    settle(grant, budget, eur("29000"))

    # then
    release = one_new_event(budget, before, DistrictBudget.CommitmentReleased)
    assert release.amount == eur("125000")
    assert grant.reclaimable == eur("96000")


def test_a_settlement_of_nothing_is_allowed() -> None:
    # given
    budget, platform = a_budget(), a_recognised_platform()
    grant = an_awarded_grant(budget, platform)
    before = len(grant.pending_events)

    # when
    settle(grant, budget, Money(0))

    # then
    assert one_new_event(grant, before, Grant.Settled).amount == Money(0)
    assert budget.committed == Money(0)


@pytest.mark.parametrize("amount", [Money(25_000_001), Money(-1)], ids=["above award", "negative"])
def test_a_settlement_above_the_award_or_below_zero_is_refused(amount: Money) -> None:
    # given
    budget, platform = a_budget(), a_recognised_platform()
    grant = an_awarded_grant(budget, platform)
    before = len(grant.pending_events), len(budget.pending_events)

    # when
    with pytest.raises(AmountBeyondLimit) as info:
        settle(grant, budget, amount)

    # then
    assert info.value.field == "amount"
    assert "settlement must be between EUR 0.00 and the award of EUR 250000.00" in str(info.value)
    assert "[rule: amount_beyond_limit]" in str(info.value)
    assert (len(grant.pending_events), len(budget.pending_events)) == before
    assert grant.settled is None


def test_settling_twice_is_refused() -> None:
    # given
    budget, platform = a_budget(), a_recognised_platform()
    grant = settled(an_awarded_grant(budget, platform), budget, "125000")
    before = len(grant.pending_events), len(budget.pending_events)

    # when
    with pytest.raises(InvalidTransition) as info:
        settle(grant, budget, eur("100000"))

    # then
    assert info.value.field == "amount"
    assert "grant SUB-2019-G is already settled" in str(info.value)
    assert "[rule: invalid_transition]" in str(info.value)
    assert (len(grant.pending_events), len(budget.pending_events)) == before
    assert grant.settled == eur("125000")


def test_settling_a_revoked_grant_releases_nothing_more() -> None:
    # given
    budget, platform = a_budget(), a_recognised_platform()
    grant = with_tranche_paid(an_awarded_grant(budget, platform), platform, 1)
    grant = revoked(grant, budget, retroactive=False)
    before = len(grant.pending_events), len(budget.pending_events)

    # when
    settle(grant, budget, eur("29000"))

    # then
    one_new_event(grant, before[0], Grant.Settled)
    assert len(budget.pending_events) == before[1]
    assert grant.state is GrantState.REVOKED
    assert grant.reclaimable == eur("96000")


def test_a_revoked_grant_stays_closed_to_tranches_after_its_settlement() -> None:
    # given
    budget, platform = a_budget(), a_recognised_platform()
    grant = with_tranche_paid(an_awarded_grant(budget, platform), platform, 1)
    grant = settled(revoked(grant, budget, retroactive=False), budget, "100000")
    before = len(grant.pending_events), len(budget.pending_events)

    # when
    with pytest.raises(GrantRevoked) as info:
        grant.pay_tranche(
            platform=platform,
            number=2,
            amount=eur("125000"),
            occurred_on=d("2020-06-01"),
            actor=OFFICIAL,
        )
    with pytest.raises(InvalidTransition):
        revoked(grant, budget)

    # then
    assert info.value.field == "number"
    assert (len(grant.pending_events), len(budget.pending_events)) == before


def test_a_settlement_refused_for_an_empty_reason_leaves_the_budget_untouched() -> None:
    # given
    budget, platform = a_budget(), a_recognised_platform()
    grant = an_awarded_grant(budget, platform)
    before = len(budget.pending_events)

    # when
    with pytest.raises(InvalidValue) as info:
        settle(grant, budget, eur("125000"), reason="")

    # then
    assert info.value.field == "reason"
    assert len(budget.pending_events) == before
    assert budget.committed == eur("250000")


# Recovery and refunds -----------------------------------------------------------------


def test_nothing_is_reclaimable_from_an_open_grant() -> None:
    # given
    budget, platform = a_budget(), a_recognised_platform()
    grant = with_tranche_paid(an_awarded_grant(budget, platform), platform, 1)

    # when
    reclaimable = grant.reclaimable

    # then
    assert reclaimable == Money(0)


def test_after_a_retroactive_revocation_everything_paid_is_reclaimable() -> None:
    # given
    budget, platform = a_budget(), a_recognised_platform()
    grant = with_tranche_paid(an_awarded_grant(budget, platform), platform, 1)

    # when
    revoked(grant, budget, retroactive=True)

    # then
    assert grant.reclaimable == eur("125000")


def test_after_a_settlement_what_was_claimed_or_refunded_is_no_longer_reclaimable() -> None:
    # given
    budget, platform = a_budget(), a_recognised_platform()
    grant = with_tranche_paid(an_awarded_grant(budget, platform), platform, 1)
    grant = settled(grant, budget, "29000")
    grant = claimed(grant, "50000")

    # when
    grant.receive_refund(amount=eur("6000"), occurred_on=LATER, actor=OFFICIAL)

    # then
    assert grant.reclaimable == eur("40000")


def test_claiming_recovery_after_a_revocation_records_the_claim() -> None:
    # given
    budget, platform = a_budget(), a_recognised_platform()
    grant = with_tranche_paid(an_awarded_grant(budget, platform), platform, 1)
    grant = revoked(grant, budget)
    before = len(grant.pending_events)

    # when
    grant.claim_recovery(
        amount=eur("96000"),
        decision_ref="TERUGVORDERING-1",
        reason="withdrawn without ground",
        occurred_on=d("2020-06-01"),
        actor=OFFICIAL,
    )

    # then
    event = one_new_event(grant, before, Grant.RecoveryClaimed)
    assert (event.amount, event.budget_id) == (eur("96000"), budget.id)
    assert (event.decision_ref, event.reason) == ("TERUGVORDERING-1", "withdrawn without ground")
    assert grant.claimed == eur("96000")
    assert grant.reclaimable == eur("29000")


@pytest.mark.parametrize(
    ("given_state", "amount", "reclaimable"),
    [
        ("revoked", "125000.01", "125000.00"),
        ("open", "0.01", "0.00"),
        ("claimed in full", "0.01", "0.00"),
    ],
)
def test_a_recovery_claim_beyond_the_reclaimable_is_refused(
    given_state: str, amount: str, reclaimable: str
) -> None:
    # given
    budget, platform = a_budget(), a_recognised_platform()
    grant = with_tranche_paid(an_awarded_grant(budget, platform), platform, 1)
    if given_state != "open":
        grant = revoked(grant, budget)
    if given_state == "claimed in full":
        grant = claimed(grant, "125000")
    before = len(grant.pending_events)

    # when
    with pytest.raises(AmountBeyondLimit) as info:
        grant.claim_recovery(
            amount=eur(amount),
            decision_ref="TERUGVORDERING-2",
            reason="paid without ground",
            occurred_on=LATER,
            actor=OFFICIAL,
        )

    # then
    assert info.value.field == "amount"
    assert f"exceeds the reclaimable EUR {reclaimable}" in str(info.value)
    assert "[rule: amount_beyond_limit]" in str(info.value)
    assert len(grant.pending_events) == before


def test_receiving_a_recovery_reduces_the_outstanding_claim() -> None:
    # given
    budget, platform = a_budget(), a_recognised_platform()
    grant = with_tranche_paid(an_awarded_grant(budget, platform), platform, 1)
    grant = claimed(revoked(grant, budget), "96000")
    before = len(grant.pending_events)

    # when
    grant.receive_recovery(amount=eur("62000"), occurred_on=d("2020-09-01"), actor=OFFICIAL)

    # then
    event = one_new_event(grant, before, Grant.RecoveryReceived)
    assert (event.amount, event.budget_id, event.occurred_on) == (
        eur("62000"),
        budget.id,
        d("2020-09-01"),
    )
    assert grant.recovered == eur("62000")
    assert grant.claimed - grant.recovered == eur("34000")
    assert grant.reversible_versions()[event.originator_version] == ("recovery", eur("62000"))


@pytest.mark.parametrize(
    ("claim", "received", "amount", "outstanding"),
    [
        (None, None, "0.01", "0.00"),
        ("96000", None, "96000.01", "96000.00"),
        ("96000", "62000", "34000.01", "34000.00"),
    ],
)
def test_a_recovery_received_beyond_the_outstanding_claim_is_refused(
    claim: str | None, received: str | None, amount: str, outstanding: str
) -> None:
    # given
    budget, platform = a_budget(), a_recognised_platform()
    grant = revoked(with_tranche_paid(an_awarded_grant(budget, platform), platform, 1), budget)
    if claim is not None:
        grant = claimed(grant, claim)
    if received is not None:
        grant.receive_recovery(amount=eur(received), occurred_on=LATER, actor=OFFICIAL)
    before = len(grant.pending_events)

    # when
    with pytest.raises(AmountBeyondLimit) as info:
        grant.receive_recovery(amount=eur(amount), occurred_on=LATER, actor=OFFICIAL)

    # then
    assert info.value.field == "amount"
    assert f"exceeds the outstanding claim of EUR {outstanding}" in str(info.value)
    assert "[rule: amount_beyond_limit]" in str(info.value)
    assert len(grant.pending_events) == before


def test_a_refund_of_unspent_money_is_recorded_against_the_grant() -> None:
    # given
    budget, platform = a_budget(), a_recognised_platform()
    grant = with_tranche_paid(an_awarded_grant(budget, platform), platform, 1)
    before = len(grant.pending_events)

    # when
    grant.receive_refund(amount=eur("5000"), occurred_on=LATER, actor=OFFICIAL)

    # then
    event = one_new_event(grant, before, Grant.RefundReceived)
    assert (event.amount, event.platform_id, event.budget_id) == (
        eur("5000"),
        platform.id,
        budget.id,
    )
    assert grant.refunded == eur("5000")


@pytest.mark.parametrize(
    ("refunded", "amount", "returnable"),
    [(None, "125000.01", "125000.00"), ("100000", "25000.01", "25000.00")],
)
def test_a_refund_beyond_what_was_paid_is_refused(
    refunded: str | None, amount: str, returnable: str
) -> None:
    # given
    budget, platform = a_budget(), a_recognised_platform()
    grant = with_tranche_paid(an_awarded_grant(budget, platform), platform, 1)
    if refunded is not None:
        grant.receive_refund(amount=eur(refunded), occurred_on=LATER, actor=OFFICIAL)
    before = len(grant.pending_events)

    # when
    with pytest.raises(AmountBeyondLimit) as info:
        grant.receive_refund(amount=eur(amount), occurred_on=LATER, actor=OFFICIAL)

    # then
    assert info.value.field == "amount"
    assert f"exceeds the EUR {returnable} paid and not yet refunded" in str(info.value)
    assert "[rule: amount_beyond_limit]" in str(info.value)
    assert len(grant.pending_events) == before


def test_a_refund_on_a_grant_with_nothing_paid_is_refused() -> None:
    # given
    budget, platform = a_budget(), a_recognised_platform()
    grant = an_awarded_grant(budget, platform)
    before = len(grant.pending_events)

    # when
    with pytest.raises(AmountBeyondLimit) as info:
        grant.receive_refund(amount=eur("0.01"), occurred_on=LATER, actor=OFFICIAL)

    # then
    assert info.value.field == "amount"
    assert "[rule: amount_beyond_limit]" in str(info.value)
    assert len(grant.pending_events) == before


def test_a_refund_beyond_what_was_paid_and_not_yet_recovered_is_refused() -> None:
    # given
    budget, platform = a_budget(), a_recognised_platform()
    grant = claimed(
        revoked(with_tranche_paid(an_awarded_grant(budget, platform), platform), budget), "125000"
    )
    grant.receive_recovery(amount=eur("125000"), occurred_on=LATER, actor=OFFICIAL)
    before = len(grant.pending_events)

    # when
    with pytest.raises(AmountBeyondLimit) as info:
        grant.receive_refund(amount=eur("1"), occurred_on=LATER, actor=OFFICIAL)

    # then
    assert info.value.field == "amount"
    assert len(grant.pending_events) == before


# Corrections --------------------------------------------------------------------------


def test_reversing_a_tranche_recorded_in_error_makes_it_payable_again() -> None:
    # given
    budget, platform = a_budget(), a_recognised_platform()
    grant = with_tranche_paid(an_awarded_grant(budget, platform), platform, 1)
    tranche_version = grant.version
    before = len(grant.pending_events)

    # when
    grant.reverse(
        reverses_version=tranche_version, reason="booked twice", occurred_on=LATER, actor=OFFICIAL
    )

    # then
    event = one_new_event(grant, before, Grant.EntryReversed)
    assert (event.reverses_version, event.reason) == (tranche_version, "booked twice")
    assert grant.paid == {}
    assert grant.reversible_versions() == {}
    grant.pay_tranche(
        platform=platform, number=1, amount=eur("125000"), occurred_on=LATER, actor=OFFICIAL
    )
    assert grant.paid_total == eur("125000")


def a_grant_revoked_after_a_tranche() -> tuple[DistrictBudget, Grant, int]:
    """A grant whose first tranche was paid and which was then revoked from a later date
    (not retroactively): its budget, the grant, and the version of the tranche paid."""
    budget, platform = a_budget(), a_recognised_platform()
    grant = with_tranche_paid(an_awarded_grant(budget, platform), platform, 1)
    tranche_version = grant.version
    return budget, revoked(grant, budget, retroactive=False), tranche_version


def test_given_a_revoked_grant_when_a_tranche_is_reversed_then_its_budget_takes_it_back() -> None:
    # given: a tranche paid, then the grant revoked from a later date (the revocation
    # returned the open commitment to the budget)
    budget, grant, tranche_version = a_grant_revoked_after_a_tranche()
    committed = budget.committed
    before_grant, before_budget = len(grant.pending_events), len(budget.pending_events)

    # when
    grant.reverse(
        reverses_version=tranche_version,
        reason="booked in error",
        occurred_on=LATER,
        actor=OFFICIAL,
        budget=budget,
    )

    # then: the tranche is gone from the grant and its amount back in the budget, so no
    # commitment is left that a revoked grant could never pay
    one_new_event(grant, before_grant, Grant.EntryReversed)
    released = one_new_event(budget, before_budget, DistrictBudget.CommitmentReleased)
    assert (released.grant_id, released.amount) == (grant.id, eur("125000"))
    assert grant.paid == {}
    assert budget.committed == committed - eur("125000")


def test_given_a_revoked_grant_when_a_tranche_is_reversed_without_its_budget_then_refused() -> None:
    # given
    _, grant, tranche_version = a_grant_revoked_after_a_tranche()
    other = a_budget(year=2020)
    before = len(grant.pending_events)

    # when / then: no budget, or another one, is refused and nothing is recorded
    with pytest.raises(InvalidValue) as info:
        grant.reverse(
            reverses_version=tranche_version, reason="error", occurred_on=LATER, actor=OFFICIAL
        )
    assert info.value.field == "budget"
    with pytest.raises(InvalidValue) as info:
        grant.reverse(
            reverses_version=tranche_version,
            reason="error",
            occurred_on=LATER,
            actor=OFFICIAL,
            budget=other,
        )
    assert info.value.field == "budget"
    assert len(grant.pending_events) == before
    assert other.pending_events == []
    assert grant.paid_total == eur("125000")


@pytest.mark.parametrize("kind", ["refund", "recovery"])
def test_reversing_a_refund_or_recovery_receipt_takes_it_back(kind: str) -> None:
    # given
    budget, platform = a_budget(), a_recognised_platform()
    grant = claimed(
        revoked(with_tranche_paid(an_awarded_grant(budget, platform), platform), budget), "96000"
    )
    if kind == "refund":
        grant.receive_refund(amount=eur("1000"), occurred_on=LATER, actor=OFFICIAL)
    else:
        grant.receive_recovery(amount=eur("1000"), occurred_on=LATER, actor=OFFICIAL)
    version = grant.version
    before = len(grant.pending_events)

    # when
    grant.reverse(reverses_version=version, reason="wrong grant", occurred_on=LATER, actor=OFFICIAL)

    # then
    one_new_event(grant, before, Grant.EntryReversed)
    assert (grant.refunded, grant.recovered) == (Money(0), Money(0))
    assert version not in grant.reversible_versions()


@pytest.mark.parametrize("version", [1, 99, 0])
def test_reversing_an_event_that_is_not_a_money_event_of_the_grant_is_refused(version: int) -> None:
    # given
    budget, platform = a_budget(), a_recognised_platform()
    grant = with_tranche_paid(an_awarded_grant(budget, platform), platform, 1)
    before = len(grant.pending_events)

    # when
    with pytest.raises(InvalidValue) as info:
        grant.reverse(reverses_version=version, reason="error", occurred_on=LATER, actor=OFFICIAL)

    # then
    assert type(info.value) is InvalidValue
    assert info.value.field == "reverses_version"
    assert f"event {version} of this Grant is not a reversible money event" in str(info.value)
    assert "[rule: invalid_value]" in str(info.value)
    assert len(grant.pending_events) == before


@pytest.mark.parametrize("version", ["2", True, 2.0])
def test_a_reversal_must_name_an_event_version_number(version: object) -> None:
    # given
    budget, platform = a_budget(), a_recognised_platform()
    grant = with_tranche_paid(an_awarded_grant(budget, platform), platform, 1)
    before = len(grant.pending_events)

    # when
    with pytest.raises(InvalidValue) as info:
        grant.reverse(
            reverses_version=version,  # type: ignore[arg-type]
            reason="error",
            occurred_on=LATER,
            actor=OFFICIAL,
        )

    # then
    assert info.value.field == "reverses_version"
    assert "must be an event version number" in str(info.value)
    assert "[rule: invalid_value]" in str(info.value)
    assert len(grant.pending_events) == before


def test_reversing_an_already_reversed_entry_is_refused() -> None:
    # given
    budget, platform = a_budget(), a_recognised_platform()
    grant = with_tranche_paid(an_awarded_grant(budget, platform), platform, 1)
    tranche_version = grant.version
    grant.reverse(
        reverses_version=tranche_version, reason="error", occurred_on=LATER, actor=OFFICIAL
    )
    before = len(grant.pending_events)

    # when
    with pytest.raises(InvalidTransition) as info:
        grant.reverse(
            reverses_version=tranche_version, reason="again", occurred_on=LATER, actor=OFFICIAL
        )

    # then
    assert info.value.field == "reverses_version"
    assert f"event {tranche_version} is already reversed" in str(info.value)
    assert "[rule: invalid_transition]" in str(info.value)
    assert len(grant.pending_events) == before


def test_a_reversal_without_a_reason_is_refused() -> None:
    # given
    budget, platform = a_budget(), a_recognised_platform()
    grant = with_tranche_paid(an_awarded_grant(budget, platform), platform, 1)
    before = len(grant.pending_events)

    # when
    with pytest.raises(InvalidValue) as info:
        grant.reverse(reverses_version=grant.version, reason=" ", occurred_on=LATER, actor=OFFICIAL)

    # then
    assert info.value.field == "reason"
    assert "[rule: invalid_value]" in str(info.value)
    assert len(grant.pending_events) == before
    assert grant.paid_total == eur("125000")


# The G-buurt case ---------------------------------------------------------------------


def test_the_g_buurt_case_leaves_a_claim_of_what_was_not_recovered() -> None:
    # given EUR 250,000 granted, EUR 125,000 paid as the first tranche at the end of 2019
    budget = a_budget("250000")
    platform = a_recognised_platform()
    grant = with_tranche_paid(an_awarded_grant(budget, platform), platform, 1)
    grant = revoked(grant, budget, retroactive=False)
    grant = settled(grant, budget, "29000")
    grant = claimed(grant, "96000")

    # when about EUR 62,000 is recovered
    grant.receive_recovery(amount=eur("62000"), occurred_on=d("2021-01-15"), actor=OFFICIAL)

    # then
    assert grant.paid_total == eur("125000")
    assert grant.claimed - grant.recovered == eur("34000")
    assert grant.reclaimable == Money(0)
    assert budget.unawarded == eur("125000")


# Rules that tie later decisions to what was paid and to the award ------------------------


def test_given_a_claim_when_a_refund_returns_the_money_then_it_is_no_longer_to_recover() -> None:
    # given EUR 125,000 paid, revoked with retroactive effect and claimed in full
    budget, platform = a_budget(), a_recognised_platform()
    grant = claimed(
        revoked(with_tranche_paid(an_awarded_grant(budget, platform), platform), budget), "125000"
    )

    # when the platform refunds EUR 25,000
    grant.receive_refund(amount=eur("25000"), occurred_on=LATER, actor=OFFICIAL)

    # then only the rest is still to recover, and nothing more can be claimed
    assert grant.to_recover == eur("100000")
    assert grant.reclaimable == Money(0)


def test_given_a_claim_paid_by_a_refund_when_the_recovery_is_received_too_then_it_is_refused() -> (
    None
):
    # given EUR 125,000 paid, revoked, claimed in full and refunded in full
    budget, platform = a_budget(), a_recognised_platform()
    grant = claimed(
        revoked(with_tranche_paid(an_awarded_grant(budget, platform), platform), budget), "125000"
    )
    grant.receive_refund(amount=eur("125000"), occurred_on=LATER, actor=OFFICIAL)
    before = len(grant.pending_events)

    # when
    with pytest.raises(ReturnsBeyondPaid) as info:
        grant.receive_recovery(amount=eur("0.01"), occurred_on=LATER, actor=OFFICIAL)

    # then
    assert info.value.field == "amount"
    assert "refunds and recoveries together never exceed what was paid" in str(info.value)
    assert "[rule: returns_beyond_paid]" in str(info.value)
    assert len(grant.pending_events) == before
    assert grant.refunded + grant.recovered == grant.paid_total


@pytest.mark.parametrize("given_return", ["refund", "claim", "recovery"])
def test_given_money_returned_or_claimed_when_its_tranche_is_reversed_then_it_is_refused(
    given_return: str,
) -> None:
    # given EUR 125,000 paid and part of it refunded, claimed, or claimed and recovered
    budget, platform = a_budget(), a_recognised_platform()
    grant = with_tranche_paid(an_awarded_grant(budget, platform), platform)
    tranche_version = grant.version
    if given_return == "refund":
        grant.receive_refund(amount=eur("20000"), occurred_on=LATER, actor=OFFICIAL)
    else:
        grant = claimed(revoked(grant, budget), "20000")
        if given_return == "recovery":
            grant.receive_recovery(amount=eur("20000"), occurred_on=LATER, actor=OFFICIAL)
    before = len(grant.pending_events)

    # when
    with pytest.raises(ReversalBreaksReturns) as info:
        grant.reverse(
            reverses_version=tranche_version, reason="error", occurred_on=LATER, actor=OFFICIAL
        )

    # then
    assert info.value.field == "reverses_version"
    assert "would leave EUR 0.00 paid" in str(info.value)
    assert "[rule: reversal_below_returns]" in str(info.value)
    assert len(grant.pending_events) == before
    assert grant.paid_total == eur("125000")


def test_given_two_tranches_paid_one_refunded_when_the_other_is_reversed_then_accepted() -> None:
    # given
    budget, platform = a_budget(), a_recognised_platform()
    grant = with_tranche_paid(an_awarded_grant(budget, platform), platform, 1)
    grant = with_tranche_paid(grant, platform, 2)
    second = grant.version
    grant.receive_refund(amount=eur("125000"), occurred_on=LATER, actor=OFFICIAL)

    # when
    grant.reverse(reverses_version=second, reason="error", occurred_on=LATER, actor=OFFICIAL)

    # then
    assert grant.paid_total == eur("125000")
    assert grant.refunded == eur("125000")


@pytest.mark.parametrize(
    ("amount", "accepted"),
    [("100000", True), ("125000", True), ("250000", True), ("200000", False), ("125000.01", False)],
)
def test_given_one_tranche_paid_when_settled_then_only_what_can_be_paid_as_scheduled_is_accepted(
    amount: str, accepted: bool
) -> None:
    # given EUR 250,000 in two tranches of EUR 125,000, the first paid
    budget, platform = a_budget(), a_recognised_platform()
    grant = with_tranche_paid(an_awarded_grant(budget, platform), platform, 1)
    before = len(grant.pending_events), len(budget.pending_events)

    # when
    if accepted:
        settle(grant, budget, eur(amount))
    else:
        with pytest.raises(SettlementNotPayable) as info:
            settle(grant, budget, eur(amount))

    # then
    if accepted:
        assert grant.settled == eur(amount)
    else:
        assert info.value.field == "amount"
        assert "at most the EUR 125000.00 paid, or that plus whole unpaid tranches" in str(
            info.value
        )
        assert "[rule: settlement_not_payable]" in str(info.value)
        assert (len(grant.pending_events), len(budget.pending_events)) == before
        assert grant.settled is None


def test_given_a_settlement_of_tranche_one_when_a_later_one_is_paid_first_then_refused() -> None:
    # given a schedule of 100,000, 100,000 and 50,000, settled at the first tranche
    budget, platform = a_budget(), a_recognised_platform()
    schedule = [
        TrancheSpec(1, d("2019-12-15"), eur("100000")),
        TrancheSpec(2, d("2020-06-01"), eur("100000")),
        TrancheSpec(3, d("2020-09-01"), eur("50000")),
    ]
    grant = settled(an_awarded_grant(budget, platform, tranches=schedule), budget, "100000")
    before = len(grant.pending_events)

    # when tranche 3 (EUR 50,000, within the settlement) is paid before tranche 1
    with pytest.raises(SettlementNotPayable) as info:
        grant.pay_tranche(
            platform=platform, number=3, amount=eur("50000"), occurred_on=LATER, actor=OFFICIAL
        )

    # then
    assert info.value.field == "number"
    assert "out of schedule order" in str(info.value)
    assert len(grant.pending_events) == before


def test_given_a_settlement_when_a_reversal_leaves_it_unpayable_then_refused() -> None:
    # given both tranches paid and settled at EUR 200,000
    budget, platform = a_budget(), a_recognised_platform()
    grant = with_tranche_paid(an_awarded_grant(budget, platform), platform, 1)
    first = grant.version
    grant = settled(with_tranche_paid(grant, platform, 2), budget, "200000")
    before = len(grant.pending_events)

    # when
    with pytest.raises(SettlementNotPayable) as info:
        grant.reverse(reverses_version=first, reason="error", occurred_on=LATER, actor=OFFICIAL)

    # then
    assert info.value.field == "reverses_version"
    assert len(grant.pending_events) == before


def test_given_a_revocation_when_settled_above_what_was_paid_then_refused() -> None:
    # given
    budget, platform = a_budget(), a_recognised_platform()
    grant = revoked(with_tranche_paid(an_awarded_grant(budget, platform), platform), budget, False)

    # when
    with pytest.raises(SettlementNotPayable) as info:
        settle(grant, budget, eur("250000"))

    # then
    assert "a revoked grant pays no more tranches" in str(info.value)
    assert grant.settled is None


@pytest.mark.parametrize("decision", ["suspend", "revoke"])
def test_given_a_platform_no_longer_recognised_when_its_award_is_raised_then_it_is_refused(
    decision: str,
) -> None:
    # given a grant awarded while recognised; recognition ended on 2020-02-01
    budget, platform = a_budget(), a_recognised_platform()
    grant = an_awarded_grant(budget, platform)
    before = len(grant.pending_events), len(budget.pending_events)
    getattr(platform, decision)(
        decision_ref="S-1",
        effective_on=d("2020-02-01"),
        reason="r",
        occurred_on=d("2020-02-01"),
        actor=OFFICIAL,
    )

    # when
    with pytest.raises(PlatformNotRecognised) as info:
        amend(
            grant,
            budget,
            platform,
            "300000",
            [*the_schedule(), TrancheSpec(3, d("2020-09-01"), eur("50000"))],
        )

    # then
    assert info.value.field == "platform"
    assert "an award is raised only for a recognised platform" in str(info.value)
    assert (len(grant.pending_events), len(budget.pending_events)) == before
    assert grant.amount == eur("250000")


def test_given_a_suspended_platform_when_its_award_is_lowered_then_it_is_accepted() -> None:
    # given
    budget, platform = a_budget(), a_recognised_platform()
    grant = an_awarded_grant(budget, platform)
    platform.suspend(
        decision_ref="S-1",
        effective_on=d("2020-02-01"),
        reason="r",
        occurred_on=d("2020-02-01"),
        actor=OFFICIAL,
    )

    # when
    amend(grant, budget, platform, "125000", [the_schedule()[0]])

    # then
    assert grant.amount == eur("125000")


def test_given_a_retroactive_revocation_when_the_grant_is_settled_then_it_is_refused() -> None:
    # given
    budget, platform = a_budget(), a_recognised_platform()
    grant = revoked(with_tranche_paid(an_awarded_grant(budget, platform), platform), budget)
    before = len(grant.pending_events), len(budget.pending_events)

    # when
    with pytest.raises(GrantRevoked) as info:
        settle(grant, budget, eur("125000"))

    # then
    assert info.value.field == "amount"
    assert "revoked with retroactive effect (Awb 4:48)" in str(info.value)
    assert (len(grant.pending_events), len(budget.pending_events)) == before
    assert grant.reclaimable == eur("125000")


BEFORE_AWARD = d("2019-10-31")


@pytest.mark.parametrize(
    ("command", "field"),
    [
        ("tranche", "occurred_on"),
        ("revocation decided", "occurred_on"),
        ("revocation effective", "effective_on"),
        ("settlement", "occurred_on"),
        ("amendment", "occurred_on"),
        ("claim", "occurred_on"),
        ("request", "occurred_on"),
        ("report", "occurred_on"),
        ("refund", "occurred_on"),
        ("recovery", "occurred_on"),
    ],
)
def test_given_an_award_when_a_decision_or_tranche_is_dated_before_it_then_it_is_refused(
    command: str, field: str
) -> None:
    # given a grant awarded on 2019-11-01 (a tranche paid for a report or a refund; revoked
    # for a claim; and a claim for a recovery)
    budget, platform = a_budget(), a_recognised_platform()
    grant = an_awarded_grant(budget, platform)
    if command in ("claim", "recovery", "report", "refund"):
        grant = with_tranche_paid(grant, platform)
    if command in ("claim", "recovery"):
        grant = revoked(grant, budget)
    if command == "recovery":
        grant = claimed(grant, "1")
    before = len(grant.pending_events), len(budget.pending_events)
    commands: dict[str, Callable[[], None]] = {
        "tranche": lambda: grant.pay_tranche(
            platform=platform,
            number=1,
            amount=eur("125000"),
            occurred_on=BEFORE_AWARD,
            actor=OFFICIAL,
        ),
        "revocation decided": lambda: grant.revoke(
            budget=budget,
            effective_on=AWARDED_ON,
            retroactive=True,
            decision_ref="I",
            reason="r",
            occurred_on=BEFORE_AWARD,
            actor=OFFICIAL,
        ),
        "revocation effective": lambda: grant.revoke(
            budget=budget,
            effective_on=BEFORE_AWARD,
            retroactive=True,
            decision_ref="I",
            reason="r",
            occurred_on=LATER,
            actor=OFFICIAL,
        ),
        "settlement": lambda: grant.settle(
            budget=budget,
            amount=Money(0),
            decision_ref="V",
            reason="r",
            occurred_on=BEFORE_AWARD,
            actor=OFFICIAL,
        ),
        "amendment": lambda: amend(grant, budget, platform, "250000", the_schedule(), BEFORE_AWARD),
        "claim": lambda: grant.claim_recovery(
            amount=eur("1"), decision_ref="T", reason="r", occurred_on=BEFORE_AWARD, actor=OFFICIAL
        ),
        "request": lambda: grant.request_tranche(
            number=1, occurred_on=BEFORE_AWARD, actor=OFFICIAL
        ),
        "report": lambda: grant.submit_report(
            tranche=1, spent=eur("1"), summary="s", occurred_on=BEFORE_AWARD, actor=OFFICIAL
        ),
        "refund": lambda: grant.receive_refund(
            amount=eur("1"), occurred_on=BEFORE_AWARD, actor=OFFICIAL
        ),
        "recovery": lambda: grant.receive_recovery(
            amount=eur("1"), occurred_on=BEFORE_AWARD, actor=OFFICIAL
        ),
    }

    # when
    with pytest.raises(BeforeAward) as info:
        commands[command]()

    # then
    assert info.value.field == field
    assert "is before the award of grant SUB-2019-G on 2019-11-01" in str(info.value)
    assert "[rule: before_award]" in str(info.value)
    assert (len(grant.pending_events), len(budget.pending_events)) == before


def test_given_an_award_when_a_revocation_works_back_to_the_award_date_then_it_is_accepted() -> (
    None
):
    # given
    budget, platform = a_budget(), a_recognised_platform()
    grant = an_awarded_grant(budget, platform)

    # when
    grant.revoke(
        budget=budget,
        effective_on=AWARDED_ON,
        retroactive=True,
        decision_ref="I",
        reason="r",
        occurred_on=AWARDED_ON,
        actor=OFFICIAL,
    )

    # then
    assert grant.revoked_on == grant.awarded_on == AWARDED_ON
