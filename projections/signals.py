"""Fraud-risk signals: per-platform facts, and the findings the rules draw from them.

Rows, all tagged with their platform:

- ``meta``: the platform's small facts that seldom change (members, relatives,
  approvers, grant windows, recognition revocation, receipts used twice, the first
  ``MAX_LATE_LISTED`` late bookings);
- ``head``: what changes with every event: the latest business date, the number of
  late bookings and the worst delay, the number of logged facts and the number of the
  first fact of the log's last row;
- ``facts``: the platform's log of money and expense facts: money in, money out, a
  correction taking money in or out back, an expense submitted (with the receipt it came
  with), an expense changed (a receipt attached later, approval, rejection, payment,
  correction). Each row holds a run of the log (key ``<platform>:<number of its first
  fact>``, so the keys' order is the log's): a batch appends a platform's facts to its
  last row while that row is open (fewer than ``FACTS_OPEN`` facts), else starts a row of
  its own. A row once closed is never written again: a rebuild
  writes each fact once, where rows of a fixed size had their last one written again by
  every batch. How the log is cut into rows depends on the batches it was folded in; its
  facts do not (``canonical``);
- ``receipt``: who used a receipt hash (across platforms);
- ``dirty``: platforms whose findings must be evaluated again;
- ``findings``: per platform, the findings and the risk score.

Each event is folded through its digest (``signals_digest``): the platform it feeds (for a
grant, expense, statement, bank match or transfer, from the first event of that
aggregate, read again from the store when it is not at hand), its dates, the fact it
logs and what else it changes. A long catch-up has worker processes read and digest its
events ahead (``projections.pipeline``); the digests are folded here, in order.

Findings are a pure function of a platform's facts (the log folded in order). Each event
marks its platform dirty; when the runner reaches the head of the store the dirty
platforms are evaluated, in the same transaction as that batch. So after a catch-up
every finding is current, and a long rebuild evaluates each platform once instead of
after every batch.
"""

from __future__ import annotations

import bisect
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import orjson

from domain.risk import (
    BOARD_ROLES,
    Facts,
    RiskConfig,
    iso_day,
)
from projections.base import Projection, StoredRow
from projections.rows import Elsewhere, Overlay, Rows
from projections.signals_digest import (
    Digest,
    Digester,
    ShippedDigester,
    iso,
    reads,
    registers,
)
from projections.signals_facts import facts_of, findings_doc, findings_elsewhere
from projections.store import Doc, decode, encode
from projections.workers import default_workers, warm_up, worker_pool

MAX_LATE_LISTED = 100
FACTS_OPEN = 8
"""A log row holding fewer facts is still open: the next batch appends to it (and writes
it again, small as it is) rather than start a row of its own."""


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
    return {"clock": None, "late": 0, "worst": 0, "facts": 0, "row": 0}


@dataclass
class Docs:
    """A platform's two documents while an event is folded."""

    meta: Doc
    head: Doc
    day: int = 0
    """``head["clock"]`` as a day number (0: none yet)."""
    chunk: tuple[str, Doc] | None = None
    """The log row this batch appends to: its key and document."""
    observed: bool = False
    """Whether an event of this batch was observed (and the platform marked dirty)."""
    changed: bool = False
    """Whether ``meta`` changed (``head`` changes with every event)."""
    saved: bool = False
    meta_saved: bool = False
    """Whether this batch has written them (the same documents: once is enough)."""


@dataclass
class Batch:
    """Rows the folding of one batch has at hand: dirty marks written, open log rows."""

    dirty: set[str] = field(default_factory=set)
    docs: dict[str, Docs] = field(default_factory=dict)


Operation = Callable[["Signals", Rows, Docs, str, int, tuple[Any, ...]], None]


