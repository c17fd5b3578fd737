"""Money: integer euro cents, parsed from strings, never from floats."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import InvalidAmount, InvalidValue
from domain.money import MAX_CENTS, Money, total


@pytest.mark.parametrize(
    ("text", "cents"),
    [
        ("1234.56", 123456),
        ("12.5", 1250),
        ("12.", 1200),
        ("12", 1200),
        ("  7.05  ", 705),
        ("+3.10", 310),
        ("EUR 12", 1200),
        ("eur12.34", 1234),
        ("12.34 EUR", 1234),
        ("0.01", 1),
        ("100000000.00", MAX_CENTS),
    ],
)
def test_an_amount_in_euros_is_parsed_to_exact_cents(text: str, cents: int) -> None:
    # given
    amount_text = text

    # when
    amount = Money.parse("amount", amount_text)

    # then
    assert amount == Money(cents)


def test_an_integer_is_read_as_whole_euros() -> None:
    # given
    whole_euros = 125000

    # when
    amount = Money.parse("amount", whole_euros)

    # then
    assert amount.cents == 12_500_000


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (12.5, "never a float"),
        (0.1, "never a float"),
        (True, "never a float"),
        (None, "never a float"),
        ("1.234", "more than two decimals"),
        ("0.001", "more than two decimals"),
        ("0", "more than zero"),
        ("0.00", "more than zero"),
        ("EUR 0", "more than zero"),
        ("-5", "more than zero"),
        ("-0.01", "more than zero"),
        (-5, "more than zero"),
        ("100000000.01", "must not exceed EUR 100000000.00"),
        ("999999999999", "must not exceed EUR 100000000.00"),
        ("USD 5", "currency must be EUR, got USD"),
        ("5 usd", "currency must be EUR, got USD"),
        ("EUR 5 GBP", "currency must be EUR, got GBP"),
        ("twelve", "is not an amount"),
        ("", "is not an amount"),
        ("1,50", "is not an amount"),
        ("1.2.3", "is not an amount"),
        ("1e5", "is not an amount"),
        (".50", "is not an amount"),
        ("EUR", "is not an amount"),
    ],
)
def test_a_malformed_or_out_of_range_amount_is_refused_naming_the_field(
    value: object, message: str
) -> None:
    # given
    field = "tranches[1].amount"

    # when
    with pytest.raises(InvalidAmount) as info:
        Money.parse(field, value)

    # then
    assert info.value.field == field
    assert message in info.value.message
    assert "[rule: invalid_amount]" in str(info.value)


def test_an_invalid_amount_is_also_an_invalid_value() -> None:
    # given
    garbage = "lots"

    # when
    with pytest.raises(InvalidValue) as info:
        Money.parse("amount", garbage)

    # then
    assert type(info.value) is InvalidAmount
    assert info.value.field == "amount"
    assert "[rule: invalid_amount]" in str(info.value)


def test_an_amount_written_with_non_ascii_digits_is_refused() -> None:
    # given
    arabic_indic_five = "\u0665"

    # when
    with pytest.raises(InvalidAmount) as info:
        Money.parse("amount", arabic_indic_five)

    # then
    assert info.value.field == "amount"
    assert "[rule: invalid_amount]" in str(info.value)


@pytest.mark.parametrize("cents", [1, MAX_CENTS])
def test_require_positive_accepts_the_bounds(cents: int) -> None:
    # given
    amount = Money(cents)

    # when
    checked = amount.require_positive("amount")

    # then
    assert checked is amount


@pytest.mark.parametrize(
    ("cents", "message"),
    [(0, "must be more than zero"), (-1, "must be more than zero"), (MAX_CENTS + 1, "exceed")],
)
def test_require_positive_refuses_zero_negative_and_too_large(cents: int, message: str) -> None:
    # given
    amount = Money(cents)

    # when
    with pytest.raises(InvalidAmount) as info:
        amount.require_positive("settlement")

    # then
    assert info.value.field == "settlement"
    assert message in str(info.value)
    assert "[rule: invalid_amount]" in str(info.value)


@pytest.mark.parametrize("cents", [1.5, True, "100"])
def test_money_is_never_built_from_anything_but_integer_cents(cents: object) -> None:
    # given
    not_an_int = cents

    # when
    with pytest.raises(TypeError) as info:
        Money(not_an_int)  # type: ignore[arg-type]

    # then
    assert str(info.value) == f"Money needs integer cents, got {type(not_an_int).__name__}"


@pytest.mark.parametrize(
    ("cents", "text"),
    [(0, "0.00"), (5, "0.05"), (123456, "1234.56"), (-5, "-0.05"), (-123456, "-1234.56")],
)
def test_money_is_shown_with_two_decimals_and_a_sign(cents: int, text: str) -> None:
    # given
    amount = Money(cents)

    # when
    shown = str(amount)

    # then
    assert shown == text
    assert repr(amount) == f"Money('{text}')"


def test_money_adds_subtracts_and_negates_in_cents() -> None:
    # given
    a, b = Money(12_500_000), Money(9_600_000)

    # when
    results = (a + b, a - b, b - a, -a)

    # then
    assert results == (Money(22_100_000), Money(2_900_000), Money(-2_900_000), Money(-12_500_000))


def test_money_is_ordered_by_cents() -> None:
    # given
    amounts = [Money(300), Money(-1), Money(0)]

    # when
    ordered = sorted(amounts)

    # then
    assert ordered == [Money(-1), Money(0), Money(300)]
    assert Money(1) > Money.zero()


def test_the_total_of_amounts_is_their_sum_and_of_none_is_zero() -> None:
    # given
    amounts = [Money(100), Money(250), Money(-50)]

    # when
    sums = (total(amounts), total(()))

    # then
    assert sums == (Money(300), Money(0))


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=1, max_value=MAX_CENTS))
def test_a_shown_amount_parses_back_to_the_same_cents(cents: int) -> None:
    # given
    amount = Money(cents)

    # when
    parsed = Money.parse("amount", str(amount))

    # then
    assert parsed == amount
