"""Running a command: idempotency key, one application method, the events it stored.

A handler parses the body, checks the token's reach and hands ``run`` one call of the
application service. ``run`` claims the Idempotency-Key, makes the call with the token's
subject as the actor, and answers with the record's new version and the stored events;
a retry with the same key and body gets that same answer and stores nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from uuid import UUID

from litestar import Request, Response
from litestar.datastructures import State
from litestar.params import HeaderParameter
from pydantic import BaseModel

from service.http.api.results import CommandResult, command_result
from service.http.auth import principal_of
from service.http.context import Services
from service.http.idempotency import KEY_PATTERN, Stored, fingerprint
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


def provide_services(state: State) -> Services:
    services: Services = state.services
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
    (a creating action returns the new record's id instead). The status is the route's."""
    status = request.route_handler.status_code
    principal = principal_of(request)
    subject = principal.subject
    print_ = fingerprint(request.method, request.url.path, data.model_dump(mode="json"))
    claim = services.keys.claim(subject, key, print_)
    if isinstance(claim, Stored):
        replayed = CommandResult.model_validate_json(claim.response)
        return Response(replayed, status_code=claim.status, headers={REPLAYED: "true"})
    try:
        with capture() as recordings:
            returned = action(subject)
    except BaseException:
        services.keys.release(subject, key, claim)
        raise
    target = returned if isinstance(returned, UUID) else aggregate_id
    if target is None:
        raise TypeError("a command names the record it changed or returns the one it made")
    result = command_result(target, recordings, services.version(target))
    services.keys.complete(subject, key, claim, status, result.model_dump_json())
    return Response(result, status_code=status)
