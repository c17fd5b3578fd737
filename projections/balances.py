"""Balances: per district budget, per grant and per platform.

Money figures of budgets and platforms come from the double-entry postings (each account
keeps its debits and credits; corrections are red stornos). Grant figures come from the
grant's own events, and each grant's spending from the expenses paid against it.

Rows: ``budget`` and ``grant`` and ``platform`` documents, ``expense`` documents (state,
amount and grant of each expense) and ``entry`` documents (the postings of each money
event, so that a correction can reverse them).
"""

from __future__ import annotations

from typing import Any

from domain.budget import DistrictBudget
from domain.expense import Expense
from domain.grant import Grant
from domain.platform import Platform
from domain.postings import is_reversal, postings
from domain.values import ExpenseState
from projections.base import Projection
from projections.rows import Rows
from projections.store import Doc


def account_key(account: str) -> tuple[str, str]:
    """The document holding an account: ``platform:<id>:bank`` is in ``("platform", id)``."""
    kind, entity, _ = account.split(":", 2)
    return kind, entity


def entry_key(originator_id: Any, version: int) -> str:
    return f"{originator_id}:{version}"


def new_doc(kind: str) -> Doc:
    base: Doc = {"accounts": {}}
    if kind == "platform":
        base.update(awaiting_count=0, awaiting_cents=0)
    if kind == "grant":
        base.update(
            awarded=0,
            tranches_paid=0,
            spent=0,
            settled=None,
            claimed=0,
            recovered=0,
            refunded=0,
            state="awarded",
            reversible={},
        )
    return base


class Balances(Projection):
    name = "balances"

    def apply(self, rows: Rows, position: int, event: Any) -> None:
        self._book(rows, event)
        self._describe(rows, event)

    def prefetch(self, rows: Rows, events: list[tuple[int, Any]]) -> None:
        """Preload exactly the documents the batch will read (accounts, entities, entries)."""
        keys: set[tuple[str, str]] = set()
        for _, event in events:
            oid = str(event.originator_id)
            if is_reversal(event):
                keys.add(("entry", entry_key(event.originator_id, event.reverses_version)))
            else:
                keys.update(account_key(p.account) for p in postings(event))
            if isinstance(event, Grant.Event):
                keys.add(("grant", oid))
            elif isinstance(event, Expense.Event):
                keys.add(("expense", oid))
                if isinstance(event, Expense.Submitted):
                    keys.add(("platform", str(event.platform_id)))
            elif isinstance(event, Platform.Registered):
                keys.add(("platform", oid))
            elif isinstance(event, DistrictBudget.Allocated):
                keys.add(("budget", oid))
            if isinstance(event, Grant.TranchePaid):
                keys.add(("budget", str(event.budget_id)))
        rows.preload(keys)
        second: set[tuple[str, str]] = set()
        for kind, key in keys:
            doc = rows.get(kind, key) if kind in ("entry", "expense", "grant") else None
            if doc is None:
                continue
            if kind == "entry":
                second.update(account_key(account) for account, _ in doc["postings"])
            elif kind == "expense":
                second.add(("platform", doc["platform_id"]))
                if doc.get("grant_id"):
                    second.add(("grant", doc["grant_id"]))
            elif doc.get("budget_id"):
                second.add(("budget", doc["budget_id"]))
        rows.preload(second)

    # Money through postings ------------------------------------------------------------

    def _book(self, rows: Rows, event: Any) -> None:
        if is_reversal(event):
            key = entry_key(event.originator_id, event.reverses_version)
            entry = rows.get("entry", key)
            if entry is None:
                return  # the corrected event had no postings
            rows.delete("entry", key)
            for account, cents in entry["postings"]:
                self._post(rows, account, cents, reverse=True)
            return
        entries = postings(event)
        if not entries:
            return
        rows.put(
            "entry",
            entry_key(event.originator_id, event.originator_version),
            {"postings": [[p.account, p.amount.cents] for p in entries]},
        )
        for p in entries:
            self._post(rows, p.account, p.amount.cents, reverse=False)

    def _post(self, rows: Rows, account: str, cents: int, *, reverse: bool) -> None:
        kind, entity = account_key(account)
        field = account.split(":", 2)[2]
        doc = rows.get(kind, entity) or new_doc(kind)
        debit, credit = doc["accounts"].get(field, [0, 0])
        amount = -abs(cents) if reverse else abs(cents)
        if cents > 0:
            debit += amount
        else:
            credit += amount
        doc["accounts"][field] = [debit, credit]
        rows.put(kind, entity, doc, entity if kind == "platform" else doc.get("platform_id"))

    # Entity facts -------------------------------------------------------------------

    def _update(self, rows: Rows, kind: str, key: str, platform: str | None, **changes: Any) -> Doc:
        doc = rows.get(kind, key) or new_doc(kind)
        doc.update(changes)
        rows.put(kind, key, doc, platform)
        return doc

    def _describe(self, rows: Rows, event: Any) -> None:
        oid = str(event.originator_id)
        match event:
            case DistrictBudget.Allocated():
                self._update(rows, "budget", oid, None, district=event.district, year=event.year)
            case Platform.Registered():
                self._update(
                    rows,
                    "platform",
                    oid,
                    oid,
                    name=event.name,
                    neighbourhood=event.neighbourhood,
                    district=event.district,
                )
            case Grant.Awarded():
                self._update(
                    rows,
                    "grant",
                    oid,
                    str(event.platform_id),
                    reference=event.reference,
                    platform_id=str(event.platform_id),
                    budget_id=str(event.budget_id),
                    awarded=event.amount.cents,
                )
            case Grant.Amended():
                self._grant(rows, oid, lambda d: d.update(awarded=event.amount.cents))
            case Grant.TranchePaid():
                self._grant(rows, oid, lambda d: self._money(d, event, "tranches_paid"))
                self._paid_out(rows, str(event.budget_id), event.amount.cents)
            case Grant.RefundReceived():
                self._grant(rows, oid, lambda d: self._money(d, event, "refunded"))
            case Grant.RecoveryReceived():
                self._grant(rows, oid, lambda d: self._money(d, event, "recovered"))
            case Grant.RecoveryClaimed():
                self._grant(
                    rows, oid, lambda d: d.update(claimed=d["claimed"] + event.amount.cents)
                )
            case Grant.Settled():
                self._grant(
                    rows, oid, lambda d: d.update(settled=event.amount.cents, state="settled")
                )
            case Grant.Revoked():
                self._grant(rows, oid, lambda d: d.update(state="revoked"))
            case Grant.EntryReversed():
                grant = rows.get("grant", oid) or new_doc("grant")
                field, cents = grant["reversible"].pop(str(event.reverses_version))
                grant[field] -= cents
                rows.put("grant", oid, grant, grant.get("platform_id"))
                if field == "tranches_paid":
                    self._paid_out(rows, grant["budget_id"], -cents)
            case Expense.Submitted():
                platform = str(event.platform_id)
                self._update(
                    rows,
                    "expense",
                    oid,
                    platform,
                    platform_id=platform,
                    grant_id=str(event.grant_id) if event.grant_id else None,
                    amount=event.amount.cents,
                    state=ExpenseState.SUBMITTED.value,
                )
                self._awaiting(rows, platform, +1, event.amount.cents)
            case Expense.Approved() | Expense.Rejected():
                doc = rows.get("expense", oid)
                if doc is not None and doc["state"] == ExpenseState.SUBMITTED.value:
                    self._awaiting(rows, doc["platform_id"], -1, -doc["amount"])
                state = "approved" if isinstance(event, Expense.Approved) else "rejected"
                self._expense(rows, oid, state, spent_delta=0)
            case Expense.Paid():
                self._expense(rows, oid, ExpenseState.PAID.value, spent_delta=+1)
            case Expense.EntryReversed():
                self._expense(rows, oid, ExpenseState.APPROVED.value, spent_delta=-1)

    def _grant(self, rows: Rows, key: str, change: Any) -> None:
        doc = rows.get("grant", key) or new_doc("grant")
        change(doc)
        rows.put("grant", key, doc, doc.get("platform_id"))

    @staticmethod
    def _money(doc: Doc, event: Any, field: str) -> None:
        doc[field] += event.amount.cents
        doc["reversible"][str(event.originator_version)] = [field, event.amount.cents]

    def _paid_out(self, rows: Rows, budget: str, cents: int) -> None:
        doc = rows.get("budget", budget) or new_doc("budget")
        doc["paid_out"] = doc.get("paid_out", 0) + cents
        rows.put("budget", budget, doc, None)

    def _awaiting(self, rows: Rows, platform: str, count: int, cents: int) -> None:
        doc = rows.get("platform", platform) or new_doc("platform")
        doc["awaiting_count"] += count
        doc["awaiting_cents"] += cents
        rows.put("platform", platform, doc, platform)

    def _expense(self, rows: Rows, key: str, state: str, *, spent_delta: int) -> None:
        doc = rows.get("expense", key)
        if doc is None:
            return
        doc["state"] = state
        rows.put("expense", key, doc, doc["platform_id"])
        if spent_delta and doc["grant_id"]:
            self._grant(
                rows,
                doc["grant_id"],
                lambda d: d.update(spent=d["spent"] + spent_delta * doc["amount"]),
            )


