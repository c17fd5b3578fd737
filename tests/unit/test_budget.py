"""District budgets: allocation, commitments to grants and their release."""

from __future__ import annotations

from uuid import uuid4

import pytest

from domain.budget import DistrictBudget
from domain.errors import BudgetExceeded, InvalidAmount, InvalidValue
from domain.money import Money
from tests.unit.builders import ALLOCATED_ON, LATER, OFFICIAL, a_budget, eur, one_new_event


def test_allocating_a_budget_records_the_district_year_and_amount() -> None:
    # given
    amount = eur("500000")

    # when
    budget = DistrictBudget.allocate(
        district=" Nieuw-West ", year=2019, amount=amount, occurred_on=ALLOCATED_ON, actor=OFFICIAL
    )

    # then
    event = one_new_event(budget, 0, DistrictBudget.Allocated)
    assert (event.district, event.year, event.amount) == ("Nieuw-West", 2019, amount)
    assert (event.occurred_on, event.actor) == (ALLOCATED_ON, OFFICIAL)
    assert budget.id == DistrictBudget.id_for("nieuw-west", 2019)
    assert (budget.amount, budget.committed, budget.unawarded) == (amount, Money(0), amount)
    assert budget.grant_ids == []


@pytest.mark.parametrize(
    ("district", "year", "amount", "occurred_on", "actor", "field", "error"),
    [
        ("", 2019, Money(100), ALLOCATED_ON, OFFICIAL, "district", InvalidValue),
        ("Noord", 1999, Money(100), ALLOCATED_ON, OFFICIAL, "year", InvalidValue),
        ("Noord", 2101, Money(100), ALLOCATED_ON, OFFICIAL, "year", InvalidValue),
        ("Noord", 2019, Money(0), ALLOCATED_ON, OFFICIAL, "amount", InvalidAmount),
        ("Noord", 2019, Money(100), "2019-01-02", OFFICIAL, "occurred_on", InvalidValue),
        ("Noord", 2019, Money(100), ALLOCATED_ON, "", "actor", InvalidValue),
    ],
)
def test_an_allocation_with_an_invalid_field_is_refused(
    district: str,
    year: int,
    amount: Money,
    occurred_on: object,
    actor: str,
    field: str,
    error: type[InvalidValue],
) -> None:
    # given
    rule = "invalid_amount" if error is InvalidAmount else "invalid_value"

    # when
    with pytest.raises(error) as info:
        DistrictBudget.allocate(
            district=district,
            year=year,
            amount=amount,
            occurred_on=occurred_on,  # type: ignore[arg-type]
            actor=actor,
        )

    # then
    assert type(info.value) is error
    assert info.value.field == field
    assert f"[rule: {rule}]" in str(info.value)


def test_committing_to_a_grant_reserves_part_of_the_budget() -> None:
    # given
    budget = a_budget("500000")
    grant_id = uuid4()
    before = len(budget.pending_events)

    # when
    budget.commit(grant_id=grant_id, amount=eur("250000"), occurred_on=LATER, actor=OFFICIAL)

    # then
    event = one_new_event(budget, before, DistrictBudget.GrantCommitted)
    assert (event.grant_id, event.amount) == (grant_id, eur("250000"))
    assert (event.occurred_on, event.actor) == (LATER, OFFICIAL)
    assert budget.committed == eur("250000")
    assert budget.unawarded == eur("250000")
    assert budget.grant_ids == [grant_id]


def test_the_whole_unawarded_budget_can_be_committed() -> None:
    # given
    budget = a_budget("500000")
    budget.commit(grant_id=uuid4(), amount=eur("300000"), occurred_on=LATER, actor=OFFICIAL)

    # when
    budget.commit(grant_id=uuid4(), amount=eur("200000"), occurred_on=LATER, actor=OFFICIAL)

    # then
    assert budget.unawarded == Money(0)
    assert len(budget.grant_ids) == 2


def test_a_commitment_beyond_the_unawarded_budget_is_refused() -> None:
    # given
    budget = a_budget("500000")
    budget.commit(grant_id=uuid4(), amount=eur("300000"), occurred_on=LATER, actor=OFFICIAL)
    before = len(budget.pending_events)

    # when
    with pytest.raises(BudgetExceeded) as info:
        budget.commit(grant_id=uuid4(), amount=eur("200000.01"), occurred_on=LATER, actor=OFFICIAL)

    # then
    assert info.value.field == "amount"
    assert "exceeds the unawarded budget of Zuidoost 2019 (EUR 200000.00)" in str(info.value)
    assert "[rule: budget_exceeded]" in str(info.value)
    assert len(budget.pending_events) == before
    assert budget.committed == eur("300000")


def test_a_commitment_of_nothing_is_refused() -> None:
    # given
    budget = a_budget()
    before = len(budget.pending_events)

    # when
    with pytest.raises(InvalidAmount) as info:
        budget.commit(grant_id=uuid4(), amount=Money(0), occurred_on=LATER, actor=OFFICIAL)

    # then
    assert info.value.field == "amount"
    assert "[rule: invalid_amount]" in str(info.value)
    assert len(budget.pending_events) == before


def test_releasing_a_commitment_returns_it_to_the_unawarded_budget() -> None:
    # given
    budget = a_budget("500000")
    grant_id = uuid4()
    budget.commit(grant_id=grant_id, amount=eur("250000"), occurred_on=LATER, actor=OFFICIAL)
    before = len(budget.pending_events)

    # when
    budget.release(grant_id=grant_id, amount=eur("100000"), occurred_on=LATER, actor=OFFICIAL)

    # then
    event = one_new_event(budget, before, DistrictBudget.CommitmentReleased)
    assert (event.grant_id, event.amount, event.actor) == (grant_id, eur("100000"), OFFICIAL)
    assert budget.committed == eur("150000")
    assert budget.unawarded == eur("350000")


def test_releasing_nothing_records_nothing() -> None:
    # given
    budget = a_budget()
    before = len(budget.pending_events)

    # when
    budget.release(grant_id=uuid4(), amount=Money(0), occurred_on=LATER, actor=OFFICIAL)

    # then
    assert len(budget.pending_events) == before
    assert budget.committed == Money(0)


def test_releasing_more_than_is_committed_is_refused() -> None:
    # given
    budget = a_budget()
    budget.commit(grant_id=uuid4(), amount=eur("1000"), occurred_on=LATER, actor=OFFICIAL)
    before = len(budget.pending_events)

    # when
    with pytest.raises(InvalidValue) as info:
        budget.release(grant_id=uuid4(), amount=eur("1000.01"), occurred_on=LATER, actor=OFFICIAL)

    # then
    assert info.value.field == "amount"
    assert "exceeds the committed EUR 1000.00" in info.value.message
    assert len(budget.pending_events) == before


def test_a_datetime_is_refused_where_a_business_date_is_expected() -> None:
    # given
    from datetime import datetime

    budget = a_budget()
    before = len(budget.pending_events)

    # when
    with pytest.raises(InvalidValue) as info:
        budget.commit(
            grant_id=uuid4(), amount=eur("1"), occurred_on=datetime(2020, 1, 1), actor=OFFICIAL
        )

    # then
    assert info.value.field == "occurred_on"
    assert len(budget.pending_events) == before
