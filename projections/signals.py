"""Fraud-risk signals: per-platform facts, and the findings the rules draw from them.

Rows: ``facts`` (one document per platform: members, relatives, approvers, inflows,
outflows, expenses, grant windows, late bookings), ``owner`` (the platform of each
grant, expense and bank statement), ``receipt`` (who used each receipt hash, across
platforms) and ``findings`` (per platform: findings and risk score). Findings are a pure
function of a platform's facts; they are recomputed at the end of each batch for the
platforms the batch touched.
"""

from __future__ import annotations

from typing import Any

from domain.bank import BankStatement
from domain.expense import Expense
from domain.grant import Grant
from domain.platform import Platform
from domain.risk import BOARD_ROLES, Facts, RiskConfig, evaluate, risk_score
from domain.transfer import PlatformTransfer
from projections.base import Projection
from projections.rows import Rows
from projections.store import Doc


def new_facts(name: str) -> Doc:
    return {
        "name": name,
        "clock": None,
        "members": {},
        "relatives": {},
        "approvers": [],
        "inflows": [],
        "outflows": [],
        "expenses": {},
        "grants": {},
        "recognition_revoked_on": None,
        "late": [],
        "duplicate_receipts": {},
    }


class Signals(Projection):
    name = "signals"

    def __init__(self, config: RiskConfig | None = None) -> None:
        self.config = config or RiskConfig()
        self.touched: set[str] = set()

    # Facts ------------------------------------------------------------------------

    def owner(self, rows: Rows, event: Any) -> str | None:
        oid = str(event.originator_id)
        match event:
            case Platform.Registered():
                return oid
            case Grant.Awarded() | Expense.Submitted() | BankStatement.Opened():
                rows.put("owner", oid, {"platform": str(event.platform_id)})
                return str(event.platform_id)
            case Platform.Event():
                return oid
        doc = rows.get("owner", oid)
        return str(doc["platform"]) if doc else None

    def apply(self, rows: Rows, position: int, event: Any) -> None:
        if isinstance(event, PlatformTransfer.Made):
            self._transfer_in(rows, position, event)
            return
        platform = self.owner(rows, event)
        if platform is None:
            return
        facts = rows.get("facts", platform)
        if facts is None:
            if not isinstance(event, Platform.Registered):
                return
            facts = new_facts(event.name)
        self._observe(facts, position, event)
        self._fold(rows, facts, platform, position, event)
        rows.put("facts", platform, facts, platform)
        self.touched.add(platform)

    def _observe(self, facts: Doc, position: int, event: Any) -> None:
        day = event.occurred_on.isoformat()
        if facts["clock"] is None or day > facts["clock"]:
            facts["clock"] = day
        late = (event.timestamp.date() - event.occurred_on).days
        if late > self.config.late_days:
            facts["late"].append([position, late])

    def _fold(
        self,
        rows: Rows,
        facts: Doc,
        platform: str,
        position: int,
        event: Any,
    ) -> None:
        key = f"{event.originator_id}:{event.originator_version}"
        match event:
            case Platform.MemberJoined():
                member = facts["members"].setdefault(
                    event.person, {"roles": [], "iban": None, "ever_board": False}
                )
                member["roles"] = sorted({*member["roles"], event.role.value})
                member["iban"] = event.iban or member["iban"]
                member["ever_board"] = member["ever_board"] or event.role.value in BOARD_ROLES
            case Platform.MemberLeft():
                member = facts["members"][event.person]
                member["roles"] = [r for r in member["roles"] if r != event.role.value]
            case Platform.RelativeDeclared():
                facts["relatives"][event.relative_name] = event.relative_iban
            case Platform.RecognitionRevoked():
                facts["recognition_revoked_on"] = event.effective_on.isoformat()
            case Grant.Awarded():
                facts["grants"][str(event.originator_id)] = {
                    "start": event.period_start.isoformat(),
                    "end": event.period_end.isoformat(),
                    "revoked_on": None,
                    "revoked_decided_on": None,
                    "retroactive": False,
                }
            case Grant.Amended():
                facts["grants"][str(event.originator_id)]["end"] = event.period_end.isoformat()
            case Grant.Revoked():
                facts["grants"][str(event.originator_id)].update(
                    revoked_on=event.effective_on.isoformat(),
                    revoked_decided_on=event.occurred_on.isoformat(),
                    retroactive=event.retroactive,
                )
            case Grant.TranchePaid():
                facts["inflows"].append(
                    [event.occurred_on.isoformat(), event.amount.cents, position, key]
                )
            case Grant.EntryReversed() | BankStatement.EntryReversed():
                gone = f"{event.originator_id}:{event.reverses_version}"
                facts["inflows"] = [f for f in facts["inflows"] if f[3] != gone]
                facts["outflows"] = [f for f in facts["outflows"] if f[7] != gone]
            case BankStatement.LineRecorded():
                self._bank_line(facts, position, key, event)
            case Expense.Submitted():
                facts["expenses"][str(event.originator_id)] = {
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
                }
                if event.receipt_sha256:
                    self._receipt(
                        rows,
                        facts,
                        platform,
                        str(event.originator_id),
                        event.receipt_sha256,
                        position,
                    )
            case Expense.ReceiptAttached():
                self._receipt(
                    rows, facts, platform, str(event.originator_id), event.receipt_sha256, position
                )
            case Expense.Approved():
                expense = facts["expenses"][str(event.originator_id)]
                expense.update(approved_by=event.actor, state="approved")
                expense["positions"].append(position)
                facts["approvers"] = sorted({*facts["approvers"], event.actor})
            case Expense.Rejected() | Expense.Paid() | Expense.EntryReversed():
                expense = facts["expenses"][str(event.originator_id)]
                expense["state"] = {Expense.Rejected: "rejected", Expense.Paid: "paid"}.get(
                    type(event), "approved"
                )
                expense["positions"].append(position)

    @staticmethod
    def _bank_line(facts: Doc, position: int, key: str, line: Any) -> None:
        day = line.occurred_on.isoformat()
        if line.direction.value == "out":
            facts["outflows"].append(
                [
                    day,
                    line.amount.cents,
                    line.kind.value,
                    line.counterparty_name,
                    line.counterparty_iban,
                    line.matches,
                    position,
                    key,
                ]
            )
        elif line.matches is None:
            facts["inflows"].append([day, line.amount.cents, position, key])

    def _transfer_in(self, rows: Rows, position: int, event: Any) -> None:
        platform = str(event.to_platform_id)
        facts = rows.get("facts", platform)
        if facts is None:
            return
        self._observe(facts, position, event)
        key = f"{event.originator_id}:{event.originator_version}"
        facts["inflows"].append([event.occurred_on.isoformat(), event.amount.cents, position, key])
        rows.put("facts", platform, facts, platform)
        self.touched.add(platform)

    def _receipt(
        self, rows: Rows, facts: Doc, platform: str, expense_id: str, sha: str, position: int
    ) -> None:
        facts["expenses"][expense_id]["receipt"] = sha
        doc = rows.get("receipt", sha) or {"uses": []}
        doc["uses"].append([platform, expense_id, position])
        rows.put("receipt", sha, doc)
        if len(doc["uses"]) < 2:
            return
        positions = [use[2] for use in doc["uses"]]
        for other in {use[0] for use in doc["uses"]}:
            other_facts = facts if other == platform else rows.get("facts", other)
            if other_facts is None:
                continue
            other_facts["duplicate_receipts"][sha] = positions
            if other != platform:
                rows.put("facts", other, other_facts, other)
            self.touched.add(other)

    # Findings ---------------------------------------------------------------------

    def finish(self, rows: Rows) -> None:
        for platform in sorted(self.touched):
            facts = rows.get("facts", platform)
            if facts is None:
                continue
            rows.put("findings", platform, self.findings(facts), platform)
        self.touched.clear()

    def findings(self, facts: Doc) -> Doc:
        found = evaluate(Facts.from_doc(facts, facts["duplicate_receipts"]), self.config)
        score = risk_score(found)
        return {
            "name": facts["name"],
            "findings": [f.as_doc() for f in found],
            "score": score,
            "config": f"{self.config.version}:{self.config.digest()}",
        }
