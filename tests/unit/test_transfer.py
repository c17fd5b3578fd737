"""Transfers of money between two platforms' accounts."""

from __future__ import annotations

import pytest

from domain.errors import InvalidAmount, InvalidTransition, InvalidValue
from domain.money import Money
from domain.transfer import PlatformTransfer
from service.fixtures import d
from tests.unit.builders import (
    OFFICIAL,
    a_recognised_platform,
    eur,
    one_new_event,
)

DAY = d("2020-04-01")


def a_transfer() -> PlatformTransfer:
    g_buurt = a_recognised_platform()
    k_buurt = a_recognised_platform("Hart voor de K-buurt")
    transfer = PlatformTransfer.make(
        reference="OVERBOEKING-1",
        from_platform_id=g_buurt.id,
        to_platform_id=k_buurt.id,
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
        from_platform_id=g_buurt.id,
        to_platform_id=k_buurt.id,
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
            from_platform_id=platform.id,
            to_platform_id=platform.id,
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
            from_platform_id=g_buurt.id,
            to_platform_id=k_buurt.id,
            amount=amount,
            occurred_on=DAY,
            actor=OFFICIAL,
        )

    # then
    assert type(info.value) is error
    assert info.value.field == field
    assert f"[rule: {error.rule}]" in str(info.value)


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
