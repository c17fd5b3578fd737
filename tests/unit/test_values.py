"""Value validators: IBAN, KvK number, texts, hashes, periods, enums, ids and base fields."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.base import actor_of, business_date, reason_of
from domain.errors import InvalidIban, InvalidKvkNumber, InvalidValue
from domain.values import (
    EARLIEST,
    LATEST,
    MAX_NAME,
    MAX_TEXT,
    Direction,
    LegalForm,
    iban,
    kvk_number,
    optional_iban,
    optional_text,
    parse_enum,
    period,
    sha256_hex,
    stable_id,
    text,
)
from service.fixtures import d

# IBAN ---------------------------------------------------------------------------------


def test_a_valid_iban_is_kept_in_compact_upper_case_form() -> None:
    # given
    written = "nl91 abna 0417 1643 00"

    # when
    account = iban("iban", written)

    # then
    assert account == "NL91ABNA0417164300"


@pytest.mark.parametrize(
    "value",
    [
        "NL91ABNA0417164301",  # one digit off: the checksum no longer holds
        "NL00ABNA0417164300",  # wrong check digits
        "NL91ABNA04171643",  # too short for a Dutch IBAN
        "not an iban",
    ],
)
def test_an_iban_with_an_invalid_checksum_or_format_is_refused(value: str) -> None:
    # given
    field = "counterparty_iban"

    # when
    with pytest.raises(InvalidIban) as info:
        iban(field, value)

    # then
    assert info.value.field == field
    assert "is not a valid IBAN" in str(info.value)
    assert "[rule: invalid_iban]" in str(info.value)


def test_an_iban_that_is_not_text_is_refused() -> None:
    # given
    number = 9104171643

    # when
    with pytest.raises(InvalidIban) as info:
        iban("iban", number)

    # then
    assert info.value.field == "iban"
    assert "[rule: invalid_iban]" in str(info.value)


@pytest.mark.parametrize("blank", [None, "", "   "])
def test_an_optional_iban_left_blank_is_unknown(blank: str | None) -> None:
    # given
    value = blank

    # when
    account = optional_iban("iban", value)

    # then
    assert account is None


def test_an_optional_iban_that_is_given_must_be_valid() -> None:
    # given
    value = "NL91ABNA0417164301"

    # when
    with pytest.raises(InvalidIban) as info:
        optional_iban("relative_iban", value)

    # then
    assert info.value.field == "relative_iban"
    assert "[rule: invalid_iban]" in str(info.value)


# KvK ----------------------------------------------------------------------------------


def test_a_kvk_number_of_eight_digits_is_accepted_without_surrounding_space() -> None:
    # given
    written = " 12345678 "

    # when
    number = kvk_number("kvk_number", written)

    # then
    assert number == "12345678"


@pytest.mark.parametrize("value", ["1234567", "123456789", "1234567a", "1234 5678", "", 12345678])
def test_a_kvk_number_that_is_not_eight_digits_is_refused(value: object) -> None:
    # given
    field = "kvk_number"

    # when
    with pytest.raises(InvalidKvkNumber) as info:
        kvk_number(field, value)

    # then
    assert info.value.field == field
    assert "must be exactly 8 digits" in str(info.value)
    assert "[rule: invalid_kvk_number]" in str(info.value)


def test_a_kvk_number_in_non_ascii_digits_is_refused() -> None:
    # given
    arabic_indic = "\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668"

    # when
    with pytest.raises(InvalidKvkNumber) as info:
        kvk_number("kvk_number", arabic_indic)

    # then
    assert info.value.field == "kvk_number"


# Texts --------------------------------------------------------------------------------


def test_a_text_is_trimmed() -> None:
    # given
    written = "  Hart voor de K-buurt \n"

    # when
    cleaned = text("name", written)

    # then
    assert cleaned == "Hart voor de K-buurt"


def test_a_text_of_exactly_the_maximum_length_is_accepted() -> None:
    # given
    longest = "x" * MAX_NAME

    # when
    cleaned = text("name", longest)

    # then
    assert len(cleaned) == MAX_NAME


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "must not be empty"),
        ("   ", "must not be empty"),
        ("x" * (MAX_NAME + 1), f"must be at most {MAX_NAME} characters"),
        (42, "must be text"),
        (None, "must be text"),
    ],
)
def test_an_empty_too_long_or_non_text_value_is_refused(value: object, message: str) -> None:
    # given
    field = "name"

    # when
    with pytest.raises(InvalidValue) as info:
        text(field, value)

    # then
    assert info.value.field == field
    assert message in str(info.value)
    assert "[rule: invalid_value]" in str(info.value)


def test_an_optional_text_may_be_empty() -> None:
    # given
    blank = "  "

    # when
    cleaned = text("description", blank, required=False)

    # then
    assert cleaned == ""


def test_an_optional_text_left_blank_is_unknown_and_a_given_one_is_trimmed() -> None:
    # given
    values = (None, " ", " F-17 ")

    # when
    cleaned = [optional_text("invoice_number", v) for v in values]

    # then
    assert cleaned == [None, None, "F-17"]


# Hashes, periods, enums, ids ------------------------------------------------------------


def test_a_receipt_hash_is_kept_in_lower_case() -> None:
    # given
    upper = "AB" * 32

    # when
    digest = sha256_hex("receipt_sha256", upper)

    # then
    assert digest == "ab" * 32


@pytest.mark.parametrize("value", ["ab" * 31, "zz" * 32, "ab" * 33, 123])
def test_a_receipt_hash_that_is_not_sha256_hex_is_refused(value: object) -> None:
    # given
    field = "receipt_sha256"

    # when
    with pytest.raises(InvalidValue) as info:
        sha256_hex(field, value)

    # then
    assert info.value.field == field
    assert "[rule: invalid_value]" in str(info.value)


def test_a_period_ending_before_it_starts_is_refused_naming_the_end() -> None:
    # given
    start, end = d("2020-01-01"), d("2019-12-31")

    # when
    with pytest.raises(InvalidValue) as info:
        period("period_start", start, "period_end", end)

    # then
    assert info.value.field == "period_end"
    assert "must not be before period_start (2020-01-01)" in str(info.value)
    assert "[rule: invalid_value]" in str(info.value)


def test_an_enum_value_is_parsed_from_its_text() -> None:
    # given
    written = "vereniging"

    # when
    form = parse_enum(LegalForm, "legal_form", written)

    # then
    assert form is LegalForm.VERENIGING


def test_an_enum_member_is_taken_as_it_is() -> None:
    # given
    member = Direction.OUT

    # when
    parsed = parse_enum(Direction, "direction", member)

    # then
    assert parsed is Direction.OUT


def test_an_unknown_enum_value_is_refused_listing_the_allowed_ones() -> None:
    # given
    written = "sideways"

    # when
    with pytest.raises(InvalidValue) as info:
        parse_enum(Direction, "direction", written)

    # then
    assert info.value.field == "direction"
    assert "must be one of in, out, got 'sideways'" in str(info.value)
    assert "[rule: invalid_value]" in str(info.value)


def test_a_stable_id_ignores_case_and_surrounding_space_of_the_natural_key() -> None:
    # given
    key, same_key_written_differently = "Stichting G-buurt", "  stichting g-BUURT "

    # when
    ids = (stable_id("platform", key), stable_id("platform", same_key_written_differently))

    # then
    assert ids[0] == ids[1]
    assert stable_id("grant", key) != ids[0]


# Base fields ----------------------------------------------------------------------------


def test_a_business_date_must_be_a_date() -> None:
    # given
    written = "2020-03-01"

    # when
    with pytest.raises(InvalidValue) as info:
        business_date("occurred_on", written)

    # then
    assert info.value.field == "occurred_on"
    assert "must be a date" in str(info.value)
    assert "[rule: invalid_value]" in str(info.value)


def test_a_business_date_is_kept_as_given() -> None:
    # given
    day = date(2020, 3, 1)

    # when
    kept = business_date("occurred_on", day)

    # then
    assert kept == day


def test_an_empty_actor_is_refused() -> None:
    # given
    nobody = " "

    # when
    with pytest.raises(InvalidValue) as info:
        actor_of(nobody)

    # then
    assert info.value.field == "actor"
    assert "[rule: invalid_value]" in str(info.value)


def test_a_reason_may_be_long_but_not_longer_than_the_text_limit() -> None:
    # given
    longest, too_long = "r" * MAX_TEXT, "r" * (MAX_TEXT + 1)

    # when
    with pytest.raises(InvalidValue) as info:
        reason_of(too_long)

    # then
    assert reason_of(longest) == longest
    assert info.value.field == "reason"
    assert f"at most {MAX_TEXT} characters" in str(info.value)
    assert "[rule: invalid_value]" in str(info.value)


@given(st.dates())
def test_a_business_date_is_kept_inside_the_bounds_and_refused_outside_naming_the_field(
    day: date,
) -> None:
    # given any date Python knows
    inside = EARLIEST <= day <= LATEST
    # when / then: kept as it is between 1900-01-01 and 2199-12-31, refused otherwise
    if inside:
        assert business_date("occurred_on", day) == day
    else:
        with pytest.raises(InvalidValue) as refused:
            business_date("occurred_on", day)
        assert refused.value.field == "occurred_on"
        assert "between 1900-01-01 and 2199-12-31" in refused.value.message


def test_a_grant_period_outside_the_bounds_is_refused_naming_its_end() -> None:
    # when / then
    with pytest.raises(InvalidValue) as refused:
        period("period_start", date(2020, 1, 1), "period_end", date(9999, 12, 31))
    assert refused.value.field == "period_end"