class Signals(Projection):
    name = "signals"
    version = 6
    """2: a governance finding names each expense's submission and approval once.
    3: an approval by someone never a member of the platform does not count.
    4: an expense's log entry holds the receipt it was submitted with.
    5: a reversed tranche is no longer paid; every recognition decision is kept with its
    effective date (so a recognition granted again after a revocation counts, as the
    platform's own rule reads them); every account a member declared is kept; a
    receipt attached again to the expense that used it is not a second use, nor one an
    expense rejected since had (on any platform); and with them the rules' findings
    (payees paid in cash checked, a payee one party by its account or its name).
    6: a platform's log is kept in rows that are written once closed (``facts`` above),
    the head notes where its last row starts; the facts and findings are those of 5."""

    def __init__(
        self,
        config: RiskConfig | None = None,
        clock: date | None = None,
        workers: int | None = None,
    ) -> None:
        """``clock`` fixes "today" for time-based rules (an as-of replay passes its date);
        by default it is the latest business date seen for each platform. ``workers``:
        processes that evaluate the findings when many facts are to be evaluated at once
        (``PARALLEL_FACTS``), and that digest a long backlog's events ahead of the fold
        (default: one per processor; 1: none, all in this process)."""
        self.config = config or RiskConfig()
        self.workers = default_workers() if workers is None else workers
        self.warmed = False
        self.late_days = self.config.late_days
        self.clock = clock
        self.digester = Digester()
        self.rows: weakref.ref[Rows] | None = None
        """The rows ``batch`` belongs to, weakly: the operations refer back to this
        projection, so a strong reference would keep a finished fold's rows (and its
        events) alive until the cyclic collector runs."""
        self.batch = Batch()

    def reads(self, cls: type) -> frozenset[str]:
        return reads(cls)

    def digesting(self) -> tuple[Callable[[], Any], int] | None:
        return (ShippedDigester, self.workers) if self.workers > 1 else None

    def build(self) -> str:
        """The version, and the risk configuration: its thresholds shape the rows too (the
        late bookings listed), not only the findings."""
        return f"v{self.version} risk {self.config.version}:{self.config.digest()}"

    # Facts ------------------------------------------------------------------------

    def _batch(self, rows: Rows) -> Batch:
        """What this projection keeps at hand while folding into ``rows``."""
        if self.rows is None or self.rows() is not rows:
            self.rows, self.batch = weakref.ref(rows), Batch()
        return self.batch

    def _dirty(self, rows: Rows, platform: str) -> None:
        dirty = self._batch(rows).dirty
        if platform not in dirty:
            dirty.add(platform)
            if rows.get("dirty", platform) is None:  # (marked by an earlier batch: it stays)
                rows.put("dirty", platform, {}, platform)

    def prefetch(self, rows: Rows, events: list[tuple[int, Any]]) -> None:
        platforms = set(self.digester.prefetch(rows, events))
        platforms.discard("")
        shas = {getattr(event, "receipt_sha256", None) for _, event in events}
        self._preload(rows, len(events), platforms, shas)

    def prefetch_digests(self, rows: Rows, digests: list[Digest]) -> None:
        """``prefetch`` for a batch digested elsewhere (``apply_digest``)."""
        platforms = {digest[0] for digest in digests}
        ops = [item[4] for digest in digests for item in digest[1] if item[4] is not None]
        shas = {op[2] for op in ops if op[0] == "receipt"}
        self._preload(rows, sum(len(digest[1]) for digest in digests), platforms, shas)

    def _preload(self, rows: Rows, events: int, platforms: set[str], shas: set[Any]) -> None:
        if self.workers > 1 and events >= WARM_FROM and not self.warmed:
            warm_up()  # a batch this long is likely to end with many findings to evaluate
            self.warmed = True
        shas.discard(None)
        shas.discard("")
        keys = {("receipt", sha) for sha in shas}
        rows.preload(keys | {(kind, p) for p in platforms for kind in ("meta", "head", "dirty")})
        open_rows = []
        for platform in platforms:
            head = rows.get("head", platform)
            key = None if head is None else open_row(platform, head)
            if key is not None:
                open_rows.append(("facts", key))
        rows.preload(open_rows)

    def apply(self, rows: Rows, position: int, event: Any) -> None:
        digest = self.digester.digest(rows, position, event)
        if digest is not None:
            self.apply_digest(rows, digest)

    def apply_digest(self, rows: Rows, digest: Digest) -> None:
        """Fold a platform's events, digested (``projections.signals_digest``), in order.

        Only receipts are shared between platforms, and a receipt's uses are kept in order
        of position, each change noting the whole of them on every platform that used it:
        so a batch's platforms folded one after the other (``Digester.digest_batch``) give
        the same rows as their events folded in order."""
        platform, items = digest[0], digest[1]
        batch = self.batch if self.rows is not None and self.rows() is rows else self._batch(rows)
        docs = batch.docs.get(platform)
        if docs is None:
            docs = self._docs(rows, platform)
            if docs is None:  # not registered (yet): its events up to its registration
                start = next((i for i, item in enumerate(items) if registers(item)), None)
                if start is None:
                    return
                items = items[start:]
                name = items[0][4][1]
                docs = batch.docs[platform] = Docs(new_meta(name), new_head(), changed=True)
        if not docs.observed:
            docs.observed = True
            self._dirty(rows, platform)
        head = docs.head
        late_days = self.late_days
        day = docs.day
        for position, occurred, late, fact, op in items:
            if occurred > day:
                day = occurred
            if late > late_days:  # a late booking (inline: in some stores, most events)
                head["late"] += 1
                if late > head["worst"]:
                    head["worst"] = late
                listed = docs.meta["late_listed"]
                if len(listed) < MAX_LATE_LISTED:
                    listed.append([position, late])
                    docs.changed = True
            if fact is not None:
                self._log(rows, docs, platform, fact)
            if op is not None:
                OPERATIONS[op[0]](self, rows, docs, platform, position, op)
        if len(digest) > 2:  # the facts as their JSON, joined: written as they are
            self._log(rows, docs, platform, FRAGMENT(digest[3]), digest[2])
        if day > docs.day:
            docs.day = day
            head["clock"] = iso(date.fromordinal(day))
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
            day = iso_day(clock).toordinal() if clock else 0
            docs = batch.docs[platform] = Docs(meta, head, day)
        return docs

    @staticmethod
    def _save(rows: Rows, platform: str, docs: Docs) -> None:
        if not docs.saved:
            rows.put("head", platform, docs.head, platform)
            docs.saved = True
        if docs.changed and not docs.meta_saved:
            rows.put("meta", platform, docs.meta, platform)
            docs.meta_saved = True

    def _log(self, rows: Rows, docs: Docs, platform: str, fact: Any, count: int = 1) -> None:
        """Append ``fact`` to the platform's log; or ``count`` facts as their JSON, joined,
        in an ``orjson.Fragment`` (kept as it is, and read as a list once written,
        ``plain_log``)."""
        head = docs.head
        found = docs.chunk
        if found is None:
            found = docs.chunk = _log_row(rows, head, platform)
        key, chunk = found
        chunk["facts"].append(fact)
        before = head["facts"] - head["row"]
        head["facts"] += count
        if before < FACTS_OPEN <= before + count:  # closed: it will not be read while folding
            rows.put("facts", key, chunk, platform, keep=False)

    # One operation per kind of change to a platform's documents (``signals_digest``) --

    def _registered(
        self, rows: Rows, docs: Docs, platform: str, position: int, op: tuple[Any, ...]
    ) -> None:
        pass  # its documents were made for it (a platform registered again: nothing new)

    def _joined(
        self, rows: Rows, docs: Docs, platform: str, position: int, op: tuple[Any, ...]
    ) -> None:
        _, person, role, iban = op
        docs.changed = True
        member = docs.meta["members"].setdefault(
            person,
            {"roles": [], "iban": None, "ibans": [], "ever_board": False, "positions": []},
        )
        member.setdefault("positions", []).append(position)
        member["roles"] = sorted({*member["roles"], role})
        member["iban"] = iban or member["iban"]
        if iban and iban not in member.setdefault("ibans", []):
            member["ibans"].append(iban)
        member["ever_board"] = member["ever_board"] or role in BOARD_ROLES

    def _left(
        self, rows: Rows, docs: Docs, platform: str, position: int, op: tuple[Any, ...]
    ) -> None:
        _, person, role = op
        docs.changed = True
        member = docs.meta["members"][person]
        member["roles"] = [r for r in member["roles"] if r != role]
        member.setdefault("positions", []).append(position)

    def _relative(
        self, rows: Rows, docs: Docs, platform: str, position: int, op: tuple[Any, ...]
    ) -> None:
        docs.changed = True
        docs.meta["relatives"][op[1]] = op[2]

    def _recognition(
        self, rows: Rows, docs: Docs, platform: str, position: int, op: tuple[Any, ...]
    ) -> None:
        """A recognition decided, suspended, lifted or revoked: the state from its
        effective date."""
        docs.changed = True
        docs.meta["recognition"].append([op[1], op[2]])

    def _awarded(
        self, rows: Rows, docs: Docs, platform: str, position: int, op: tuple[Any, ...]
    ) -> None:
        _, grant, start, end = op
        docs.changed = True
        docs.meta["grants"][grant] = {
            "start": start,
            "end": end,
            "revoked_on": None,
            "revoked_decided_on": None,
            "retroactive": False,
            "paid": {},
            "requests": [],
            "reports": {},
        }

    def _amended(
        self, rows: Rows, docs: Docs, platform: str, position: int, op: tuple[Any, ...]
    ) -> None:
        docs.changed = True
        docs.meta["grants"][op[1]]["end"] = op[2]

    def _revoked(
        self, rows: Rows, docs: Docs, platform: str, position: int, op: tuple[Any, ...]
    ) -> None:
        _, grant, effective, decided, retroactive = op
        docs.changed = True
        docs.meta["grants"][grant].update(
            revoked_on=effective, revoked_decided_on=decided, retroactive=retroactive
        )

    def _tranche(
        self, rows: Rows, docs: Docs, platform: str, position: int, op: tuple[Any, ...]
    ) -> None:
        _, grant, number, on, version = op
        paid = docs.meta["grants"][grant].setdefault("paid", {})
        paid[number] = {"on": on, "position": position, "version": version}
        docs.changed = True

    def _requested(
        self, rows: Rows, docs: Docs, platform: str, position: int, op: tuple[Any, ...]
    ) -> None:
        _, grant, number, on = op
        requests = docs.meta["grants"][grant].setdefault("requests", [])
        requests.append({"number": number, "on": on, "position": position})
        docs.changed = True

    def _reported(
        self, rows: Rows, docs: Docs, platform: str, position: int, op: tuple[Any, ...]
    ) -> None:
        _, grant, tranche, on = op
        docs.meta["grants"][grant].setdefault("reports", {})[tranche] = on
        docs.changed = True

    def _tranche_gone(
        self, rows: Rows, docs: Docs, platform: str, position: int, op: tuple[Any, ...]
    ) -> None:
        """A grant's entry reversed (its money fact is logged as gone): a tranche it paid
        is no longer paid (no report is owed on it), as the grant itself has it."""
        _, grant_id, reverses = op
        grant = docs.meta["grants"].get(grant_id)
        paid = {} if grant is None else grant.get("paid", {})
        for number, payment in list(paid.items()):
            if payment.get("version") == reverses:
                del paid[number]
                docs.changed = True

    def _approver(
        self, rows: Rows, docs: Docs, platform: str, position: int, op: tuple[Any, ...]
    ) -> None:
        actor = op[1]
        if actor not in docs.meta["approvers"]:
            docs.meta["approvers"] = sorted({*docs.meta["approvers"], actor})
            docs.changed = True

    def _withdrawn(
        self, rows: Rows, docs: Docs, platform: str, position: int, op: tuple[Any, ...]
    ) -> None:
        """An expense rejected: its receipts are no longer used by it, on any platform."""
        _, expense_id, shas = op
        for sha in shas:
            self._withdraw(rows, docs, platform, expense_id, sha)

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

    def _receipt(
        self, rows: Rows, docs: Docs, platform: str, position: int, op: tuple[Any, ...]
    ) -> None:
        """Record who used receipt ``sha``; a receipt used twice is noted on each user (the
        same receipt attached again to the expense that used it is no second use)."""
        _, expense_id, sha = op
        doc = rows.get("receipt", sha) or {"uses": []}
        uses = doc["uses"]
        if any(use[1] == expense_id for use in uses):
            return
        bisect.insort(uses, [platform, expense_id, position], key=_position)  # (in order)
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

    def canonical(self, rows: Iterable[StoredRow]) -> list[StoredRow]:
        """Each platform's log as one row (key: the platform), its facts in order, and
        its head without where the last row starts: how the log was cut into rows
        depends on the batches it was folded in. The cut itself is checked as every
        fold leaves it (``log_layout``): a platform whose rows break it gets a ``layout``
        row naming what is wrong, which no fresh fold has."""
        kept: list[StoredRow] = []
        logs: dict[str, list[tuple[str, Doc]]] = {}
        heads: dict[str, Doc] = {}
        for kind, key, platform, doc in rows:
            if kind == "facts" and platform is not None:
                logs.setdefault(platform, []).append((key, doc))
            elif kind == "head":
                heads[key] = doc
                kept.append((kind, key, platform, {k: v for k, v in doc.items() if k != "row"}))
            else:
                kept.append((kind, key, platform, doc))
        for platform, log in logs.items():
            plain = plain_log(log)
            facts = [fact for _, doc in plain for fact in doc["facts"]]
            kept.append(("facts", platform, platform, {"facts": facts}))
            problems = log_layout(platform, plain, heads.get(platform))
            if problems:
                kept.append(("layout", platform, platform, {"problems": problems}))
        return sorted(kept, key=lambda row: row[:2])

    # Findings ---------------------------------------------------------------------

    def facts(
        self, rows: Rows, platform: str, log: list[tuple[str, Doc]] | None = None
    ) -> Facts | None:
        """The platform's facts; ``log`` is its ``facts`` rows when the caller read them."""
        docs = self._docs(rows, platform)
        if docs is None:
            return None
        found = rows.items("facts", platform) if log is None else log
        return facts_of(docs.meta, docs.head, plain_log(found), self.clock)

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
                    facts = facts_of(kept.meta, kept.head, plain_log(logs[dirty]), self.clock)
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


