"""Reading one grant: its figures, platform, budget and version."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from pydantic import Field

from service.http.api.reading import (
    READ_ERRORS,
    SECURITY,
    GrantId,
    ReadAt,
    get_doc,
    read_at,
    read_models,
    version_at,
)
from service.http.api.views import GrantFigures, grant_doc_view
from service.http.auth import PERMISSION, principal_of, require_reach
from service.http.context import Services
from service.http.policy import Permission
from service.http.problems import responses


class GrantView(GrantFigures):
    platform_id: UUID
    budget_id: UUID
    version: int = Field(
        description="The grant's version as the read model folded it (read_at): "
        "expected_version of a change decided on this view"
    )
    read_at: ReadAt


class GrantReadController(Controller):
    path = "/grants"
    tags = ["grants"]
    security = SECURITY

    @get(
        "/{grant_id:uuid}",
        operation_id="getGrant",
        summary="A grant's figures: awarded, tranches paid, spent, unspent, settled, recovery",
        opt={PERMISSION: Permission.BALANCES_READ},
        responses=responses(*READ_ERRORS),
        sync_to_thread=True,
    )
    def get_grant(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        grant_id: GrantId,
    ) -> GrantView:
        owner = services.owner(grant_id, "grant_id")
        require_reach(principal_of(request), set(owner.platforms), "this grant")
        with read_models(services) as store:
            at = read_at(services, store, "balances")
            doc = get_doc(store, "balances", "grant", grant_id, "grant")
            version = version_at(services, store, grant_id, at)
        figures = grant_doc_view(str(grant_id), doc)
        return GrantView(
            **figures.model_dump(),
            platform_id=UUID(doc["platform_id"]),
            budget_id=UUID(doc["budget_id"]),
            version=version,
            read_at=at,
        )
