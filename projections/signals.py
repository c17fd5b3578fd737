"""Fraud-risk signals: per-platform facts, and the findings the rules draw from them.

Rows, all tagged with their platform:

- ``meta``: the platform's small facts that seldom change (members, relatives,
  approvers, grant windows, recognition revocation, receipts used twice, the first
  ``MAX_LATE_LISTED`` late bookings);
- ``head``: what changes with every event: the latest business date, the number of
  late bookings and the worst delay, the number of logged facts;
- ``facts``: the platform's log of money and expense facts, ``FACTS_CHUNK`` to a row
  (key ``<platform>:<chunk number>``): money in, money out, a correction taking money
  in or out back, an expense submitted (with the receipt it came with), an expense
  changed (a receipt attached later, approval, rejection, payment, correction). Only the
  log's last row changes, and only by growing;
- ``receipt``: who used a receipt hash (across platforms);
- ``dirty``: platforms whose findings must be evaluated again;
- ``findings``: per platform, the findings and the risk score.

The platform of a grant, expense, statement, bank match or transfer comes from the first
event of that aggregate (read again from the store when it is not at hand).

Findings are a pure function of a platform's facts (the log folded in order). Each event
marks its platform dirty; when the runner reaches the head of the store the dirty
platforms are evaluated, in the same transaction as that batch. So after a catch-up
every finding is current, and a long rebuild evaluates each platform once instead of
after every batch.
"""

from __future__ import annotations

import weakref
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from domain.bank import BankStatement
from domain.expense import Expense
from domain.grant import Grant
from domain.ids import text
from domain.matching import BankMatch
from domain.platform import Platform
from domain.risk import (
    BOARD_ROLES,
    Facts,
    RiskConfig,
    iso_day,
)
from domain.transfer import PlatformTransfer
from projections.base import Dispatch, Projection
from projections.index import KNOWN_AGGREGATES
from projections.memo import Memo
from projections.rows import Elsewhere, Overlay, Rows
from projections.signals_facts import facts_of, findings_doc, findings_elsewhere
from projections.store import Doc
from projections.workers import default_workers, warm_up, worker_pool

MAX_LATE_LISTED = 100
REJECTED = Expense.Rejected
FACTS_CHUNK = 32


def new_meta(name: str) -> Doc:
    return {
        "name": name,
        "members": {},
        "relatives": {},
        "approvers": [],
        "grants": {},
        "recognition": [],
        "duplicate_receipts": {},
        "late_listed": [],
    }


def new_head() -> Doc:
    return {"clock": None, "late": 0, "worst": 0, "facts": 0}


@dataclass
class Docs:
    """A platform's two documents while an event is folded."""

    meta: Doc
    head: Doc
    day: date | None = None
    """``head["clock"]`` as a date."""
    chunk: tuple[int, str, Doc] | None = None
    """The log row this batch appends to: its number, key and document."""
    observed: bool = False
    """Whether an event of this batch was observed (and the platform marked dirty)."""
    changed: bool = False
    """Whether ``meta`` changed (``head`` changes with every event)."""
    saved: bool = False
    meta_saved: bool = False
    """Whether this batch has written them (the same documents: once is enough)."""


PLATFORM_FIELD: Dispatch[str] = Dispatch(
    [
        (Platform.Registered, "originator_id"),
        (
            (Grant.Awarded, Expense.Submitted, BankStatement.Opened, BankMatch.Matched),
            "platform_id",
        ),
        (PlatformTransfer.Made, "to_platform_id"),
    ]
)
"""The field of an aggregate's first event that names the platform its events feed (a
transfer feeds the receiving platform: money in). Looked up once per class."""


EVERY_EVENT = frozenset({"timestamp", "occurred_on"})
"""What ``apply`` reads of every event of a platform: its business date, and how late it
was booked."""

