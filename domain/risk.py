"""Fraud-risk signals (red flags): deterministic rules over one platform's facts.

Each rule has thresholds in one versioned configuration (``RiskConfig``) whose hash is
stored with every finding. A finding names the rule, its strength and severity, the
measured value against the threshold, and the positions of the events behind it. Weak
signals only escalate a platform's risk score when a strong one fires too.

The facts are plain data (see ``projections/signals.py``): dates as ISO strings, money
as integer cents. ``clock`` is the latest business date seen for the platform.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from bisect import bisect_right
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from itertools import accumulate
from operator import attrgetter
from typing import Any

from domain.decisions import in_force

STRONG, MEDIUM, WEAK = "strong", "medium", "weak"
MAX_LISTED = 100
"""Rules that can name thousands of events list the first ``MAX_LISTED`` and say so."""
BOARD_ROLES = {"chair", "secretary", "treasurer", "board_member"}
PAYMENT_KINDS = {"transfer", "card_payment", "direct_debit"}
NOT_SPENDING = ("refund:", "recovery:")


@dataclass(frozen=True)
class RiskConfig:
    version: str = "2026-11-1"
    cash_single_cents: int = 25_000
    cash_month_cents: int = 100_000
    drawdown_window_days: int = 30
    drawdown_share: float = 0.5
    approval_limit_cents: int = 250_000
    split_window_days: int = 7
    missing_receipt_days: int = 14
    missing_receipt_high_cents: int = 50_000
    late_days: int = 10
    late_high_days: int = 30
    concentration_share: float = 0.5
    concentration_min_payments: int = 10
    concentration_hhi: float = 2500.0
    new_payee_large_cents: int = 250_000
    round_share: float = 0.10
    round_min_n: int = 30
    round_unit_cents: int = 10_000
    benford_mad: float = 0.015
    benford_min_n: int = 300
    board_min: int = 3
    finance_controllers_max: int = 2
    finance_min_expenses: int = 5
    report_due_days: int = 90

    def digest(self) -> str:
        return _digest(self)


@functools.lru_cache(maxsize=16)
def _digest(config: RiskConfig) -> str:
    """The configuration's hash, stored with every finding (computed once per config)."""
    canonical = json.dumps(asdict(config), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


@dataclass
class Finding:
    rule: str
    strength: str
    severity: str
    value: float | int
    threshold: float | int
    unit: str
    positions: list[int]
    detail: str
    config: str = ""

    def as_doc(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "strength": self.strength,
            "severity": self.severity,
            "value": self.value,
            "threshold": self.threshold,
            "unit": self.unit,
            "positions": list(self.positions),
            "detail": self.detail,
            "config": self.config,
        }


@dataclass
class Outflow:
    day: date
    cents: int
    kind: str
    payee: str
    iban: str | None
    matches: str | None
    position: int

    @property
    def is_payment(self) -> bool:
        return self.kind in PAYMENT_KINDS


@dataclass
class Facts:
    """One platform's facts, read from the signals projection's document."""

    clock: date | None
    members: dict[str, dict[str, Any]]
    relatives: dict[str, str | None]
    approvers: set[str]
    inflows: list[tuple[date, int, int]]
    outflows: list[Outflow]
    expenses: dict[str, dict[str, Any]]
    grants: dict[str, dict[str, Any]]
    recognition: list[tuple[date, str]]
    """The recognition decisions in the order taken: each one's effective date and the
    state it set (``decisions.in_force`` reads them, as the platform does)."""
    late: list[tuple[int, int]]
    duplicate_receipts: dict[str, list[int]] = field(default_factory=dict)
    late_count: int | None = None
    """All late bookings, and the worst delay; ``late`` may list only the first of them."""
    late_worst: int | None = None
    spent: list[Outflow] | None = field(default=None, init=False, repr=False, compare=False)
    """``spending(self)``, once it has been asked for (the rules ask for it again and again)."""
    named: dict[str, str] | None = field(default=None, init=False, repr=False, compare=False)
    """The one account each payee's name is paid at (``payee``), once asked for."""


@functools.lru_cache(maxsize=4096)
def iso_day(text: str) -> date:
    """A date from ISO text (remembered: a platform's facts repeat few dates)."""
    return date.fromisoformat(text)


@functools.lru_cache(maxsize=4096)
def norm(name: str) -> str:
    """A name compared case- and spacing-blind (remembered: the same payees, members and
    approvers recur throughout a platform's history)."""
    return " ".join(name.casefold().split())


def spending(facts: Facts) -> list[Outflow]:
    """The outflows that spend money (not bank fees, refunds or recoveries); the rules
    only read this list."""
    if facts.spent is None:
        facts.spent = [
            o
            for o in facts.outflows
            if o.kind != "bank_fee" and not (o.matches or "").startswith(NOT_SPENDING)
        ]
    return facts.spent


def payee(facts: Facts, o: Outflow) -> str:
    """Who an outflow pays: its account; without one (a card payment, say), the one account
    its payee's name is paid at elsewhere, else the name. So a supplier paid by card and by
    transfer is one payee; a name paid at two accounts stays two payees."""
    if o.iban:
        return o.iban
    named = facts.named
    if named is None:
        accounts: dict[str, set[str]] = defaultdict(set)
        for other in spending(facts):
            if other.iban:
                accounts[norm(other.payee)].add(other.iban)
        named = facts.named = {n: next(iter(a)) for n, a in accounts.items() if len(a) == 1}
    name = norm(o.payee)
    return named.get(name, name)


# The rules ----------------------------------------------------------------------------


def unapproved_payment(facts: Facts, config: RiskConfig) -> list[Finding]:
    """Outflows no one approved but their initiator: no matching expense, an expense not
    approved, approved by whoever submitted it, by someone never a member of the platform
    (the statutes have its own members approve), or approved only after the money left."""
    unapproved = []
    expenses = facts.expenses
    members = {norm(person) for person in facts.members}
    for o in spending(facts):
        matches = o.matches
        expense = None
        if matches:
            if matches.startswith(("tranche:", "transfer:")):
                continue
            if matches.startswith("expense:"):
                expense = expenses.get(matches[8:])
        if expense is None or not _approved(expense, members, o.day):
            unapproved.append(o)
    if not unapproved:
        return []
    total = sum(o.cents for o in unapproved)
    return [
        Finding(
            "unapproved_payment",
            STRONG,
            "high",
            total,
            0,
            "cents",
            [o.position for o in unapproved],
            f"{len(unapproved)} outflows without approval by a member other than the initiator",
        )
    ]


def _approved(expense: dict[str, Any], members: set[str], paid: date) -> bool:
    """Approved by a member other than its submitter, on or before ``paid``."""
    by = expense.get("approved_by")
    if not by:
        return False
    approver = norm(by)
    if approver == norm(expense["submitted_by"]) or approver not in members:
        return False
    approved_on = expense.get("approved_on")
    return not approved_on or iso_day(approved_on) <= paid


def related_parties(facts: Facts) -> tuple[dict[str, str], dict[str, str]]:
    """IBANs and normalised names of board members, approvers and declared relatives."""
    ibans: dict[str, str] = {}
    names: dict[str, str] = {}
    for person, member in facts.members.items():
        if set(member["roles"]) & BOARD_ROLES or member.get("ever_board"):
            names[norm(person)] = f"board member {person}"
            for iban in accounts(member):
                ibans[iban] = f"board member {person}"
    for person in facts.approvers:
        names.setdefault(norm(person), f"approver {person}")
        for iban in accounts(facts.members.get(person, {})):
            ibans.setdefault(iban, f"approver {person}")
    for relative, account in facts.relatives.items():
        names[norm(relative)] = f"declared relative {relative}"
        if account:
            ibans[account] = f"declared relative {relative}"
    return ibans, names


def accounts(member: dict[str, Any]) -> list[str]:
    """Every account a member declared (a member's record of old kept only the last)."""
    found: list[str] = member.get("ibans") or []
    return found or ([member["iban"]] if member.get("iban") else [])


def related_party_payee(facts: Facts, config: RiskConfig) -> list[Finding]:
    """Bank payments, and expenses paid in cash (the bank shows only the withdrawal), to a
    board member, an approver or a declared relative."""
    ibans, names = related_parties(facts)
    hits = [
        (o.cents, o.position, ibans.get(o.iban or "") or names.get(norm(o.payee)))
        for o in spending(facts)
        if o.kind != "cash_withdrawal"
    ]
    hits += [
        (e["amount"], e["paid_at"], ibans.get(e["iban"] or "") or names.get(norm(e["payee"])))
        for e in facts.expenses.values()
        if e["method"] == "cash" and e["state"] == "paid" and "paid_at" in e
    ]
    hits = [(cents, position, who) for cents, position, who in hits if who]
    if not hits:
        return []
    parties = sorted({who for _, _, who in hits if who})
    return [
        Finding(
            "related_party_payee",
            STRONG,
            "high",
            sum(cents for cents, _, _ in hits),
            0,
            "cents",
            sorted(position for _, position, _ in hits),
            "payments to " + ", ".join(parties),
        )
    ]


def cash_or_self_transfer(facts: Facts, config: RiskConfig) -> list[Finding]:
    """Up to three findings: large withdrawals, a heavy cash month, self transfers."""
    cash = [o for o in facts.outflows if o.kind == "cash_withdrawal"]
    found = []
    large = [o for o in cash if o.cents > config.cash_single_cents]
    if large:
        found.append(
            Finding(
                "cash_or_self_transfer",
                STRONG,
                "high",
                max(o.cents for o in large),
                config.cash_single_cents,
                "cents",
                [o.position for o in large],
                f"{len(large)} cash withdrawals over {config.cash_single_cents // 100} EUR",
            )
        )
    by_month: dict[str, list[Outflow]] = defaultdict(list)
    for o in cash:
        by_month[o.day.isoformat()[:7]].append(o)
    heavy = {
        m: os for m, os in by_month.items() if sum(o.cents for o in os) > config.cash_month_cents
    }
    if heavy:
        worst = max(sum(o.cents for o in os) for os in heavy.values())
        found.append(
            Finding(
                "cash_or_self_transfer",
                STRONG,
                "high",
                worst,
                config.cash_month_cents,
                "cents",
                sorted(o.position for os in heavy.values() for o in os),
                f"cash withdrawals over {config.cash_month_cents // 100} EUR a month in "
                f"{len(heavy)} months (at most {worst // 100} EUR)",
            )
        )
    officers = {
        iban
        for m in facts.members.values()
        if set(m["roles"]) & BOARD_ROLES or m.get("ever_board")
        for iban in accounts(m)
    }
    own = [o for o in spending(facts) if o.iban and o.iban in officers]
    if own:
        found.append(
            Finding(
                "cash_or_self_transfer",
                STRONG,
                "high",
                sum(o.cents for o in own),
                0,
                "cents",
                [o.position for o in own],
                f"{len(own)} transfers to an officer's own account",
            )
        )
    return found


def outside_grant_window(facts: Facts, config: RiskConfig) -> list[Finding]:
    if not facts.grants:
        return []
    ends: list[date] = []
    windows = []
    for g in facts.grants.values():
        start, end = iso_day(g["start"]), iso_day(g["end"])
        if g.get("revoked_on"):
            cut = (
                iso_day(g["revoked_decided_on"])
                if g.get("retroactive")
                else iso_day(g["revoked_on"])
            )
            end = min(end, day_before(cut))
            ends.append(cut)
        windows.append((start, end))
    starts, ends_at = _merged(windows)
    outside = [
        o
        for o in spending(facts)
        if not _within(starts, ends_at, o.day)
        or in_force(facts.recognition, o.day, "unrecognised") == "revoked"
    ]
    if not outside:
        return []
    return [
        Finding(
            "outside_grant_window",
            STRONG,
            "high",
            sum(o.cents for o in outside),
            0,
            "cents",
            [o.position for o in outside],
            f"{len(outside)} outflows outside every grant period or after revocation",
        )
    ]


def day_before(day: date) -> date:
    """The day before ``day``; ``date.min`` for the first day there is (a date stored before
    dates were bounded must not stop the rules)."""
    return day - timedelta(days=1) if day > date.min else day


def _merged(windows: list[tuple[date, date]]) -> tuple[list[date], list[date]]:
    """The days covered by any of ``windows`` (first and last day each) as sorted,
    disjoint periods: their first days and their last days."""
    starts: list[date] = []
    ends: list[date] = []
    for start, end in sorted(w for w in windows if w[0] <= w[1]):
        if ends and start <= ends[-1]:
            ends[-1] = max(ends[-1], end)
        else:
            starts.append(start)
            ends.append(end)
    return starts, ends


def _within(starts: list[date], ends: list[date], day: date) -> bool:
    i = bisect_right(starts, day) - 1
    return i >= 0 and day <= ends[i]


def by_day(outflows: list[Outflow]) -> list[Outflow]:
    """``outflows`` by day, then position."""
    return sorted(outflows, key=_DAY)


_DAY = attrgetter("day", "position")


def rapid_drawdown(facts: Facts, config: RiskConfig) -> list[Finding]:
    outs = by_day(spending(facts))
    if not outs:
        return []
    reach = timedelta(days=config.drawdown_window_days)
    inflow_days = sorted((d, c) for d, c, _ in facts.inflows)
    days = [d for d, _ in inflow_days]
    cumulative = list(accumulate(c for _, c in inflow_days))
    best: tuple[float, list[Outflow]] = (0.0, [])
    j = 0
    window_sum = 0
    for i, o in enumerate(outs):
        end = o.day
        # the window is the days after ``end - reach``; none drops out of it when that
        # lies before the first day there is
        while end - outs[j].day >= reach:
            window_sum -= outs[j].cents
            j += 1
        window_sum += o.cents
        received_upto = bisect_right(days, end)
        received = cumulative[received_upto - 1] if received_upto else 0
        if received > 0 and window_sum / received > best[0]:
            best = (window_sum / received, outs[j : i + 1])
    share, window = best
    if share <= config.drawdown_share:
        return []
    return [
        Finding(
            "rapid_drawdown",
            MEDIUM,
            "high",
            round(share, 4),
            config.drawdown_share,
            "share",
            [o.position for o in window],
            f"{round(share * 100, 1)}% of funds received left within "
            f"{config.drawdown_window_days} days ({window[0].day} to {window[-1].day})",
        )
    ]


def threshold_split(facts: Facts, config: RiskConfig) -> list[Finding]:
    by_payee: dict[str, list[Outflow]] = defaultdict(list)
    for o in spending(facts):
        if o.is_payment and o.cents < config.approval_limit_cents:
            by_payee[payee(facts, o)].append(o)
    flagged: dict[int, Outflow] = {}
    largest = 0
    for payments in by_payee.values():
        payments.sort(key=_DAY)
        start, window = 0, 0  # the payments within the window that ends at each payment
        for end, last in enumerate(payments):
            window += last.cents
            while (last.day - payments[start].day).days >= config.split_window_days:
                window -= payments[start].cents
                start += 1
            if end > start and window > config.approval_limit_cents:
                flagged.update({o.position: o for o in payments[start : end + 1]})
                largest = max(largest, window)
    if not flagged:
        return []
    return [
        Finding(
            "threshold_split",
            MEDIUM,
            "medium",
            largest,
            config.approval_limit_cents,
            "cents",
            sorted(flagged),
            f"{len(flagged)} payments under the approval limit that add up over it "
            f"within {config.split_window_days} days",
        )
    ]


def duplicate_payment(facts: Facts, config: RiskConfig) -> list[Finding]:
    by_amount: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for expense in facts.expenses.values():
        if expense.get("invoice") and expense["state"] != "rejected":
            by_amount[expense["amount"]].append(expense)
    seen: dict[tuple[str, int, str], list[int]] = defaultdict(list)
    for amount, same in by_amount.items():
        if len(same) > 1:  # names are compared only where amounts meet
            for expense in same:
                key = (norm(expense["payee"]), amount, norm(expense["invoice"]))
                seen[key].append(expense["submitted_at"])
    positions = sorted({p for ps in seen.values() if len(ps) > 1 for p in ps})
    receipts = sorted({p for ps in facts.duplicate_receipts.values() for p in ps})
    flagged = sorted(set(positions) | set(receipts))
    if not flagged:
        return []
    return [
        Finding(
            "duplicate_payment",
            MEDIUM,
            "high",
            len(flagged),
            1,
            "count",
            flagged,
            "same payee, amount and invoice number, or a receipt used twice",
        )
    ]


def missing_receipt(facts: Facts, config: RiskConfig) -> list[Finding]:
    if facts.clock is None:
        return []
    missing = [
        e
        for e in facts.expenses.values()
        if not e.get("receipt")
        and e["state"] != "rejected"
        and (facts.clock - iso_day(e["date"])).days > config.missing_receipt_days
    ]
    if not missing:
        return []
    high = any(
        e["amount"] > config.missing_receipt_high_cents or e["method"] == "cash" for e in missing
    )
    return [
        Finding(
            "missing_receipt",
            MEDIUM,
            "high" if high else "low",
            max((facts.clock - iso_day(e["date"])).days for e in missing),
            config.missing_receipt_days,
            "days",
            sorted(e["submitted_at"] for e in missing),
            f"{len(missing)} expenses without a receipt after {config.missing_receipt_days} days",
        )
    ]


def late_booking(facts: Facts, config: RiskConfig) -> list[Finding]:
    if not facts.late:
        return []
    worst = facts.late_worst or max(days for _, days in facts.late)
    count = facts.late_count if facts.late_count is not None else len(facts.late)
    listed = "" if count <= len(facts.late) else f" (the first {len(facts.late)} listed)"
    return [
        Finding(
            "late_booking",
            MEDIUM,
            "high" if worst > config.late_high_days else "low",
            worst,
            config.late_days,
            "days",
            sorted(p for p, _ in facts.late),
            f"{count} events recorded more than {config.late_days} days "
            f"after their business date{listed}",
        )
    ]


def payee_shares(facts: Facts) -> tuple[Counter[str], int]:
    totals: Counter[str] = Counter()
    count = 0
    for o in spending(facts):
        if o.is_payment:
            totals[payee(facts, o)] += o.cents
            count += 1
    return totals, count


def payee_concentration(facts: Facts, config: RiskConfig) -> list[Finding]:
    totals, count = payee_shares(facts)
    spend = sum(totals.values())
    if count < config.concentration_min_payments or spend == 0:
        return []
    top_payee, top = totals.most_common(1)[0]
    share = top / spend
    hhi = sum((100 * c / spend) ** 2 for c in totals.values())
    if share <= config.concentration_share and hhi <= config.concentration_hhi:
        return []
    positions = [
        o.position for o in spending(facts) if o.is_payment and payee(facts, o) == top_payee
    ]
    by_share = share > config.concentration_share
    return [
        Finding(
            "payee_concentration",
            MEDIUM,
            "medium",
            round(share, 4) if by_share else round(hhi),
            config.concentration_share if by_share else config.concentration_hhi,
            "share" if by_share else "hhi",
            positions,
            f"top payee takes {round(share * 100, 1)}% of {count} payments; HHI {round(hhi)}",
        )
    ]


def new_payee_large_first_payment(facts: Facts, config: RiskConfig) -> list[Finding]:
    first: dict[str, Outflow] = {}
    for o in by_day(spending(facts)):
        if o.is_payment:
            first.setdefault(payee(facts, o), o)
    large = [o for o in first.values() if o.cents > config.new_payee_large_cents]
    if not large:
        return []
    return [
        Finding(
            "new_payee_large_first_payment",
            MEDIUM,
            "medium",
            max(o.cents for o in large),
            config.new_payee_large_cents,
            "cents",
            sorted(o.position for o in large),
            f"{len(large)} payees whose first payment exceeded "
            f"{config.new_payee_large_cents // 100} EUR",
        )
    ]


def round_amounts(facts: Facts, config: RiskConfig) -> list[Finding]:
    considered = [
        o
        for o in spending(facts)
        if o.cents >= config.round_unit_cents and o.kind != "cash_withdrawal"
    ]
    if len(considered) < config.round_min_n:
        return []
    rounded = [o for o in considered if o.cents % config.round_unit_cents == 0]
    share = len(rounded) / len(considered)
    if share <= config.round_share:
        return []
    return [
        Finding(
            "round_amounts",
            WEAK,
            "low",
            round(share, 4),
            config.round_share,
            "share",
            [o.position for o in rounded],
            f"{len(rounded)} of {len(considered)} amounts are multiples of "
            f"{config.round_unit_cents // 100} EUR",
        )
    ]


BENFORD = [math.log10(1 + 1 / d) for d in range(1, 10)]


def benford_first_digit(facts: Facts, config: RiskConfig) -> list[Finding]:
    considered = [o for o in spending(facts) if o.cents >= 100]
    digits = [int(str(o.cents)[0]) for o in considered]
    n = len(digits)
    if n < config.benford_min_n:
        return []
    counts = Counter(digits)
    mad = sum(abs(counts[d] / n - BENFORD[d - 1]) for d in range(1, 10)) / 9
    if mad <= config.benford_mad:
        return []
    return [
        Finding(
            "benford_first_digit",
            WEAK,
            "low",
            round(mad, 5),
            config.benford_mad,
            "mad",
            [o.position for o in considered[:MAX_LISTED]],
            f"first digits of {n} amounts deviate from Benford's law"
            + (f" (the first {MAX_LISTED} listed)" if n > MAX_LISTED else ""),
        )
    ]


def governance_decay(facts: Facts, config: RiskConfig) -> list[Finding]:
    """A board that is too small, or finance in too few hands; each names its events."""
    found = []
    board = [p for p, m in facts.members.items() if set(m["roles"]) & BOARD_ROLES]
    if len(board) < config.board_min:
        positions = sorted(p for m in facts.members.values() for p in m.get("positions", []))
        found.append(
            Finding(
                "governance_decay",
                MEDIUM,
                "medium",
                len(board),
                config.board_min,
                "count",
                positions[:MAX_LISTED],
                f"board of {len(board)}: {', '.join(sorted(board))}",
            )
        )
    controllers = {e["submitted_by"] for e in facts.expenses.values()} | facts.approvers
    if (
        len(facts.expenses) >= config.finance_min_expenses
        and len(controllers) <= config.finance_controllers_max
    ):
        positions = sorted(
            {
                p
                for e in facts.expenses.values()
                for p in (e["submitted_at"], e.get("approved_at"))
                if p is not None
            }
        )
        found.append(
            Finding(
                "governance_decay",
                MEDIUM,
                "medium",
                len(controllers),
                config.finance_controllers_max,
                "count",
                positions[:MAX_LISTED],
                f"{len(facts.expenses)} expenses submitted and approved by "
                f"{len(controllers)} people: {', '.join(sorted(controllers))}"
                + (
                    f" (the first {MAX_LISTED} events listed)"
                    if len(positions) > MAX_LISTED
                    else ""
                ),
            )
        )
    found.extend(reports_overdue(facts, config))
    return found


def reports_overdue(facts: Facts, config: RiskConfig) -> list[Finding]:
    """A next tranche requested while the report on a paid tranche is overdue.

    A report on a tranche is due ``report_due_days`` after it was paid; a request dated
    later than that, with no report submitted by the request's date, fires.
    """
    found = []
    for grant in facts.grants.values():
        paid: dict[str, dict[str, Any]] = grant.get("paid", {})
        reports: dict[str, str] = grant.get("reports", {})
        for request in grant.get("requests", []):
            asked_on = iso_day(request["on"])
            for number, payment in sorted(paid.items(), key=lambda item: int(item[0])):
                if int(number) >= request["number"]:
                    continue
                waited = (asked_on - iso_day(payment["on"])).days
                reported = reports.get(number)
                if waited <= config.report_due_days or (
                    reported is not None and iso_day(reported) <= asked_on
                ):
                    continue
                found.append(
                    Finding(
                        "governance_decay",
                        MEDIUM,
                        "high",
                        waited,
                        config.report_due_days,
                        "days",
                        [payment["position"], request["position"]],
                        f"tranche {request['number']} requested on {asked_on.isoformat()} "
                        f"while the report on tranche {number}, paid {payment['on']}, was "
                        f"{waited - config.report_due_days} days overdue",
                    )
                )
    return found


RULES = (
    unapproved_payment,
    related_party_payee,
    cash_or_self_transfer,
    outside_grant_window,
    rapid_drawdown,
    threshold_split,
    duplicate_payment,
    missing_receipt,
    late_booking,
    payee_concentration,
    new_payee_large_first_payment,
    round_amounts,
    benford_first_digit,
    governance_decay,
)


def evaluate(facts: Facts, config: RiskConfig) -> list[Finding]:
    digest = config.digest()
    findings = [f for rule in RULES for f in rule(facts, config)]
    for finding in findings:
        finding.config = f"{config.version}:{digest}"
    return findings


def risk_score(findings: list[Finding]) -> dict[str, Any]:
    """0 to 100: strong findings weigh most; weak ones count only beside a strong one."""
    strong = [f for f in findings if f.strength == STRONG]
    medium = [f for f in findings if f.strength == MEDIUM]
    weak = [f for f in findings if f.strength == WEAK]
    score = 40 * len(strong) + sum(15 if f.severity == "high" else 8 for f in medium)
    if strong:
        score += 5 * len(weak)
    score = min(100, score)
    level = "high" if strong else "elevated" if score >= 30 else "low" if score else "none"
    return {
        "score": score,
        "level": level,
        "strong": len(strong),
        "medium": len(medium),
        "weak": len(weak),
    }
