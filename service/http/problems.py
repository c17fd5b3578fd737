"""RFC 9457 problem documents for every 4xx and 5xx response.

Domain refusals keep their ``field`` and ``rule``; the mapping from error classes to
HTTP statuses lives here and nowhere else. Request validation names every field that
failed. A 5xx never shows the exception; it is logged with the request id instead.
"""

from __future__ import annotations

import re
import traceback
from http import HTTPStatus
from typing import Any

from litestar import Request, Response
from litestar.exceptions.http_exceptions import (
    HTTPException,
    MethodNotAllowedException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    RequestEntityTooLarge,
    ValidationException,
)
from litestar.openapi.datastructures import ResponseSpec
from litestar.types import ExceptionHandlersMap
from pydantic import BaseModel, Field

from audit.seal import SealCorrupted
from domain.errors import (
    AlreadyExists,
    ConcurrentUpdate,
    DomainError,
    GrantRevoked,
    InvalidTransition,
    NotFound,
)
from service.http import patterns
from service.logging import get_logger

MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:buurtkas:problem:"

STATUS_OF: dict[type[DomainError], int] = {
    NotFound: 404,
    AlreadyExists: 409,
    ConcurrentUpdate: 409,
    InvalidTransition: 409,
    GrantRevoked: 409,
    DomainError: 422,
}
"""HTTP status of each domain refusal; the closest class in the error's MRO wins."""

_RULE_OF_STATUS = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "body_too_large",
    422: "invalid_request",
    500: "internal_error",
    503: "unavailable",
}

_RULE_OF_MESSAGE = (
    ("must be a whole number", "type"),
    ("must be more than zero", "invalid_amount"),
    ("must not exceed EUR", "invalid_amount"),
    ("has more than two decimals", "invalid_amount"),
    ("must be true or false", "type"),
    ("Field required", "required"),
    ("Missing required", "required"),
    ("Extra inputs are not permitted", "unknown_field"),
    ("String should have at most", "too_long"),
    ("String should have at least", "too_short"),
    ("String should match pattern", "pattern"),
    ("List should have at most", "too_many_items"),
    ("List should have at least", "too_few_items"),
    ("Input should be greater", "too_small"),
    ("Input should be less", "too_large"),
    ("Expected `int` >=", "too_small"),
    ("Expected `int` <=", "too_large"),
    ("Expected", "type"),
    ("Input should be", "type"),
)


class FieldProblem(BaseModel):
    field: str = Field(description="The field, as a dotted path (``lines.2.amount``)")
    rule: str = Field(description="The rule the value broke")
    message: str
    source: str | None = Field(default=None, description="body, query, path or header")


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    type: str = Field(description="A URI naming the kind of problem (urn:buurtkas:problem:RULE)")
    title: str
    status: int
    detail: str
    instance: str | None = Field(default=None, description="The request path")
    field: str | None = Field(default=None, description="The field the problem concerns")
    rule: str | None = Field(default=None, description="The rule that refused the request")
    errors: list[FieldProblem] | None = Field(
        default=None, description="Every field that failed validation"
    )
    request_id: str | None = None


