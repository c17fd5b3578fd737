"""Bank statements: lines are facts from the bank and are recorded even when they break policy."""

from __future__ import annotations

import pytest

from domain.bank import BankStatement
from domain.errors import InvalidAmount, InvalidIban, InvalidTransition, InvalidValue
from domain.money import Money
from domain.values import BankLineKind, Direction
from service.fixtures import d, dutch_iban
from tests.unit.builders import (
    CHAIR,
    CHAIR_IBAN,
    PLATFORM_IBAN,
    SUPPLIER_IBAN,
    TREASURER,
    a_recognised_platform,
    a_registered_platform,
    an_open_statement,
    eur,
    one_new_event,
    with_board,
)

LINE_DAY = d("2020-03-12")


def record(statement: BankStatement, **changes: object) -> None:
    """Record line 1: an outgoing transfer to a supplier, with some arguments changed."""
    command: dict[str, object] = {
        "line_no": 1,
        "direction": Direction.OUT,
        "kind": BankLineKind.TRANSFER,
        "amount": eur("450"),
        "counterparty_name": "Buurthuis De Kempering",
        "counterparty_iban": SUPPLIER_IBAN,
        "description": "hall hire",
        "occurred_on": LINE_DAY,
        "actor": TREASURER,
    } | changes
    statement.record_line(**command)  # type: ignore[arg-type]


def test_opening_a_statement_records_the_account() -> None:
    # given
    platform = a_registered_platform()

    # when
    statement = BankStatement.open(
        platform_id=platform.id,
        statement_ref=" 2020-03 ",
        account_iban=PLATFORM_IBAN.lower(),
        occurred_on=d("2020-03-31"),
        actor=TREASURER,
    )

    # then
    event = one_new_event(statement, 0, BankStatement.Opened)
    assert (event.platform_id, event.statement_ref, event.account_iban) == (
        platform.id,
        "2020-03",
        PLATFORM_IBAN,
    )
    assert statement.id == BankStatement.id_for(platform.id, "2020-03")
    assert statement.line_numbers == set()


@pytest.mark.parametrize(
    ("statement_ref", "account_iban", "error", "field", "rule"),
    [
        ("", PLATFORM_IBAN, InvalidValue, "statement_ref", "invalid_value"),
        ("2020-03", "NL58ABNA0000000002", InvalidIban, "account_iban", "invalid_iban"),
    ],
)
def test_opening_a_statement_with_an_invalid_field_is_refused(
    statement_ref: str, account_iban: str, error: type[InvalidValue], field: str, rule: str
) -> None:
    # given
    platform = a_registered_platform()

    # when
    with pytest.raises(error) as info:
        BankStatement.open(
            platform_id=platform.id,
            statement_ref=statement_ref,
            account_iban=account_iban,
            occurred_on=d("2020-03-31"),
            actor=TREASURER,
        )

    # then
    assert type(info.value) is error
    assert info.value.field == field
    assert f"[rule: {rule}]" in str(info.value)


def test_recording_a_line_keeps_what_the_bank_reported() -> None:
    # given
    platform = a_registered_platform()
    statement = an_open_statement(platform)
    before = len(statement.pending_events)

    # when
    statement.record_line(
        line_no=3,
        direction=Direction.OUT,
        kind=BankLineKind.TRANSFER,
        amount=eur("450"),
        counterparty_name=" Buurthuis De Kempering ",
        counterparty_iban=SUPPLIER_IBAN.lower(),
        description="hall hire",
        matches="expense:1",
        occurred_on=LINE_DAY,
        actor=TREASURER,
    )

    # then
    event = one_new_event(statement, before, BankStatement.LineRecorded)
    assert (event.platform_id, event.line_no, event.direction, event.kind) == (
        platform.id,
        3,
        Direction.OUT,
        BankLineKind.TRANSFER,
    )
    assert (event.amount, event.counterparty_name, event.counterparty_iban) == (
        eur("450"),
        "Buurthuis De Kempering",
        SUPPLIER_IBAN,
    )
    assert (event.description, event.matches, event.occurred_on) == (
        "hall hire",
        "expense:1",
        LINE_DAY,
    )
    assert statement.line_numbers == {3}
    assert statement.reversible_versions() == {event.originator_version: ("line", eur("450"))}


