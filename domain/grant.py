"""Grants (subsidies) under the General Administrative Law Act (Awb) title 4.2.

Award (4:53 tranches only as the award describes them), tranche payments, amendment,
revocation (4:48), final settlement (4:46) and recovery (4:57), with refunds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, cast
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.base import Fact, Ledgered, actor_of, business_date, reason_of
from domain.budget import DistrictBudget
from domain.errors import (
    AlreadyExists,
    AmountBeyondLimit,
    BeforeAward,
    GrantRevoked,
    InvalidAmount,
    InvalidTransition,
    InvalidValue,
    PlatformNotRecognised,
    ReturnsBeyondPaid,
    ReversalBreaksReturns,
    ScheduleBelowAward,
    SettlementNotPayable,
    TrancheBeyondAward,
    TrancheNotScheduled,
)
from domain.money import Money, total
from domain.platform import Platform
from domain.values import MAX_TEXT, GrantState, period, stable_id, text

MAX_TRANCHES = 60


@dataclass(frozen=True, order=True)
class TrancheSpec:
    """One tranche of the award decision's schedule."""

    number: int
    due_on: date
    amount: Money


class Grant(Ledgered):
    TOPIC = "buurtkas.grant.Grant"

    class Event(Fact):
        TOPIC = "buurtkas.grant.Event"

    class Awarded(Event, Aggregate.Created):
        TOPIC = "buurtkas.grant.Awarded"
        reason: str
        reference: str
        platform_id: UUID
        budget_id: UUID
        amount: Money
        period_start: date
        period_end: date
        purpose: str
        tranches: list[TrancheSpec]
        decision_ref: str

        def apply(self, aggregate: Grant) -> None:
            aggregate.awarded_on = self.occurred_on

    class Amended(Event):
        TOPIC = "buurtkas.grant.Amended"
        reason: str
        amount: Money
        period_end: date
        tranches: list[TrancheSpec]
        decision_ref: str

        def apply(self, aggregate: Grant) -> None:
            aggregate.amount = self.amount
            aggregate.period_end = self.period_end
            aggregate.tranches = list(self.tranches)

    class TranchePaid(Event):
        TOPIC = "buurtkas.grant.TranchePaid"
        number: int
        amount: Money
        platform_id: UUID
        budget_id: UUID

        def apply(self, aggregate: Grant) -> None:
            aggregate.paid[self.number] = self.amount
            aggregate.tranche_by_version[self.originator_version] = self.number
            aggregate._mark_reversible(self.originator_version, "tranche", self.amount)

    class TrancheRequested(Event):
        """The platform asked for the next tranche of the schedule."""

        TOPIC = "buurtkas.grant.TrancheRequested"
        number: int

        def apply(self, aggregate: Grant) -> None:
            aggregate.requested.add(self.number)

    class ReportSubmitted(Event):
        """The platform accounted for its spending of a paid tranche (Awb 4:45)."""

        TOPIC = "buurtkas.grant.ReportSubmitted"
        tranche: int
        spent: Money
        summary: str

        def apply(self, aggregate: Grant) -> None:
            aggregate.reported.add(self.tranche)

    class Revoked(Event):
        TOPIC = "buurtkas.grant.Revoked"
        reason: str
        effective_on: date
        retroactive: bool
        decision_ref: str

        def apply(self, aggregate: Grant) -> None:
            aggregate.state = GrantState.REVOKED
            aggregate.revoked_on = self.effective_on
            aggregate.retroactive = self.retroactive

    class Settled(Event):
        TOPIC = "buurtkas.grant.Settled"
        reason: str
        amount: Money
        decision_ref: str

        def apply(self, aggregate: Grant) -> None:
            if aggregate.state is not GrantState.REVOKED:  # a revocation stays in force
                aggregate.state = GrantState.SETTLED
            aggregate.settled = self.amount

    class RecoveryClaimed(Event):
        TOPIC = "buurtkas.grant.RecoveryClaimed"
        reason: str
        amount: Money
        decision_ref: str
        budget_id: UUID

        def apply(self, aggregate: Grant) -> None:
            aggregate.claimed += self.amount

    class RecoveryReceived(Event):
        TOPIC = "buurtkas.grant.RecoveryReceived"
        amount: Money
        budget_id: UUID

        def apply(self, aggregate: Grant) -> None:
            aggregate.recovered += self.amount
            aggregate._mark_reversible(self.originator_version, "recovery", self.amount)

    class RefundReceived(Event):
        TOPIC = "buurtkas.grant.RefundReceived"
        amount: Money
        platform_id: UUID
        budget_id: UUID

        def apply(self, aggregate: Grant) -> None:
            aggregate.refunded += self.amount
            aggregate._mark_reversible(self.originator_version, "refund", self.amount)

    class EntryReversed(Event):
        TOPIC = "buurtkas.grant.EntryReversed"
        reverses_version: int
        reason: str

        def apply(self, aggregate: Grant) -> None:
            kind, amount = aggregate._apply_reversal(self.reverses_version)
            if kind == "tranche":
                number = aggregate.tranche_by_version[self.reverses_version]
                del aggregate.paid[number]
            elif kind == "recovery":
                aggregate.recovered -= amount
            else:
                aggregate.refunded -= amount

    Created = Awarded

    def __init__(
        self,
        reference: str,
        platform_id: UUID,
        budget_id: UUID,
        amount: Money,
        period_start: date,
        period_end: date,
        purpose: str,
        tranches: list[TrancheSpec],
    ) -> None:
        self._init_reversible()
        self.reference = reference
        self.platform_id = platform_id
        self.budget_id = budget_id
        self.amount = amount
        self.period_start = period_start
        self.period_end = period_end
        self.purpose = purpose
        self.tranches = list(tranches)
        self.awarded_on = period_start  # the award's business date, set by Awarded.apply
        self.state = GrantState.AWARDED
        self.paid: dict[int, Money] = {}
        self.revoked_on: date | None = None
        self.retroactive = False
        self.settled: Money | None = None
        self.claimed = Money(0)
        self.recovered = Money(0)
        self.refunded = Money(0)
        self.tranche_by_version: dict[int, int] = {}
        self.requested: set[int] = set()
        self.reported: set[int] = set()

    @staticmethod
    def id_for(reference: str) -> UUID:
        return stable_id("grant", reference)

    # Derived figures ---------------------------------------------------------------

    @property
    def paid_total(self) -> Money:
        return total(list(self.paid.values()))

    @property
    def returned(self) -> Money:
        """Money that came back: refunds and recoveries; never more than was paid."""
        return self.refunded + self.recovered

    @property
    def still_owed(self) -> Money:
        """What must still come back: paid beyond what the grant allows, less returns."""
        settled = None if self.settled is None else self.settled.cents
        allowed = allowance(self.state is GrantState.REVOKED, self.retroactive, settled)
        return Money(owed_back(self.paid_total.cents, self.returned.cents, allowed))

    @property
    def to_recover(self) -> Money:
        """The outstanding claim: claimed and not recovered, as far as it is still owed.

        A refund after a claim pays the claim too: money comes back once, whichever way.
        """
        return Money(
            outstanding_claim(self.claimed.cents, self.recovered.cents, self.still_owed.cents)
        )

    @property
    def reclaimable(self) -> Money:
        """What may still be claimed: still owed and not yet covered by a claim."""
        return self.still_owed - self.to_recover

    # Commands ----------------------------------------------------------------------

    @classmethod
    def award(
        cls,
        *,
        budget: DistrictBudget,
        platform: Platform,
        reference: str,
        amount: Money,
        period_start: date,
        period_end: date,
        purpose: str,
        tranches: list[TrancheSpec],
        decision_ref: str,
        reason: str,
        occurred_on: date,
        actor: str,
    ) -> Grant:
        """Award a grant from ``budget`` to ``platform``; the budget is changed too."""
        reference = text("reference", reference)
        amount.require_positive("amount")
        decision = _decision(decision_ref, reason, occurred_on, actor)
        occurred_on = decision["occurred_on"]
        purpose = text("purpose", purpose, max_length=MAX_TEXT)
        period("period_start", period_start, "period_end", period_end)
        if platform.district != budget.district:
            raise InvalidValue(
                "budget", f"{platform.name} is in {platform.district}, not {budget.district}"
            )
        if not platform.is_recognised_on(occurred_on):
            raise PlatformNotRecognised(
                "platform",
                f"{platform.name} is {platform.recognition_on(occurred_on).value} on "
                f"{occurred_on.isoformat()}; only a recognised platform gets a grant",
            )
        _check_schedule(tranches, amount, period_start, period_end)
        grant_id = cls.id_for(reference)
        budget.commit(
            grant_id=grant_id, amount=amount, occurred_on=occurred_on, actor=decision["actor"]
        )
        return cls._create(
            cls.Awarded,
            id=grant_id,
            reference=reference,
            platform_id=platform.id,
            budget_id=budget.id,
            amount=amount,
            period_start=period_start,
            period_end=period_end,
            purpose=purpose,
            tranches=sorted(tranches),
            **decision,
        )

    def amend(
        self,
        *,
        budget: DistrictBudget,
        platform: Platform,
        amount: Money,
        period_end: date,
        tranches: list[TrancheSpec],
        decision_ref: str,
        reason: str,
        occurred_on: date,
        actor: str,
    ) -> None:
        self._require_open("amount")
        self._require_own(budget)
        self._require_grantee(platform)
        amount.require_positive("amount")
        decision = _decision(decision_ref, reason, occurred_on, actor)
        self._require_after_award("occurred_on", decision["occurred_on"], "an amendment")
        period("period_start", self.period_start, "period_end", period_end)
        if amount < self.paid_total:
            raise TrancheBeyondAward(
                "amount", f"EUR {amount} is below the EUR {self.paid_total} already paid"
            )
        _check_schedule(tranches, amount, self.period_start, period_end)
        schedule = {t.number: t for t in tranches}
        for number, paid in self.paid.items():
            if number not in schedule or schedule[number].amount != paid:
                raise TrancheNotScheduled(
                    "tranches", f"paid tranche {number} (EUR {paid}) must stay in the schedule"
                )
        delta = amount - self.amount
        when, who = decision["occurred_on"], decision["actor"]
        if delta.cents > 0:
            platform.require_in_good_standing(
                "platform",
                when,
                dated="amendment",
                rule="an award is raised only for a recognised platform",
            )
            budget.commit(grant_id=self.id, amount=delta, occurred_on=when, actor=who)
        else:
            budget.release(grant_id=self.id, amount=-delta, occurred_on=when, actor=who)
        self.trigger_event(
            self.Amended,
            amount=amount,
            period_end=period_end,
            tranches=sorted(tranches),
            **decision,
        )

    def pay_tranche(
        self, *, platform: Platform, number: int, amount: Money, occurred_on: date, actor: str
    ) -> None:
        occurred_on = business_date("occurred_on", occurred_on)
        amount.require_positive("amount")
        if self.state is GrantState.REVOKED:
            raise GrantRevoked("number", f"grant {self.reference} was revoked; no new tranches")
        self._require_grantee(platform)
        self._require_after_award("occurred_on", occurred_on, "a tranche")
        platform.require_in_good_standing(
            "platform",
            occurred_on,
            dated="payment",
            rule="tranches go only to a recognised platform",
        )
        schedule = {t.number: t for t in self.tranches}
        if number not in schedule:
            raise TrancheNotScheduled("number", f"tranche {number} is not in the award's schedule")
        if number in self.paid:
            raise TrancheNotScheduled("number", f"tranche {number} was already paid")
        if amount != schedule[number].amount:
            raise TrancheNotScheduled(
                "amount", f"tranche {number} is EUR {schedule[number].amount} by the award"
            )
        limit = self.settled if self.settled is not None else self.amount
        if self.paid_total + amount > limit:
            raise TrancheBeyondAward(
                "amount",
                f"EUR {self.paid_total + amount} would exceed the grant's EUR {limit}",
            )
        if self.settled is not None:
            problem = self._unpayable(self.settled, {**self.paid, number: amount})
            if problem is not None:
                raise SettlementNotPayable(
                    "number",
                    f"paying tranche {number} out of schedule order would break the {problem}",
                )
        self.trigger_event(
            self.TranchePaid,
            number=number,
            amount=amount,
            platform_id=self.platform_id,
            budget_id=self.budget_id,
            occurred_on=occurred_on,
            actor=actor_of(actor),
        )

    def revoke(
        self,
        *,
        budget: DistrictBudget,
        effective_on: date,
        retroactive: bool,
        decision_ref: str,
        reason: str,
        occurred_on: date,
        actor: str,
    ) -> None:
        if self.state is GrantState.REVOKED:
            raise InvalidTransition("decision_ref", f"grant {self.reference} is already revoked")
        self._require_own(budget)
        decision = _decision(decision_ref, reason, occurred_on, actor)
        effective_on = business_date("effective_on", effective_on)
        self._require_after_award("occurred_on", decision["occurred_on"], "a revocation")
        self._require_after_award(
            "effective_on",
            effective_on,
            "a revocation's effect (Awb 4:48 works back to the award at most)",
        )
        budget.release(
            grant_id=self.id,
            amount=self._open_commitment(),
            occurred_on=decision["occurred_on"],
            actor=decision["actor"],
        )
        self.trigger_event(
            self.Revoked, effective_on=effective_on, retroactive=bool(retroactive), **decision
        )

    def settle(
        self,
        *,
        budget: DistrictBudget,
        amount: Money,
        decision_ref: str,
        reason: str,
        occurred_on: date,
        actor: str,
    ) -> None:
        """Final settlement (vaststelling): may be lower than the award, never higher.

        After a revocation the settlement fixes what the platform may keep; the grant
        stays revoked and its commitment was already released.
        """
        if self.settled is not None:
            raise InvalidTransition("amount", f"grant {self.reference} is already settled")
        if self.state is GrantState.REVOKED and self.retroactive:
            raise GrantRevoked(
                "amount",
                f"grant {self.reference} was revoked with retroactive effect (Awb 4:48): "
                "nothing is left to settle, everything paid is owed back",
            )
        if amount.cents < 0 or amount > self.amount:
            raise AmountBeyondLimit(
                "amount", f"settlement must be between EUR 0.00 and the award of EUR {self.amount}"
            )
        problem = self._unpayable(amount, self.paid)
        if problem is not None:
            raise SettlementNotPayable("amount", problem)
        self._require_own(budget)
        decision = _decision(decision_ref, reason, occurred_on, actor)
        self._require_after_award("occurred_on", decision["occurred_on"], "a settlement")
        unpaid_needed = Money(max(amount.cents, self.paid_total.cents))
        if self.state is not GrantState.REVOKED:
            budget.release(
                grant_id=self.id,
                amount=self.amount - unpaid_needed,
                occurred_on=decision["occurred_on"],
                actor=decision["actor"],
            )
        self.trigger_event(self.Settled, amount=amount, **decision)

    def request_tranche(self, *, number: int, occurred_on: date, actor: str) -> None:
        """The platform asks for a scheduled tranche that was neither paid nor asked for."""
        occurred_on = business_date("occurred_on", occurred_on)
        self._require_after_award("occurred_on", occurred_on, "a tranche request")
        if self.state is GrantState.REVOKED:
            raise GrantRevoked("number", f"grant {self.reference} was revoked; no new tranches")
        if number not in {t.number for t in self.tranches}:
            raise TrancheNotScheduled("number", f"tranche {number} is not in the award's schedule")
        if number in self.paid:
            raise InvalidTransition("number", f"tranche {number} was already paid")
        if number in self.requested:
            raise InvalidTransition("number", f"tranche {number} was already requested")
        self.trigger_event(
            self.TrancheRequested, number=number, occurred_on=occurred_on, actor=actor_of(actor)
        )

    def submit_report(
        self, *, tranche: int, spent: Money, summary: str, occurred_on: date, actor: str
    ) -> None:
        """The platform's account of how a paid tranche was spent; one per tranche."""
        occurred_on = business_date("occurred_on", occurred_on)
        self._require_after_award("occurred_on", occurred_on, "a spending report")
        summary = text("summary", summary, max_length=MAX_TEXT)
        if spent.cents < 0:
            raise InvalidAmount("spent", "the amount spent cannot be negative")
        if tranche not in self.paid:
            raise InvalidTransition("tranche", f"tranche {tranche} was not paid; nothing to report")
        if tranche in self.reported:
            raise AlreadyExists("tranche", f"the report on tranche {tranche} was already submitted")
        self.trigger_event(
            self.ReportSubmitted,
            tranche=tranche,
            spent=spent,
            summary=summary,
            occurred_on=occurred_on,
            actor=actor_of(actor),
        )

    def claim_recovery(
        self, *, amount: Money, decision_ref: str, reason: str, occurred_on: date, actor: str
    ) -> None:
        amount.require_positive("amount")
        if amount > self.reclaimable:
            raise AmountBeyondLimit(
                "amount",
                f"EUR {amount} exceeds the reclaimable EUR {self.reclaimable} "
                "(a claim needs a revocation or a settlement below what was paid)",
            )
        decision = _decision(decision_ref, reason, occurred_on, actor)
        self._require_after_award("occurred_on", decision["occurred_on"], "a recovery claim")
        self.trigger_event(
            self.RecoveryClaimed, amount=amount, budget_id=self.budget_id, **decision
        )

    def receive_recovery(self, *, amount: Money, occurred_on: date, actor: str) -> None:
        amount.require_positive("amount")
        occurred_on = business_date("occurred_on", occurred_on)
        self._require_after_award("occurred_on", occurred_on, "a recovery")
        claim = self.claimed - self.recovered
        if amount > claim:
            raise AmountBeyondLimit(
                "amount", f"EUR {amount} exceeds the outstanding claim of EUR {claim}"
            )
        if amount > self.to_recover:
            raise ReturnsBeyondPaid(
                "amount",
                f"EUR {amount} exceeds the outstanding claim of EUR {self.to_recover} still owed: "
                f"EUR {self.paid_total} was paid, EUR {self.refunded} refunded and "
                f"EUR {self.recovered} recovered; a refund pays the claim too, and refunds "
                "and recoveries together never exceed what was paid",
            )
        self.trigger_event(
            self.RecoveryReceived,
            amount=amount,
            budget_id=self.budget_id,
            occurred_on=business_date("occurred_on", occurred_on),
            actor=actor_of(actor),
        )

    def receive_refund(self, *, amount: Money, occurred_on: date, actor: str) -> None:
        """A voluntary return of unspent money from the platform's account."""
        amount.require_positive("amount")
        occurred_on = business_date("occurred_on", occurred_on)
        self._require_after_award("occurred_on", occurred_on, "a refund")
        returnable = self.paid_total - self.returned
        if amount > returnable:
            raise AmountBeyondLimit(
                "amount",
                f"EUR {amount} exceeds the EUR {returnable} paid and not yet refunded or recovered",
            )
        self.trigger_event(
            self.RefundReceived,
            amount=amount,
            platform_id=self.platform_id,
            budget_id=self.budget_id,
            occurred_on=business_date("occurred_on", occurred_on),
            actor=actor_of(actor),
        )

    def reverse(
        self,
        *,
        reverses_version: int,
        reason: str,
        occurred_on: date,
        actor: str,
        budget: DistrictBudget | None = None,
    ) -> None:
        """Correct a money event recorded in error. On a revoked grant, whose open
        commitment the revocation returned to the budget, a tranche that was never paid
        goes back to the budget too: ``budget`` (the grant's own) is then required."""
        kind, amount = self._check_reversible(reverses_version)
        returns = kind == "tranche" and self.state is GrantState.REVOKED
        if returns:
            if budget is None:
                raise InvalidValue(
                    "budget",
                    f"grant {self.reference} was revoked: its budget takes the tranche back",
                )
            self._require_own(budget)
        super().reverse(
            reverses_version=reverses_version, reason=reason, occurred_on=occurred_on, actor=actor
        )
        if returns and budget is not None:
            # cannot be refused: the date and actor passed above, and the budget still
            # holds everything this grant kept paid (the revocation released the rest)
            budget.release(grant_id=self.id, amount=amount, occurred_on=occurred_on, actor=actor)

    # Internals ---------------------------------------------------------------------

    def _check_reversible(self, version: object) -> tuple[str, Money]:
        """A tranche payment is reversed only if what stays paid still covers the money
        returned (refunds, recoveries) and the claim still open, and, on a grant that is
        not revoked, a settlement stays payable as scheduled."""
        kind, amount = super()._check_reversible(version)
        if kind != "tranche":
            return kind, amount
        number = self.tranche_by_version[cast(int, version)]
        remaining = {n: paid for n, paid in self.paid.items() if n != number}
        left = total(list(remaining.values()))
        bound = self.returned + self.to_recover
        if left < bound:
            raise ReversalBreaksReturns(
                "reverses_version",
                f"reversing tranche {number} (EUR {amount}) would leave EUR {left} paid, below "
                f"the EUR {self.refunded} refunded, EUR {self.recovered} recovered and "
                f"EUR {self.to_recover} still claimed; what stays paid must cover what came "
                "back and what is claimed (reverse those first)",
            )
        if self.settled is not None and self.state is not GrantState.REVOKED:
            problem = self._unpayable(self.settled, remaining)
            if problem is not None:
                raise SettlementNotPayable(
                    "reverses_version", f"reversing tranche {number} would break the {problem}"
                )
        return kind, amount

    def _unpayable(self, settlement: Money, paid: dict[int, Money]) -> str | None:
        """Why ``settlement`` could never be paid as scheduled, or None if it can.

        A settlement is at most what was paid, or what was paid plus whole unpaid
        tranches in schedule order (the first of them by number, none skipped): only
        scheduled tranches of their exact amount are ever paid (Awb 4:53), and none on a
        revoked grant, so any other amount would stay committed and never be paid.
        """
        paid_total = total(list(paid.values()))
        if settlement <= paid_total:
            return None
        reachable = [paid_total]
        if self.state is not GrantState.REVOKED:
            for tranche in sorted(self.tranches):
                if tranche.number not in paid:
                    reachable.append(reachable[-1] + tranche.amount)
        if settlement in reachable:
            return None
        options = ", ".join(f"EUR {m}" for m in reachable[1:])
        return (
            f"settlement of EUR {settlement}: a settlement is at most the EUR {paid_total} "
            "paid, or that plus whole unpaid tranches in schedule order"
            + (f" ({options})" if options else " (a revoked grant pays no more tranches)")
        )

    def _require_grantee(self, platform: Platform) -> None:
        if platform.id != self.platform_id:
            raise InvalidValue("platform", f"grant {self.reference} is not for {platform.name}")

    def _require_after_award(self, field: str, day: date, what: str) -> None:
        if day < self.awarded_on:
            raise BeforeAward(
                field,
                f"{what} dated {day.isoformat()} is before the award of grant "
                f"{self.reference} on {self.awarded_on.isoformat()}; it must be on or after it",
            )

    def _require_own(self, budget: DistrictBudget) -> None:
        if budget.id != self.budget_id:
            raise InvalidValue("budget", f"grant {self.reference} is not paid from this budget")

    def _require_open(self, field: str) -> None:
        if self.state is GrantState.REVOKED:
            raise GrantRevoked(field, f"grant {self.reference} was revoked")
        if self.state is GrantState.SETTLED:
            raise InvalidTransition(field, f"grant {self.reference} is settled")

    def _open_commitment(self) -> Money:
        ceiling = self.settled if self.settled is not None else self.amount
        return Money(max(0, (ceiling - self.paid_total).cents))


