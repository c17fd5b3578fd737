"""Hypothesis: the signals folded platform by platform equal the signals folded in order.

A rebuild's workers hand the runner each batch's digests platform by platform
(``Digester.digest_batch``). Platforms share only receipts: random histories of three
platforms submit expenses with receipts from a small pool, attach receipts again and
reject expenses, in a random interleaving; folding it platform by platform, with each
platform's facts sent as one JSON text as the workers send them (the platforms registered
in an earlier batch), gives the rows of the fold in order.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import uuid4

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.expense import Expense
from domain.values import PaymentMethod
from projections.base import fold
from projections.rows import MemoryRows
from projections.signals import Signals
from projections.signals_digest import ShippedDigester
from service.fixtures import d
from tests.unit import builders
from tests.unit.builders import (
    CHAIR,
    SUPPLIER_IBAN,
    TREASURER,
    a_recognised_platform,
    eur,
    with_board,
)

RECEIPTS = ["ab" * 32, "cd" * 32, "ef" * 32]

steps = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=2),  # the platform
        st.sampled_from(["submit", "attach", "reject"]),
        st.integers(min_value=0, max_value=len(RECEIPTS) - 1),  # the receipt
        st.integers(min_value=0, max_value=9),  # which of the platform's expenses
    ),
    min_size=1,
    max_size=40,
)


def history(plan: list[tuple[int, str, int, int]]) -> tuple[list[Any], int]:
    """The events of three platforms, then the plan's steps in its order; and how many
    events the platforms' own come to (before the plan's)."""
    events: list[Any] = []
    recorded = builders.recorded
    builders.recorded = lambda aggregate: events.extend(aggregate.collect_events())
    try:
        platforms = [
            with_board(a_recognised_platform(name))
            for name in ("Stichting Een", "Stichting Twee", "Stichting Drie")
        ]
    finally:
        builders.recorded = recorded
    registered = len(events)
    expenses: list[list[Expense]] = [[], [], []]
    for day, (which, action, receipt, pick) in enumerate(plan, 1):
        on = d("2020-02-01") + timedelta(days=day)
        open_ones = [e for e in expenses[which] if e.state.value in ("submitted", "approved")]
        if action == "submit" or not open_ones:
            expense = Expense.submit(
                expense_id=uuid4(),
                platform_id=platforms[which].id,
                payee_name="Drukkerij",
                payee_iban=SUPPLIER_IBAN,
                amount=eur("120"),
                category="communicatie",
                description="flyers",
                payment_method=PaymentMethod.BANK,
                occurred_on=on,
                actor=TREASURER,
                invoice_number=f"F-{day}",
                receipt_sha256=RECEIPTS[receipt],
            )
            expenses[which].append(expense)
        else:
            expense = open_ones[pick % len(open_ones)]
            if action == "attach":
                expense.attach_receipt(
                    receipt_sha256=RECEIPTS[receipt], occurred_on=on, actor=CHAIR
                )
            else:
                expense.reject(reason="not ours", occurred_on=on, actor=CHAIR)
        events.extend(expense.collect_events())
    return events, registered


def plain(rows: MemoryRows) -> list[tuple[Any, ...]]:
    """The rows as they are stored (facts sent as JSON are written as they are)."""
    return sorted(
        (kind, key, platform, orjson.loads(orjson.dumps(doc)))
        for (kind, key), (platform, doc) in rows.rows.items()
    )


@settings(max_examples=150, deadline=None)
@given(plan=steps)
def test_signals_folded_platform_by_platform_equal_the_signals_folded_in_order(
    plan: list[tuple[int, str, int, int]],
) -> None:
    # given a history of three platforms sharing receipts, the platforms registered in a
    # batch before the plan's
    stored, registered = history(plan)
    events = list(enumerate(stored, 1))
    in_order = fold(Signals(workers=1), events, MemoryRows())
    signals = Signals(workers=1)
    rows = fold(signals, events[:registered], MemoryRows())
    # when the plan's digests are folded platform by platform, as a rebuild's workers
    # send them
    for _, event in events:
        rows.remember(event)
    digests = ShippedDigester().digest_batch(rows, events[registered:])
    signals.prefetch_digests(rows, digests)
    for digest in digests:
        signals.apply_digest(rows, digest)
    signals.finish(rows)
    # then the rows are the same, and some platform's facts came as one JSON text
    assert plain(rows) == plain(in_order)
    assert any(len(digest) == 4 for digest in digests)
