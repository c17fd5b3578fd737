"""The application service, telling the HTTP edge what each command stored.

``save`` is the library's: it returns the recordings (event and position). This subclass
hands them to whoever is capturing in the current context, so that a command's response
can name the events it stored, their versions and positions.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Recording

from service.application import Buurtkas

_captured: ContextVar[list[Recording[UUID]] | None] = ContextVar("recordings", default=None)


class RecordingBuurtkas(Buurtkas):
    name = "buurtkas"  # the library derives table and setting names from it

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[UUID]]:
        recordings = super().save(*objs, **kwargs)
        captured = _captured.get()
        if captured is not None:
            captured.extend(recordings)
        return recordings


@contextmanager
def capture() -> Iterator[list[Recording[UUID]]]:
    """Collect the recordings of every save made in this context."""
    recordings: list[Recording[UUID]] = []
    token = _captured.set(recordings)
    try:
        yield recordings
    finally:
        _captured.reset(token)
