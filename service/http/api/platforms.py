"""Platforms: registration, members joining and leaving, declared relatives."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from pydantic import Field, StringConstraints

from domain.values import LegalForm, Role
from service.http import patterns
from service.http.api.fields import (
    Command,
    Day,
    IbanText,
    LegalFormName,
    MemberRoleName,
    Name,
    Version,
)
from service.http.api.reading import (
    COMMAND_ERRORS,
    SECURITY,
    PlatformId,
    read_models,
    select_docs,
)
from service.http.api.results import CommandResult
from service.http.api.views import PlatformFigures, platform_fields
from service.http.auth import PERMISSION, principal_of
from service.http.commands import IdempotencyKey, run
from service.http.context import Services
from service.http.policy import Permission
from service.http.problems import responses

WRITE = {PERMISSION: Permission.PLATFORMS_WRITE}


class RegisterPlatform(Command):
    name: Name
    neighbourhood: Name
    district: Name
    legal_form: LegalFormName
    kvk: Annotated[
        str,
        StringConstraints(pattern=patterns.KVK),
        Field(description="Chamber of Commerce number"),
    ]
    account_iban: IbanText
    occurred_on: Day


class JoinMember(Command):
    person: Name
    role: MemberRoleName
    iban: IbanText | None = None
    occurred_on: Day
    expected_version: Version


class LeaveMember(Command):
    person: Name
    role: MemberRoleName
    occurred_on: Day
    expected_version: Version


class DeclareRelative(Command):
    person: Name = Field(description="The member whose relative this is")
    relative_name: Name
    relative_iban: IbanText | None = None
    occurred_on: Day
    expected_version: Version


class PlatformSummary(PlatformFigures):
    id: UUID


class PlatformController(Controller):
    path = "/platforms"
    tags = ["platforms"]
    security = SECURITY

    @post(
        "/",
        operation_id="registerPlatform",
        summary="Register a neighbourhood platform (a stichting or vereniging)",
        status_code=201,
        opt=WRITE,
        responses=responses(*COMMAND_ERRORS),
        sync_to_thread=True,
    )
    def register(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        data: JSONBody[RegisterPlatform],
        idempotency_key: IdempotencyKey,
    ) -> Response[CommandResult]:
        return run(
            services,
            request,
            idempotency_key,
            data,
            lambda actor: services.app.register_platform(
                name=data.name,
                neighbourhood=data.neighbourhood,
                district=data.district,
                legal_form=LegalForm(data.legal_form),
                kvk=data.kvk,
                account_iban=data.account_iban,
                occurred_on=data.occurred_on,
                actor=actor,
            ),
        )

    @post(
        "/{platform_id:uuid}/memberships",
        operation_id="joinMember",
        summary="A person takes up a role in the platform",
        status_code=200,
        opt=WRITE,
        responses=responses(*COMMAND_ERRORS),
        sync_to_thread=True,
    )
    def join(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        platform_id: PlatformId,
        data: JSONBody[JoinMember],
        idempotency_key: IdempotencyKey,
    ) -> Response[CommandResult]:
        return run(
            services,
            request,
            idempotency_key,
            data,
            lambda actor: services.app.join_member(
                platform_id,
                person=data.person,
                role=Role(data.role),
                iban=data.iban,
                occurred_on=data.occurred_on,
                actor=actor,
                expected_version=data.expected_version,
            ),
            aggregate_id=platform_id,
        )

    @post(
        "/{platform_id:uuid}/departures",
        operation_id="leaveMember",
        summary="A person gives up a role in the platform",
        status_code=200,
        opt=WRITE,
        responses=responses(*COMMAND_ERRORS),
        sync_to_thread=True,
    )
    def leave(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        platform_id: PlatformId,
        data: JSONBody[LeaveMember],
        idempotency_key: IdempotencyKey,
    ) -> Response[CommandResult]:
        return run(
            services,
            request,
            idempotency_key,
            data,
            lambda actor: services.app.leave_member(
                platform_id,
                person=data.person,
                role=Role(data.role),
                occurred_on=data.occurred_on,
                actor=actor,
                expected_version=data.expected_version,
            ),
            aggregate_id=platform_id,
        )

    @post(
        "/{platform_id:uuid}/relatives",
        operation_id="declareRelative",
        summary="Declare a member's relative (a related party for the risk rules)",
        status_code=200,
        opt=WRITE,
        responses=responses(*COMMAND_ERRORS),
        sync_to_thread=True,
    )
    def declare_relative(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        platform_id: PlatformId,
        data: JSONBody[DeclareRelative],
        idempotency_key: IdempotencyKey,
    ) -> Response[CommandResult]:
        return run(
            services,
            request,
            idempotency_key,
            data,
            lambda actor: services.app.declare_relative(
                platform_id,
                person=data.person,
                relative_name=data.relative_name,
                relative_iban=data.relative_iban,
                occurred_on=data.occurred_on,
                actor=actor,
                expected_version=data.expected_version,
            ),
            aggregate_id=platform_id,
        )

    @get(
        "/",
        operation_id="listPlatforms",
        summary="Every platform's figures (a treasurer sees its own platform only)",
        opt={PERMISSION: Permission.BALANCES_READ},
        responses=responses(403),
        sync_to_thread=True,
    )
    def list_platforms(
        self, request: Request[Any, Any, Any], services: NamedDependency[Services]
    ) -> list[PlatformSummary]:
        principal = principal_of(request)
        with read_models(services) as store:
            docs = select_docs(store, "balances", "platform")
        return [
            PlatformSummary(id=UUID(key), **platform_fields(doc))
            for key, doc in docs
            if "name" in doc and principal.reaches({UUID(key)})
        ]
