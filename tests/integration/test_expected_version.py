"""Changes carry the version they were decided on; a stale one is refused, nothing stored."""

from __future__ import annotations

from datetime import date

import pytest

from domain.bank import BankStatement
from domain.errors import ConcurrentUpdate
from domain.platform import Platform
from domain.values import BankLineKind, Direction, Role
from service.application import BankLine, Buurtkas
from tests.integration.givens import OFFICIAL, TREASURER, eur, given_platform


def line(line_no: int) -> BankLine:
    return BankLine(
        line_no=line_no,
        direction=Direction.OUT,
        kind=BankLineKind.BANK_FEE,
        amount=eur("2.50"),
        counterparty_name="Bank",
        occurred_on=date(2020, 2, 1),
    )


class TestExpectedVersion:
    def test_a_change_at_the_expected_version_is_stored(self, app: Buurtkas) -> None:
        # given
        platform_id = given_platform(app, recognised=False)
        version = app.load(Platform, platform_id, "platform").version
        # when
        app.join_member(
            platform_id,
            person="Nina Nieuw",
            role=Role.CORE_GROUP,
            occurred_on=date(2020, 2, 1),
            actor=OFFICIAL,
            expected_version=version,
        )
        # then
        assert app.load(Platform, platform_id, "platform").version == version + 1

    def test_a_change_on_a_stale_version_is_refused_and_nothing_is_stored(
        self, app: Buurtkas
    ) -> None:
        # given
        platform_id = given_platform(app, recognised=False)
        version = app.load(Platform, platform_id, "platform").version
        # when
        with pytest.raises(ConcurrentUpdate) as refused:
            app.join_member(
                platform_id,
                person="Nina Nieuw",
                role=Role.CORE_GROUP,
                occurred_on=date(2020, 2, 1),
                actor=OFFICIAL,
                expected_version=version - 1,
            )
        # then
        assert refused.value.field == "expected_version"
        assert f"at version {version}, not {version - 1}" in refused.value.message
        assert app.load(Platform, platform_id, "platform").version == version

    def test_bank_lines_expect_version_0_for_a_new_statement_and_the_current_one_after(
        self, app: Buurtkas
    ) -> None:
        # given
        platform_id = given_platform(app, recognised=False)
        # when
        statement_id = app.record_bank_lines(
            platform_id=platform_id,
            statement_ref="2020-02",
            lines=[line(1)],
            occurred_on=date(2020, 2, 1),
            actor=TREASURER,
            expected_version=0,
        )
        # then: the same statement again at 0, or a new one at 2, is refused
        for ref, version in (("2020-02", 0), ("2020-03", 2)):
            with pytest.raises(ConcurrentUpdate):
                app.record_bank_lines(
                    platform_id=platform_id,
                    statement_ref=ref,
                    lines=[line(2)],
                    occurred_on=date(2020, 2, 1),
                    actor=TREASURER,
                    expected_version=version,
                )
        app.record_bank_lines(
            platform_id=platform_id,
            statement_ref="2020-02",
            lines=[line(2)],
            occurred_on=date(2020, 2, 1),
            actor=TREASURER,
            expected_version=2,
        )
        statement = app.load(BankStatement, statement_id, "statement")
        assert statement.line_numbers == {1, 2}
