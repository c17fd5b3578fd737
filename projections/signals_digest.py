"""What the fraud-risk signals take of each event, as plain data: its digest.

A digest is all the signals fold needs of an event, in a form that ``marshal`` carries
between processes: the platform the event feeds, its position, its business date (a day
number), how many days late it was booked, the fact it adds to the platform's log (or
None), and what else it changes (an operation, or None). ``Signals.apply_digest`` folds
digests into rows, in position order; everything order-dependent happens there.

Digesting depends only on the event store: the event itself, the first event of its
aggregate (which names the platform), and for a rejected expense its earlier events (the
receipts it used). So it can run in other processes, ahead of the fold, during a rebuild
(``projections.pipeline``), and gives the same digests as in the folding process.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from datetime import date
from typing import Any, Protocol
from uuid import UUID

import orjson

from domain.bank import BankStatement
from domain.expense import Expense
from domain.grant import Grant
from domain.ids import text
from domain.matching import BankMatch
from domain.platform import Platform
from domain.transfer import PlatformTransfer
from projections.base import Dispatch
from projections.index import KNOWN_AGGREGATES
from projections.memo import Memo

Item = tuple[int, int, int, "list[Any] | None", "tuple[Any, ...] | None"]
"""One event's digest: (position, day number of the business date, days booked late, the
fact logged or None, the operation or None)."""
Digest = tuple[Any, ...]
"""A platform, and the digests of its events in order: of one event, or of all its events
in a batch (``Digester.digest_batch``); from a ``ShippedDigester``, also the number of
facts they log and those facts' JSON, joined (the digests then hold none)."""

REJECTED = Expense.Rejected

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
"""What is read of every event of a platform: its business date, and how late it was
booked."""

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
"""What digesting reads of each class, besides ``EVERY_EVENT`` and the platform field."""


def reads(cls: type) -> frozenset[str]:
    """The fields of an event of class ``cls`` that digesting it reads."""
    platform_field = PLATFORM_FIELD[cls]
    own = READS[cls] or frozenset()
    return EVERY_EVENT | own | ({platform_field} if platform_field else set())


def signalled(first: Any) -> str:
    """The platform whose signals an aggregate's events feed, from its first event ("": none)."""
    field_name = PLATFORM_FIELD(first)
    return "" if field_name is None else text(getattr(first, field_name))


class Events(Protocol):
    """Where digesting looks up stored events (``Rows`` has these, as has
    ``rows.StoredEvents``, a worker's)."""

    def event(self, originator_id: UUID, version: int) -> Any | None: ...

    def preload_events(self, keys: Iterable[tuple[UUID, int]]) -> None: ...


Part = tuple["list[Any] | None", "tuple[Any, ...] | None"]
"""What one class's digester gives: the fact logged, and the operation."""


@functools.lru_cache(maxsize=8192)
def iso(day: date) -> str:
    """``day.isoformat()``, remembered: the same text object for the same day, which
    ``marshal`` then sends once per range (a store spans a few thousand days)."""
    return day.isoformat()


def money_key(event: Any) -> str:
    """How a correction names a money fact: ``<aggregate>:<version>``."""
    return f"{text(event.originator_id)}:{event.originator_version}"


def _inflow(position: int, event: Any) -> list[Any]:
    return ["in", money_key(event), iso(event.occurred_on), event.amount.cents, position]


def _gone(event: Any) -> list[Any]:
    return ["gone", f"{text(event.originator_id)}:{event.reverses_version}"]


def _state(state: str) -> Callable[[Events, int, Any], Part]:
    def part(events: Events, position: int, event: Any) -> Part:
        return ["state", text(event.originator_id), position, state], None

    return part


def _registered(events: Events, position: int, event: Any) -> Part:
    return None, ("registered", event.name)


def _joined(events: Events, position: int, event: Any) -> Part:
    return None, ("joined", event.person, event.role._value_, event.iban)


def _left(events: Events, position: int, event: Any) -> Part:
    return None, ("left", event.person, event.role._value_)


def _relative(events: Events, position: int, event: Any) -> Part:
    return None, ("relative", event.relative_name, event.relative_iban)


def _recognition_changed(events: Events, position: int, event: Any) -> Part:
    """A suspension, its lifting or a revocation: the state from its effective date."""
    return None, ("recognition", iso(event.effective_on), event.NEW_STATE._value_)


def _recognition_decided(events: Events, position: int, event: Any) -> Part:
    state = "recognised" if event.granted else "refused"
    return None, ("recognition", iso(event.effective_on), state)


def _awarded(events: Events, position: int, event: Any) -> Part:
    grant = text(event.originator_id)
    start, end = iso(event.period_start), iso(event.period_end)
    return None, ("awarded", grant, start, end)


