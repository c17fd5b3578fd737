"""Transfers of money between two platforms' accounts: a decision an official records,
made only between platforms the council recognises."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import InvalidAmount, InvalidTransition, InvalidValue, PlatformNotRecognised
from domain.money import Money
from domain.platform import Platform
from domain.transfer import PlatformTransfer
from service.fixtures import d
from tests.unit.builders import (
    OFFICIAL,
    RECOGNISED_ON,
    a_recognised_platform,
    a_registered_platform,
    a_revoked_platform,
    a_suspended_platform,
    an_applying_platform,
    eur,
    one_new_event,
    recorded,
)

DAY = d("2020-04-01")


def a_transfer() -> PlatformTransfer:
    g_buurt = a_recognised_platform()
    k_buurt = a_recognised_platform("Hart voor de K-buurt")
    transfer = PlatformTransfer.make(
        reference="OVERBOEKING-1",
        from_platform=g_buurt,
        to_platform=k_buurt,
        amount=eur("10000"),
        occurred_on=DAY,
        actor=OFFICIAL,
    )
    transfer.collect_events()
    return transfer


def test_a_transfer_between_two_platforms_is_recorded() -> None:
    # given
    g_buurt = a_recognised_platform()
    k_buurt = a_recognised_platform("Hart voor de K-buurt")

    # when
    transfer = PlatformTransfer.make(
        reference=" OVERBOEKING-1 ",
        from_platform=g_buurt,
        to_platform=k_buurt,
        amount=eur("10000"),
        description="joint summer festival",
        occurred_on=DAY,
        actor=OFFICIAL,
    )

    # then
    event = one_new_event(transfer, 0, PlatformTransfer.Made)
    assert (event.reference, event.from_platform_id, event.to_platform_id) == (
        "OVERBOEKING-1",
        g_buurt.id,
        k_buurt.id,
    )
    assert (event.amount, event.description) == (eur("10000"), "joint summer festival")
    assert (event.occurred_on, event.actor) == (DAY, OFFICIAL)
    assert transfer.id == PlatformTransfer.id_for("overboeking-1")
    assert (transfer.from_platform_id, transfer.to_platform_id, transfer.amount) == (
        g_buurt.id,
        k_buurt.id,
        eur("10000"),
    )
    assert transfer.reversible_versions() == {1: ("transfer", eur("10000"))}


def test_a_transfer_to_the_same_platform_is_refused() -> None:
    # given
    platform = a_recognised_platform()

    # when
    with pytest.raises(InvalidValue) as info:
        PlatformTransfer.make(
            reference="OVERBOEKING-2",
            from_platform=platform,
            to_platform=platform,
            amount=eur("10000"),
            occurred_on=DAY,
            actor=OFFICIAL,
        )

    # then
    assert info.value.field == "to_platform_id"
    assert "a transfer needs two different platforms" in str(info.value)
    assert "[rule: invalid_value]" in str(info.value)


@pytest.mark.parametrize(
    ("reference", "amount", "error", "field"),
    [
        ("", eur("1"), InvalidValue, "reference"),
        ("OVERBOEKING-3", Money(0), InvalidAmount, "amount"),
    ],
)
def test_a_transfer_without_a_reference_or_amount_is_refused(
    reference: str, amount: Money, error: type[InvalidValue], field: str
) -> None:
    # given
    g_buurt = a_recognised_platform()
    k_buurt = a_recognised_platform("Hart voor de K-buurt")

    # when
    with pytest.raises(error) as info:
        PlatformTransfer.make(
            reference=reference,
            from_platform=g_buurt,
            to_platform=k_buurt,
            amount=amount,
            occurred_on=DAY,
            actor=OFFICIAL,
        )

    # then
    assert type(info.value) is error
    assert info.value.field == field
    assert f"[rule: {error.rule}]" in str(info.value)


def transfer(source: Platform, target: Platform, occurred_on: date = DAY) -> PlatformTransfer:
    return PlatformTransfer.make(
        reference="OVERBOEKING-7",
        from_platform=source,
        to_platform=target,
        amount=eur("10000"),
        occurred_on=occurred_on,
        actor=OFFICIAL,
    )


NOT_RECOGNISED: list[tuple[Callable[[], Platform], str]] = [
    (a_revoked_platform, "revoked"),
    (a_suspended_platform, "suspended"),
    (a_registered_platform, "unrecognised"),
    (an_applying_platform, "unrecognised"),
]
NOT_RECOGNISED_IDS = ["revoked", "suspended", "registered", "applying"]


@pytest.mark.parametrize(("given_platform", "state"), NOT_RECOGNISED, ids=NOT_RECOGNISED_IDS)
def test_a_transfer_from_a_platform_that_is_not_recognised_is_refused(
    given_platform: Callable[[], Platform], state: str
) -> None:
    # given
    g_buurt = given_platform()
    k_buurt = a_recognised_platform("Hart voor de K-buurt")

    # when
    with pytest.raises(PlatformNotRecognised) as info:
        transfer(g_buurt, k_buurt)

    # then
    assert info.value.field == "from_platform_id"
    assert f"Stichting G-buurt is {state} " in str(info.value)
    assert "money is transferred only from a recognised platform" in str(info.value)
    assert "[rule: platform_not_recognised]" in str(info.value)
    assert g_buurt.pending_events == k_buurt.pending_events == []


@pytest.mark.parametrize(("given_platform", "state"), NOT_RECOGNISED, ids=NOT_RECOGNISED_IDS)
def test_a_transfer_to_a_platform_that_is_not_recognised_is_refused(
    given_platform: Callable[[], Platform], state: str
) -> None:
    # given
    k_buurt = a_recognised_platform("Hart voor de K-buurt")
    g_buurt = given_platform()

    # when
    with pytest.raises(PlatformNotRecognised) as info:
        transfer(k_buurt, g_buurt)

    # then
    assert info.value.field == "to_platform_id"
    assert f"Stichting G-buurt is {state} " in str(info.value)
    assert "money is transferred only to a recognised platform" in str(info.value)
    assert "[rule: platform_not_recognised]" in str(info.value)


def test_a_backdated_transfer_from_a_platform_revoked_since_is_refused() -> None:
    # given a recognition revoked on 2020-05-01
    g_buurt = a_revoked_platform(effective_on=d("2020-05-01"))
    k_buurt = a_recognised_platform("Hart voor de K-buurt")

    # when the transfer is dated while it was still recognised
    with pytest.raises(PlatformNotRecognised) as info:
        transfer(g_buurt, k_buurt, occurred_on=d("2020-04-01"))

    # then
    assert info.value.field == "from_platform_id"
    assert "Stichting G-buurt is revoked now (transfer dated 2020-04-01)" in str(info.value)


def test_a_transfer_dated_before_the_recognition_took_effect_is_refused() -> None:
    # given
    g_buurt = a_recognised_platform()
    k_buurt = a_recognised_platform("Hart voor de K-buurt")

    # when
    with pytest.raises(PlatformNotRecognised) as info:
        transfer(g_buurt, k_buurt, occurred_on=RECOGNISED_ON - timedelta(days=1))

    # then
    assert info.value.field == "from_platform_id"
    assert "Stichting G-buurt is unrecognised on 2019-08-31" in str(info.value)


def test_a_transfer_from_a_platform_whose_suspension_was_lifted_is_recorded() -> None:
    # given
    g_buurt = a_suspended_platform()
    g_buurt.lift_suspension(
        decision_ref="OPHEFFING-1",
        effective_on=d("2020-01-15"),
        reason="the report was filed",
        occurred_on=d("2020-01-15"),
        actor=OFFICIAL,
    )
    recorded(g_buurt)
    k_buurt = a_recognised_platform("Hart voor de K-buurt")

    # when
    made = transfer(g_buurt, k_buurt)

    # then
    event = one_new_event(made, 0, PlatformTransfer.Made)
    assert (event.from_platform_id, event.to_platform_id) == (g_buurt.id, k_buurt.id)


DECISIONS = {
    "suspend": (Platform.suspend, {"recognised"}, "suspended"),
    "lift_suspension": (Platform.lift_suspension, {"suspended"}, "recognised"),
    "revoke": (Platform.revoke, {"recognised", "suspended"}, "revoked"),
}
"""Each decision of the council: the states it may be taken in, and the state it leaves."""
decision_histories = st.lists(
    st.tuples(st.sampled_from(sorted(DECISIONS)), st.integers(min_value=1, max_value=60)),
    max_size=4,
)


def platform_with(
    name: str, decisions: list[tuple[str, int]]
) -> tuple[Platform, list[tuple[date, str]]]:
    """A platform recognised on RECOGNISED_ON, then those of the decisions its state allows,
    each some days after the last; and the model of its states: (effective from, state)."""
    platform = a_recognised_platform(name)
    states = [(RECOGNISED_ON, "recognised")]
    day = RECOGNISED_ON
    for verb, days in decisions:
        decide, allowed_in, state = DECISIONS[verb]
        if states[-1][1] not in allowed_in:
            continue
        day += timedelta(days=days)
        decide(
            platform,
            decision_ref=f"BESLUIT-{day}",
            effective_on=day,
            reason="council decision",
            occurred_on=day,
            actor=OFFICIAL,
        )
        states.append((day, state))
    recorded(platform)
    return platform, states


def modelled(states: list[tuple[date, str]], day: date) -> bool:
    """Recognised on ``day`` and now, by the model."""
    then = [state for effective_on, state in states if effective_on <= day]
    return bool(then) and then[-1] == "recognised" and states[-1][1] == "recognised"


@settings(max_examples=300, deadline=None)
@given(
    source_decisions=decision_histories,
    target_decisions=decision_histories,
    days=st.integers(min_value=-30, max_value=300),
)
def test_a_transfer_is_made_exactly_between_platforms_recognised_on_its_date_and_now(
    source_decisions: list[tuple[str, int]],
    target_decisions: list[tuple[str, int]],
    days: int,
) -> None:
    # given two platforms with histories of suspensions, lifts and revocations
    source, source_states = platform_with("Stichting G-buurt", source_decisions)
    target, target_states = platform_with("Hart voor de K-buurt", target_decisions)
    day = RECOGNISED_ON + timedelta(days=days)
    allowed = modelled(source_states, day) and modelled(target_states, day)

    # when a transfer between them is dated on ``day``
    if allowed:
        made = transfer(source, target, occurred_on=day)

        # then it is recorded
        assert one_new_event(made, 0, PlatformTransfer.Made).occurred_on == day
        return
    with pytest.raises(PlatformNotRecognised) as info:
        transfer(source, target, occurred_on=day)

    # or refused naming the first platform that is not recognised, changing neither
    paying_first = "from_platform_id" if not modelled(source_states, day) else "to_platform_id"
    assert info.value.field == paying_first
    assert source.pending_events == target.pending_events == []


def test_reversing_a_transfer_made_in_error_is_recorded() -> None:
    # given
    transfer = a_transfer()
    before = len(transfer.pending_events)

    # when
    transfer.reverse(reverses_version=1, reason="wrong platform", occurred_on=DAY, actor=OFFICIAL)

    # then
    event = one_new_event(transfer, before, PlatformTransfer.EntryReversed)
    assert (event.reverses_version, event.reason, event.actor) == (1, "wrong platform", OFFICIAL)
    assert transfer.reversible_versions() == {}


def test_reversing_a_transfer_twice_is_refused() -> None:
    # given
    transfer = a_transfer()
    transfer.reverse(reverses_version=1, reason="wrong platform", occurred_on=DAY, actor=OFFICIAL)
    before = len(transfer.pending_events)

    # when
    with pytest.raises(InvalidTransition) as info:
        transfer.reverse(reverses_version=1, reason="again", occurred_on=DAY, actor=OFFICIAL)

    # then
    assert info.value.field == "reverses_version"
    assert "event 1 is already reversed" in str(info.value)
    assert "[rule: invalid_transition]" in str(info.value)
    assert len(transfer.pending_events) == before


def test_reversing_an_unknown_version_of_a_transfer_is_refused() -> None:
    # given
    transfer = a_transfer()
    before = len(transfer.pending_events)

    # when
    with pytest.raises(InvalidValue) as info:
        transfer.reverse(reverses_version=2, reason="error", occurred_on=DAY, actor=OFFICIAL)

    # then
    assert info.value.field == "reverses_version"
    assert "event 2 of this PlatformTransfer is not a reversible money event" in str(info.value)
    assert "[rule: invalid_value]" in str(info.value)
    assert len(transfer.pending_events) == before