READS: Dispatch[frozenset[str]] = Dispatch(
    [
        (Platform.Registered, frozenset({"name"})),
        (Platform.MemberJoined, frozenset({"person", "role", "iban"})),
        (Platform.MemberLeft, frozenset({"person", "role"})),
        (Platform.RelativeDeclared, frozenset({"relative_name", "relative_iban"})),
        (Platform.RecognitionChanged, frozenset({"effective_on"})),
        (Platform.RecognitionDecided, frozenset({"granted", "effective_on"})),
        (Grant.Awarded, frozenset({"period_start", "period_end"})),
        (Grant.Amended, frozenset({"period_end"})),
        (Grant.Revoked, frozenset({"effective_on", "retroactive"})),
        (Grant.TranchePaid, frozenset({"number", "amount"})),
        (Grant.TrancheRequested, frozenset({"number"})),
        (Grant.ReportSubmitted, frozenset({"tranche"})),
        (
            (Grant.EntryReversed, BankStatement.EntryReversed, PlatformTransfer.EntryReversed),
            frozenset({"reverses_version"}),
        ),
        (
            BankStatement.LineRecorded,
            frozenset(
                {"direction", "amount", "kind", "counterparty_name", "counterparty_iban", "matches"}
            ),
        ),
        (
            Expense.Submitted,
            frozenset(
                {
                    "amount",
                    "payee_name",
                    "payee_iban",
                    "invoice_number",
                    "payment_method",
                    "actor",
                    "receipt_sha256",
                }
            ),
        ),
        (Expense.ReceiptAttached, frozenset({"receipt_sha256"})),
        (Expense.Approved, frozenset({"actor"})),
        (PlatformTransfer.Made, frozenset({"amount"})),
    ]
)
"""What the handlers read of each class, besides ``EVERY_EVENT`` and the platform field."""


def signalled(first: Any) -> str:
    """The platform whose signals an aggregate's events feed, from its first event ("": none)."""
    field_name = PLATFORM_FIELD(first)
    return "" if field_name is None else text(getattr(first, field_name))


@dataclass
class Batch:
    """Rows the folding of one batch has at hand: dirty marks written, open log rows."""

    dirty: set[str] = field(default_factory=set)
    docs: dict[str, Docs] = field(default_factory=dict)


