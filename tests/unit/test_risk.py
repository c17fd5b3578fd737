"""Every fraud-risk rule fires past its threshold and stays quiet just inside it."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.risk import (
    Facts,
    Finding,
    Outflow,
    RiskConfig,
    benford_first_digit,
    cash_or_self_transfer,
    duplicate_payment,
    evaluate,
    governance_decay,
    late_booking,
    missing_receipt,
    new_payee_large_first_payment,
    outside_grant_window,
    payee_concentration,
    rapid_drawdown,
    related_party_payee,
    risk_score,
    round_amounts,
    threshold_split,
    unapproved_payment,
)

CONFIG = RiskConfig()
DAY = date(2020, 3, 1)
CHAIR_IBAN = "NL91ABNA0417164300"
Rule = Callable[[Facts, RiskConfig], list[Finding]]


def board() -> dict[str, dict[str, Any]]:
    return {
        "Chair": {"roles": ["chair"], "iban": CHAIR_IBAN, "ever_board": True},
        "Treasurer": {"roles": ["treasurer"], "iban": None, "ever_board": True},
        "Secretary": {"roles": ["secretary"], "iban": None, "ever_board": True},
    }


def expense(n: int, amount: int = 10_000, **changes: Any) -> dict[str, Any]:
    doc = {
        "date": DAY.isoformat(),
        "amount": amount,
        "payee": f"Payee {n}",
        "iban": None,
        "invoice": f"F-{n}",
        "receipt": f"{n:064x}",
        "method": "bank",
        "submitted_by": "Treasurer",
        "approved_by": "Chair",
        "state": "paid",
        "submitted_at": 1000 + n,
    }
    doc.update(changes)
    return doc


def out(
    n: int,
    cents: int,
    *,
    day: date = DAY,
    kind: str = "transfer",
    payee: str = "",
    iban: str | None = None,
    matches: str | None = None,
) -> Outflow:
    return Outflow(day, cents, kind, payee or f"Payee {n}", iban, matches, n)


def facts(**changes: Any) -> Facts:
    base = Facts(
        clock=DAY,
        members=board(),
        relatives={},
        approvers={"Chair"},
        inflows=[(DAY - timedelta(days=90), 10_000_000, 1)],
        outflows=[],
        expenses={},
        grants={
            "g": {
                "start": "2020-01-01",
                "end": "2020-12-31",
                "revoked_on": None,
                "revoked_decided_on": None,
                "retroactive": False,
            }
        },
        recognition=[],
        late=[],
    )
    for key, value in changes.items():
        setattr(base, key, value)
    return base


def approved_outflows(
    cents: list[int], days: list[int] | None = None, payees: list[str] | None = None
) -> dict[str, Any]:
    """Outflows each matched to an approved expense."""
    days = days or [0] * len(cents)
    payees = payees or [f"Payee {n}" for n in range(len(cents))]
    return {
        "outflows": [
            out(n, c, day=DAY + timedelta(days=d), payee=p, matches=f"expense:e{n}")
            for n, (c, d, p) in enumerate(zip(cents, days, payees, strict=True))
        ],
        "expenses": {
            f"e{n}": expense(n, c, payee=p)
            for n, (c, p) in enumerate(zip(cents, payees, strict=True))
        },
    }


CASES: list[tuple[Rule, dict[str, Any], dict[str, Any]]] = [
    (unapproved_payment, {"outflows": [out(1, 5_000)]}, approved_outflows([5_000])),
    (
        related_party_payee,
        {"outflows": [out(1, 5_000, iban=CHAIR_IBAN)]},
        {"outflows": [out(1, 5_000, iban="NL02ABNA0123456789", payee="Drukkerij")]},
    ),
    (
        cash_or_self_transfer,
        {"outflows": [out(1, CONFIG.cash_single_cents + 1, kind="cash_withdrawal")]},
        {
            "outflows": [
                out(1, CONFIG.cash_single_cents, kind="cash_withdrawal"),
                out(2, CONFIG.cash_single_cents, kind="cash_withdrawal"),
                out(3, CONFIG.cash_single_cents, kind="cash_withdrawal"),
                out(4, CONFIG.cash_single_cents, kind="cash_withdrawal"),
            ]
        },
    ),
    (
        outside_grant_window,
        {"outflows": [out(1, 5_000, day=date(2021, 1, 1))]},
        {"outflows": [out(1, 5_000, day=date(2020, 12, 31))]},
    ),
    (
        rapid_drawdown,
        {"outflows": [out(1, 2_500_001), out(2, 2_500_000, day=DAY + timedelta(days=29))]},
        {"outflows": [out(1, 2_500_000), out(2, 2_500_000, day=DAY + timedelta(days=29))]},
    ),
    (
        threshold_split,
        approved_outflows([125_000, 125_001], days=[0, 6], payees=["Same", "Same"]),
        approved_outflows([125_000, 125_001], days=[0, 7], payees=["Same", "Same"]),
    ),
    (
        duplicate_payment,
        {"expenses": {"a": expense(1), "b": expense(2, payee="Payee 1", invoice="F-1")}},
        {"expenses": {"a": expense(1), "b": expense(2, payee="Payee 1", invoice="F-2")}},
    ),
    (
        missing_receipt,
        {"expenses": {"a": expense(1, receipt=None, date="2020-02-15")}},
        {"expenses": {"a": expense(1, receipt=None, date="2020-02-16")}},
    ),
    (late_booking, {"late": [(7, CONFIG.late_days + 1)]}, {"late": []}),
    (
        payee_concentration,
        approved_outflows([10_000] * 10, payees=["Top"] * 6 + [f"P{n}" for n in range(4)]),
        approved_outflows([10_000] * 10, payees=["Top"] * 4 + [f"P{n}" for n in range(6)]),
    ),
    (
        new_payee_large_first_payment,
        approved_outflows([CONFIG.new_payee_large_cents + 1]),
        approved_outflows([CONFIG.new_payee_large_cents]),
    ),
    (
        round_amounts,
        approved_outflows([20_000] * 4 + [12_345] * 26),
        approved_outflows([20_000] * 3 + [12_345] * 27),
    ),
    (
        benford_first_digit,
        approved_outflows([90_000 + n for n in range(300)]),
        approved_outflows([int(10 ** (2 + 3 * (n + 0.5) / 300)) for n in range(300)]),
    ),
    (governance_decay, {"members": {k: v for k, v in board().items() if k != "Secretary"}}, {}),
]


@pytest.mark.parametrize(("rule", "firing", "quiet"), CASES, ids=[c[0].__name__ for c in CASES])
def test_a_rule_fires_past_its_threshold(
    rule: Rule, firing: dict[str, Any], quiet: dict[str, Any]
) -> None:
    # given
    given = facts(**firing)
    # when
    found = rule(given, CONFIG)
    # then
    assert [f.rule for f in found] == [rule.__name__]


@pytest.mark.parametrize(("rule", "firing", "quiet"), CASES, ids=[c[0].__name__ for c in CASES])
def test_a_rule_stays_quiet_just_inside_its_threshold(
    rule: Rule, firing: dict[str, Any], quiet: dict[str, Any]
) -> None:
    # given
    given = facts(**quiet)
    # when
    found = rule(given, CONFIG)
    # then
    assert found == []


def test_the_missing_receipt_finding_is_high_for_cash_or_large_expenses() -> None:
    # given
    large = facts(expenses={"a": expense(1, amount=50_001, receipt=None, date="2020-01-01")})
    small = facts(expenses={"a": expense(1, amount=50_000, receipt=None, date="2020-01-01")})
    # when / then
    assert missing_receipt(large, CONFIG)[0].severity == "high"
    assert missing_receipt(small, CONFIG)[0].severity == "low"


def test_monthly_cash_over_the_limit_fires_even_when_each_withdrawal_is_small() -> None:
    # given
    cash = [out(n, 20_001, kind="cash_withdrawal", day=DAY + timedelta(days=n)) for n in range(5)]
    # when
    found = cash_or_self_transfer(facts(outflows=cash), CONFIG)
    # then
    assert found[0].positions == [0, 1, 2, 3, 4]
    assert (found[0].value, found[0].threshold) == (100_005, CONFIG.cash_month_cents)
    assert "over 1000 EUR a month in 1 months" in found[0].detail


def test_a_finding_names_the_events_behind_it_and_the_configuration() -> None:
    # given
    given = facts(outflows=[out(41, 5_000), out(42, 7_000, iban=CHAIR_IBAN)])
    # when
    found = {f.rule: f for f in evaluate(given, CONFIG)}
    # then
    assert found["unapproved_payment"].positions == [41, 42]
    assert found["unapproved_payment"].value == 12_000
    assert found["related_party_payee"].positions == [42]
    assert found["unapproved_payment"].config == f"{CONFIG.version}:{CONFIG.digest()}"


def test_another_threshold_gives_another_configuration_hash() -> None:
    assert RiskConfig(cash_single_cents=30_000).digest() != CONFIG.digest()


def test_weak_signals_escalate_only_beside_a_strong_one() -> None:
    # given
    weak = Finding("round_amounts", "weak", "low", 0.2, 0.1, "share", [], "")
    strong = Finding("unapproved_payment", "strong", "high", 1, 0, "cents", [1], "")
    # when
    alone, together = risk_score([weak, weak]), risk_score([strong, weak, weak])
    # then
    assert (alone["score"], alone["level"]) == (0, "none")
    assert (together["score"], together["level"]) == (50, "high")


def test_a_high_hhi_fires_concentration_even_below_the_top_share() -> None:
    # given: two payees share the spending evenly (HHI 5000, top share 50%)
    given = facts(**approved_outflows([10_000] * 10, payees=["A", "B"] * 5))
    # when
    found = payee_concentration(given, CONFIG)
    # then
    assert found[0].detail.endswith("HHI 5000")


@pytest.mark.parametrize(
    ("approvers", "fires"), [({"Chair"}, True), ({"Chair", "Secretary"}, False)]
)
def test_finance_in_two_hands_is_governance_decay(approvers: set[str], fires: bool) -> None:
    # given: five expenses submitted by the treasurer and approved by the approvers
    expenses = {
        f"e{n}": expense(n, approved_by=sorted(approvers)[n % len(approvers)]) for n in range(5)
    }
    given = facts(expenses=expenses, approvers=approvers)
    # when
    found = governance_decay(given, CONFIG)
    # then
    assert [f.detail.startswith("5 expenses") for f in found] == ([True] if fires else [])
    if fires:
        assert found[0].positions == [1000, 1001, 1002, 1003, 1004]


@pytest.mark.parametrize(
    ("approver", "fires"),
    [("Buurman Jansen", True), ("chair", False), ("  CHAIR ", False)],
)
def test_an_approval_by_someone_never_a_member_of_the_platform_does_not_count(
    approver: str, fires: bool
) -> None:
    # given: an outflow matched to an expense approved by a member (names compared case-
    # and spacing-blind) or by an outsider
    given = facts(**approved_outflows([5_000]))
    given.expenses["e0"]["approved_by"] = approver
    # when
    found = unapproved_payment(given, CONFIG)
    # then
    assert [f.positions for f in found] == ([[0]] if fires else [])


def test_an_approval_recorded_after_the_money_left_does_not_count() -> None:
    # given
    given = facts(**approved_outflows([5_000]))
    given.expenses["e0"]["approved_on"] = (DAY + timedelta(days=1)).isoformat()
    # when
    found = unapproved_payment(given, CONFIG)
    # then
    assert [f.positions for f in found] == [[0]]


def test_a_board_too_small_names_the_member_events() -> None:
    # given
    members = {"Chair": {"roles": ["chair"], "iban": None, "ever_board": True, "positions": [3]}}
    # when
    found = governance_decay(facts(members=members), CONFIG)
    # then
    assert (found[0].value, found[0].positions) == (1, [3])


def grant_with_request(waited_days: int, reported_days: int | None = None) -> dict[str, Any]:
    """Tranche 1 paid on DAY; tranche 2 requested ``waited_days`` later."""
    paid_on = DAY
    grant: dict[str, Any] = {
        "start": "2020-01-01",
        "end": "2020-12-31",
        "revoked_on": None,
        "revoked_decided_on": None,
        "retroactive": False,
        "paid": {"1": {"on": paid_on.isoformat(), "position": 10}},
        "requests": [
            {
                "number": 2,
                "on": (paid_on + timedelta(days=waited_days)).isoformat(),
                "position": 20,
            }
        ],
        "reports": {},
    }
    if reported_days is not None:
        grant["reports"]["1"] = (paid_on + timedelta(days=reported_days)).isoformat()
    return grant


@pytest.mark.parametrize(("waited", "fires"), [(90, False), (91, True)])
def test_a_tranche_requested_while_the_report_is_overdue_is_governance_decay(
    waited: int, fires: bool
) -> None:
    # given: no report on tranche 1, and tranche 2 requested 90 or 91 days after its payment
    given = facts(grants={"g": grant_with_request(waited)})
    # when
    found = governance_decay(given, CONFIG)
    # then
    assert [(f.value, f.threshold, f.positions) for f in found] == (
        [(91, 90, [10, 20])] if fires else []
    )
    if fires:
        assert "report on tranche 1" in found[0].detail
        assert "1 days overdue" in found[0].detail


@pytest.mark.parametrize(("reported", "fires"), [(100, False), (121, True)])
def test_a_report_submitted_before_the_request_keeps_the_request_quiet(
    reported: int, fires: bool
) -> None:
    # given: tranche 2 requested 120 days after tranche 1; the report came on day 100 or 121
    given = facts(grants={"g": grant_with_request(120, reported)})
    # when
    found = governance_decay(given, CONFIG)
    # then
    assert bool(found) is fires


@given(
    st.builds(
        Finding,
        rule=st.text(max_size=20),
        strength=st.sampled_from(["strong", "medium", "weak"]),
        severity=st.sampled_from(["high", "medium", "low"]),
        value=st.integers() | st.floats(allow_nan=False),
        threshold=st.integers() | st.floats(allow_nan=False),
        unit=st.text(max_size=10),
        positions=st.lists(st.integers(min_value=1)),
        detail=st.text(max_size=40),
        config=st.text(max_size=20),
    )
)
def test_a_finding_is_stored_as_every_field_it_has_and_no_more(finding: Finding) -> None:
    # when
    doc = finding.as_doc()
    # then: the stored document is the dataclass's own fields, its list a copy
    assert doc == dataclasses.asdict(finding)
    assert doc["positions"] is not finding.positions


@pytest.mark.parametrize("day", [date.min, date.max], ids=["first day", "last day"])
def test_the_rules_do_not_stop_on_a_date_at_either_end_of_the_calendar(day: date) -> None:
    # given facts stored before dates were bounded: an outflow, a revoked grant and a
    # revoked recognition on the first or the last day Python knows
    grants = {
        "g": {
            "start": "2020-01-01",
            "end": "2020-12-31",
            "revoked_on": day.isoformat(),
            "revoked_decided_on": day.isoformat(),
            "retroactive": True,
        }
    }
    given = facts(
        outflows=[out(1, 6_000_000, day=day), out(2, 6_000_000)],
        grants=grants,
        recognition=[(day, "revoked")],
    )
    # when
    found = evaluate(given, RiskConfig())
    # then every rule ran, and those that look at the dates name the outflow
    rules = {f.rule for f in found}
    assert {"outside_grant_window", "rapid_drawdown"} <= rules


def revoked_grant(effective: str, decided: str, retroactive: bool) -> dict[str, Any]:
    return {
        "g": {
            "start": "2020-01-01",
            "end": "2020-12-31",
            "revoked_on": effective,
            "revoked_decided_on": decided,
            "retroactive": retroactive,
        }
    }


@pytest.mark.parametrize(
    ("retroactive", "paid_on", "outside"),
    [
        (False, date(2020, 5, 31), False),  # the day before the revocation takes effect
        (False, date(2020, 6, 1), True),  # the day it takes effect
        (True, date(2020, 3, 31), False),  # the day before a retroactive one was decided
        (True, date(2020, 4, 1), True),  # the day it was decided (its effect goes back further)
    ],
)
def test_spending_is_outside_a_revoked_grant_from_its_revocation(
    retroactive: bool, paid_on: date, outside: bool
) -> None:
    # given a grant for 2020 revoked on 1 April, with effect from 1 June, or with effect
    # back to the award (retroactive: its spending up to the decision stays its spending)
    grants = revoked_grant("2020-06-01", "2020-04-01", retroactive=False)
    if retroactive:
        grants = revoked_grant("2020-01-01", "2020-04-01", retroactive=True)
    given = facts(outflows=[out(1, 5_000, day=paid_on)], grants=grants)
    # when
    found = outside_grant_window(given, CONFIG)
    # then
    assert bool(found) is outside


SUPPLIER = "NL02ABNA0123456789"
OTHER_SUPPLIER = "NL20INGB0001234567"


@pytest.mark.parametrize(
    ("second_iban", "first_iban", "split"),
    [
        (None, SUPPLIER, True),  # by card, then its account known from the transfer
        (SUPPLIER, SUPPLIER, True),
        (OTHER_SUPPLIER, SUPPLIER, False),  # the same name at another account: another payee
    ],
)
def test_a_split_is_seen_whether_or_not_each_payment_names_the_payees_account(
    second_iban: str | None, first_iban: str, split: bool
) -> None:
    # given EUR 1,250.00 by transfer and EUR 1,250.01 three days later to the same name
    given = facts(
        **approved_outflows([125_000, 125_001], days=[0, 3], payees=["Drukkerij", "Drukkerij"])
    )
    given.outflows[0].iban = first_iban
    given.outflows[1].iban = second_iban
    given.outflows[1].kind = "card_payment" if second_iban is None else "transfer"
    # when
    found = threshold_split(given, CONFIG)
    # then
    assert bool(found) is split


def test_a_payee_paid_by_card_first_is_not_new_when_paid_by_transfer_later() -> None:
    # given EUR 10 by card, then EUR 10,000 by transfer, to one supplier
    given = facts(**approved_outflows([1_000, 1_000_000], days=[0, 5], payees=["Top", "Top"]))
    given.outflows[0].kind = "card_payment"
    given.outflows[1].iban = SUPPLIER
    # when
    found = new_payee_large_first_payment(given, CONFIG)
    # then its first payment was the card's
    assert found == []


def test_a_payees_share_counts_its_payments_with_and_without_its_account() -> None:
    # given 6 of 10 equal payments to "Top", half of them naming its account
    given = facts(
        **approved_outflows([10_000] * 10, payees=["Top"] * 6 + [f"P{n}" for n in range(4)])
    )
    for o in given.outflows[:3]:
        o.iban = SUPPLIER
    # when
    found = payee_concentration(given, CONFIG)
    # then
    assert [f.value for f in found] == [0.6]
