"""Reading the read models from a request thread."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated
from uuid import UUID

from litestar.params import PathParameter

from projections.store import Doc, ReadModelStore
from service.http.context import Services
from service.http.problems import ApiProblem

COMMAND_ERRORS = (400, 403, 404, 409, 413, 422)
READ_ERRORS = (403, 404, 422)
SECURITY: list[dict[str, list[str]]] = [{"BearerToken": []}]

PlatformId = Annotated[UUID, PathParameter(description="The platform's id")]
GrantId = Annotated[UUID, PathParameter(description="The grant's id")]
ExpenseId = Annotated[UUID, PathParameter(description="The expense's id")]
BudgetId = Annotated[UUID, PathParameter(description="The district budget's id")]


@contextmanager
def read_models(services: Services) -> Iterator[ReadModelStore]:
    with services.pool.connection() as conn:
        yield ReadModelStore(conn)


def get_doc(store: ReadModelStore, projection: str, kind: str, key: UUID, what: str) -> Doc:
    """A read-model document; 404 naming the read model's position when it is not there."""
    generation = store.ensure(projection)
    doc = store.get(projection, generation, kind, str(key))
    if doc is None:
        position = store.position(projection, generation)
        raise ApiProblem(
            404,
            "not_found",
            f"no {what} {key} in the {projection} read model (at position {position})",
            field=f"{kind}_id",
        )
    return doc


def select_docs(
    store: ReadModelStore, projection: str, kind: str, platform: UUID | None = None
) -> list[tuple[str, Doc]]:
    generation = store.ensure(projection)
    return [
        (key, doc)
        for _, key, _, doc in store.select(
            projection, generation, kind, str(platform) if platform else None
        )
    ]