class Signals(Projection):
    name = "signals"
    version = 5
    """2: a governance finding names each expense's submission and approval once.
    3: an approval by someone never a member of the platform does not count.
    4: an expense's log entry holds the receipt it was submitted with.
    5: a reversed tranche is no longer paid; every recognition decision is kept with its
    effective date (so a recognition granted again after a revocation counts, as the
    platform's own rule reads them); every account a member declared is kept; a
    receipt attached again to the expense that used it is not a second use, nor one an
    expense rejected since had (on any platform); and with them the rules' findings
    (payees paid in cash checked, a payee one party by its account or its name)."""

    def __init__(
        self,
        config: RiskConfig | None = None,
        clock: date | None = None,
        workers: int | None = None,
    ) -> None:
        """``clock`` fixes "today" for time-based rules (an as-of replay passes its date);
        by default it is the latest business date seen for each platform. ``workers``:
        processes that evaluate the findings when many facts are to be evaluated at once
        (``PARALLEL_FACTS``; default: one per processor; 1: none, all in this process)."""
        self.config = config or RiskConfig()
        self.workers = default_workers() if workers is None else workers
        self.warmed = False
        self.late_days = self.config.late_days
        self.clock = clock
        self.owners: Memo[int, str] = Memo(KNOWN_AGGREGATES)
        self.rows: weakref.ref[Rows] | None = None
        """The rows ``batch`` belongs to, weakly: the handlers refer back to this projection,
        so a strong reference would keep a finished fold's rows (and its events) alive
        until the cyclic collector runs."""
        self.batch = Batch()
        self.handlers: Dispatch[Callable[[Rows, Docs, str, int, Any], None]] = Dispatch(
            [
                (Platform.MemberJoined, self._joined),
                (Platform.MemberLeft, self._left),
                (Platform.RelativeDeclared, self._relative),
                (Platform.RecognitionChanged, self._recognition_changed),
                (Platform.RecognitionDecided, self._recognition_decided),
                (Grant.Awarded, self._awarded),
                (Grant.Amended, self._amended),
                (Grant.Revoked, self._revoked_grant),
                (Grant.TranchePaid, self._tranche),
                (Grant.TrancheRequested, self._requested),
                (Grant.ReportSubmitted, self._reported),
                (Grant.EntryReversed, self._tranche_gone),
                ((BankStatement.EntryReversed, PlatformTransfer.EntryReversed), self._gone),
                (BankStatement.LineRecorded, self._bank_line),
                (Expense.Submitted, self._submitted),
                (Expense.ReceiptAttached, self._receipt_attached),
                (Expense.Approved, self._approved),
                (Expense.Rejected, self._rejected),
                (Expense.Paid, self._changed("paid")),
                (Expense.EntryReversed, self._changed("approved")),
                (PlatformTransfer.Made, self._inflow),
            ]
        )

    def reads(self, cls: type) -> frozenset[str]:
        platform_field = PLATFORM_FIELD[cls]
        own = READS[cls] or frozenset()
        return EVERY_EVENT | own | ({platform_field} if platform_field else set())

    def build(self) -> str:
        """The version, and the risk configuration: its thresholds shape the rows too (the
        late bookings listed), not only the findings."""
        return f"v{self.version} risk {self.config.version}:{self.config.digest()}"

    # Facts ------------------------------------------------------------------------

    def owner(self, rows: Rows, event: Any) -> str | None:
        oid = event.originator_id
        platform = self.owners.get(oid.int)
        if platform is None:
            if isinstance(event, Platform.Event):
                platform = text(oid)
            else:
                first = event if event.originator_version == 1 else rows.event(oid, 1)
                if first is None:
                    return None  # its first event was not folded (left out of a replay)
                platform = signalled(first)
            self.owners[oid.int] = platform
        return platform or None

    def _batch(self, rows: Rows) -> Batch:
        """What this projection keeps at hand while folding into ``rows``."""
        if self.rows is None or self.rows() is not rows:
            self.rows, self.batch = weakref.ref(rows), Batch()
        return self.batch

    def _dirty(self, rows: Rows, platform: str) -> None:
        dirty = self._batch(rows).dirty
        if platform not in dirty:
            dirty.add(platform)
            rows.put("dirty", platform, {}, platform)

    def prefetch(self, rows: Rows, events: list[tuple[int, Any]]) -> None:
        if self.workers > 1 and len(events) >= WARM_FROM and not self.warmed:
            warm_up()  # a batch this long is likely to end with many findings to evaluate
            self.warmed = True
        owners = self.owners
        known = owners.get
        fields = PLATFORM_FIELD
        found: dict[int, str] = {}  # the platforms of the aggregates this batch creates
        platforms: set[str] = set()
        keys: set[tuple[str, str]] = set()
        unknown: list[Any] = []  # events whose platform their aggregate's first event names
        rejected: list[Any] = []  # expenses rejected: their receipts are looked up
        for _, event in events:
            if type(event) is REJECTED:
                rejected.append(event)
            sha = getattr(event, "receipt_sha256", None)
            if sha:
                keys.add(("receipt", sha))
            oid = event.originator_id.int
            if event.originator_version == 1:
                field_name = fields[type(event)]
                found[oid] = "" if field_name is None else text(getattr(event, field_name))
            else:
                platform = known(oid)
                if platform is None:
                    platform = found.get(oid)
                if platform is None:
                    unknown.append(event)
                else:
                    platforms.add(platform)
        owners.update_bounded(found)
        platforms.update(found.values())
        rows.preload_events(
            (e.originator_id, 1) for e in unknown if not isinstance(e, Platform.Event)
        )
        rows.preload_events(
            (e.originator_id, v) for e in rejected for v in range(1, e.originator_version)
        )
        for event in unknown:
            platforms.add(self.owner(rows, event) or "")
        platforms.discard("")
        rows.preload(keys | {(kind, p) for p in platforms for kind in ("meta", "head")})
        last_chunks = []
        for platform in platforms:
            head = rows.get("head", platform)
            if head is not None and head["facts"] % FACTS_CHUNK:
                last_chunks.append(("facts", chunk_key(platform, head["facts"])))
        rows.preload(last_chunks)

    def apply(self, rows: Rows, position: int, event: Any) -> None:
        platform = self.owners.get(event.originator_id.int)
        if platform is None:
            platform = self.owner(rows, event)
        if not platform:
            return
        batch = self.batch if self.rows is not None and self.rows() is rows else self._batch(rows)
        docs = batch.docs.get(platform)
        if docs is None:
            docs = self._docs(rows, platform)
            if docs is None:
                if not isinstance(event, Platform.Registered):
                    return
                docs = batch.docs[platform] = Docs(new_meta(event.name), new_head(), changed=True)
        if not docs.observed:
            docs.observed = True
            self._dirty(rows, platform)
        head = docs.head
        occurred = event.occurred_on
        if docs.day is None or occurred > docs.day:
            docs.day = occurred
            head["clock"] = occurred.isoformat()
        late = event.timestamp.toordinal() - occurred.toordinal()  # days, as the dates differ
        if late > self.late_days:  # a late booking (inline: in some stores, most events)
            head["late"] += 1
            if late > head["worst"]:
                head["worst"] = late
            listed = docs.meta["late_listed"]
            if len(listed) < MAX_LATE_LISTED:
                listed.append([position, late])
                docs.changed = True
        handler = self.handlers[type(event)]
        if handler is not None:
            handler(rows, docs, platform, position, event)
        if not docs.saved or (docs.changed and not docs.meta_saved):
            self._save(rows, platform, docs)

    def _docs(self, rows: Rows, platform: str) -> Docs | None:
        batch = self._batch(rows)
        docs = batch.docs.get(platform)
        if docs is None:
            head = rows.get("head", platform)
            meta = rows.get("meta", platform) if head is not None else None
            if head is None or meta is None:
                return None
            clock = head["clock"]
            docs = batch.docs[platform] = Docs(meta, head, iso_day(clock) if clock else None)
        return docs

    @staticmethod
    def _save(rows: Rows, platform: str, docs: Docs) -> None:
        if not docs.saved:
            rows.put("head", platform, docs.head, platform)
            docs.saved = True
        if docs.changed and not docs.meta_saved:
            rows.put("meta", platform, docs.meta, platform)
            docs.meta_saved = True

    def _log(self, rows: Rows, docs: Docs, platform: str, fact: list[Any]) -> None:
        """Append ``fact`` to the platform's log."""
        head = docs.head
        count = head["facts"]
        number = count // FACTS_CHUNK
        found = docs.chunk
        if found is not None and found[0] == number:
            _, key, chunk = found  # already written by this batch: it is the same document
        else:
            key = chunk_key(platform, count)
            chunk = (rows.get("facts", key) if count % FACTS_CHUNK else None) or {"facts": []}
            rows.put("facts", key, chunk, platform)
            docs.chunk = (number, key, chunk)
        chunk["facts"].append(fact)
        head["facts"] = count + 1
        if len(chunk["facts"]) == FACTS_CHUNK:  # full: it will not be read while folding
            rows.put("facts", key, chunk, platform, keep=False)

    # One handler per kind of event --------------------------------------------------

    @staticmethod
    def _joined(rows: Rows, docs: Docs, platform: str, position: int, event: Any) -> None:
        docs.changed = True
        member = docs.meta["members"].setdefault(
            event.person,
            {"roles": [], "iban": None, "ibans": [], "ever_board": False, "positions": []},
        )
        member.setdefault("positions", []).append(position)
        member["roles"] = sorted({*member["roles"], event.role.value})
        member["iban"] = event.iban or member["iban"]
        if event.iban and event.iban not in member.setdefault("ibans", []):
            member["ibans"].append(event.iban)
        member["ever_board"] = member["ever_board"] or event.role.value in BOARD_ROLES

    @staticmethod
    def _left(rows: Rows, docs: Docs, platform: str, position: int, event: Any) -> None:
        docs.changed = True
        member = docs.meta["members"][event.person]
        member["roles"] = [r for r in member["roles"] if r != event.role.value]
        member.setdefault("positions", []).append(position)

    @staticmethod
    def _relative(rows: Rows, docs: Docs, platform: str, position: int, event: Any) -> None:
        docs.changed = True
        docs.meta["relatives"][event.relative_name] = event.relative_iban

    @staticmethod
    def _recognition_changed(
        rows: Rows, docs: Docs, platform: str, position: int, event: Any
    ) -> None:
        """A suspension, its lifting or a revocation: the state from its effective date."""
        docs.changed = True
        docs.meta["recognition"].append([event.effective_on.isoformat(), event.NEW_STATE.value])

    @staticmethod
    def _recognition_decided(
        rows: Rows, docs: Docs, platform: str, position: int, event: Any
    ) -> None:
        docs.changed = True
        state = "recognised" if event.granted else "refused"
        docs.meta["recognition"].append([event.effective_on.isoformat(), state])

    @staticmethod
    def _awarded(rows: Rows, docs: Docs, platform: str, position: int, event: Any) -> None:
        docs.changed = True
        docs.meta["grants"][text(event.originator_id)] = {
            "start": event.period_start.isoformat(),
            "end": event.period_end.isoformat(),
            "revoked_on": None,
            "revoked_decided_on": None,
            "retroactive": False,
            "paid": {},
            "requests": [],
            "reports": {},
        }

    @staticmethod
    def _amended(rows: Rows, docs: Docs, platform: str, position: int, event: Any) -> None:
        docs.changed = True
        docs.meta["grants"][text(event.originator_id)]["end"] = event.period_end.isoformat()

    @staticmethod
    def _revoked_grant(rows: Rows, docs: Docs, platform: str, position: int, event: Any) -> None:
        docs.changed = True
        docs.meta["grants"][text(event.originator_id)].update(
            revoked_on=event.effective_on.isoformat(),
            revoked_decided_on=event.occurred_on.isoformat(),
            retroactive=event.retroactive,
        )

    def _tranche(self, rows: Rows, docs: Docs, platform: str, position: int, event: Any) -> None:
        self._inflow(rows, docs, platform, position, event)
        grant = docs.meta["grants"][text(event.originator_id)]
        grant.setdefault("paid", {})[str(event.number)] = {
            "on": event.occurred_on.isoformat(),
            "position": position,
            "version": event.originator_version,
        }
        docs.changed = True

    @staticmethod
    def _requested(rows: Rows, docs: Docs, platform: str, position: int, event: Any) -> None:
        grant = docs.meta["grants"][text(event.originator_id)]
        grant.setdefault("requests", []).append(
            {"number": event.number, "on": event.occurred_on.isoformat(), "position": position}
        )
        docs.changed = True

    @staticmethod
    def _reported(rows: Rows, docs: Docs, platform: str, position: int, event: Any) -> None:
        grant = docs.meta["grants"][text(event.originator_id)]
        grant.setdefault("reports", {})[str(event.tranche)] = event.occurred_on.isoformat()
        docs.changed = True

    def _gone(self, rows: Rows, docs: Docs, platform: str, position: int, event: Any) -> None:
        gone = f"{text(event.originator_id)}:{event.reverses_version}"
        self._log(rows, docs, platform, ["gone", gone])

    def _tranche_gone(
        self, rows: Rows, docs: Docs, platform: str, position: int, event: Any
    ) -> None:
        """A grant's entry reversed: its money fact is gone, and a tranche it paid is no
        longer paid (no report is owed on it), as the grant itself has it."""
        self._gone(rows, docs, platform, position, event)
        grant = docs.meta["grants"].get(text(event.originator_id))
        paid = {} if grant is None else grant.get("paid", {})
        for number, payment in list(paid.items()):
            if payment.get("version") == event.reverses_version:
                del paid[number]
                docs.changed = True

    def _bank_line(self, rows: Rows, docs: Docs, platform: str, position: int, line: Any) -> None:
        day = line.occurred_on.isoformat()
        if line.direction.value == "out":
            fact = [
                "out",
                money_key(line),
                day,
                line.amount.cents,
                line.kind.value,
                line.counterparty_name,
                line.counterparty_iban,
                line.matches,
                position,
            ]
        elif line.matches is None:
            fact = ["in", money_key(line), day, line.amount.cents, position]
        else:
            return
        self._log(rows, docs, platform, fact)

    def _submitted(self, rows: Rows, docs: Docs, platform: str, position: int, event: Any) -> None:
        oid = text(event.originator_id)
        fact = [
            "expense",
            oid,
            event.occurred_on.isoformat(),
            event.amount.cents,
            event.payee_name,
            event.payee_iban,
            event.invoice_number,
            event.payment_method.value,
            event.actor,
            position,
            event.receipt_sha256,
        ]
        self._log(rows, docs, platform, fact)
        if event.receipt_sha256:
            self._receipt(rows, docs, platform, oid, event.receipt_sha256, position)

    def _receipt_attached(
        self, rows: Rows, docs: Docs, platform: str, position: int, event: Any
    ) -> None:
        oid = text(event.originator_id)
        self._log(rows, docs, platform, ["receipt", oid, position, event.receipt_sha256])
        self._receipt(rows, docs, platform, oid, event.receipt_sha256, position)

    def _approved(self, rows: Rows, docs: Docs, platform: str, position: int, event: Any) -> None:
        fact = [
            "approved",
            text(event.originator_id),
            position,
            event.actor,
            event.occurred_on.isoformat(),
        ]
        self._log(rows, docs, platform, fact)
        if event.actor not in docs.meta["approvers"]:
            docs.meta["approvers"] = sorted({*docs.meta["approvers"], event.actor})
            docs.changed = True

    def _rejected(self, rows: Rows, docs: Docs, platform: str, position: int, event: Any) -> None:
        """An expense rejected: its receipts are no longer used by it, on any platform."""
        oid = text(event.originator_id)
        self._log(rows, docs, platform, ["state", oid, position, "rejected"])
        for version in range(1, event.originator_version):
            earlier = rows.event(event.originator_id, version)
            sha = getattr(earlier, "receipt_sha256", None)
            if sha:
                self._withdraw(rows, docs, platform, oid, sha)

    def _withdraw(self, rows: Rows, docs: Docs, platform: str, expense_id: str, sha: str) -> None:
        """Take ``expense_id``'s use of receipt ``sha`` back, and note what is left of the
        receipt's reuse on each platform that used it."""
        doc = rows.get("receipt", sha)
        if doc is None or all(use[1] != expense_id for use in doc["uses"]):
            return
        users = {use[0] for use in doc["uses"]}
        doc["uses"] = [use for use in doc["uses"] if use[1] != expense_id]
        rows.put("receipt", sha, doc, keep=False)
        self._reused(rows, docs, platform, sha, doc["uses"], users)

    def _changed(self, state: str) -> Callable[[Rows, Docs, str, int, Any], None]:
        def handler(rows: Rows, docs: Docs, platform: str, position: int, event: Any) -> None:
            fact = ["state", text(event.originator_id), position, state]
            self._log(rows, docs, platform, fact)

        return handler

    def _inflow(self, rows: Rows, docs: Docs, platform: str, position: int, event: Any) -> None:
        fact = ["in", money_key(event), event.occurred_on.isoformat(), event.amount.cents, position]
        self._log(rows, docs, platform, fact)

    def _receipt(
        self, rows: Rows, docs: Docs, platform: str, expense_id: str, sha: str, position: int
    ) -> None:
        """Record who used receipt ``sha``; a receipt used twice is noted on each user (the
        same receipt attached again to the expense that used it is no second use)."""
        doc = rows.get("receipt", sha) or {"uses": []}
        if any(use[1] == expense_id for use in doc["uses"]):
            return
        doc["uses"].append([platform, expense_id, position])
        rows.put("receipt", sha, doc, keep=False)  # seldom used again
        if len(doc["uses"]) >= 2:
            self._reused(rows, docs, platform, sha, doc["uses"], {use[0] for use in doc["uses"]})

    def _reused(
        self,
        rows: Rows,
        docs: Docs,
        platform: str,
        sha: str,
        uses: list[list[Any]],
        users: set[str],
    ) -> None:
        """Note on each of ``users`` (the platforms that used receipt ``sha``) what its
        ``uses`` now are: the positions of all of them when there are two or more and the
        platform is among them, else nothing."""
        left = {use[0] for use in uses}
        positions = [use[2] for use in uses]
        for other in sorted(users):
            other_meta = docs.meta if other == platform else rows.get("meta", other)
            if other_meta is None:
                continue
            if len(positions) >= 2 and other in left:
                other_meta["duplicate_receipts"][sha] = positions
            else:
                other_meta["duplicate_receipts"].pop(sha, None)
            if other == platform:
                docs.changed = True
            else:
                rows.put("meta", other, other_meta, other)
                self._dirty(rows, other)

    # Findings ---------------------------------------------------------------------

    def facts(
        self, rows: Rows, platform: str, log: list[tuple[str, Doc]] | None = None
    ) -> Facts | None:
        """The platform's facts; ``log`` is its ``facts`` rows when the caller read them."""
        docs = self._docs(rows, platform)
        if docs is None:
            return None
        found = rows.items("facts", platform) if log is None else log
        return facts_of(docs.meta, docs.head, found, self.clock)

    def finish(self, rows: Rows) -> None:
        batch = self._batch(rows)
        batch.dirty.clear()
        for docs in batch.docs.values():
            docs.observed = False  # an event folded after this marks its platform again
        marked = rows.keys("dirty")
        rows.preload((kind, p) for p in marked for kind in ("head", "meta"))  # one read
        many = self.workers > 1 and _logged(rows, marked) >= PARALLEL_FACTS
        shared = rows.elsewhere("facts", marked) if many else None
        if shared is not None:
            done: set[str] = set()
            try:
                self._evaluate_in_workers(rows, marked, *shared, done)
                return
            except BrokenProcessPool:
                # a worker or the fork server ended (killed, out of memory): what the
                # workers did not evaluate is evaluated here, to the same rows
                marked = [platform for platform in marked if platform not in done]
        self._evaluate_here(rows, marked)

    def _evaluate_here(self, rows: Rows, marked: list[str]) -> None:
        """The findings of the ``marked`` platforms, evaluated in this process."""
        for group in _groups(rows, marked):
            logs = rows.items_of("facts", group)  # one read for the group, not one each
            for dirty in group:
                kept = self._docs(rows, dirty)
                if kept is not None:
                    facts = facts_of(kept.meta, kept.head, logs[dirty], self.clock)
                    found = findings_doc(self.config, kept.meta.get("name", ""), facts)
                    rows.put("findings", dirty, found, dirty)
                rows.delete("dirty", dirty)

    def _evaluate_in_workers(
        self, rows: Rows, marked: list[str], where: Elsewhere, overlay: Overlay, done: set[str]
    ) -> None:
        """The findings of the ``marked`` platforms, evaluated group by group in worker
        processes, which read the platforms' log rows from the store (as committed, with
        this batch's writes laid over) and decode them. The findings are written here, in
        the groups' order, as ``finish`` writes them, and their platforms added to
        ``done``; a worker's error is raised here. Groups in flight are bounded, and so
        is memory."""
        pending: deque[tuple[list[str], Future[list[tuple[str, Doc]]]]] = deque()
        with worker_pool(self.workers) as pool:
            for group in _groups(rows, marked):
                members = set(group)
                share: Overlay = {
                    key: (w[0], "") if w is not None and w[0] not in members else w
                    for key, w in overlay.items()
                }
                platforms = []
                for platform in group:
                    kept = self._docs(rows, platform)
                    if kept is not None:
                        platforms.append((platform, kept.meta, kept.head))
                args = (self.config, self.clock, where, platforms, share)
                pending.append((group, pool.submit(findings_elsewhere, *args)))
                while len(pending) > self.workers:
                    done.update(_write_findings(rows, *pending.popleft()))
            while pending:
                done.update(_write_findings(rows, *pending.popleft()))