OPERATIONS: dict[str, Operation] = {
    "registered": Signals._registered,
    "joined": Signals._joined,
    "left": Signals._left,
    "relative": Signals._relative,
    "recognition": Signals._recognition,
    "awarded": Signals._awarded,
    "amended": Signals._amended,
    "revoked": Signals._revoked,
    "tranche": Signals._tranche,
    "requested": Signals._requested,
    "reported": Signals._reported,
    "tranche_gone": Signals._tranche_gone,
    "receipt": Signals._receipt,
    "approver": Signals._approver,
    "withdraw": Signals._withdrawn,
}
"""What each operation of a digest (``signals_digest``) does to a platform's documents."""


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


def plain_log(log: list[tuple[str, Doc]]) -> list[tuple[str, Doc]]:
    """A platform's log rows with the facts appended as JSON (``_log``: by this batch, or
    by an earlier one whose rows the runner kept) read as lists."""
    return [
        (key, decode(encode(doc)))
        if any(type(fact) is FRAGMENT for fact in doc["facts"])
        else (key, doc)
        for key, doc in log
    ]


FRAGMENT = orjson.Fragment


def _position(use: list[Any]) -> int:
    return int(use[2])


def row_key(platform: str, start: int) -> str:
    """The key of the platform's log row whose first fact is number ``start``."""
    return f"{platform}:{start:09d}"


