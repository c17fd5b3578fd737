"""What a command answers: the record it concerned, its new version, the events stored."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.persistence import Recording
from pydantic import Field

from service.http.api.fields import Reply


class RecordedEvent(Reply):
    position: int = Field(description="The event's position in the store (and the audit log)")
    aggregate_id: UUID
    version: int
    type: str = Field(
        description="The event's stable topic", examples=["buurtkas.grant.TranchePaid"]
    )


class CommandResult(Reply):
    id: UUID = Field(description="The record the command created or changed")
    version: int = Field(description="Its version now: the expected_version of the next change")
    events: list[RecordedEvent]


def command_result(
    aggregate_id: UUID, recordings: list[Recording[UUID]], current: int
) -> CommandResult:
    events = [
        RecordedEvent(
            position=r.notification.id,
            aggregate_id=r.domain_event.originator_id,
            version=r.domain_event.originator_version,
            type=str(getattr(type(r.domain_event), "TOPIC", type(r.domain_event).__name__)),
        )
        for r in recordings
    ]
    own = [e.version for e in events if e.aggregate_id == aggregate_id]
    return CommandResult(id=aggregate_id, version=max(own) if own else current, events=events)
