"""Reading platforms: every platform's figures, one platform's balance and status."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency

from service.http.api.reading import (
    READ_ERRORS,
    SECURITY,
    PlatformId,
    get_doc,
    read_at,
    read_models,
    select_docs,
    version_at,
)
from service.http.api.views import (
    PlatformBalance,
    PlatformStatus,
    grant_doc_view,
    grant_status,
    platform_fields,
    recognition_fields,
)
from service.http.auth import PERMISSION, principal_of, require_reach
from service.http.context import Services
from service.http.policy import Permission
from service.http.problems import responses


class PlatformReadController(Controller):
    path = "/platforms"
    tags = ["platforms"]
    security = SECURITY

    @get(
        "/{platform_id:uuid}/balance",
        operation_id="getPlatformBalance",
        summary="A platform's money: received, spent, bank, cash, unexplained; its grants",
        opt={PERMISSION: Permission.BALANCES_READ},
        responses=responses(*READ_ERRORS),
        sync_to_thread=True,
    )
    def balance(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        platform_id: PlatformId,
    ) -> PlatformBalance:
        require_reach(principal_of(request), {platform_id}, "this platform")
        with read_models(services) as store:
            at = read_at(services, store, "balances")
            doc = get_doc(store, "balances", "platform", platform_id, "platform")
            grants = select_docs(store, "balances", "grant", platform_id)
        return PlatformBalance(
            id=platform_id,
            grants=[grant_doc_view(key, g) for key, g in grants],
            read_at=at,
            **platform_fields(doc),
        )

    @get(
        "/{platform_id:uuid}/status",
        operation_id="getPlatformStatus",
        summary="A platform's recognition and its history, members, each grant's state",
        opt={PERMISSION: Permission.STATUS_READ},
        responses=responses(*READ_ERRORS),
        sync_to_thread=True,
    )
    def status(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        platform_id: PlatformId,
    ) -> PlatformStatus:
        require_reach(principal_of(request), {platform_id}, "this platform")
        with read_models(services) as store:
            at = read_at(services, store, "status")
            doc = get_doc(store, "status", "platform", platform_id, "platform")
            grants = select_docs(store, "status", "grant", platform_id)
            version = version_at(services, store, platform_id, at)
        return PlatformStatus(
            id=platform_id,
            version=version,
            read_at=at,
            grants=[grant_status(key, g) for key, g in grants],
            **recognition_fields(doc),
        )
