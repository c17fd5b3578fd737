"""Typed domain errors.

Every refusal names the field it concerns and the rule that refused it, so that the
edges (CLI, HTTP) can report it without knowing the rule's internals.
"""

from __future__ import annotations


class DomainError(Exception):
    """A command was refused by a domain rule; nothing was stored."""

    rule: str = "domain_rule"

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message} [rule: {self.rule}]")


class InvalidValue(DomainError):
    """A value is malformed or out of its allowed range."""

    rule = "invalid_value"


class InvalidAmount(InvalidValue):
    """An amount of money is malformed or outside its limits."""

    rule = "invalid_amount"


class InvalidIban(InvalidValue):
    rule = "invalid_iban"


class InvalidKvkNumber(InvalidValue):
    rule = "invalid_kvk_number"


class NotFound(DomainError):
    """A referenced aggregate does not exist."""

    rule = "not_found"


class AlreadyExists(DomainError):
    rule = "already_exists"


class ConcurrentUpdate(DomainError):
    """Another command changed the same record first; reload and try again."""

    rule = "concurrent_update"


class InvalidTransition(DomainError):
    """The aggregate is not in a state that allows the command."""

    rule = "invalid_transition"


class BudgetExceeded(DomainError):
    rule = "budget_exceeded"


class PlatformNotRecognised(DomainError):
    rule = "platform_not_recognised"


class TrancheBeyondAward(DomainError):
    rule = "tranche_beyond_award"


class ScheduleBelowAward(DomainError):
    """A tranche schedule that adds up to less than the award (Awb 4:53)."""

    rule = "schedule_below_award"


class TrancheNotScheduled(DomainError):
    rule = "tranche_not_scheduled"


class GrantRevoked(DomainError):
    rule = "grant_revoked"


class SelfApproval(DomainError):
    rule = "approval_by_submitter"


class AmountBeyondLimit(DomainError):
    """A settlement, claim, refund or receipt exceeds what the grant allows."""

    rule = "amount_beyond_limit"


class ReturnsBeyondPaid(AmountBeyondLimit):
    """Refunds and recoveries together would exceed what the grant paid."""

    rule = "returns_beyond_paid"


class SettlementNotPayable(AmountBeyondLimit):
    """A settlement above what was paid that no scheduled tranches can make up exactly."""

    rule = "settlement_not_payable"


class ReversalBreaksReturns(InvalidTransition):
    """Reversing a tranche would leave less paid than was returned or is still claimed."""

    rule = "reversal_below_returns"


class BeforeAward(InvalidValue):
    """A grant's decision or payment dated before the award decision."""

    rule = "before_award"