def test_a_large_cash_withdrawal_is_recorded_not_refused() -> None:
    # given
    statement = an_open_statement(a_recognised_platform())
    before = len(statement.pending_events)

    # when
    record(
        statement,
        line_no=1,
        kind=BankLineKind.CASH_WITHDRAWAL,
        amount=eur("9600"),
        counterparty_name="ATM Bijlmerplein",
        counterparty_iban=None,
    )

    # then
    event = one_new_event(statement, before, BankStatement.LineRecorded)
    assert (event.kind, event.direction, event.amount) == (
        BankLineKind.CASH_WITHDRAWAL,
        Direction.OUT,
        eur("9600"),
    )
    assert event.counterparty_iban is None


def test_a_transfer_to_a_board_members_own_account_is_recorded_not_refused() -> None:
    # given
    platform = with_board(a_recognised_platform())
    statement = an_open_statement(platform)
    before = len(statement.pending_events)

    # when
    record(
        statement,
        amount=eur("20000"),
        counterparty_name=CHAIR,
        counterparty_iban=CHAIR_IBAN,
        description="advance",
    )

    # then
    event = one_new_event(statement, before, BankStatement.LineRecorded)
    assert event.counterparty_iban == platform.members[CHAIR].iban
    assert (event.amount, event.matches) == (eur("20000"), None)


def test_an_outflow_with_no_expense_behind_it_is_recorded() -> None:
    # given
    statement = an_open_statement(a_recognised_platform())
    before = len(statement.pending_events)

    # when
    record(statement, matches=None, description="")

    # then
    event = one_new_event(statement, before, BankStatement.LineRecorded)
    assert (event.matches, event.description) == (None, "")


@pytest.mark.parametrize(
    ("direction", "kind"),
    [
        (Direction.IN, BankLineKind.DEPOSIT),
        (Direction.IN, BankLineKind.TRANSFER),
        (Direction.OUT, BankLineKind.CARD_PAYMENT),
        (Direction.OUT, BankLineKind.DIRECT_DEBIT),
        (Direction.OUT, BankLineKind.BANK_FEE),
        (Direction.IN, BankLineKind.CARD_PAYMENT),
    ],
)
def test_every_kind_of_line_is_recorded_in_its_possible_direction(
    direction: Direction, kind: BankLineKind
) -> None:
    # given
    statement = an_open_statement(a_registered_platform())
    before = len(statement.pending_events)

    # when
    record(statement, direction=direction, kind=kind)

    # then
    event = one_new_event(statement, before, BankStatement.LineRecorded)
    assert (event.direction, event.kind) == (direction, kind)


def test_a_line_number_already_recorded_on_the_statement_is_refused() -> None:
    # given
    statement = an_open_statement(a_registered_platform())
    record(statement, line_no=1)
    before = len(statement.pending_events)

    # when
    with pytest.raises(InvalidValue) as info:
        record(statement, line_no=1, amount=eur("12.50"))

    # then
    assert info.value.field == "line_no"
    assert "line 1 of 2020-03 is recorded" in str(info.value)
    assert "[rule: invalid_value]" in str(info.value)
    assert len(statement.pending_events) == before