def _amended(events: Events, position: int, event: Any) -> Part:
    return None, ("amended", text(event.originator_id), iso(event.period_end))


def _revoked(events: Events, position: int, event: Any) -> Part:
    grant = text(event.originator_id)
    effective, decided = iso(event.effective_on), iso(event.occurred_on)
    return None, ("revoked", grant, effective, decided, event.retroactive)


def _tranche(events: Events, position: int, event: Any) -> Part:
    grant, number = text(event.originator_id), str(event.number)
    paid = ("tranche", grant, number, iso(event.occurred_on), event.originator_version)
    return _inflow(position, event), paid


def _requested(events: Events, position: int, event: Any) -> Part:
    grant = text(event.originator_id)
    return None, ("requested", grant, event.number, iso(event.occurred_on))


def _reported(events: Events, position: int, event: Any) -> Part:
    grant = text(event.originator_id)
    return None, ("reported", grant, str(event.tranche), iso(event.occurred_on))


def _tranche_gone(events: Events, position: int, event: Any) -> Part:
    """A grant's entry reversed: its money fact is gone, and a tranche it paid is no
    longer paid."""
    return _gone(event), ("tranche_gone", text(event.originator_id), event.reverses_version)


def _entry_gone(events: Events, position: int, event: Any) -> Part:
    return _gone(event), None


def _bank_line(events: Events, position: int, line: Any) -> Part:
    day = iso(line.occurred_on)
    if line.direction._value_ == "out":
        fact = [
            "out",
            money_key(line),
            day,
            line.amount.cents,
            line.kind._value_,
            line.counterparty_name,
            line.counterparty_iban,
            line.matches,
            position,
        ]
        return fact, None
    if line.matches is None:
        return ["in", money_key(line), day, line.amount.cents, position], None
    return None, None


def _submitted(events: Events, position: int, event: Any) -> Part:
    expense = text(event.originator_id)
    fact = [
        "expense",
        expense,
        iso(event.occurred_on),
        event.amount.cents,
        event.payee_name,
        event.payee_iban,
        event.invoice_number,
        event.payment_method._value_,
        event.actor,
        position,
        event.receipt_sha256,
    ]
    sha = event.receipt_sha256
    return fact, (("receipt", expense, sha) if sha else None)


def _receipt_attached(events: Events, position: int, event: Any) -> Part:
    expense, sha = text(event.originator_id), event.receipt_sha256
    return ["receipt", expense, position, sha], ("receipt", expense, sha)


def _approved(events: Events, position: int, event: Any) -> Part:
    expense, day = text(event.originator_id), iso(event.occurred_on)
    return ["approved", expense, position, event.actor, day], ("approver", event.actor)


def _rejected(events: Events, position: int, event: Any) -> Part:
    """An expense rejected: the receipts its earlier events used, in their order, are no
    longer used by it (on any platform)."""
    expense = text(event.originator_id)
    shas = []
    for version in range(1, event.originator_version):
        sha = getattr(events.event(event.originator_id, version), "receipt_sha256", None)
        if sha:
            shas.append(sha)
    return ["state", expense, position, "rejected"], ("withdraw", expense, shas)


PARTS: Dispatch[Callable[[Events, int, Any], Part]] = Dispatch(
    [
        (Platform.Registered, _registered),
        (Platform.MemberJoined, _joined),
        (Platform.MemberLeft, _left),
        (Platform.RelativeDeclared, _relative),
        (Platform.RecognitionChanged, _recognition_changed),
        (Platform.RecognitionDecided, _recognition_decided),
        (Grant.Awarded, _awarded),
        (Grant.Amended, _amended),
        (Grant.Revoked, _revoked),
        (Grant.TranchePaid, _tranche),
        (Grant.TrancheRequested, _requested),
        (Grant.ReportSubmitted, _reported),
        (Grant.EntryReversed, _tranche_gone),
        ((BankStatement.EntryReversed, PlatformTransfer.EntryReversed), _entry_gone),
        (BankStatement.LineRecorded, _bank_line),
        (Expense.Submitted, _submitted),
        (Expense.ReceiptAttached, _receipt_attached),
        (Expense.Approved, _approved),
        (Expense.Rejected, _rejected),
        (Expense.Paid, _state("paid")),
        (Expense.EntryReversed, _state("approved")),
        (PlatformTransfer.Made, lambda events, position, event: (_inflow(position, event), None)),
    ]
)
"""What each class gives besides the platform, dates and lateness every event has."""


def registers(item: Item) -> bool:
    """Whether a digested event registers its platform."""
    return item[4] is not None and item[4][0] == "registered"


