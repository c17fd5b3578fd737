"""Reading the read models from a request thread."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated
from uuid import UUID

from litestar.params import PathParameter
from pydantic import Field

from projections.events import EventSource
from projections.store import Doc, ReadModelStore
from service.http.api.fields import Reply
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


class ReadAt(Reply):
    """How current the figures of a read are (read before them: they are at least this
    current)."""

    position: int = Field(description="The last event the read model had folded")
    head: int = Field(description="The last event stored at that moment")
    lag: int = Field(description="Events stored that the figures may not show yet")


def read_at(services: Services, store: ReadModelStore, projection: str) -> ReadAt:
    generation = store.ensure(projection)
    position = store.position(projection, generation)
    head = max(position, int(services.app.recorder.max_notification_id() or 0))
    return ReadAt(position=position, head=head, lag=head - position)


def version_at(services: Services, store: ReadModelStore, record: UUID, at: ReadAt) -> int:
    """The record's version as the read model had folded it: the ``expected_version`` of a
    change decided on what the read showed (one decided on older figures is refused)."""
    return EventSource(services.app, store.conn).version_at(record, at.position)
