"""The signals projection's facts: the late-booking threshold is applied when folding."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from domain.platform import Platform
from domain.risk import RiskConfig
from domain.values import LegalForm
from projections.base import StoredRow, fold
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


def log_rows(platform: str, *runs: list[str]) -> list[StoredRow]:
    """A platform's head and its log cut into ``runs``, as ``select`` gives them."""
    rows: list[StoredRow] = []
    start = 0
    for run in runs:
        rows.append(("facts", f"{platform}:{start:09d}", platform, {"facts": list(run)}))
        start += len(run)
    facts = sum(len(run) for run in runs)
    head = {"clock": None, "late": 0, "worst": 0, "facts": facts, "row": start - len(runs[-1])}
    return [("head", platform, platform, head), *rows]


def test_a_log_cut_into_other_rows_is_the_same_log() -> None:
    # given: one log cut into rows as two foldings in other batches cut it
    one = log_rows("p", ["a", "b", "c"], ["d"])
    other = log_rows("p", ["a"], ["b", "c", "d"])
    # then: their canonical rows are the same, while the rows themselves are not
    assert one != other
    assert Signals().canonical(sorted(one)) == Signals().canonical(sorted(other))


@pytest.mark.parametrize(
    "other",
    [
        [["a", "b"], ["d"]],  # a fact left out
        [["a", "b", "c"], ["c", "d"]],  # a fact logged twice
        [["a", "c", "b"], ["d"]],  # two facts in another order
    ],
)
def test_a_log_with_a_fact_missing_twice_or_out_of_order_is_another_log(
    other: list[list[str]],
) -> None:
    # given: a log, and one that differs in its facts however it is cut
    one = log_rows("p", ["a", "b", "c"], ["d"])
    changed = log_rows("p", *other)
    # then: their canonical rows differ
    assert Signals().canonical(sorted(one)) != Signals().canonical(sorted(changed))
