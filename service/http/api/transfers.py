"""Transfers between two platforms' accounts, and corrections of money events."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from pydantic import Field

from service.http.api.fields import (
    MAX_VERSION,
    Amount,
    Command,
    Day,
    Reason,
    Reference,
    Text,
    Version,
    Whole,
    cents,
)
from service.http.api.reading import COMMAND_ERRORS, SECURITY
from service.http.api.results import CommandResult
from service.http.auth import PERMISSION, principal_of, require_reach
from service.http.commands import IdempotencyKey, run
from service.http.context import Services
from service.http.policy import PLATFORM_BOUND, Permission
from service.http.problems import ApiProblem, responses

PLATFORM_BOOKS = ("expense",)
"""The records a platform-bound token may correct: its own expenses. A bank line is a
fact from the bank, and reversing one takes its money out of the books and out of the
risk rules: only an official does so (a treasurer who typed a line wrongly asks one),
so that nobody alone can make an outflow disappear."""


class MakeTransfer(Command):
    reference: Reference
    from_platform_id: UUID
    to_platform_id: UUID
    amount: Amount
    description: Text = ""
    occurred_on: Day


class ReverseEntry(Command):
    aggregate_id: UUID = Field(description="The grant, expense, statement or transfer")
    reverses_version: Annotated[Whole, Field(ge=1, le=MAX_VERSION)] = Field(
        description="The version of the money event recorded in error"
    )
    reason: Reason
    occurred_on: Day
    expected_version: Version


class TransferController(Controller):
    path = "/transfers"
    tags = ["transfers"]
    security = SECURITY

    @post(
        "/",
        operation_id="makeTransfer",
        summary="Transfer money from one platform's account to another's",
        status_code=201,
        opt={PERMISSION: Permission.TRANSFERS_WRITE},
        responses=responses(*COMMAND_ERRORS),
        sync_to_thread=True,
    )
    def make(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        data: JSONBody[MakeTransfer],
        idempotency_key: IdempotencyKey,
    ) -> Response[CommandResult]:
        return run(
            services,
            request,
            idempotency_key,
            data,
            lambda actor: services.app.make_transfer(
                reference=data.reference,
                from_platform_id=data.from_platform_id,
                to_platform_id=data.to_platform_id,
                amount=cents(data.amount),
                description=data.description,
                occurred_on=data.occurred_on,
                actor=actor,
            ),
        )


class CorrectionController(Controller):
    path = "/corrections"
    tags = ["corrections"]
    security = SECURITY

    @post(
        "/",
        operation_id="reverseEntry",
        summary="Reverse a money event recorded in error (a new event; nothing is edited)",
        status_code=200,
        opt={PERMISSION: Permission.CORRECTIONS_WRITE},
        responses=responses(*COMMAND_ERRORS),
        sync_to_thread=True,
    )
    def reverse(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        data: JSONBody[ReverseEntry],
        idempotency_key: IdempotencyKey,
    ) -> Response[CommandResult]:
        principal = principal_of(request)
        if principal.role in PLATFORM_BOUND:
            owner = services.owner(data.aggregate_id, "aggregate_id")
            if owner.kind not in (*PLATFORM_BOOKS, "statement"):
                raise ApiProblem(
                    403,
                    "outside_platform",
                    f"a {principal.role.value} token corrects only its platform's expenses",
                )
            require_reach(principal, set(owner.platforms), "this record")
            if owner.kind == "statement":
                raise ApiProblem(
                    403,
                    "bank_line_by_official",
                    "a bank line is a fact from the bank: only an official reverses one",
                )
        return run(
            services,
            request,
            idempotency_key,
            data,
            lambda actor: services.app.reverse_entry(
                data.aggregate_id,
                reverses_version=data.reverses_version,
                reason=data.reason,
                occurred_on=data.occurred_on,
                actor=actor,
                expected_version=data.expected_version,
            ),
            aggregate_id=data.aggregate_id,
        )
