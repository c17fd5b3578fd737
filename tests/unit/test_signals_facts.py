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


LOG = [f"fact {n}" for n in range(12)]


def test_a_log_cut_into_other_rows_is_the_same_log() -> None:
    # given: one log cut into rows as two foldings in other batches cut it
    one = log_rows("p", LOG[:9], LOG[9:])
    other = log_rows("p", LOG)
    # then: their canonical rows are the same, while the rows themselves are not
    assert one != other
    assert Signals().canonical(sorted(one)) == Signals().canonical(sorted(other))


@pytest.mark.parametrize(
    "other",
    [
        [LOG[:9], LOG[10:]],  # a fact left out
        [LOG[:9], LOG[8:]],  # a fact logged twice
        [LOG[:9], [LOG[10], LOG[9], LOG[11]]],  # two facts in another order
    ],
)
def test_a_log_with_a_fact_missing_twice_or_out_of_order_is_another_log(
    other: list[list[str]],
) -> None:
    # given: a log, and one that differs in its facts however it is cut
    one = log_rows("p", LOG[:9], LOG[9:])
    changed = log_rows("p", *other)
    # then: their canonical rows differ
    assert Signals().canonical(sorted(one)) != Signals().canonical(sorted(changed))


def test_a_log_cut_as_no_fold_cuts_it_is_named_so() -> None:
    # given: the same facts, with a row closed before it held FACTS_OPEN facts (no fold
    # starts a row while the last is open), and a head naming an earlier row as the last
    early = log_rows("p", LOG[:3], LOG[3:])
    head_behind = log_rows("p", LOG[:9], LOG[9:])
    head_behind[0][3]["row"] = 0
    # when
    canonical = [Signals().canonical(sorted(rows)) for rows in (early, head_behind)]
    # then: each has a layout row naming the problem, which a well-cut log has not
    well_cut = Signals().canonical(sorted(log_rows("p", LOG)))
    assert not [row for row in well_cut if row[0] == "layout"]
    problems = [[row[3]["problems"] for row in rows if row[0] == "layout"] for rows in canonical]
    assert problems == [
        [["row p:000000000 holds 3 facts and is not the last"]],
        [["head counts 12 facts from row 0, the rows 12 from row 9"]],
    ]
