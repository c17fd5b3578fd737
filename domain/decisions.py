"""Which of a record's decisions is in force on a day."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import TypeVar

D = TypeVar("D", date, str)
S = TypeVar("S")


def in_force(decisions: Iterable[tuple[D, S]], day: D, before: S) -> S:
    """The state set by the decision with the latest effective date on or before ``day``
    (of those of one date, the last taken); ``before`` when none has taken effect yet.
    ``decisions`` are (effective date, state) in the order taken; the dates may be dates
    or their ISO text, which orders as they do."""
    state, latest = before, None
    for effective, decided in decisions:
        if effective <= day and (latest is None or effective >= latest):
            state, latest = decided, effective
    return state