# Reading ---------------------------------------------------------------------------


def account(doc: Doc, field: str) -> tuple[int, int]:
    debit, credit = doc.get("accounts", {}).get(field, [0, 0])
    return int(debit), int(credit)


def balance(doc: Doc, field: str) -> int:
    debit, credit = account(doc, field)
    return debit - credit


def platform_figures(doc: Doc) -> dict[str, Any]:
    """Presentable figures of one platform document (cents)."""
    spent = {
        field.removeprefix("expense:"): balance(doc, field)
        for field in sorted(doc.get("accounts", {}))
        if field.startswith("expense:")
    }
    return {
        "name": doc.get("name"),
        "neighbourhood": doc.get("neighbourhood"),
        "received": account(doc, "bank")[0],
        "spent": sum(spent.values()),
        "spent_by_category": spent,
        "bank": balance(doc, "bank"),
        "cash_on_hand": balance(doc, "cash"),
        "funds": balance(doc, "bank") + balance(doc, "cash"),
        "unexplained_outflows": balance(doc, "unexplained"),
        "awaiting_approval": {
            "count": doc.get("awaiting_count", 0),
            "amount": doc.get("awaiting_cents", 0),
        },
    }


def grant_figures(doc: Doc) -> dict[str, Any]:
    paid, spent, refunded = doc["tranches_paid"], doc["spent"], doc["refunded"]
    return {
        "reference": doc.get("reference"),
        "state": doc["state"],
        "awarded": doc["awarded"],
        "tranches_paid": paid,
        "spent": spent,
        "unspent": paid - spent - refunded,
        "settled": doc["settled"],
        "refunded": refunded,
        "to_recover": doc["claimed"] - doc["recovered"],
        "recovered": doc["recovered"],
    }


def budget_figures(doc: Doc) -> dict[str, Any]:
    allocated = -balance(doc, "allocation")
    available = balance(doc, "available")
    return {
        "district": doc.get("district"),
        "year": doc.get("year"),
        "allocated": allocated,
        "awarded": allocated - available,
        "paid_out": doc.get("paid_out", 0),
        "available": available,
        "returned": balance(doc, "returned"),
    }
