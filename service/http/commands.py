"""Running a command: idempotency key, one application method, the events it stored.

A handler parses the body, checks the token's reach and hands ``run`` one call of the
application service. ``run`` makes the call with the token's subject as the actor, and
answers with the record's new version and the stored events, which the append itself
stores under the key. A retry with the same key and body gets that same answer and
stores nothing: its append is refused by the key's row (or the command itself is
refused, its change having been made), and only then is the key looked up. A first
request therefore costs no lookup.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from uuid import UUID

from litestar import Request, Response
from litestar.params import HeaderParameter
from pydantic import BaseModel

from audit.recorders import in_append_transaction
from service.http.api.results import CommandResult
from service.http.auth import principal_of
from service.http.context import Services
from service.http.idempotency import KEY_PATTERN, Pending, Stored, fingerprint
from service.http.recording import capture

IdempotencyKey = Annotated[
    str,
    HeaderParameter(
        name="Idempotency-Key",
        pattern=KEY_PATTERN,
        min_length=1,
        max_length=128,
        description="A key unique to this intended change (a UUID, say). A retry with the "
        "same key and body gets the first response and stores nothing; the same key with "
        "another body is refused (422).",
    ),
]

REPLAYED = "Idempotent-Replayed"


def provide_services(request: Request[Any, Any, Any]) -> Services:
    """The services the lifespan opened. (Read through the request: a ``state``
    parameter would have Litestar copy the application's state for every request.)"""
    services: Services = request.app.state.services
    return services


def run(
    services: Services,
    request: Request[Any, Any, Any],
    key: str,
    data: BaseModel,
    action: Callable[[str], object],
    *,
    aggregate_id: UUID | None = None,
) -> Response[CommandResult]:
    """Run ``action(actor)`` once for this key; ``aggregate_id`` names the changed record
    (a creating action names the new one itself). The status is the route's."""
    status = request.route_handler.status_code
    subject = principal_of(request).subject
    print_ = fingerprint(request.method, request.url.path, data.model_dump(mode="json"))
    with capture() as captured:
        pending = Pending(subject, key, print_, status, aggregate_id, captured)
        try:
            with in_append_transaction(pending):
                returned = action(subject)
        except Exception:
            # The key may have been used: by this request's first try, or by a concurrent
            # request that won. Its stored row refused this append (or the command was
            # refused, having been carried out already), so the first answer is replayed.
            stored = services.keys.find(subject, key, print_)
            if stored is not None:
                return replay(stored)
            raise
    result = pending.result
    if result is None:
        raise RuntimeError("the command stored nothing")
    if isinstance(returned, UUID) and returned != result.id:
        raise RuntimeError(f"the command created {returned}, not the {result.id} it named")
    return Response(result, status_code=status)


def replay(stored: Stored) -> Response[CommandResult]:
    replayed = CommandResult.model_validate_json(stored.response)
    return Response(replayed, status_code=stored.status, headers={REPLAYED: "true"})