class Digester:
    """Digests events in position order, remembering (boundedly) the platform of each
    aggregate it has seen."""

    reads = staticmethod(reads)

    def __init__(self) -> None:
        self.owners: Memo[int, str] = Memo(KNOWN_AGGREGATES)

    def owner(self, events: Events, event: Any) -> str | None:
        """The platform ``event`` feeds ("": none; None: its aggregate's first event is
        not in the store, as when a replay leaves it out)."""
        oid = event.originator_id
        platform = self.owners.get(oid.int)
        if platform is None:
            if isinstance(event, Platform.Event):
                platform = text(oid)
            else:
                first = event if event.originator_version == 1 else events.event(oid, 1)
                if first is None:
                    return None
                platform = signalled(first)
            self.owners[oid.int] = platform
        return platform

    def prefetch(self, events: Events, batch: list[tuple[int, Any]]) -> list[str]:
        """Look up in bulk what digesting ``batch`` will look up: the first events of the
        aggregates whose platform is not known, a rejected expense's earlier events.
        Return the platform each event feeds ("": none), in the batch's order."""
        owners = self.owners
        known = owners.get
        fields = PLATFORM_FIELD
        found: dict[int, str] = {}  # the platforms of the aggregates this batch creates
        platforms: list[str | None] = []
        unknown: list[int] = []  # events whose platform their aggregate's first event names
        rejected: list[Any] = []
        for _, event in batch:
            if type(event) is REJECTED:
                rejected.append(event)
            oid = event.originator_id.int
            platform: str | None
            if event.originator_version == 1:
                field_name = fields[type(event)]
                platform = "" if field_name is None else text(getattr(event, field_name))
                found[oid] = platform
            else:
                platform = known(oid)
                if platform is None:
                    platform = found.get(oid)
                    if platform is None:
                        unknown.append(len(platforms))
            platforms.append(platform)
        owners.update_bounded(found)
        wanted = [batch[i][1] for i in unknown]
        events.preload_events(
            (e.originator_id, 1) for e in wanted if not isinstance(e, Platform.Event)
        )
        events.preload_events(
            (e.originator_id, v) for e in rejected for v in range(1, e.originator_version)
        )
        for i, event in zip(unknown, wanted, strict=True):
            platforms[i] = self.owner(events, event) or ""
        return platforms  # type: ignore[return-value]  # (none left None)

    def digest(self, events: Events, position: int, event: Any) -> Digest | None:
        """The event's digest, with its platform; None when it feeds no platform."""
        platform = self.owners.get(event.originator_id.int)
        if platform is None:
            platform = self.owner(events, event)
        if not platform:
            return None
        return platform, (self.item(events, position, event),)

    def item(self, events: Events, position: int, event: Any) -> Item:
        """The digest of an event that feeds a platform."""
        occurred = event.occurred_on.toordinal()
        late = event.timestamp.toordinal() - occurred  # days, as the dates differ
        part = PARTS[type(event)]
        if part is None:
            return position, occurred, late, None, None
        fact, operation = part(events, position, event)
        return position, occurred, late, fact, operation

    def digest_batch(self, events: Events, batch: list[tuple[int, Any]]) -> list[Digest]:
        """The digests of ``batch``, platform by platform (in the order each first comes),
        each platform's in order; events that feed no platform left out."""
        platforms = self.prefetch(events, batch)
        item = self.item
        by_platform: dict[str, list[Item]] = {}
        for (position, event), platform in zip(batch, platforms, strict=True):
            if platform:
                items = by_platform.get(platform)
                if items is None:
                    by_platform[platform] = [item(events, position, event)]
                else:
                    items.append(item(events, position, event))
        return list(by_platform.items())


class ShippedDigester(Digester):
    """A digester whose digests are sent to another process: the facts a batch logs for a
    platform as their JSON, joined (``f1,f2,...``), which the fold appends to the log as it
    is (``Signals.apply_digest``). One encoding a platform instead of one a fact: each call
    to the encoder costs more than what it encodes."""

    def digest_batch(self, events: Events, batch: list[tuple[int, Any]]) -> list[Digest]:
        shipped: list[Digest] = []
        for platform, items in super().digest_batch(events, batch):
            facts = [item[3] for item in items if item[3] is not None]
            if not facts or any(map(registers, items)):
                # (a platform registered in this batch: the fold leaves out whatever came
                # before, facts included, so they stay with their events)
                shipped.append((platform, items))
                continue
            apart = [(p, day, late, None, op) for p, day, late, _, op in items]
            shipped.append((platform, apart, len(facts), orjson.dumps(facts)[1:-1]))
        return shipped
