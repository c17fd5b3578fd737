"""Fraud-risk signals: per-platform facts, and the findings the rules draw from them.

Rows, all tagged with their platform:

- ``meta``: the platform's small facts (members, relatives, approvers, grant windows,
  recognition revocation, latest business date, receipts used twice);
- ``in`` / ``out``: money in and out of its bank account, one row per event;
- ``expense``: one row per expense (late bookings are counted in ``meta``, the first
  ``MAX_LATE_LISTED`` of them listed);
- ``receipt``: who used a receipt hash (across platforms);
- ``dirty``: platforms whose findings must be evaluated again;
- ``findings``: per platform, the findings and the risk score.

The platform of a grant, expense, statement, bank match or transfer comes from the first
event of that aggregate (read again from the store when it is not at hand).

Findings are a pure function of a platform's facts. Each event marks its platform dirty;
when the runner reaches the head of the store the dirty platforms are evaluated, in the
same transaction as that batch. So after a catch-up every finding is current, and a long
rebuild evaluates each platform once instead of after every batch.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from domain.bank import BankStatement
from domain.expense import Expense
from domain.grant import Grant
from domain.matching import BankMatch
from domain.platform import Platform
from domain.risk import BOARD_ROLES, Facts, Outflow, RiskConfig, evaluate, risk_score
from domain.transfer import PlatformTransfer
from projections.base import Projection
from projections.index import KNOWN_AGGREGATES
from projections.memo import Memo
from projections.rows import Rows
from projections.store import Doc

MAX_LATE_LISTED = 100


def new_meta(name: str) -> Doc:
    return {
        "name": name,
        "clock": None,
        "members": {},
        "relatives": {},
        "approvers": [],
        "grants": {},
        "recognition_revoked_on": None,
        "duplicate_receipts": {},
        "late": {"count": 0, "worst": 0, "listed": []},
    }


def owned(event: Any) -> str | None:
    """The platform a new aggregate belongs to, from its first event."""
    match event:
        case Platform.Registered():
            return str(event.originator_id)
        case Grant.Awarded() | Expense.Submitted() | BankStatement.Opened() | BankMatch.Matched():
            return str(event.platform_id)
    return None


def signalled(first: Any) -> str:
    """The platform whose signals an aggregate's events feed, from its first event ("": none).

    A transfer feeds the receiving platform (money in)."""
    if isinstance(first, PlatformTransfer.Made):
        return str(first.to_platform_id)
    return owned(first) or ""


class Signals(Projection):
    name = "signals"

    def __init__(self, config: RiskConfig | None = None, clock: date | None = None) -> None:
        """``clock`` fixes "today" for time-based rules (an as-of replay passes its date);
        by default it is the latest business date seen for each platform."""
        self.config = config or RiskConfig()
        self.clock = clock
        self.owners: Memo[UUID, str] = Memo(KNOWN_AGGREGATES)

    # Facts ------------------------------------------------------------------------

    def owner(self, rows: Rows, event: Any) -> str | None:
        oid = event.originator_id
        if isinstance(event, Platform.Event):
            return str(oid)
        platform = self.owners.get(oid)
        if platform is None:
            first = event if event.originator_version == 1 else rows.event(oid, 1)
            if first is None:
                return None  # its first event was not folded (left out of a replay)
            platform = self.owners[oid] = signalled(first)
        return platform or None

    def prefetch(self, rows: Rows, events: list[tuple[int, Any]]) -> None:
        first: set[tuple[UUID, int]] = set()
        for _, event in events:
            oid = event.originator_id
            if event.originator_version == 1:
                if not isinstance(event, Platform.Event):
                    self.owners[oid] = signalled(event)
            elif oid not in self.owners and not isinstance(event, Platform.Event):
                first.add((oid, 1))
        rows.preload_events(first)
        keys: set[tuple[str, str]] = set()
        for _, event in events:
            if isinstance(event, Expense.Event):
                keys.add(("expense", str(event.originator_id)))
            sha = getattr(event, "receipt_sha256", None)
            if sha:
                keys.add(("receipt", sha))
            platform = self.owner(rows, event)
            if platform is not None:
                keys.add(("meta", platform))
        rows.preload(keys)

    def apply(self, rows: Rows, position: int, event: Any) -> None:
        if isinstance(event, PlatformTransfer.Made):
            self._inflow(rows, str(event.to_platform_id), position, event)
            return
        platform = self.owner(rows, event)
        if platform is None:
            return
        meta = rows.get("meta", platform)
        if meta is None:
            if not isinstance(event, Platform.Registered):
                return
            meta = new_meta(event.name)
        self._observe(rows, meta, platform, position, event)
        self._fold(rows, meta, platform, position, event)
        rows.put("meta", platform, meta, platform)

    def _observe(self, rows: Rows, meta: Doc, platform: str, position: int, event: Any) -> None:
        day = event.occurred_on.isoformat()
        if meta["clock"] is None or day > meta["clock"]:
            meta["clock"] = day
        late = (event.timestamp.date() - event.occurred_on).days
        if late > self.config.late_days:
            summary = meta["late"]
            summary["count"] += 1
            summary["worst"] = max(summary["worst"], late)
            if len(summary["listed"]) < MAX_LATE_LISTED:
                summary["listed"].append([position, late])
        rows.put("dirty", platform, {}, platform)

    def _fold(
        self,
        rows: Rows,
        meta: Doc,
        platform: str,
        position: int,
        event: Any,
    ) -> None:
        oid = str(event.originator_id)
        key = f"{platform}:{oid}:{event.originator_version}"
        match event:
            case Platform.MemberJoined():
                member = meta["members"].setdefault(
                    event.person, {"roles": [], "iban": None, "ever_board": False, "positions": []}
                )
                member.setdefault("positions", []).append(position)
                member["roles"] = sorted({*member["roles"], event.role.value})
                member["iban"] = event.iban or member["iban"]
                member["ever_board"] = member["ever_board"] or event.role.value in BOARD_ROLES
            case Platform.MemberLeft():
                member = meta["members"][event.person]
                member["roles"] = [r for r in member["roles"] if r != event.role.value]
                member.setdefault("positions", []).append(position)
            case Platform.RelativeDeclared():
                meta["relatives"][event.relative_name] = event.relative_iban
            case Platform.RecognitionRevoked():
                meta["recognition_revoked_on"] = event.effective_on.isoformat()
            case Grant.Awarded():
                meta["grants"][oid] = {
                    "start": event.period_start.isoformat(),
                    "end": event.period_end.isoformat(),
                    "revoked_on": None,
                    "revoked_decided_on": None,
                    "retroactive": False,
                }
            case Grant.Amended():
                meta["grants"][oid]["end"] = event.period_end.isoformat()
            case Grant.Revoked():
                meta["grants"][oid].update(
                    revoked_on=event.effective_on.isoformat(),
                    revoked_decided_on=event.occurred_on.isoformat(),
                    retroactive=event.retroactive,
                )
            case Grant.TranchePaid():
                rows.put(
                    "in",
                    key,
                    {
                        "day": event.occurred_on.isoformat(),
                        "cents": event.amount.cents,
                        "position": position,
                    },
                    platform,
                )
            case (
                Grant.EntryReversed()
                | BankStatement.EntryReversed()
                | (PlatformTransfer.EntryReversed())
            ):
                gone = f"{platform}:{oid}:{event.reverses_version}"
                rows.delete("in", gone)
                rows.delete("out", gone)
            case BankStatement.LineRecorded():
                self._bank_line(rows, platform, key, position, event)
            case Expense.Submitted():
                rows.put(
                    "expense",
                    oid,
                    {
                        "date": event.occurred_on.isoformat(),
                        "amount": event.amount.cents,
                        "payee": event.payee_name,
                        "iban": event.payee_iban,
                        "invoice": event.invoice_number,
                        "receipt": None,
                        "method": event.payment_method.value,
                        "submitted_by": event.actor,
                        "approved_by": None,
                        "state": "submitted",
                        "positions": [position],
                    },
                    platform,
                )
                if event.receipt_sha256:
                    self._receipt(rows, meta, platform, oid, event.receipt_sha256, position)
            case Expense.ReceiptAttached():
                self._receipt(rows, meta, platform, oid, event.receipt_sha256, position)
            case Expense.Approved():
                self._expense(
                    rows,
                    platform,
                    oid,
                    position,
                    state="approved",
                    approved_by=event.actor,
                    approved_on=event.occurred_on.isoformat(),
                )
                meta["approvers"] = sorted({*meta["approvers"], event.actor})
            case Expense.Rejected():
                self._expense(rows, platform, oid, position, state="rejected")
            case Expense.Paid():
                self._expense(rows, platform, oid, position, state="paid")
            case Expense.EntryReversed():
                self._expense(rows, platform, oid, position, state="approved")

    @staticmethod
    def _expense(rows: Rows, platform: str, key: str, position: int, **changes: Any) -> None:
        expense = rows.get("expense", key)
        if expense is not None:
            expense.update(changes)
            expense["positions"].append(position)
            rows.put("expense", key, expense, platform)

    @staticmethod
    def _bank_line(rows: Rows, platform: str, key: str, position: int, line: Any) -> None:
        day = line.occurred_on.isoformat()
        if line.direction.value == "out":
            rows.put(
                "out",
                key,
                {
                    "day": day,
                    "cents": line.amount.cents,
                    "kind": line.kind.value,
                    "payee": line.counterparty_name,
                    "iban": line.counterparty_iban,
                    "matches": line.matches,
                    "position": position,
                },
                platform,
            )
        elif line.matches is None:
            rows.put(
                "in", key, {"day": day, "cents": line.amount.cents, "position": position}, platform
            )

    def _inflow(self, rows: Rows, platform: str, position: int, event: Any) -> None:
        meta = rows.get("meta", platform)
        if meta is None:
            return
        self._observe(rows, meta, platform, position, event)
        rows.put(
            "in",
            f"{platform}:{event.originator_id}:{event.originator_version}",
            {
                "day": event.occurred_on.isoformat(),
                "cents": event.amount.cents,
                "position": position,
            },
            platform,
        )
        rows.put("meta", platform, meta, platform)

    def _receipt(
        self, rows: Rows, meta: Doc, platform: str, expense_id: str, sha: str, position: int
    ) -> None:
        self._expense(rows, platform, expense_id, position, receipt=sha)
        doc = rows.get("receipt", sha) or {"uses": []}
        doc["uses"].append([platform, expense_id, position])
        rows.put("receipt", sha, doc)
        if len(doc["uses"]) < 2:
            return
        positions = [use[2] for use in doc["uses"]]
        for other in sorted({use[0] for use in doc["uses"]}):
            other_meta = meta if other == platform else rows.get("meta", other)
            if other_meta is None:
                continue
            other_meta["duplicate_receipts"][sha] = positions
            if other != platform:
                rows.put("meta", other, other_meta, other)
                rows.put("dirty", other, {}, other)

    # Findings ---------------------------------------------------------------------

    def facts(self, rows: Rows, platform: str) -> Facts | None:
        meta = rows.get("meta", platform)
        if meta is None:
            return None
        outflows = [
            Outflow(
                _day(o["day"]),
                o["cents"],
                o["kind"],
                o["payee"],
                o["iban"],
                o["matches"],
                o["position"],
            )
            for _, o in rows.items("out", platform)
        ]
        return Facts(
            clock=self.clock or (_day(meta["clock"]) if meta["clock"] else None),
            members=meta["members"],
            relatives=meta["relatives"],
            approvers=set(meta["approvers"]),
            inflows=[
                (_day(i["day"]), i["cents"], i["position"]) for _, i in rows.items("in", platform)
            ],
            outflows=sorted(outflows, key=lambda o: o.position),
            expenses=dict(rows.items("expense", platform)),
            grants=meta["grants"],
            recognition_revoked_on=(
                _day(meta["recognition_revoked_on"]) if meta["recognition_revoked_on"] else None
            ),
            late=[(p, days) for p, days in meta["late"]["listed"]],
            late_count=meta["late"]["count"],
            late_worst=meta["late"]["worst"],
            duplicate_receipts=meta["duplicate_receipts"],
        )

    def finish(self, rows: Rows) -> None:
        for dirty in rows.keys("dirty"):
            facts = self.facts(rows, dirty)
            if facts is not None:
                meta = rows.get("meta", dirty) or {}
                rows.put("findings", dirty, self.findings(meta.get("name", ""), facts), dirty)
            rows.delete("dirty", dirty)

    def findings(self, name: str, facts: Facts) -> Doc:
        found = evaluate(facts, self.config)
        return {
            "name": name,
            "findings": [f.as_doc() for f in found],
            "score": risk_score(found),
            "config": f"{self.config.version}:{self.config.digest()}",
        }


def _day(text: str) -> date:
    return date.fromisoformat(text)
