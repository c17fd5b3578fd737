"""Balances: per district budget, per grant and per platform.

Money figures of budgets and platforms come from the double-entry postings (each account
keeps its debits and credits; corrections are red stornos). Grant figures come from the
grant's own events, and each grant's spending from the expenses paid against it.

Rows: ``budget``, ``grant`` and ``platform`` documents. A platform document lists the
expenses awaiting approval. What else a later event needs comes from the first event of
its aggregate (an expense's platform, grant and amount) or from the event a correction
reverses (its postings), read again from the store when it is not at hand.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from domain.bank import BankStatement
from domain.budget import DistrictBudget
from domain.expense import Expense
from domain.grant import Grant, allowance, outstanding_claim, owed_back
from domain.ids import text
from domain.platform import Platform
from domain.postings import REVERSALS, Leg, books, is_reversal, legs
from projections.base import Dispatch, Projection
from projections.index import KNOWN_AGGREGATES
from projections.memo import Memo
from projections.rows import Rows
from projections.store import Doc

REVERSES = object()
"""A prefetch plan's mark for events that post by reversing another event."""

NARROW: Dispatch[frozenset[str]] = Dispatch(
    [
        (Expense.Submitted, frozenset({"platform_id", "grant_id", "amount"})),
        ((Expense.Approved, Expense.Rejected), frozenset()),
        (Expense.Paid, frozenset({"platform_id", "payment_method", "category", "amount"})),
        ((Expense.EntryReversed, BankStatement.EntryReversed), frozenset({"reverses_version"})),
        (
            BankStatement.LineRecorded,
            frozenset({"matches", "platform_id", "direction", "kind", "amount"}),
        ),
    ]
)
"""What the fold reads of the classes most events are of (their postings, ``legs``, and
the expense a submission names); every other class it posts or keeps a document for is
read whole."""


def new_doc(kind: str) -> Doc:
    base: Doc = {"accounts": {}}
    if kind == "platform":
        base.update(awaiting={}, awaiting_count=0, awaiting_cents=0)
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


Handler = Callable[[Rows, Any, str], None]


