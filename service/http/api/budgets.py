"""District budgets: allocate one; read each budget's figures."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from pydantic import Field

from projections.balances import budget_figures
from projections.store import Doc
from service.http.api.fields import (
    Amount,
    Command,
    Day,
    MoneyText,
    Name,
    Reply,
    Whole,
    cents,
    money,
)
from service.http.api.reading import (
    COMMAND_ERRORS,
    READ_ERRORS,
    SECURITY,
    BudgetId,
    get_doc,
    read_models,
    select_docs,
)
from service.http.api.results import CommandResult
from service.http.auth import PERMISSION
from service.http.commands import IdempotencyKey, run
from service.http.context import Services
from service.http.policy import Permission
from service.http.problems import responses


class AllocateBudget(Command):
    district: Name
    year: Whole = Field(ge=2000, le=2100)
    amount: Amount
    occurred_on: Day


class BudgetFigures(Reply):
    id: UUID
    district: str | None
    year: int | None
    allocated: MoneyText
    awarded: MoneyText
    paid_out: MoneyText
    available: MoneyText
    returned: MoneyText


def figures(key: str | UUID, doc: Doc) -> BudgetFigures:
    f = budget_figures(doc)
    return BudgetFigures(
        id=UUID(str(key)),
        district=f["district"],
        year=f["year"],
        **{k: money(f[k]) for k in ("allocated", "awarded", "paid_out", "available", "returned")},
    )


class BudgetController(Controller):
    path = "/budgets"
    tags = ["budgets"]
    security = SECURITY

    @post(
        "/",
        operation_id="allocateBudget",
        summary="Allocate a district's budget for a year",
        status_code=201,
        opt={PERMISSION: Permission.BUDGETS_WRITE},
        responses=responses(*COMMAND_ERRORS),
        sync_to_thread=True,
    )
    def allocate(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        data: JSONBody[AllocateBudget],
        idempotency_key: IdempotencyKey,
    ) -> Response[CommandResult]:
        return run(
            services,
            request,
            idempotency_key,
            data,
            lambda actor: services.app.allocate_budget(
                district=data.district,
                year=data.year,
                amount=cents(data.amount),
                occurred_on=data.occurred_on,
                actor=actor,
            ),
        )

    @get(
        "/",
        operation_id="listBudgets",
        summary="Every district budget's figures",
        opt={PERMISSION: Permission.BUDGETS_READ},
        responses=responses(403),
        sync_to_thread=True,
    )
    def list_budgets(self, services: NamedDependency[Services]) -> list[BudgetFigures]:
        with read_models(services) as store:
            return [figures(key, doc) for key, doc in select_docs(store, "balances", "budget")]

    @get(
        "/{budget_id:uuid}",
        operation_id="getBudget",
        summary="One district budget's figures: allocated, awarded, paid out, available",
        opt={PERMISSION: Permission.BUDGETS_READ},
        responses=responses(*READ_ERRORS),
        sync_to_thread=True,
    )
    def get_budget(self, services: NamedDependency[Services], budget_id: BudgetId) -> BudgetFigures:
        with read_models(services) as store:
            return figures(budget_id, get_doc(store, "balances", "budget", budget_id, "budget"))
