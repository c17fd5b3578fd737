"""Grants: award, amendment, tranche requests and payments, spending reports, revocation,
settlement, recovery, refunds."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from pydantic import Field

from domain.grant import TrancheSpec
from service.http.api.fields import (
    Amount,
    AmountOrZero,
    Boolean,
    Command,
    Day,
    Reason,
    Reference,
    Version,
    Whole,
    cents,
)
from service.http.api.reading import COMMAND_ERRORS, SECURITY, GrantId
from service.http.api.results import CommandResult
from service.http.auth import PERMISSION, principal_of, require_reach
from service.http.commands import IdempotencyKey, run
from service.http.context import Services
from service.http.policy import Permission
from service.http.problems import responses

WRITE = {PERMISSION: Permission.GRANTS_WRITE}
REPORTS_WRITE = {PERMISSION: Permission.GRANT_REPORTS_WRITE}
TrancheNumber = Annotated[Whole, Field(ge=1, le=1000)]


class Tranche(Command):
    number: TrancheNumber
    due_on: Day
    amount: Amount


Schedule = Annotated[
    list[Tranche],
    Field(
        min_length=1,
        max_length=60,
        description="The tranches of the award decision (Awb 4:53); they add up to the amount",
    ),
]


class AwardGrant(Command):
    budget_id: UUID
    platform_id: UUID
    reference: Reference
    amount: Amount
    period_start: Day
    period_end: Day
    purpose: Reason
    tranches: Schedule
    decision_ref: Reference
    reason: Reason
    occurred_on: Day


class AmendGrant(Command):
    amount: Amount
    period_end: Day
    tranches: Schedule
    decision_ref: Reference
    reason: Reason
    occurred_on: Day
    expected_version: Version


class PayTranche(Command):
    number: TrancheNumber
    amount: Amount
    occurred_on: Day
    expected_version: Version


class RequestTranche(Command):
    number: TrancheNumber
    occurred_on: Day
    expected_version: Version


class SubmitReport(Command):
    tranche: TrancheNumber = Field(description="The paid tranche the report accounts for")
    spent: AmountOrZero
    summary: Reason
    occurred_on: Day
    expected_version: Version


class RevokeGrant(Command):
    effective_on: Day
    retroactive: Boolean = Field(description="Back to the award (Awb 4:48) or from effective_on")
    decision_ref: Reference
    reason: Reason
    occurred_on: Day
    expected_version: Version


class SettleGrant(Command):
    amount: AmountOrZero
    decision_ref: Reference
    reason: Reason
    occurred_on: Day
    expected_version: Version


class ClaimRecovery(Command):
    amount: Amount
    decision_ref: Reference
    reason: Reason
    occurred_on: Day
    expected_version: Version


class MoneyReceived(Command):
    amount: Amount
    occurred_on: Day
    expected_version: Version


def schedule(tranches: list[Tranche]) -> list[TrancheSpec]:
    return [TrancheSpec(t.number, t.due_on, cents(t.amount)) for t in tranches]


def _decision(data: SettleGrant | ClaimRecovery | RevokeGrant, actor: str) -> dict[str, Any]:
    return {
        "decision_ref": data.decision_ref,
        "reason": data.reason,
        "occurred_on": data.occurred_on,
        "actor": actor,
        "expected_version": data.expected_version,
    }


class GrantController(Controller):
    path = "/grants"
    tags = ["grants"]
    security = SECURITY

    @post(
        "/",
        operation_id="awardGrant",
        summary="Award a grant from a district budget to a recognised platform",
        status_code=201,
        opt=WRITE,
        responses=responses(*COMMAND_ERRORS),
        sync_to_thread=True,
    )
    def award(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        data: JSONBody[AwardGrant],
        idempotency_key: IdempotencyKey,
    ) -> Response[CommandResult]:
        return run(
            services,
            request,
            idempotency_key,
            data,
            lambda actor: services.app.award_grant(
                budget_id=data.budget_id,
                platform_id=data.platform_id,
                reference=data.reference,
                amount=cents(data.amount),
                period_start=data.period_start,
                period_end=data.period_end,
                purpose=data.purpose,
                tranches=schedule(data.tranches),
                decision_ref=data.decision_ref,
                reason=data.reason,
                occurred_on=data.occurred_on,
                actor=actor,
            ),
        )

    @post(
        "/{grant_id:uuid}/amendments",
        operation_id="amendGrant",
        summary="Amend a grant's amount, end and tranche schedule",
        status_code=200,
        opt=WRITE,
        responses=responses(*COMMAND_ERRORS),
        sync_to_thread=True,
    )
    def amend(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        grant_id: GrantId,
        data: JSONBody[AmendGrant],
        idempotency_key: IdempotencyKey,
    ) -> Response[CommandResult]:
        return run(
            services,
            request,
            idempotency_key,
            data,
            lambda actor: services.app.amend_grant(
                grant_id,
                amount=cents(data.amount),
                period_end=data.period_end,
                tranches=schedule(data.tranches),
                decision_ref=data.decision_ref,
                reason=data.reason,
                occurred_on=data.occurred_on,
                actor=actor,
                expected_version=data.expected_version,
            ),
            aggregate_id=grant_id,
        )

    @post(
        "/{grant_id:uuid}/tranche-payments",
        operation_id="payTranche",
        summary="Pay a tranche of the award's schedule",
        status_code=200,
        opt=WRITE,
        responses=responses(*COMMAND_ERRORS),
        sync_to_thread=True,
    )
    def pay_tranche(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        grant_id: GrantId,
        data: JSONBody[PayTranche],
        idempotency_key: IdempotencyKey,
    ) -> Response[CommandResult]:
        return run(
            services,
            request,
            idempotency_key,
            data,
            lambda actor: services.app.pay_tranche(
                grant_id,
                number=data.number,
                amount=cents(data.amount),
                occurred_on=data.occurred_on,
                actor=actor,
                expected_version=data.expected_version,
            ),
            aggregate_id=grant_id,
        )

    @post(
        "/{grant_id:uuid}/tranche-requests",
        operation_id="requestTranche",
        summary="The platform asks for a scheduled tranche",
        status_code=200,
        opt=REPORTS_WRITE,
        responses=responses(*COMMAND_ERRORS),
        sync_to_thread=True,
    )
    def request_tranche(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        grant_id: GrantId,
        data: JSONBody[RequestTranche],
        idempotency_key: IdempotencyKey,
    ) -> Response[CommandResult]:
        owner = services.owner(grant_id, "grant_id")
        require_reach(principal_of(request), set(owner.platforms), "this grant")
        return run(
            services,
            request,
            idempotency_key,
            data,
            lambda actor: services.app.request_tranche(
                grant_id,
                number=data.number,
                occurred_on=data.occurred_on,
                actor=actor,
                expected_version=data.expected_version,
            ),
            aggregate_id=grant_id,
        )

    @post(
        "/{grant_id:uuid}/reports",
        operation_id="submitGrantReport",
        summary="The platform accounts for its spending of a paid tranche (Awb 4:45)",
        status_code=200,
        opt=REPORTS_WRITE,
        responses=responses(*COMMAND_ERRORS),
        sync_to_thread=True,
    )
    def submit_report(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        grant_id: GrantId,
        data: JSONBody[SubmitReport],
        idempotency_key: IdempotencyKey,
    ) -> Response[CommandResult]:
        owner = services.owner(grant_id, "grant_id")
        require_reach(principal_of(request), set(owner.platforms), "this grant")
        return run(
            services,
            request,
            idempotency_key,
            data,
            lambda actor: services.app.submit_report(
                grant_id,
                tranche=data.tranche,
                spent=cents(data.spent),
                summary=data.summary,
                occurred_on=data.occurred_on,
                actor=actor,
                expected_version=data.expected_version,
            ),
            aggregate_id=grant_id,
        )

    @post(
        "/{grant_id:uuid}/revocation",
        operation_id="revokeGrant",
        summary="Revoke a grant (Awb 4:48)",
        status_code=200,
        opt=WRITE,
        responses=responses(*COMMAND_ERRORS),
        sync_to_thread=True,
    )
    def revoke(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        grant_id: GrantId,
        data: JSONBody[RevokeGrant],
        idempotency_key: IdempotencyKey,
    ) -> Response[CommandResult]:
        return run(
            services,
            request,
            idempotency_key,
            data,
            lambda actor: services.app.revoke_grant(
                grant_id,
                effective_on=data.effective_on,
                retroactive=data.retroactive,
                **_decision(data, actor),
            ),
            aggregate_id=grant_id,
        )

    @post(
        "/{grant_id:uuid}/settlement",
        operation_id="settleGrant",
        summary="Settle a grant finally (vaststelling, Awb 4:46), at most the award",
        status_code=200,
        opt=WRITE,
        responses=responses(*COMMAND_ERRORS),
        sync_to_thread=True,
    )
    def settle(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        grant_id: GrantId,
        data: JSONBody[SettleGrant],
        idempotency_key: IdempotencyKey,
    ) -> Response[CommandResult]:
        return run(
            services,
            request,
            idempotency_key,
            data,
            lambda actor: services.app.settle_grant(
                grant_id, amount=cents(data.amount), **_decision(data, actor)
            ),
            aggregate_id=grant_id,
        )

    @post(
        "/{grant_id:uuid}/recovery-claims",
        operation_id="claimRecovery",
        summary="Claim back money paid without ground (Awb 4:57)",
        status_code=200,
        opt=WRITE,
        responses=responses(*COMMAND_ERRORS),
        sync_to_thread=True,
    )
    def claim_recovery(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        grant_id: GrantId,
        data: JSONBody[ClaimRecovery],
        idempotency_key: IdempotencyKey,
    ) -> Response[CommandResult]:
        return run(
            services,
            request,
            idempotency_key,
            data,
            lambda actor: services.app.claim_recovery(
                grant_id, amount=cents(data.amount), **_decision(data, actor)
            ),
            aggregate_id=grant_id,
        )

    @post(
        "/{grant_id:uuid}/recovery-receipts",
        operation_id="receiveRecovery",
        summary="Record money received against a recovery claim",
        status_code=200,
        opt=WRITE,
        responses=responses(*COMMAND_ERRORS),
        sync_to_thread=True,
    )
    def receive_recovery(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        grant_id: GrantId,
        data: JSONBody[MoneyReceived],
        idempotency_key: IdempotencyKey,
    ) -> Response[CommandResult]:
        return run(
            services,
            request,
            idempotency_key,
            data,
            lambda actor: services.app.receive_recovery(
                grant_id,
                amount=cents(data.amount),
                occurred_on=data.occurred_on,
                actor=actor,
                expected_version=data.expected_version,
            ),
            aggregate_id=grant_id,
        )

    @post(
        "/{grant_id:uuid}/refunds",
        operation_id="receiveRefund",
        summary="Record a voluntary refund of unspent grant money",
        status_code=200,
        opt=WRITE,
        responses=responses(*COMMAND_ERRORS),
        sync_to_thread=True,
    )
    def receive_refund(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        grant_id: GrantId,
        data: JSONBody[MoneyReceived],
        idempotency_key: IdempotencyKey,
    ) -> Response[CommandResult]:
        return run(
            services,
            request,
            idempotency_key,
            data,
            lambda actor: services.app.receive_refund(
                grant_id,
                amount=cents(data.amount),
                occurred_on=data.occurred_on,
                actor=actor,
                expected_version=data.expected_version,
            ),
            aggregate_id=grant_id,
        )
