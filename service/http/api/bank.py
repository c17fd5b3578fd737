"""Bank statement lines of a platform's account, recorded in batches."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from pydantic import Field

from domain.bank import BankStatement
from domain.values import BankLineKind, Direction
from service.application import BankLine
from service.http.api.fields import (
    MAX_VERSION,
    Amount,
    BankLineKindName,
    Command,
    Day,
    DirectionName,
    IbanText,
    Name,
    Reference,
    Text,
    Whole,
    cents,
)
from service.http.api.reading import COMMAND_ERRORS, SECURITY, PlatformId
from service.http.api.results import CommandResult
from service.http.auth import PERMISSION, principal_of, require_reach
from service.http.commands import IdempotencyKey, run
from service.http.context import Services
from service.http.policy import Permission
from service.http.problems import responses

MAX_LINES = 500


class BankLineIn(Command):
    line_no: Annotated[Whole, Field(ge=1, le=1_000_000)]
    direction: DirectionName
    kind: BankLineKindName
    amount: Amount
    counterparty_name: Name
    counterparty_iban: IbanText | None = None
    description: Text = ""
    matches: Reference | None = Field(
        default=None,
        description="The record this line confirms: expense:<id>, tranche:<grant>:<n>, "
        "refund:<grant>:<version> or transfer:<reference>",
    )
    occurred_on: Day


class RecordBankLines(Command):
    statement_ref: Reference
    occurred_on: Day
    expected_version: Annotated[Whole, Field(ge=0, le=MAX_VERSION)] = Field(
        description="The statement's version; 0 when the batch opens a new statement"
    )
    lines: list[BankLineIn] = Field(min_length=1, max_length=MAX_LINES)


class BankController(Controller):
    path = "/platforms/{platform_id:uuid}/bank-lines"
    tags = ["bank"]
    security = SECURITY

    @post(
        "/",
        operation_id="recordBankLines",
        summary="Record a batch of a statement's lines (the statement opens on first use)",
        status_code=200,
        opt={PERMISSION: Permission.BANK_WRITE},
        responses=responses(*COMMAND_ERRORS),
        sync_to_thread=True,
    )
    def record(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        platform_id: PlatformId,
        data: JSONBody[RecordBankLines],
        idempotency_key: IdempotencyKey,
    ) -> Response[CommandResult]:
        require_reach(principal_of(request), {platform_id}, "this platform")
        lines = [
            BankLine(
                line_no=line.line_no,
                direction=Direction(line.direction),
                kind=BankLineKind(line.kind),
                amount=cents(line.amount),
                counterparty_name=line.counterparty_name,
                counterparty_iban=line.counterparty_iban,
                description=line.description,
                matches=line.matches,
                occurred_on=line.occurred_on,
            )
            for line in data.lines
        ]
        return run(
            services,
            request,
            idempotency_key,
            data,
            lambda actor: services.app.record_bank_lines(
                platform_id=platform_id,
                statement_ref=data.statement_ref,
                lines=lines,
                occurred_on=data.occurred_on,
                actor=actor,
                expected_version=data.expected_version,
            ),
            aggregate_id=BankStatement.id_for(platform_id, data.statement_ref.strip()),
        )
