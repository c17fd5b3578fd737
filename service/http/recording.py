"""The application service, telling the HTTP edge what each command stored.

``save`` is the library's: it returns the recordings (event and position). This subclass
hands them to whoever is capturing in the current context, so that a command's response
can name the events it stored, their versions and positions; a command that creates a
record also names it (the last aggregate of ``_create``) before anything is stored.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import Recording

from service.application import Buurtkas


@dataclass
class Captured:
    """What the commands run in one context stored, and the record one of them created."""

    recordings: list[Recording[UUID]] = field(default_factory=list)
    created: UUID | None = None


_captured: ContextVar[Captured | None] = ContextVar("captured", default=None)


class RecordingBuurtkas(Buurtkas):
    name = "buurtkas"  # the library derives table and setting names from it

    def _create(self, *aggregates: Aggregate, field: str) -> None:
        captured = _captured.get()
        if captured is not None:
            captured.created = aggregates[-1].id
        super()._create(*aggregates, field=field)

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[UUID]]:
        recordings = super().save(*objs, **kwargs)
        captured = _captured.get()
        if captured is not None:
            captured.recordings.extend(recordings)
        return recordings


@contextmanager
def capture() -> Iterator[Captured]:
    """Collect the recordings of every save made in this context."""
    captured = Captured()
    token = _captured.set(captured)
    try:
        yield captured
    finally:
        _captured.reset(token)