def _decision(decision_ref: str, reason: str, occurred_on: date, actor: str) -> dict[str, Any]:
    """The validated fields every decision carries, checked before anything changes."""
    return {
        "decision_ref": text("decision_ref", decision_ref),
        "reason": reason_of(reason),
        "occurred_on": business_date("occurred_on", occurred_on),
        "actor": actor_of(actor),
    }


def allowance(revoked: bool, retroactive: bool, settled: int | None) -> int | None:
    """What a platform may finally keep of a grant, in cents (None: not fixed yet).

    A retroactive revocation (Awb 4:48) leaves nothing; a revocation from a later date
    leaves what its settlement fixed (nothing without one); otherwise the settlement."""
    if revoked:
        return 0 if retroactive else (settled or 0)
    return settled


def owed_back(paid: int, returned: int, allowed: int | None) -> int:
    """Cents that must still come back: paid beyond what is allowed, less what returned."""
    return 0 if allowed is None else max(0, max(0, paid - allowed) - returned)


def outstanding_claim(claimed: int, recovered: int, owed: int) -> int:
    """Cents of a claim still to recover: claimed and not recovered, as far as owed."""
    return max(0, min(claimed - recovered, owed))


def _check_schedule(
    tranches: list[TrancheSpec], amount: Money, period_start: date, period_end: date
) -> None:
    """The schedule of an award or amendment: it adds up to the amount exactly.

    The award commits its whole amount from the budget, and money reaches the platform
    only as a scheduled tranche of exactly its scheduled amount (Awb 4:53). A settlement
    pays nothing: it fixes what the platform may keep and releases the rest. So a
    schedule short of the award would commit money that no command can ever pay.
    """
    if not tranches:
        raise InvalidValue("tranches", "the award must describe at least one tranche (Awb 4:53)")
    if len(tranches) > MAX_TRANCHES:
        raise InvalidValue("tranches", f"at most {MAX_TRANCHES} tranches")
    numbers = [t.number for t in tranches]
    if len(set(numbers)) != len(numbers) or min(numbers) < 1:
        raise InvalidValue("tranches", "tranche numbers must be unique and start at 1 or above")
    for t in tranches:
        t.amount.require_positive(f"tranches[{t.number}].amount")
        if not period_start <= t.due_on <= period_end:
            raise InvalidValue(f"tranches[{t.number}].due_on", "must fall inside the grant period")
    scheduled = total([t.amount for t in tranches])
    if scheduled > amount:
        raise TrancheBeyondAward(
            "tranches", f"the schedule totals EUR {scheduled}, beyond the award of EUR {amount}"
        )
    if scheduled < amount:
        raise ScheduleBelowAward(
            "tranches",
            f"the schedule totals EUR {scheduled}, EUR {amount - scheduled} short of the award "
            f"of EUR {amount}; the tranches must add up to the award (Awb 4:53)",
        )
