"""Tranche requests and spending reports (Awb 4:45): the facts behind "report overdue while
a next tranche is requested"."""

from __future__ import annotations

import pytest

from domain.errors import (
    AlreadyExists,
    DomainError,
    GrantRevoked,
    InvalidAmount,
    InvalidTransition,
    TrancheNotScheduled,
)
from domain.grant import Grant
from domain.money import Money
from tests.unit.builders import (
    LATER,
    OFFICIAL,
    a_budget,
    a_recognised_platform,
    an_awarded_grant,
    eur,
    one_new_event,
    revoked,
    with_tranche_paid,
)

TREASURER = "penningmeester@g-buurt.example"


def paid_first_tranche() -> Grant:
    budget, platform = a_budget(), a_recognised_platform()
    return with_tranche_paid(an_awarded_grant(budget, platform), platform)


def test_requesting_the_next_scheduled_tranche_records_the_request() -> None:
    # given
    grant = paid_first_tranche()
    before = len(grant.pending_events)
    # when
    grant.request_tranche(number=2, occurred_on=LATER, actor=TREASURER)
    # then
    event = one_new_event(grant, before, Grant.TrancheRequested)
    assert (event.number, event.occurred_on, event.actor) == (2, LATER, TREASURER)
    assert grant.requested == {2}


@pytest.mark.parametrize(
    ("number", "error", "message"),
    [
        (7, TrancheNotScheduled, "tranche 7 is not in the award's schedule"),
        (1, InvalidTransition, "tranche 1 was already paid"),
    ],
)
def test_a_request_for_an_unscheduled_or_paid_tranche_is_refused(
    number: int, error: type[DomainError], message: str
) -> None:
    # given
    grant = paid_first_tranche()
    before = len(grant.pending_events)
    # when
    with pytest.raises(error) as info:
        grant.request_tranche(number=number, occurred_on=LATER, actor=TREASURER)
    # then
    assert info.value.field == "number"
    assert message in str(info.value)
    assert len(grant.pending_events) == before


def test_asking_twice_for_the_same_tranche_is_refused() -> None:
    # given
    grant = paid_first_tranche()
    grant.request_tranche(number=2, occurred_on=LATER, actor=TREASURER)
    # when / then
    with pytest.raises(InvalidTransition, match="tranche 2 was already requested"):
        grant.request_tranche(number=2, occurred_on=LATER, actor=TREASURER)


def test_a_request_on_a_revoked_grant_is_refused() -> None:
    # given
    budget, platform = a_budget(), a_recognised_platform()
    grant = revoked(an_awarded_grant(budget, platform), budget)
    # when / then
    with pytest.raises(GrantRevoked):
        grant.request_tranche(number=1, occurred_on=LATER, actor=TREASURER)


def test_reporting_on_a_paid_tranche_records_what_was_spent() -> None:
    # given
    grant = paid_first_tranche()
    before = len(grant.pending_events)
    # when
    grant.submit_report(
        tranche=1,
        spent=eur("118000.50"),
        summary="summer festival, homework support, neighbourhood garden",
        occurred_on=LATER,
        actor=TREASURER,
    )
    # then
    event = one_new_event(grant, before, Grant.ReportSubmitted)
    assert (event.tranche, event.spent) == (1, eur("118000.50"))
    assert grant.reported == {1}


@pytest.mark.parametrize(
    ("tranche", "spent", "summary", "error", "field"),
    [
        (2, 1000, "an account", InvalidTransition, "tranche"),
        (1, -100, "an account", InvalidAmount, "spent"),
        (1, 1000, "   ", DomainError, "summary"),
    ],
)
def test_a_report_on_an_unpaid_tranche_or_with_bad_fields_is_refused(
    tranche: int, spent: int, summary: str, error: type[DomainError], field: str
) -> None:
    # given
    grant = paid_first_tranche()
    before = len(grant.pending_events)
    # when
    with pytest.raises(error) as info:
        grant.submit_report(
            tranche=tranche, spent=Money(spent), summary=summary, occurred_on=LATER, actor=OFFICIAL
        )
    # then
    assert info.value.field == field
    assert len(grant.pending_events) == before


def test_a_second_report_on_the_same_tranche_is_refused() -> None:
    # given
    grant = paid_first_tranche()
    grant.submit_report(
        tranche=1, spent=eur("10"), summary="an account", occurred_on=LATER, actor=TREASURER
    )
    # when / then
    with pytest.raises(AlreadyExists, match="already submitted"):
        grant.submit_report(
            tranche=1, spent=eur("10"), summary="again", occurred_on=LATER, actor=TREASURER
        )
