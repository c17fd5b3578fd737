"""The signals projection's facts: the late-booking threshold is applied when folding."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from domain.platform import Platform
from domain.risk import RiskConfig
from domain.values import LegalForm
from projections.base import fold
from projections.rows import MemoryRows
from projections.signals import Signals
from service.fixtures import d, dutch_iban

CONFIG = RiskConfig()


@pytest.mark.parametrize(("delay", "late"), [(CONFIG.late_days, 0), (CONFIG.late_days + 1, 1)])
def test_an_event_recorded_more_than_ten_days_late_is_counted(delay: int, late: int) -> None:
    # given: a registration recorded ``delay`` days after its business date
    platform = Platform.register(
        name="P",
        neighbourhood="B",
        district="Zuidoost",
        legal_form=LegalForm.STICHTING,
        kvk="12345678",
        account_iban=dutch_iban(1),
        occurred_on=d("2020-01-01"),
        actor="o",
    )
    event = platform.collect_events()[0]
    recorded = datetime(2020, 1, 1, 12, tzinfo=UTC) + timedelta(days=delay)
    event = dataclasses.replace(event, timestamp=recorded)  # type: ignore[type-var]
    # when
    rows = fold(Signals(CONFIG), [(1, event)], MemoryRows())
    # then
    head = rows.get("head", str(platform.id))
    assert head is not None
    assert head["late"] == late
    findings = rows.get("findings", str(platform.id))
    assert findings is not None
    assert [f["rule"] for f in findings["findings"]].count("late_booking") == late
