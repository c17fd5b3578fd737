"""What a command answers: the record it concerned, its new version, the events stored."""

from __future__ import annotations

from uuid import UUID

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