def log_layout(platform: str, log: list[tuple[str, Doc]], head: Doc | None) -> list[str]:
    """What is wrong with how a platform's log rows (in key order, facts as lists) are cut,
    as every fold cuts them: each row keyed by the number of its first fact, none empty,
    every row but the last closed (``FACTS_OPEN`` facts or more), and the head counting
    the facts and naming the last row's start. Nothing: all is well."""
    problems: list[str] = []
    count = start = 0
    for i, (key, doc) in enumerate(log):
        size = len(doc["facts"])
        if key != row_key(platform, count):
            problems.append(f"row {key} should start at fact {count}")
        if size == 0:
            problems.append(f"row {key} holds no facts")
        elif i < len(log) - 1 and size < FACTS_OPEN:
            problems.append(f"row {key} holds {size} facts and is not the last")
        start, count = count, count + size
    if head is None:
        problems.append("no head")
    elif (head["facts"], head.get("row")) != (count, start):
        problems.append(
            f"head counts {head['facts']} facts from row {head.get('row')}, "
            f"the rows {count} from row {start}"
        )
    return problems


def open_row(platform: str, head: Doc) -> str | None:
    """The key of the platform's last log row while it is open (it holds fewer than
    ``FACTS_OPEN`` facts; an empty one is never written), else None."""
    size = head["facts"] - head["row"]
    return row_key(platform, head["row"]) if 0 < size < FACTS_OPEN else None


def _log_row(rows: Rows, head: Doc, platform: str) -> tuple[str, Doc]:
    """The log row a batch appends the platform's facts to: the last row when it is still
    open, else a new row starting at the platform's next fact."""
    key = open_row(platform, head)
    found = None if key is None else rows.get("facts", key)
    if key is None or found is None:
        head["row"] = head["facts"]
        key, found = row_key(platform, head["row"]), {"facts": []}
    rows.put("facts", key, found, platform)
    return key, found
