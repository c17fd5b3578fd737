"""Who may do what: the roles a bearer token carries and the permission of each route.

- **official**: the district's decisions (platforms, recognition, budgets, grants,
  transfers, their corrections) and the current figures, status, history and risk;
- **treasurer**: one platform only: its expenses (and their corrections) and bank
  statement lines (an official reverses a line: a fact from the bank), its tranche
  requests and spending reports, and that platform's figures, status and history
  (officials may record requests and reports received on paper);
- **auditor**: reads everything, including replay, inclusion proofs and checkpoints;
- **viewer**: balances and status only.

Every route names one permission in its ``opt``; a route without one is public.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID


class Role(StrEnum):
    OFFICIAL = "official"
    TREASURER = "treasurer"
    AUDITOR = "auditor"
    VIEWER = "viewer"


class Permission(StrEnum):
    BUDGETS_WRITE = "budgets:write"
    PLATFORMS_WRITE = "platforms:write"
    RECOGNITION_WRITE = "recognition:write"
    GRANTS_WRITE = "grants:write"
    GRANT_REPORTS_WRITE = "grant-reports:write"
    TRANSFERS_WRITE = "transfers:write"
    EXPENSES_WRITE = "expenses:write"
    BANK_WRITE = "bank:write"
    CORRECTIONS_WRITE = "corrections:write"
    BUDGETS_READ = "budgets:read"
    BALANCES_READ = "balances:read"
    STATUS_READ = "status:read"
    EXPENSES_READ = "expenses:read"
    EVENTS_READ = "events:read"
    RISK_READ = "risk:read"
    REPLAY_READ = "replay:read"
    PROOFS_READ = "proofs:read"
    PROJECTIONS_READ = "projections:read"


P = Permission
READS = frozenset(p for p in Permission if p.value.endswith(":read"))

GRANTED: dict[Role, frozenset[Permission]] = {
    Role.OFFICIAL: frozenset(
        {
            P.BUDGETS_WRITE,
            P.PLATFORMS_WRITE,
            P.RECOGNITION_WRITE,
            P.GRANTS_WRITE,
            P.GRANT_REPORTS_WRITE,
            P.TRANSFERS_WRITE,
            P.CORRECTIONS_WRITE,
            P.BUDGETS_READ,
            P.BALANCES_READ,
            P.STATUS_READ,
            P.EXPENSES_READ,
            P.EVENTS_READ,
            P.RISK_READ,
            P.PROJECTIONS_READ,
        }
    ),
    Role.TREASURER: frozenset(
        {
            P.GRANT_REPORTS_WRITE,
            P.EXPENSES_WRITE,
            P.BANK_WRITE,
            P.CORRECTIONS_WRITE,
            P.BALANCES_READ,
            P.STATUS_READ,
            P.EXPENSES_READ,
            P.EVENTS_READ,
        }
    ),
    Role.AUDITOR: READS,
    Role.VIEWER: frozenset({P.BUDGETS_READ, P.BALANCES_READ, P.STATUS_READ}),
}

PLATFORM_BOUND = frozenset({Role.TREASURER})
"""Roles whose tokens name one platform and reach only that platform's records."""


@dataclass(frozen=True)
class Principal:
    """Who a valid bearer token speaks for. ``subject`` is recorded as every event's actor."""

    token_id: str
    subject: str
    role: Role
    platform_id: UUID | None = None

    def may(self, permission: Permission) -> bool:
        return permission in GRANTED[self.role]

    def reaches(self, platform_ids: set[UUID]) -> bool:
        """Whether the records of these platforms are within this token's reach."""
        if self.role not in PLATFORM_BOUND:
            return True
        return self.platform_id is not None and self.platform_id in platform_ids
