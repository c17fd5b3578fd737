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

from domain.budget import DistrictBudget
from domain.expense import Expense
from domain.grant import Grant
from domain.ids import text
from domain.platform import Platform
from domain.postings import REVERSALS, Leg, books, legs
from projections.base import Dispatch, Projection
from projections.index import KNOWN_AGGREGATES
from projections.memo import Memo
from projections.rows import Events, Rows
from projections.store import Doc

REVERSES = object()
"""A prefetch plan's mark for events that post by reversing another event."""


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


class Balances(Projection):
    name = "balances"
    extracts = True

    def __init__(self) -> None:
        self.expenses: Memo[int, tuple[str, str | None, int]] = Memo(KNOWN_AGGREGATES)
        """Platform, grant and amount of each expense, from its ``Submitted`` event."""
        self.plans: dict[type, tuple[bool | object, str | None]] = {}
        """Whether events of a class post, and what the prefetch reads for them
        (``_plan``), by class."""
        self.batch: dict[int, tuple[Any, list[Leg]]] = {}
        """The entries of the batch's events by position, worked out while prefetching."""
        self.extractors: Dispatch[Extractor] = Dispatch(
            [
                (
                    DistrictBudget.Allocated,
                    lambda rows, e, oid: (ALLOCATED, oid, e.district, e.year),
                ),
                (
                    Platform.Registered,
                    lambda rows, e, oid: (REGISTERED, oid, e.name, e.neighbourhood, e.district),
                ),
                (
                    Grant.Awarded,
                    lambda rows, e, oid: (
                        AWARDED,
                        oid,
                        text(e.platform_id),
                        e.reference,
                        text(e.budget_id),
                        e.amount.cents,
                    ),
                ),
                (Grant.Amended, lambda rows, e, oid: (AMENDED, oid, e.amount.cents)),
                (
                    Grant.TranchePaid,
                    lambda rows, e, oid: (
                        TRANCHE_PAID,
                        oid,
                        e.originator_version,
                        e.amount.cents,
                        text(e.budget_id),
                    ),
                ),
                (
                    Grant.RefundReceived,
                    lambda rows, e, oid: (
                        MONEY,
                        oid,
                        "refunded",
                        e.originator_version,
                        e.amount.cents,
                    ),
                ),
                (
                    Grant.RecoveryReceived,
                    lambda rows, e, oid: (
                        MONEY,
                        oid,
                        "recovered",
                        e.originator_version,
                        e.amount.cents,
                    ),
                ),
                (Grant.RecoveryClaimed, lambda rows, e, oid: (CLAIMED, oid, e.amount.cents)),
                (Grant.Settled, lambda rows, e, oid: (SETTLED, oid, e.amount.cents)),
                (Grant.Revoked, lambda rows, e, oid: (REVOKED, oid)),
                (
                    Grant.EntryReversed,
                    lambda rows, e, oid: (GRANT_REVERSED, oid, e.reverses_version),
                ),
                (Expense.Submitted, self._submitted),
                ((Expense.Approved, Expense.Rejected), self._decided(awaiting=True, spent=0)),
                (Expense.Paid, self._decided(awaiting=False, spent=+1)),
                (Expense.EntryReversed, self._decided(awaiting=False, spent=-1)),
            ]
        )
        """What an event of each class changes besides its postings, as plain data: an
        action and its values (see ``extract``)."""
        self.actions: dict[int, Callable[[Rows, Item], None]] = {
            ALLOCATED: self._allocated,
            REGISTERED: self._registered,
            AWARDED: self._awarded,
            AMENDED: self._amended,
            TRANCHE_PAID: self._tranche_paid,
            MONEY: self._money,
            CLAIMED: self._claimed,
            SETTLED: self._settled,
            REVOKED: self._revoked,
            GRANT_REVERSED: self._grant_reversed,
            SUBMITTED: self._awaited,
            DECIDED: self._decided_on,
        }

    def apply(self, rows: Rows, position: int, event: Any) -> None:
        item = self.extract(rows, position, event)
        if item is not None:
            self.apply_extracted(rows, position, item)

    # Folding in two steps: what an event says, then what it does to the rows ---------

    def extract(self, rows: Events, position: int, event: Any) -> Item | None:
        """What folding ``event`` needs, as plain data: its postings as legs (of the event
        it reverses, for a correction; None: none), whether they are reversed, and an
        action with its values (``NOTHING``: none). None: nothing at all."""
        plan = self.plans.get(type(event))
        if plan is None:
            plan = self._plan(type(event))
        booked: list[Leg] | None = None
        reverse = False
        if plan[0]:  # it posts (``REVERSES`` too)
            prepared = self.batch.get(position)
            if prepared is not None and prepared[0] is event:
                booked = prepared[1]
            elif plan[0] is REVERSES:
                original = rows.event(event.originator_id, event.reverses_version)
                if original is not None:  # else not folded (left out of a replay)
                    booked, reverse = legs(original), True
            else:
                booked = legs(event)
        extractor = self.extractors[type(event)]
        if extractor is None:
            return (booked, reverse, NOTHING) if booked else None
        return (booked or None, reverse, *extractor(rows, event, text(event.originator_id)))

    def extract_batch(self, events: Events, batch: list[tuple[int, Any]]) -> list[tuple[int, Any]]:
        self.batch = {}
        expenses = [
            (event.originator_id, 1)
            for _, event in batch
            if isinstance(event, Expense.Event) and event.originator_id.int not in self.expenses
        ]
        corrected = [
            (event.originator_id, event.reverses_version)
            for _, event in batch
            if (self.plans.get(type(event)) or self._plan(type(event)))[0] is REVERSES
        ]
        events.preload_events([*expenses, *corrected])
        extract = self.extract
        items = [(position, extract(events, position, event)) for position, event in batch]
        return [item for item in items if item[1] is not None]

    def prefetch_extracted(self, rows: Rows, items: list[tuple[int, Any]]) -> None:
        keys: set[tuple[str, str]] = set()
        for _, item in items:
            if item[0]:
                keys.update((kind, entity) for kind, entity, _, _ in item[0])
            code = item[2]
            if code == NOTHING:
                continue
            kind = DOCUMENT[code]
            if kind is None:  # an expense: its platform's document, and its grant's
                keys.add(("platform", item[4]))
                if code == DECIDED and item[5]:
                    keys.add(("grant", item[5]))
            else:
                keys.add((kind, item[3]))
        self._preload(rows, keys)

    def apply_extracted(self, rows: Rows, position: int, item: Item) -> None:
        booked, reverse, code = item[0], item[1], item[2]
        if booked:
            self._post(rows, booked, reverse)
        if code:
            self.actions[code](rows, item)

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
        self._preload(rows, keys)

    @staticmethod
    def _preload(rows: Rows, keys: set[tuple[str, str]]) -> None:
        """These documents, and the budgets of the grants among them."""
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

    def _expense_of(self, rows: Events, expense_id: UUID) -> tuple[str, str | None, int] | None:
        found = self.expenses.get(expense_id.int)
        if found is None:
            submitted = rows.event(expense_id, 1)
            if submitted is None:
                return None  # not folded (left out of a replay)
            found = self._remember_expense(submitted)
        return found

    # Money through postings ------------------------------------------------------------

    @staticmethod
    def _post(rows: Rows, booked: list[Leg], reverse: bool) -> None:
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

    # What events tell besides money (``Item`` values after the first three) -------------

    def _submitted(self, rows: Events, event: Any, oid: str) -> tuple[Any, ...]:
        known = self.expenses.get(event.originator_id.int)  # remembered by the prefetch
        platform, _, cents = self._remember_expense(event) if known is None else known
        return (SUBMITTED, oid, platform, cents)

    def _decided(self, *, awaiting: bool, spent: int) -> Extractor:
        """An expense left the submitted state (approved, rejected, paid or corrected)."""

        def extract(rows: Events, event: Any, oid: str) -> tuple[Any, ...]:
            expense = self._expense_of(rows, event.originator_id)
            if expense is None:
                return (NOTHING,)  # its submission was not folded (left out of a replay)
            platform, grant, cents = expense
            return (DECIDED, oid, platform, grant, cents, awaiting, spent)

        return extract

    @staticmethod
    def _update(rows: Rows, kind: str, key: str, platform: str | None, **changes: Any) -> Doc:
        doc = rows.get(kind, key) or new_doc(kind)
        doc.update(changes)
        rows.put(kind, key, doc, platform)
        return doc

    def _allocated(self, rows: Rows, item: Item) -> None:
        _, _, _, oid, district, year = item
        self._update(rows, "budget", oid, None, district=district, year=year)

    def _registered(self, rows: Rows, item: Item) -> None:
        _, _, _, oid, name, neighbourhood, district = item
        self._update(
            rows, "platform", oid, oid, name=name, neighbourhood=neighbourhood, district=district
        )

    def _awarded(self, rows: Rows, item: Item) -> None:
        _, _, _, oid, platform, reference, budget, cents = item
        self._update(
            rows,
            "grant",
            oid,
            platform,
            reference=reference,
            platform_id=platform,
            budget_id=budget,
            awarded=cents,
        )

    def _amended(self, rows: Rows, item: Item) -> None:
        self._grant(rows, item[3], lambda d: d.update(awarded=item[4]))

    def _tranche_paid(self, rows: Rows, item: Item) -> None:
        _, _, _, oid, version, cents, budget = item
        self._grant(rows, oid, lambda d: self._add(d, "tranches_paid", version, cents))
        self._paid_out(rows, budget, cents)

    def _money(self, rows: Rows, item: Item) -> None:
        _, _, _, oid, field, version, cents = item
        self._grant(rows, oid, lambda d: self._add(d, field, version, cents))

    def _claimed(self, rows: Rows, item: Item) -> None:
        self._grant(rows, item[3], lambda d: d.update(claimed=d["claimed"] + item[4]))

    def _settled(self, rows: Rows, item: Item) -> None:
        self._grant(rows, item[3], lambda d: d.update(settled=item[4], state="settled"))

    def _revoked(self, rows: Rows, item: Item) -> None:
        self._grant(rows, item[3], lambda d: d.update(state="revoked"))

    def _grant_reversed(self, rows: Rows, item: Item) -> None:
        _, _, _, oid, reverses_version = item
        grant = rows.get("grant", oid) or new_doc("grant")
        field, cents = grant["reversible"].pop(str(reverses_version))
        grant[field] -= cents
        rows.put("grant", oid, grant, grant.get("platform_id"))
        if field == "tranches_paid":
            self._paid_out(rows, grant["budget_id"], -cents)

    def _awaited(self, rows: Rows, item: Item) -> None:
        _, _, _, oid, platform, cents = item
        doc = rows.get("platform", platform) or new_doc("platform")
        doc["awaiting"][oid] = cents
        self._awaiting(rows, platform, doc, +1, cents)

    def _decided_on(self, rows: Rows, item: Item) -> None:
        """Only an approval or a rejection of an expense still awaiting one counts down
        the platform's expenses awaiting approval."""
        _, _, _, key, platform, grant, cents, awaiting, spent = item
        doc = rows.get("platform", platform)
        if doc is not None and key in doc["awaiting"]:
            del doc["awaiting"][key]
            self._awaiting(rows, platform, doc, -1 if awaiting else 0, -cents if awaiting else 0)
        if spent and grant:
            self._grant(rows, grant, lambda d: d.update(spent=d["spent"] + spent * cents))

    @staticmethod
    def _grant(rows: Rows, key: str, change: Any) -> None:
        doc = rows.get("grant", key) or new_doc("grant")
        change(doc)
        rows.put("grant", key, doc, doc.get("platform_id"))

    @staticmethod
    def _add(doc: Doc, field: str, version: int, cents: int) -> None:
        doc[field] += cents
        doc["reversible"][str(version)] = [field, cents]

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


Item = tuple[Any, ...]
"""What folding an event needs (``Balances.extract``): its postings as legs (or None),
whether they are reversed, an action, and the action's values; plain data, so another
process can work it out."""

Extractor = Callable[[Events, Any, str], tuple[Any, ...]]
"""An action and its values, of an event and its aggregate's id as text."""

# Actions (``Item[2]``), and the document each names by ``Item[3]`` (None: an expense's)
NOTHING, ALLOCATED, REGISTERED, AWARDED, AMENDED, TRANCHE_PAID, MONEY = 0, 1, 2, 3, 4, 5, 6
CLAIMED, SETTLED, REVOKED, GRANT_REVERSED, SUBMITTED, DECIDED = 7, 8, 9, 10, 11, 12
DOCUMENT: dict[int, str | None] = {
    ALLOCATED: "budget",
    REGISTERED: "platform",
    **dict.fromkeys(
        (AWARDED, AMENDED, TRANCHE_PAID, MONEY, CLAIMED, SETTLED, REVOKED, GRANT_REVERSED),
        "grant",
    ),
    SUBMITTED: None,
    DECIDED: None,
}


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
