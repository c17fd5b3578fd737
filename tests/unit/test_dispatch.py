"""How the read models pick a handler for an event: by its class, resolved once."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from domain.bank import BankStatement
from domain.expense import Expense
from domain.grant import Grant
from domain.platform import Platform
from domain.transfer import PlatformTransfer
from projections.base import Dispatch

EVENT_CLASSES: list[type] = sorted(
    {
        cls
        for aggregate in (Platform, Grant, Expense, BankStatement, PlatformTransfer)
        for cls in vars(aggregate).values()
        if isinstance(cls, type) and issubclass(cls, aggregate.Event)
    },
    key=lambda cls: cls.__qualname__,
)
"""The event classes of five aggregates, their base ``Event`` classes included."""


def test_an_event_class_gets_the_first_case_it_is_a_subclass_of() -> None:
    # given cases in which a base class comes before one of its subclasses
    dispatch: Dispatch[str] = Dispatch(
        [(Expense.Approved, "approved"), (Expense.Event, "expense"), (Grant.Event, "grant")]
    )
    # when / then
    assert dispatch[Expense.Approved] == "approved"
    assert dispatch[Expense.Paid] == "expense"
    assert dispatch[Grant.TranchePaid] == "grant"


def test_a_class_no_case_covers_gets_none_and_is_remembered() -> None:
    # given
    dispatch: Dispatch[str] = Dispatch([(Grant.Event, "grant")])
    # when
    found = dispatch[Platform.Registered]
    # then
    assert found is None
    assert Platform.Registered in dispatch  # resolved once, not again for the next event


def test_a_tuple_of_classes_is_one_case() -> None:
    # given
    dispatch: Dispatch[str] = Dispatch([((Expense.Rejected, Grant.Revoked), "refused")])
    # when / then
    assert dispatch[Expense.Rejected] == dispatch[Grant.Revoked] == "refused"
    assert dispatch[Expense.Approved] is None


@given(
    cases=st.lists(st.sampled_from(EVENT_CLASSES), max_size=8),
    asked=st.lists(st.sampled_from(EVENT_CLASSES), min_size=1, max_size=20),
)
def test_dispatch_agrees_with_a_chain_of_subclass_tests_whatever_was_asked_before(
    cases: list[type], asked: list[type]
) -> None:
    # given cases numbered in order, and a dispatch over them
    dispatch: Dispatch[int] = Dispatch([(cls, n) for n, cls in enumerate(cases)])
    for cls in asked:
        # when a class is looked up (by indexing, as the folds do, or by an event's call)
        by_index = dispatch[cls]
        by_call = dispatch(object.__new__(cls))
        # then both give the first case in order that the class is a subclass of
        expected = next((n for n, case in enumerate(cases) if issubclass(cls, case)), None)
        assert by_index == by_call == expected
