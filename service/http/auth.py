"""Authentication (bearer tokens) and authorisation (a role's permissions, a platform's reach).

The middleware turns ``Authorization: Bearer TOKEN`` into a ``Principal`` on the request
(``request.user``); the guard checks the route's permission against the token's role
before the request body is even read; handlers check a treasurer's platform once they know
which platform a record belongs to. The token itself is never stored on the request.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from service.http.policy import Permission, Principal
from service.http.problems import ApiProblem

PERMISSION = "permission"
"""The ``opt`` key naming a route's permission."""
PUBLIC = "exclude_from_auth"
"""The ``opt`` key of routes that need no token (health checks)."""


class BearerTokenAuth(AbstractAuthenticationMiddleware):
    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        header = connection.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotAuthorizedException("send a bearer token: Authorization: Bearer TOKEN")
        principal = await connection.app.state.services.authenticate(token.strip())
        if principal is None:
            raise NotAuthorizedException(
                "the bearer token is unknown or revoked",
                headers={"WWW-Authenticate": 'Bearer realm="buurtkas", error="invalid_token"'},
            )
        return AuthenticationResult(user=principal, auth=principal.token_id)


async def authorize(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """Guard: the token's role must hold the route's permission.

    A coroutine, though it never waits: Litestar runs a plain function guard in a worker
    thread, a hop that costs more than the check."""
    permission = handler.opt.get(PERMISSION)
    if permission is None:
        return
    principal: Principal = connection.user
    if not principal.may(Permission(permission)):
        raise PermissionDeniedException(
            f"the {principal.role.value} role does not have the permission {permission}"
        )


def principal_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    user = connection.scope.get("user")
    if not isinstance(user, Principal):
        raise NotAuthorizedException("send a bearer token: Authorization: Bearer TOKEN")
    return user


def require_reach(principal: Principal, platforms: set[UUID], what: str) -> None:
    """Refuse a platform-bound token the records of other platforms (403)."""
    if not principal.reaches(platforms):
        raise ApiProblem(
            403,
            "outside_platform",
            f"this {principal.role.value} token serves another platform; {what} is outside it",
        )
