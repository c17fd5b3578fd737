"""Read-side reports computed by folding the stored events (the CLI's views).

These fold the whole store; the projections package keeps incremental read models.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from domain.bank import BankStatement
from domain.budget import DistrictBudget
from domain.errors import InvalidValue, NotFound
from domain.expense import Expense
from domain.grant import Grant
from domain.money import Money
from domain.platform import Platform
from domain.postings import Ledger, platform_funds
from projections.index import first_owners
from service.application import Buurtkas


@dataclass(frozen=True)
class HistoryLine:
    position: int
    occurred_on: date
    recorded_at: datetime
    actor: str
    amount: Money | None
    event: str
    summary: str


@dataclass(frozen=True)
class PlatformBalance:
    name: str
    neighbourhood: str
    received: Money
    spent: Money
    unexplained: Money
    cash_withdrawn_unaccounted: Money
    funds: Money


def registered_platforms(app: Buurtkas) -> list[Platform.Registered]:
    topic = Platform.Registered.TOPIC
    found: list[Platform.Registered] = []
    start = 1
    while True:
        batch = app.recorder.select_notifications(start, 1000, topics=[topic])
        found.extend(app.mapper.to_domain_event(n) for n in batch)  # type: ignore[misc]
        if len(batch) < 1000:
            return found
        start = batch[-1].id + 1


def find_platform(app: Buurtkas, query: str) -> Platform.Registered:
    """A platform by its name or its neighbourhood (case-insensitive)."""
    wanted = query.strip().casefold()
    candidates = registered_platforms(app)
    for attribute in ("name", "neighbourhood"):
        matches = [p for p in candidates if getattr(p, attribute).casefold() == wanted]
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise InvalidValue(
                "platform",
                f"{query!r} is the {attribute} of {len(matches)} platforms "
                f"({listed(p.name for p in matches)}): give the platform's name",
            )
    names = listed(p.name for p in candidates) or "none registered"
    raise NotFound("platform", f"no platform named {query!r} (known: {names})")


def listed(names: Iterable[str], most: int = 20) -> str:
    """Up to ``most`` names, sorted, and how many more there are."""
    ordered = sorted(names)
    shown = ", ".join(ordered[:most])
    return shown if len(ordered) <= most else f"{shown} and {len(ordered) - most} more"


def concerns(event: Any, platform_id: UUID, related: set[UUID]) -> bool:
    """Whether ``event`` belongs to the platform's history; grows ``related`` as it goes.

    An aggregate belongs to the platforms its first event names, by the platform index's
    own rule (``first_owners``): the history, the platform's export and its replay hold
    the same events. Besides, the history shows the budget commitments of its grants."""
    if event.originator_id == platform_id or event.originator_id in related:
        return True
    if isinstance(event, DistrictBudget.GrantCommitted | DistrictBudget.CommitmentReleased):
        return event.grant_id in related
    if event.originator_version == 1 and str(platform_id) in first_owners(event):
        related.add(event.originator_id)
        return True
    return False


def summarise(event: Any) -> str:
    name = type(event).__name__
    match event:
        case Platform.Registered():
            return f"{name}: {event.name} ({event.legal_form.value}, KvK {event.kvk_number})"
        case Platform.MemberJoined() | Platform.MemberLeft():
            return f"{name}: {event.person} as {event.role.value}"
        case Platform.RelativeDeclared():
            return f"{name}: {event.relative_name}, relative of {event.person}"
        case DistrictBudget.GrantCommitted():
            return f"Budget committed to grant {event.grant_id}"
        case Platform.RecognitionDecided():
            verdict = "granted" if event.granted else "refused"
            return f"Recognition {verdict} ({event.decision_ref}), effective {event.effective_on}"
        case Grant.Awarded():
            return f"Grant {event.reference} awarded: {event.purpose}"
        case Grant.TranchePaid():
            return f"Tranche {event.number} paid"
        case Grant.Revoked():
            back = "retroactively" if event.retroactive else "from"
            return f"Grant revoked {back} {event.effective_on}: {event.reason}"
        case Expense.Submitted():
            return f"Expense submitted: {event.payee_name}, {event.category} ({event.description})"
        case BankStatement.LineRecorded():
            arrow = "from" if event.direction.value == "in" else "to"
            return f"Bank {event.kind.value} {arrow} {event.counterparty_name}" + (
                f" [matches {event.matches}]" if event.matches else " [no matching record]"
            )
    reason = getattr(event, "reason", None)
    return f"{name}: {reason}" if reason else name


def platform_history(app: Buurtkas, platform_id: UUID) -> list[HistoryLine]:
    """The platform's events in store order, with its grants' budget commitments.

    A grant's budget commitment is stored in the same transaction as the award and may
    come before it in store order, so budget events wait until their grant turns out to
    be the platform's.
    """
    related: set[UUID] = set()
    lines: list[HistoryLine] = []
    waiting: dict[UUID, list[HistoryLine]] = {}
    for position, event in app.stored_events():
        if concerns(event, platform_id, related):
            lines.append(_line(position, event))
            if isinstance(event, Grant.Awarded):
                lines.extend(waiting.pop(event.originator_id, []))
        elif isinstance(event, DistrictBudget.GrantCommitted | DistrictBudget.CommitmentReleased):
            waiting.setdefault(event.grant_id, []).append(_line(position, event))
    return sorted(lines, key=lambda line: line.position)


def _line(position: int, event: Any) -> HistoryLine:
    amount = getattr(event, "amount", None)
    return HistoryLine(
        position=position,
        occurred_on=event.occurred_on,
        recorded_at=event.timestamp,
        actor=event.actor,
        amount=amount if isinstance(amount, Money) else None,
        event=type(event).__name__,
        summary=summarise(event),
    )


def platform_balances(app: Buurtkas) -> list[PlatformBalance]:
    ledger = Ledger()
    platforms: list[Platform.Registered] = []
    for _, event in app.stored_events():
        ledger.apply(event)
        if isinstance(event, Platform.Registered):
            platforms.append(event)
    result = []
    for p in platforms:
        prefix = f"platform:{p.originator_id}:"

        def sum_where(predicate: Any, prefix: str = prefix) -> Money:
            return Money(
                sum(
                    m.cents
                    for k, m in ledger.balances.items()
                    if k.startswith(prefix) and predicate(k[len(prefix) :])
                )
            )

        result.append(
            PlatformBalance(
                name=p.name,
                neighbourhood=p.neighbourhood,
                received=ledger.debits.get(f"{prefix}bank", Money(0)),
                spent=sum_where(lambda k: k.startswith("expense:")),
                unexplained=sum_where(lambda k: k == "unexplained"),
                cash_withdrawn_unaccounted=sum_where(lambda k: k == "cash"),
                funds=platform_funds(ledger.balances, p.originator_id),
            )
        )
    return result
