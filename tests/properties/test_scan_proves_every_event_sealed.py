"""The store checks skip counting the events only when the leaves prove every event has one.

For any set of stored event positions and any list of leaf positions (in any order, with
holes, repeats, or leaves naming no event), whenever the scan takes the leaves as proof
(``_leaves_cover_the_events``), the events are exactly the positions the leaves name.
"""

from __future__ import annotations

from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from audit.scan import Findings, RangeResult, ScanReport, _leaves_cover_the_events

positions = st.integers(min_value=-3, max_value=40)


def scanned(
    leaves: list[int], events: set[int], cuts: list[int]
) -> tuple[ScanReport, list[RangeResult]]:
    """The report and ranges the scan would have made of these leaves, cut into ranges."""
    report = ScanReport(leaves=len(leaves))
    for i, position in enumerate(leaves):
        if position not in events:
            report.found.add("positions", "leaf_without_event", position, "")
        if i and position <= leaves[i - 1]:
            report.found.add("positions", "out_of_order", position, "")
    bounds = sorted({0, len(leaves), *(c for c in cuts if 0 < c < len(leaves))})
    results = [
        RangeResult(
            lo=lo,
            leaves=hi - lo,
            first_position=leaves[lo] if hi > lo else None,
            last_position=leaves[hi - 1] if hi > lo else None,
            stacks={},
            found=Findings(),
            complete=True,
        )
        for lo, hi in pairwise(bounds)
    ]
    return report, results


@given(
    st.sets(positions, max_size=30),
    st.lists(positions, max_size=30),
    st.lists(st.integers(min_value=0, max_value=30), max_size=4),
)
def test_the_leaves_are_taken_as_proof_only_when_they_name_exactly_the_events(
    events: set[int], leaves: list[int], cuts: list[int]
) -> None:
    # given a store's events and the leaves the scan read, in ranges
    report, results = scanned(leaves, events, cuts)
    bounds = (min(events), max(events)) if events else None
    # when the scan decides whether the events need counting
    proved = _leaves_cover_the_events(report, results, bounds)
    # then it only skips the count when every event has exactly one leaf
    if proved:
        assert sorted(leaves) == sorted(events)
        assert len(leaves) == len(events)


@given(st.integers(min_value=1, max_value=1000), st.integers(min_value=0, max_value=50))
def test_contiguous_leaves_over_every_event_are_taken_as_proof(first: int, count: int) -> None:
    # given events at consecutive positions, each with its leaf, in order
    events = set(range(first, first + count))
    leaves = sorted(events)
    report, results = scanned(leaves, events, [count // 2])
    # when / then
    bounds = (min(events), max(events)) if events else None
    assert _leaves_cover_the_events(report, results, bounds)