FINISH_FACTS = 5_000
"""Facts read together when platforms are evaluated again: few reads, and memory bounded
by this or by the largest platform's facts, whichever is more."""
WARM_FROM = 5_000
"""Events in a batch from which the worker processes' fork server is started with it."""
PARALLEL_FACTS = 100_000
"""Logged facts of the platforms to evaluate from which worker processes evaluate them
(about half a second's work in one process; a pool takes a fraction of that to start)."""


def _logged(rows: Rows, platforms: list[str]) -> int:
    """The facts logged by ``platforms`` (by their heads)."""
    heads = (rows.get("head", platform) for platform in platforms)
    return sum(int(head["facts"]) for head in heads if head is not None)


def _write_findings(rows: Rows, group: list[str], work: Future[list[tuple[str, Doc]]]) -> list[str]:
    """Write a group's findings once its worker has answered; return the group."""
    for platform, found in work.result():
        rows.put("findings", platform, found, platform)
    for platform in group:
        rows.delete("dirty", platform)
    return group


def _groups(rows: Rows, platforms: list[str]) -> Iterator[list[str]]:
    """``platforms`` in groups of up to ``FINISH_FACTS`` logged facts (by their heads)."""
    group: list[str] = []
    facts = 0
    for platform in platforms:
        head = rows.get("head", platform)
        count = 0 if head is None else int(head["facts"])
        if group and facts + count > FINISH_FACTS:
            yield group
            group, facts = [], 0
        group.append(platform)
        facts += count
    if group:
        yield group


def chunk_key(platform: str, count: int) -> str:
    """The row of the platform's log that holds its fact number ``count``."""
    return f"{platform}:{count // FACTS_CHUNK:06d}"


def money_key(event: Any) -> str:
    """How a correction names a money fact: ``<aggregate>:<version>``."""
    return f"{text(event.originator_id)}:{event.originator_version}"
