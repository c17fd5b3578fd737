"""Expenses of a platform: submit, attach a receipt, approve, reject, pay; read one.

A treasurer's token reaches only its own platform's expenses. Approval by the submitter
is refused by the domain (the token's subject is the actor).
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from pydantic import AfterValidator, Field, StringConstraints

from domain.expense import Expense
from domain.values import PaymentMethod
from service.http import patterns
from service.http.api.fields import (
    Amount,
    Command,
    Day,
    IbanText,
    MoneyText,
    Name,
    PaymentMethodName,
    Reason,
    Reply,
    Sha256,
    Text,
    Version,
    cents,
    money,
)
from service.http.api.reading import COMMAND_ERRORS, READ_ERRORS, SECURITY, ExpenseId
from service.http.api.results import CommandResult
from service.http.auth import PERMISSION, principal_of, require_reach
from service.http.commands import IdempotencyKey, run
from service.http.context import Services
from service.http.policy import Permission
from service.http.problems import responses

WRITE = {PERMISSION: Permission.EXPENSES_WRITE}


def _not_name_based(value: UUID) -> UUID:
    if value.version == 5:
        raise ValueError(
            "must not be a name-based (version 5) UUID: the ids of budgets, platforms, "
            "grants, bank statements and matches are made from their names"
        )
    return value


ChosenId = Annotated[UUID, AfterValidator(_not_name_based)]
"""An id a client chooses for a new record: never one the service makes from a name,
so that no record takes the id a budget, grant or statement of that name will need."""


class SubmitExpense(Command):
    platform_id: UUID
    expense_id: ChosenId | None = Field(
        default=None,
        description="Chosen by the client (not a version 5 UUID), or made up by the service",
    )
    grant_id: UUID | None = None
    payee_name: Name
    payee_iban: IbanText | None = None
    amount: Amount
    category: Annotated[
        str, StringConstraints(min_length=1, max_length=50, pattern=patterns.ONE_LINE)
    ]
    description: Text = ""
    payment_method: PaymentMethodName
    invoice_number: Name | None = None
    receipt_sha256: Sha256 | None = None
    occurred_on: Day


class AttachReceipt(Command):
    receipt_sha256: Sha256
    occurred_on: Day
    expected_version: Version


class ExpenseStep(Command):
    occurred_on: Day
    expected_version: Version


class RejectExpense(Command):
    reason: Reason
    occurred_on: Day
    expected_version: Version


class ExpenseView(Reply):
    id: UUID
    version: int
    platform_id: UUID
    grant_id: UUID | None
    payee_name: str
    payee_iban: str | None
    amount: MoneyText
    category: str
    description: str
    invoice_number: str | None
    receipt_sha256: str | None
    payment_method: str
    state: str
    submitted_by: str
    approved_by: str | None
    occurred_on: date
    paid_on: date | None


class ExpenseController(Controller):
    path = "/expenses"
    tags = ["expenses"]
    security = SECURITY

    def _reach(
        self, request: Request[Any, Any, Any], services: NamedDependency[Services], expense_id: UUID
    ) -> None:
        owner = services.owner(expense_id, "expense_id")
        require_reach(principal_of(request), set(owner.platforms), "this expense")

    @post(
        "/",
        operation_id="submitExpense",
        summary="Submit an expense of a platform (awaits approval by another member)",
        status_code=201,
        opt=WRITE,
        responses=responses(*COMMAND_ERRORS),
        sync_to_thread=True,
    )
    def submit(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        data: JSONBody[SubmitExpense],
        idempotency_key: IdempotencyKey,
    ) -> Response[CommandResult]:
        require_reach(principal_of(request), {data.platform_id}, "this platform")
        expense_id = data.expense_id or uuid.uuid4()
        return run(
            services,
            request,
            idempotency_key,
            data,
            lambda actor: services.app.submit_expense(
                expense_id=expense_id,
                platform_id=data.platform_id,
                grant_id=data.grant_id,
                payee_name=data.payee_name,
                payee_iban=data.payee_iban,
                amount=cents(data.amount),
                category=data.category,
                description=data.description,
                payment_method=PaymentMethod(data.payment_method),
                invoice_number=data.invoice_number,
                receipt_sha256=data.receipt_sha256,
                occurred_on=data.occurred_on,
                actor=actor,
            ),
        )

    @post(
        "/{expense_id:uuid}/receipt",
        operation_id="attachReceipt",
        summary="Attach the receipt's SHA-256 to an expense",
        status_code=200,
        opt=WRITE,
        responses=responses(*COMMAND_ERRORS),
        sync_to_thread=True,
    )
    def attach_receipt(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        expense_id: ExpenseId,
        data: JSONBody[AttachReceipt],
        idempotency_key: IdempotencyKey,
    ) -> Response[CommandResult]:
        self._reach(request, services, expense_id)
        return run(
            services,
            request,
            idempotency_key,
            data,
            lambda actor: services.app.attach_receipt(
                expense_id,
                receipt_sha256=data.receipt_sha256,
                occurred_on=data.occurred_on,
                actor=actor,
                expected_version=data.expected_version,
            ),
            aggregate_id=expense_id,
        )

    @post(
        "/{expense_id:uuid}/approval",
        operation_id="approveExpense",
        summary="Approve an expense (not by the one who submitted it)",
        status_code=200,
        opt=WRITE,
        responses=responses(*COMMAND_ERRORS),
        sync_to_thread=True,
    )
    def approve(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        expense_id: ExpenseId,
        data: JSONBody[ExpenseStep],
        idempotency_key: IdempotencyKey,
    ) -> Response[CommandResult]:
        self._reach(request, services, expense_id)
        return run(
            services,
            request,
            idempotency_key,
            data,
            lambda actor: services.app.approve_expense(
                expense_id,
                occurred_on=data.occurred_on,
                actor=actor,
                expected_version=data.expected_version,
            ),
            aggregate_id=expense_id,
        )

    @post(
        "/{expense_id:uuid}/rejection",
        operation_id="rejectExpense",
        summary="Reject a submitted or approved expense",
        status_code=200,
        opt=WRITE,
        responses=responses(*COMMAND_ERRORS),
        sync_to_thread=True,
    )
    def reject(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        expense_id: ExpenseId,
        data: JSONBody[RejectExpense],
        idempotency_key: IdempotencyKey,
    ) -> Response[CommandResult]:
        self._reach(request, services, expense_id)
        return run(
            services,
            request,
            idempotency_key,
            data,
            lambda actor: services.app.reject_expense(
                expense_id,
                reason=data.reason,
                occurred_on=data.occurred_on,
                actor=actor,
                expected_version=data.expected_version,
            ),
            aggregate_id=expense_id,
        )

    @post(
        "/{expense_id:uuid}/payment",
        operation_id="payExpense",
        summary="Pay an approved expense",
        status_code=200,
        opt=WRITE,
        responses=responses(*COMMAND_ERRORS),
        sync_to_thread=True,
    )
    def pay(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        expense_id: ExpenseId,
        data: JSONBody[ExpenseStep],
        idempotency_key: IdempotencyKey,
    ) -> Response[CommandResult]:
        self._reach(request, services, expense_id)
        return run(
            services,
            request,
            idempotency_key,
            data,
            lambda actor: services.app.pay_expense(
                expense_id,
                occurred_on=data.occurred_on,
                actor=actor,
                expected_version=data.expected_version,
            ),
            aggregate_id=expense_id,
        )

    @get(
        "/{expense_id:uuid}",
        operation_id="getExpense",
        summary="One expense as it stands, with its version",
        opt={PERMISSION: Permission.EXPENSES_READ},
        responses=responses(*READ_ERRORS),
        sync_to_thread=True,
    )
    def get_expense(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        expense_id: ExpenseId,
    ) -> ExpenseView:
        self._reach(request, services, expense_id)
        e = services.app.load(Expense, expense_id, "expense_id")
        return ExpenseView(
            id=e.id,
            version=e.version,
            platform_id=e.platform_id,
            grant_id=e.grant_id,
            payee_name=e.payee_name,
            payee_iban=e.payee_iban,
            amount=money(e.amount.cents),
            category=e.category,
            description=e.description,
            invoice_number=e.invoice_number,
            receipt_sha256=e.receipt_sha256,
            payment_method=e.payment_method.value,
            state=e.state.value,
            submitted_by=e.submitted_by,
            approved_by=e.approved_by,
            occurred_on=e.business_date,
            paid_on=e.paid_on,
        )