class ApiProblem(Exception):
    """A refusal decided at the HTTP edge (authorisation scope, idempotency, read models)."""

    def __init__(
        self,
        status: int,
        rule: str,
        detail: str,
        *,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.rule = rule
        self.detail = detail
        self.field = field
        self.headers = headers or {}


def status_of(error: DomainError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS_OF:
            return STATUS_OF[cls]
    return 422


def problem(
    request: Request[Any, Any, Any] | None,
    status: int,
    rule: str,
    detail: str,
    *,
    field: str | None = None,
    errors: list[FieldProblem] | None = None,
) -> Problem:
    return Problem(
        type=TYPE_PREFIX + rule,
        title=HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        instance=request.url.path if request is not None else None,
        field=field,
        rule=rule,
        errors=errors,
        request_id=request_id_of(request),
    )


def request_id_of(request: Request[Any, Any, Any] | None) -> str | None:
    if request is None:
        return None
    value = request.scope.get("state", {}).get("request_id")
    return str(value) if value else None


def respond(doc: Problem, headers: dict[str, str] | None = None) -> Response[dict[str, Any]]:
    return Response(
        doc.model_dump(mode="json", exclude_none=True),
        status_code=doc.status,
        media_type=MEDIA_TYPE,
        headers=headers,
    )


# Handlers -------------------------------------------------------------------------


def on_domain_error(
    request: Request[Any, Any, Any], error: DomainError
) -> Response[dict[str, Any]]:
    return respond(problem(request, status_of(error), error.rule, error.message, field=error.field))


def on_api_problem(request: Request[Any, Any, Any], error: ApiProblem) -> Response[dict[str, Any]]:
    doc = problem(request, error.status, error.rule, error.detail, field=error.field)
    return respond(doc, error.headers)


def field_problems(extra: Any) -> list[FieldProblem]:
    found = []
    for item in extra if isinstance(extra, list) else []:
        if not isinstance(item, dict):
            continue
        message = str(item.get("message", "invalid")).removeprefix("Value error, ")
        if message.startswith("String should match pattern '"):
            pattern = message.removeprefix("String should match pattern '").removesuffix("'")
            message = patterns.MEANING.get(pattern, message)
            rule: str | None = "pattern"
        else:
            rule = None
        rule = rule or next((r for p, r in _RULE_OF_MESSAGE if message.startswith(p)), None)
        source = item.get("source") or "body"
        source = getattr(source, "value", source)  # a parameter's source comes as an enum
        if item.get("key") == "data":  # no body at all
            item = {**item, "key": "body"}
            message, rule = "a JSON object is required", "required"
        found.append(
            FieldProblem(
                field=_field_name(str(item.get("key") or "body"), source),
                rule=rule or "invalid_value",
                message=message,
                source=str(source) if source else None,
            )
        )
    return found


_MISSING = re.compile(r"Missing required (\w+) parameter '([^']+)'")


def _missing_parameter(detail: str) -> list[FieldProblem]:
    match = _MISSING.search(detail)
    if match is None:
        return []
    source, name = match[1], match[2]
    field = "Idempotency-Key" if name.lower() == "idempotency-key" else name
    return [FieldProblem(field=field, rule="required", message="is required", source=source)]


def _field_name(key: str, source: Any) -> str:
    if str(source) == "header" or key == "idempotency_key":
        return "Idempotency-Key" if key == "idempotency_key" else key
    return key


def on_http_exception(
    request: Request[Any, Any, Any], error: HTTPException
) -> Response[dict[str, Any]]:
    status = error.status_code
    if status >= 500:
        return on_internal_error(request, error)
    headers = dict(error.headers or {})
    if isinstance(error, ValidationException):
        errors = field_problems(error.extra) or _missing_parameter(str(error.detail))
        if errors and all(e.field == "Idempotency-Key" for e in errors):
            detail = "every POST needs an Idempotency-Key header (1 to 128 visible characters)"
            doc = problem(request, 400, "idempotency_key_required", detail, field="Idempotency-Key")
            return respond(doc, headers)
        first = errors[0] if errors else None
        detail = "; ".join(f"{e.field}: {e.message}" for e in errors) or str(error.detail)
        doc = problem(
            request,
            422,
            first.rule if first and len(errors) == 1 else "invalid_request",
            detail,
            field=first.field if first else None,
            errors=errors or None,
        )
        return respond(doc, headers)
    if isinstance(error, NotAuthorizedException):
        headers.setdefault("WWW-Authenticate", 'Bearer realm="buurtkas"')
    rule = _RULE_OF_STATUS.get(status, f"http_{status}")
    detail = str(error.detail)
    if isinstance(error, NotFoundException) and detail == "Not Found":
        detail = f"no route {request.method} {request.url.path}"
    elif isinstance(error, MethodNotAllowedException):
        detail = f"{request.method} is not allowed on {request.url.path}"
    elif isinstance(error, RequestEntityTooLarge):
        detail = "the request body exceeds the limit"
    elif isinstance(error, PermissionDeniedException) and not detail:
        detail = "this token's role does not allow this"
    return respond(problem(request, status, rule, detail), headers)


def on_internal_error(
    request: Request[Any, Any, Any], error: Exception
) -> Response[dict[str, Any]]:
    # The traceback as text, not exc_info: a console renderer would show every frame's
    # locals, the request's Authorization header among them.
    get_logger("buurtkas.http").error(
        "http.unhandled_error",
        request_id=request_id_of(request),
        error_type=type(error).__name__,
        exception="".join(traceback.format_exception(error)),
    )
    status = 503 if getattr(error, "status_code", 500) == 503 else 500
    detail = (
        "the service cannot answer now; try again later"
        if status == 503
        else "an unexpected error; it was logged with this request id"
    )
    return respond(problem(request, status, _RULE_OF_STATUS[status], detail))


def on_corrupt_trail(
    request: Request[Any, Any, Any], error: SealCorrupted
) -> Response[dict[str, Any]]:
    # Not a conflict to retry: the seal tables were written outside buurtkas, and every
    # change is refused until someone who can read the report of buurtkas verify acts.
    get_logger("buurtkas.http").critical(
        "audit.seal_refused", request_id=request_id_of(request), error=str(error)
    )
    detail = (
        "this change cannot be sealed into the audit trail, whose seal tables were changed "
        "outside buurtkas; nothing was stored. It was logged with this request id; "
        "buurtkas verify names what differs"
    )
    return respond(problem(request, 500, "audit_trail_corrupted", detail))


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    SealCorrupted: on_corrupt_trail,
    DomainError: on_domain_error,
    ApiProblem: on_api_problem,
    HTTPException: on_http_exception,
    Exception: on_internal_error,
}


# OpenAPI ----------------------------------------------------------------------------

_DESCRIPTIONS = {
    400: "Malformed request (for a POST also: no valid Idempotency-Key header)",
    401: "Missing, unknown or revoked bearer token",
    403: "The token's role or platform does not reach this",
    404: "No such record",
    409: "Conflict: a stale expected_version, a record that exists, a state that does not "
    "allow the change, or a request with this Idempotency-Key still in progress",
    413: "The request body is too large",
    422: "Invalid input or refused by a domain rule; field and rule name it",
    500: "An unexpected error, logged with the request id",
    503: "Not ready",
}


def responses(*statuses: int, public: bool = False) -> dict[int, ResponseSpec]:
    """Documented problem responses of a route: every route may answer 500, every route
    that needs a token 400 and 401 too."""
    wanted = sorted({*statuses, 500} if public else {*statuses, 400, 401, 500})
    return {
        status: ResponseSpec(
            data_container=Problem,
            description=_DESCRIPTIONS[status],
            media_type=MEDIA_TYPE,
            generate_examples=False,
        )
        for status in wanted
    }