@pytest.mark.parametrize(
    ("changes", "error", "field", "message"),
    [
        ({"line_no": 0}, InvalidValue, "line_no", "must be a positive whole number"),
        ({"line_no": True}, InvalidValue, "line_no", "must be a positive whole number"),
        ({"line_no": "2"}, InvalidValue, "line_no", "must be a positive whole number"),
        (
            {"kind": BankLineKind.DEPOSIT, "direction": Direction.OUT},
            InvalidValue,
            "direction",
            "a deposit comes in",
        ),
        (
            {"kind": BankLineKind.CASH_WITHDRAWAL, "direction": Direction.IN},
            InvalidValue,
            "direction",
            "a cash_withdrawal goes out",
        ),
        (
            {"kind": BankLineKind.BANK_FEE, "direction": Direction.IN},
            InvalidValue,
            "direction",
            "a bank_fee goes out",
        ),
        ({"amount": Money(0)}, InvalidAmount, "amount", "must be more than zero"),
        ({"counterparty_name": ""}, InvalidValue, "counterparty_name", "must not be empty"),
        (
            {"counterparty_iban": "NL58ABNA0000000002"},
            InvalidIban,
            "counterparty_iban",
            "not a valid IBAN",
        ),
        ({"description": "d" * 2001}, InvalidValue, "description", "at most 2000"),
        ({"occurred_on": "2020-03-12"}, InvalidValue, "occurred_on", "must be a date"),
    ],
)
def test_a_malformed_line_is_refused(
    changes: dict[str, object], error: type[InvalidValue], field: str, message: str
) -> None:
    # given
    statement = an_open_statement(a_registered_platform())
    before = len(statement.pending_events)

    # when
    with pytest.raises(error) as info:
        record(statement, **changes)

    # then
    assert type(info.value) is error
    assert info.value.field == field
    assert message in str(info.value)
    assert f"[rule: {error.rule}]" in str(info.value)
    assert len(statement.pending_events) == before
    assert statement.line_numbers == set()


def test_reversing_a_line_recorded_in_error_is_recorded() -> None:
    # given
    statement = an_open_statement(a_registered_platform())
    record(statement, line_no=1)
    record(statement, line_no=2, counterparty_iban=dutch_iban(202))
    line_version = statement.version
    before = len(statement.pending_events)

    # when
    statement.reverse(
        reverses_version=line_version,
        reason="typed from the wrong statement",
        occurred_on=LINE_DAY,
        actor=TREASURER,
    )

    # then
    event = one_new_event(statement, before, BankStatement.EntryReversed)
    assert (event.reverses_version, event.reason) == (
        line_version,
        "typed from the wrong statement",
    )
    assert list(statement.reversible_versions()) == [line_version - 1]


@pytest.mark.parametrize("version", [1, 7])
def test_reversing_an_event_that_is_not_a_line_is_refused(version: int) -> None:
    # given: version 1 is the opening of the statement
    statement = an_open_statement(a_registered_platform())
    record(statement, line_no=1)
    before = len(statement.pending_events)

    # when
    with pytest.raises(InvalidValue) as info:
        statement.reverse(
            reverses_version=version, reason="error", occurred_on=LINE_DAY, actor=TREASURER
        )

    # then
    assert info.value.field == "reverses_version"
    assert f"event {version} of this BankStatement is not a reversible" in str(info.value)
    assert "[rule: invalid_value]" in str(info.value)
    assert len(statement.pending_events) == before


def test_reversing_a_line_twice_is_refused() -> None:
    # given
    statement = an_open_statement(a_registered_platform())
    record(statement, line_no=1)
    line_version = statement.version
    statement.reverse(
        reverses_version=line_version, reason="error", occurred_on=LINE_DAY, actor=TREASURER
    )
    before = len(statement.pending_events)

    # when
    with pytest.raises(InvalidTransition) as info:
        statement.reverse(
            reverses_version=line_version, reason="again", occurred_on=LINE_DAY, actor=TREASURER
        )

    # then
    assert info.value.field == "reverses_version"
    assert f"event {line_version} is already reversed" in str(info.value)
    assert "[rule: invalid_transition]" in str(info.value)
    assert len(statement.pending_events) == before
