"""A bank line names the record it confirms by one canonical reference."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import InvalidValue
from domain.matching import BankMatch, parse_reference

PLATFORM = UUID(int=7)
SPELLINGS: list[Callable[[UUID], str]] = [
    lambda u: str(u),
    lambda u: u.hex,
    lambda u: u.hex.upper(),
    lambda u: f"{{{u}}}",
    lambda u: f"urn:uuid:{u}",
    lambda u: f"  {u} ",
]


@given(
    expense=st.uuids(),
    one=st.sampled_from(SPELLINGS),
    other=st.sampled_from(SPELLINGS),
)
def test_every_spelling_of_an_expense_id_names_one_record_and_one_match(
    expense: UUID, one: Callable[[UUID], str], other: Callable[[UUID], str]
) -> None:
    # given two spellings of the same expense id
    first, second = (f"expense:{spell(expense)}" for spell in (one, other))
    # when both are read
    a, b = parse_reference(first), parse_reference(second)
    # then they are the same reference, in the standard form, with the same match
    assert a == b
    assert str(a) == f"expense:{expense}"
    assert BankMatch.id_for(PLATFORM, a) == BankMatch.id_for(PLATFORM, b)


@given(
    kind=st.sampled_from(["tranche", "refund"]),
    number=st.integers(min_value=0, max_value=10**6),
    zeros=st.integers(min_value=0, max_value=4),
    other=st.integers(min_value=0, max_value=10**6),
)
def test_a_number_with_leading_zeros_names_the_same_record_and_another_number_another(
    kind: str, number: int, zeros: int, other: int
) -> None:
    # given a number written with leading zeros
    padded = f"{kind}:G-1:{'0' * zeros}{number}"
    # when it is read
    reference = parse_reference(padded)
    # then it is the number as written without them; another number is another record
    assert str(reference) == f"{kind}:G-1:{number}"
    assert (parse_reference(f"{kind}:G-1:{other}") == reference) == (other == number)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("expense:12", "is not an expense id"),
        ("tranche:G-1:\u0661", "end in a number"),  # an Arabic-Indic digit one
        ("tranche:G-1:1.0", "end in a number"),
        ("tranche::1", "end in a number"),
        ("invoice:12", "must look like"),
        ("expense:", "must look like"),
    ],
)
def test_a_reference_that_names_no_record_plainly_is_refused(text: str, message: str) -> None:
    # when
    with pytest.raises(InvalidValue) as refused:
        parse_reference(text)
    # then
    assert refused.value.field == "matches"
    assert message in refused.value.message
