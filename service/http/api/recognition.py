"""Recognition of a platform by the district council: application, decision, suspension,
lifting a suspension, revocation."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from pydantic import Field

from domain.platform import CriterionAssessment
from domain.values import Criterion, Outcome
from service.http.api.fields import (
    Boolean,
    Command,
    CriterionName,
    Day,
    OutcomeName,
    Reason,
    Reference,
    Text,
    Version,
)
from service.http.api.reading import COMMAND_ERRORS, SECURITY, PlatformId
from service.http.api.results import CommandResult
from service.http.auth import PERMISSION
from service.http.commands import IdempotencyKey, run
from service.http.context import Services
from service.http.policy import Permission
from service.http.problems import responses

WRITE = {PERMISSION: Permission.RECOGNITION_WRITE}


class ApplyForRecognition(Command):
    application_ref: Reference
    occurred_on: Day
    expected_version: Version


class Assessment(Command):
    criterion: CriterionName
    outcome: OutcomeName
    note: Text = ""


class DecideRecognition(Command):
    granted: Boolean
    assessment: list[Assessment] = Field(
        min_length=1, max_length=20, description="Every criterion, assessed exactly once"
    )
    decision_ref: Reference
    effective_on: Day
    reason: Reason
    occurred_on: Day
    expected_version: Version


class RecognitionDecision(Command):
    decision_ref: Reference
    effective_on: Day
    reason: Reason
    occurred_on: Day
    expected_version: Version


def _decision(data: JSONBody[RecognitionDecision], actor: str) -> dict[str, Any]:
    return {
        "decision_ref": data.decision_ref,
        "effective_on": data.effective_on,
        "reason": data.reason,
        "occurred_on": data.occurred_on,
        "actor": actor,
        "expected_version": data.expected_version,
    }


class RecognitionController(Controller):
    path = "/platforms/{platform_id:uuid}/recognition"
    tags = ["recognition"]
    security = SECURITY

    @post(
        "/applications",
        operation_id="applyForRecognition",
        summary="Record a platform's application for recognition",
        status_code=200,
        opt=WRITE,
        responses=responses(*COMMAND_ERRORS),
        sync_to_thread=True,
    )
    def apply(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        platform_id: PlatformId,
        data: JSONBody[ApplyForRecognition],
        idempotency_key: IdempotencyKey,
    ) -> Response[CommandResult]:
        return run(
            services,
            request,
            idempotency_key,
            data,
            lambda actor: services.app.apply_for_recognition(
                platform_id,
                application_ref=data.application_ref,
                occurred_on=data.occurred_on,
                actor=actor,
                expected_version=data.expected_version,
            ),
            aggregate_id=platform_id,
        )

    @post(
        "/decisions",
        operation_id="decideRecognition",
        summary="The council grants or refuses the pending application",
        status_code=200,
        opt=WRITE,
        responses=responses(*COMMAND_ERRORS),
        sync_to_thread=True,
    )
    def decide(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        platform_id: PlatformId,
        data: JSONBody[DecideRecognition],
        idempotency_key: IdempotencyKey,
    ) -> Response[CommandResult]:
        assessment = [
            CriterionAssessment(Criterion(a.criterion), Outcome(a.outcome), a.note)
            for a in data.assessment
        ]
        return run(
            services,
            request,
            idempotency_key,
            data,
            lambda actor: services.app.decide_recognition(
                platform_id,
                granted=data.granted,
                assessment=assessment,
                decision_ref=data.decision_ref,
                effective_on=data.effective_on,
                reason=data.reason,
                occurred_on=data.occurred_on,
                actor=actor,
                expected_version=data.expected_version,
            ),
            aggregate_id=platform_id,
        )

    @post(
        "/suspensions",
        operation_id="suspendRecognition",
        summary="Suspend a platform's recognition",
        status_code=200,
        opt=WRITE,
        responses=responses(*COMMAND_ERRORS),
        sync_to_thread=True,
    )
    def suspend(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        platform_id: PlatformId,
        data: JSONBody[RecognitionDecision],
        idempotency_key: IdempotencyKey,
    ) -> Response[CommandResult]:
        return run(
            services,
            request,
            idempotency_key,
            data,
            lambda actor: services.app.suspend_recognition(platform_id, **_decision(data, actor)),
            aggregate_id=platform_id,
        )

    @post(
        "/suspension-lifts",
        operation_id="liftSuspension",
        summary="Lift a suspension: the platform is recognised again",
        status_code=200,
        opt=WRITE,
        responses=responses(*COMMAND_ERRORS),
        sync_to_thread=True,
    )
    def lift(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        platform_id: PlatformId,
        data: JSONBody[RecognitionDecision],
        idempotency_key: IdempotencyKey,
    ) -> Response[CommandResult]:
        return run(
            services,
            request,
            idempotency_key,
            data,
            lambda actor: services.app.lift_suspension(platform_id, **_decision(data, actor)),
            aggregate_id=platform_id,
        )

    @post(
        "/revocations",
        operation_id="revokeRecognition",
        summary="Revoke a platform's recognition",
        status_code=200,
        opt=WRITE,
        responses=responses(*COMMAND_ERRORS),
        sync_to_thread=True,
    )
    def revoke(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        platform_id: PlatformId,
        data: JSONBody[RecognitionDecision],
        idempotency_key: IdempotencyKey,
    ) -> Response[CommandResult]:
        return run(
            services,
            request,
            idempotency_key,
            data,
            lambda actor: services.app.revoke_recognition(platform_id, **_decision(data, actor)),
            aggregate_id=platform_id,
        )
