"""One structured log line per request: ``http.request``.

With the request id (taken from a well-formed ``X-Request-ID`` header or made up, and
sent back in the response), the route template, the status, the duration and the
token's subject. Never the token, the body or the query string; IBANs are masked by the
logging configuration.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from service.http.policy import Principal
from service.logging import get_logger

ASGIApp = Callable[[Any, Any, Any], Awaitable[None]]
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
HEADER = b"x-request-id"


def request_id_from(scope: dict[str, Any]) -> str:
    for name, value in scope.get("headers", []):
        if name == HEADER:
            text = str(value.decode("latin-1"))
            if _REQUEST_ID.fullmatch(text):
                return text
    return uuid.uuid4().hex


async def log_request(app: ASGIApp, scope: dict[str, Any], receive: Any, send: Any) -> None:
    request_id = request_id_from(scope)
    scope.setdefault("state", {})["request_id"] = request_id
    status = 500
    started = time.perf_counter()

    async def send_with_id(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])
            headers = [h for h in message.get("headers", []) if h[0].lower() != HEADER]
            message = {**message, "headers": [*headers, (HEADER, request_id.encode())]}
        await send(message)

    with structlog.contextvars.bound_contextvars(request_id=request_id):
        try:
            await app(scope, receive, send_with_id)
        finally:
            user = scope.get("user")
            principal = user if isinstance(user, Principal) else None
            log = get_logger("buurtkas.http")
            emit = log.error if status >= 500 else log.info
            emit(
                "http.request",
                method=scope.get("method"),
                route=scope.get("path_template") or None,
                path=scope.get("path"),
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
                actor=principal.subject if principal else None,
                role=principal.role.value if principal else None,
            )