class Balances(Projection):
    name = "balances"
    version = 2
    """2: a revoked grant's document says whether the revocation works back (the grant's
    figures count what is still to recover as the grant does)."""

    def __init__(self) -> None:
        self.expenses: Memo[int, tuple[str, str | None, int]] = Memo(KNOWN_AGGREGATES)
        """Platform, grant and amount of each expense, from its ``Submitted`` event."""
        self.plans: dict[type, tuple[bool | object, str | None]] = {}
        """Whether events of a class post, and what the prefetch reads for them
        (``_plan``), by class."""
        self.batch: dict[int, tuple[Any, list[Leg]]] = {}
        """The entries of the batch's events by position, worked out while prefetching."""
        self.facts: Dispatch[Handler] = Dispatch(
            [
                (DistrictBudget.Allocated, self._allocated),
                (Platform.Registered, self._registered),
                (Grant.Awarded, self._awarded),
                (Grant.Amended, self._amended),
                (Grant.TranchePaid, self._tranche_paid),
                (Grant.RefundReceived, self._money("refunded")),
                (Grant.RecoveryReceived, self._money("recovered")),
                (Grant.RecoveryClaimed, self._claimed),
                (Grant.Settled, self._settled),
                (Grant.Revoked, self._revoked),
                (Grant.EntryReversed, self._grant_reversed),
                (Expense.Submitted, self._submitted),
                ((Expense.Approved, Expense.Rejected), self._expense(awaiting=True, spent=0)),
                (Expense.Paid, self._expense(awaiting=False, spent=+1)),
                (Expense.EntryReversed, self._expense(awaiting=False, spent=-1)),
            ]
        )

    def reads(self, cls: type) -> frozenset[str] | None:
        """The fields ``NARROW`` names; every field of the other events that post, name a
        document or have a handler; nothing of the others (a bank match, a statement
        opened)."""
        narrow = NARROW[cls]
        if narrow is not None:
            return narrow
        posts, role = self.plans.get(cls) or self._plan(cls)
        if posts or role is not None or self.facts[cls] is not None:
            return None
        return frozenset()

    def apply(self, rows: Rows, position: int, event: Any) -> None:
        plan = self.plans.get(type(event))
        if plan is None:
            plan = self._plan(type(event))
        if plan[0]:  # it posts (``REVERSES`` too)
            self._book(rows, position, event)
        handler = self.facts[type(event)]
        if handler is not None:
            handler(rows, event, text(event.originator_id))

    def prefetch(self, rows: Rows, events: list[tuple[int, Any]]) -> None:
        """Preload exactly the documents the batch will read (accounts, entities)."""
        keys: set[tuple[str, str]] = set()
        wanted: set[tuple[UUID, int]] = set()
        self.batch = batch = {}
        expenses: list[UUID] = []
        corrected: list[tuple[UUID, int]] = []
        plans = self.plans
        for position, event in events:
            plan = plans.get(type(event))
            if plan is None:
                plan = self._plan(type(event))
            posts, role = plan
            if posts is REVERSES:
                corrected.append((event.originator_id, event.reverses_version))
            elif posts:
                booked = legs(event)
                batch[position] = (event, booked)
                if booked:
                    keys.update((kind, entity) for kind, entity, _, _ in booked)
            if role is None:
                continue
            if role == "expense":
                oid = event.originator_id
                expenses.append(oid)
                if oid.int not in self.expenses:
                    wanted.add((oid, 1))
            elif role == "submitted":
                keys.add(("platform", self._remember_expense(event)[0]))
            else:  # the event's own document: a grant, a registered platform, a budget
                keys.add((role, text(event.originator_id)))
        rows.preload_events(wanted.union(corrected))
        for oid, version in corrected:
            original = rows.event(oid, version)
            if original is not None:
                keys.update((kind, entity) for kind, entity, _, _ in legs(original))
        for oid in expenses:
            expense = self._expense_of(rows, oid)
            if expense is not None:
                keys.add(("platform", expense[0]))
                if expense[1]:
                    keys.add(("grant", expense[1]))
        rows.preload(keys)
        budgets: set[tuple[str, str]] = set()
        for kind, key in keys:
            doc = rows.get(kind, key) if kind == "grant" else None
            if doc is not None and doc.get("budget_id"):
                budgets.add(("budget", doc["budget_id"]))
        rows.preload(budgets)

    def _plan(self, cls: type) -> tuple[bool | object, str | None]:
        """Whether events of ``cls`` post (``REVERSES``: by reversing another), and which
        document of the batch they name: an expense's (through its first event), a new
        expense's platform, or their own (a grant, a platform, a budget)."""
        posts: bool | object = REVERSES if issubclass(cls, REVERSALS) else books(cls)
        role: str | None = None
        if issubclass(cls, Expense.Submitted):
            role = "submitted"
        elif issubclass(cls, Expense.Event):
            role = "expense"
        elif issubclass(cls, Grant.Event):
            role = "grant"
        elif issubclass(cls, Platform.Registered):
            role = "platform"
        elif issubclass(cls, DistrictBudget.Allocated):
            role = "budget"
        plan = self.plans[cls] = (posts, role)
        return plan

    def _remember_expense(self, submitted: Any) -> tuple[str, str | None, int]:
        grant = text(submitted.grant_id) if submitted.grant_id else None
        found = (text(submitted.platform_id), grant, submitted.amount.cents)
        self.expenses[submitted.originator_id.int] = found
        return found

    def _expense_of(self, rows: Rows, expense_id: UUID) -> tuple[str, str | None, int] | None:
        found = self.expenses.get(expense_id.int)
        if found is None:
            submitted = rows.event(expense_id, 1)
            if submitted is None:
                return None  # not folded (left out of a replay)
            found = self._remember_expense(submitted)
        return found

    # Money through postings ------------------------------------------------------------

    def _book(self, rows: Rows, position: int, event: Any) -> None:
        prepared = self.batch.get(position)
        if prepared is not None and prepared[0] is event:
            booked, reverse = prepared[1], False
        elif is_reversal(event):
            original = rows.event(event.originator_id, event.reverses_version)
            if original is None:
                return  # not folded (left out of a replay)
            booked, reverse = legs(original), True
        else:
            booked, reverse = legs(event), False
        for kind, entity, field, cents in booked:
            doc = rows.get(kind, entity) or new_doc(kind)
            accounts = doc["accounts"]
            debit, credit = accounts.get(field, (0, 0))
            amount = -abs(cents) if reverse else abs(cents)
            if cents > 0:
                debit += amount
            else:
                credit += amount
            accounts[field] = [debit, credit]
            rows.put(kind, entity, doc, entity if kind == "platform" else doc.get("platform_id"))

    # Entity facts -------------------------------------------------------------------

    @staticmethod
    def _update(rows: Rows, kind: str, key: str, platform: str | None, **changes: Any) -> Doc:
        doc = rows.get(kind, key) or new_doc(kind)
        doc.update(changes)
        rows.put(kind, key, doc, platform)
        return doc

    def _allocated(self, rows: Rows, event: Any, oid: str) -> None:
        self._update(rows, "budget", oid, None, district=event.district, year=event.year)

    def _registered(self, rows: Rows, event: Any, oid: str) -> None:
        self._update(
            rows,
            "platform",
            oid,
            oid,
            name=event.name,
            neighbourhood=event.neighbourhood,
            district=event.district,
        )

    def _awarded(self, rows: Rows, event: Any, oid: str) -> None:
        platform = text(event.platform_id)
        self._update(
            rows,
            "grant",
            oid,
            platform,
            reference=event.reference,
            platform_id=platform,
            budget_id=text(event.budget_id),
            awarded=event.amount.cents,
        )

    def _amended(self, rows: Rows, event: Any, oid: str) -> None:
        self._grant(rows, oid, lambda d: d.update(awarded=event.amount.cents))

    def _tranche_paid(self, rows: Rows, event: Any, oid: str) -> None:
        self._grant(rows, oid, lambda d: self._add(d, event, "tranches_paid"))
        self._paid_out(rows, text(event.budget_id), event.amount.cents)

    def _money(self, field: str) -> Handler:
        def handler(rows: Rows, event: Any, oid: str) -> None:
            self._grant(rows, oid, lambda d: self._add(d, event, field))

        return handler

    def _claimed(self, rows: Rows, event: Any, oid: str) -> None:
        self._grant(rows, oid, lambda d: d.update(claimed=d["claimed"] + event.amount.cents))

    def _settled(self, rows: Rows, event: Any, oid: str) -> None:
        self._grant(rows, oid, lambda d: d.update(settled=event.amount.cents, state=settled(d)))

    def _revoked(self, rows: Rows, event: Any, oid: str) -> None:
        self._grant(rows, oid, lambda d: d.update(state="revoked", retroactive=event.retroactive))

    def _grant_reversed(self, rows: Rows, event: Any, oid: str) -> None:
        grant = rows.get("grant", oid) or new_doc("grant")
        field, cents = grant["reversible"].pop(str(event.reverses_version))
        grant[field] -= cents
        rows.put("grant", oid, grant, grant.get("platform_id"))
        if field == "tranches_paid":
            self._paid_out(rows, grant["budget_id"], -cents)

    def _submitted(self, rows: Rows, event: Any, oid: str) -> None:
        known = self.expenses.get(event.originator_id.int)  # remembered by the prefetch
        platform, _, cents = self._remember_expense(event) if known is None else known
        doc = rows.get("platform", platform) or new_doc("platform")
        doc["awaiting"][oid] = cents
        self._awaiting(rows, platform, doc, +1, cents)

    def _expense(self, *, awaiting: bool, spent: int) -> Handler:
        def handler(rows: Rows, event: Any, oid: str) -> None:
            self._decided(rows, event.originator_id, oid, awaiting=awaiting, spent=spent)

        return handler

    @staticmethod
    def _grant(rows: Rows, key: str, change: Any) -> None:
        doc = rows.get("grant", key) or new_doc("grant")
        change(doc)
        rows.put("grant", key, doc, doc.get("platform_id"))

    @staticmethod
    def _add(doc: Doc, event: Any, field: str) -> None:
        doc[field] += event.amount.cents
        doc["reversible"][str(event.originator_version)] = [field, event.amount.cents]

    @staticmethod
    def _paid_out(rows: Rows, budget: str, cents: int) -> None:
        doc = rows.get("budget", budget) or new_doc("budget")
        doc["paid_out"] = doc.get("paid_out", 0) + cents
        rows.put("budget", budget, doc, None)

    @staticmethod
    def _awaiting(rows: Rows, platform: str, doc: Doc, count: int, cents: int) -> None:
        doc["awaiting_count"] += count
        doc["awaiting_cents"] += cents
        rows.put("platform", platform, doc, platform)

    def _decided(
        self, rows: Rows, expense_id: UUID, key: str, *, awaiting: bool, spent: int
    ) -> None:
        """An expense left the submitted state (approved, rejected, paid or corrected).

        Only an approval or a rejection of an expense still awaiting one counts down
        the platform's expenses awaiting approval."""
        expense = self._expense_of(rows, expense_id)
        if expense is None:
            return
        platform, grant, cents = expense
        doc = rows.get("platform", platform)
        if doc is not None and key in doc["awaiting"]:
            del doc["awaiting"][key]
            self._awaiting(rows, platform, doc, -1 if awaiting else 0, -cents if awaiting else 0)
        if spent and grant:
            self._grant(rows, grant, lambda d: d.update(spent=d["spent"] + spent * cents))


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


def settled(doc: Doc) -> str:
    """A grant's state once settled: a revocation stays in force (as in ``Grant``)."""
    return "revoked" if doc["state"] == "revoked" else "settled"


def grant_to_recover(doc: Doc) -> int:
    """The outstanding claim, by the grant's own rule (``Grant.to_recover``)."""
    revoked = doc["state"] == "revoked"
    allowed = allowance(revoked, bool(doc.get("retroactive")), doc["settled"])
    owed = owed_back(doc["tranches_paid"], doc["refunded"] + doc["recovered"], allowed)
    return outstanding_claim(doc["claimed"], doc["recovered"], owed)


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
        "to_recover": grant_to_recover(doc),
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
