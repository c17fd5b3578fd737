"""A platform's history: its events with positions (cursor-paginated), and its replay as
of a business date or a recorded position."""

from __future__ import annotations

from bisect import bisect_right
from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from pydantic import Field

from domain.money import Money
from projections.replay import platform_positions, read_positions, replay_platform
from service.http.api.fields import MAX_POSITION, MoneyText, Reply, money
from service.http.api.reading import READ_ERRORS, SECURITY, PlatformId, read_models
from service.http.api.risk import FindingView, RiskScore, finding_view
from service.http.api.views import (
    GrantFigures,
    PlatformFigures,
    RecognitionView,
    figures_fields,
    grant_view,
    recognition_fields,
)
from service.http.auth import PERMISSION, principal_of, require_reach
from service.http.context import Services
from service.http.policy import Permission
from service.http.problems import ApiProblem, responses
from service.reports import summarise

MAX_PAGE = 500


class EventLine(Reply):
    position: int
    aggregate_id: UUID
    version: int
    type: str
    occurred_on: date = Field(description="The business date")
    recorded_at: datetime
    actor: str = Field(description="The subject of the token (or the user) that caused it")
    amount: MoneyText | None
    summary: str


class EventPage(Reply):
    items: list[EventLine]
    next_cursor: int | None = Field(
        description="Pass as cursor for the next page; null on the last page"
    )


class ReplayView(Reply):
    platform_id: UUID
    as_of: date | None
    position: int | None
    events: int = Field(description="The platform's events folded")
    last_position: int
    balance: PlatformFigures
    grants: list[GrantFigures]
    recognition: RecognitionView
    findings: list[FindingView]
    score: RiskScore


def event_line(position: int, event: Any) -> EventLine:
    amount = getattr(event, "amount", None)
    return EventLine(
        position=position,
        aggregate_id=event.originator_id,
        version=event.originator_version,
        type=str(getattr(type(event), "TOPIC", type(event).__name__)),
        occurred_on=event.occurred_on,
        recorded_at=event.timestamp,
        actor=event.actor,
        amount=money(amount.cents) if isinstance(amount, Money) else None,
        summary=summarise(event),
    )


class HistoryController(Controller):
    path = "/platforms/{platform_id:uuid}"
    tags = ["history"]
    security = SECURITY

    def _platform(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        platform_id: UUID,
    ) -> None:
        require_reach(principal_of(request), {platform_id}, "this platform")
        if services.owner(platform_id, "platform_id").kind != "platform":
            raise ApiProblem(
                404, "not_found", f"{platform_id} is not a platform", field="platform_id"
            )

    @get(
        "/events",
        operation_id="listPlatformEvents",
        summary="A platform's events in store order, with positions (cursor-paginated)",
        opt={PERMISSION: Permission.EVENTS_READ},
        responses=responses(*READ_ERRORS),
        sync_to_thread=True,
    )
    def events(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        platform_id: PlatformId,
        cursor: Annotated[
            int,
            QueryParameter(
                ge=0,
                le=MAX_POSITION,
                description="Start after this position (next_cursor of a page)",
            ),
        ] = 0,
        limit: Annotated[
            int, QueryParameter(ge=1, le=MAX_PAGE, description="Events per page")
        ] = 100,
    ) -> EventPage:
        self._platform(request, services, platform_id)
        with read_models(services) as store:
            positions = platform_positions(services.app, store, platform_id)
            start = bisect_right(positions, cursor)
            page = positions[start : start + limit]
            events = read_positions(services.app, store, page)
        more = start + limit < len(positions)
        return EventPage(
            items=[event_line(p, e) for p, e in events],
            next_cursor=page[-1] if more and page else None,
        )

    @get(
        "/replay",
        operation_id="replayPlatform",
        summary="A platform computed only from its events up to a business date or position",
        description="as_of: every event whose business date is on or before it; position: "
        "every event stored up to it. Exactly one of the two.",
        opt={PERMISSION: Permission.REPLAY_READ},
        responses=responses(*READ_ERRORS),
        sync_to_thread=True,
    )
    def replay(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        platform_id: PlatformId,
        as_of: Annotated[
            date | None, QueryParameter(description="Business date, YYYY-MM-DD")
        ] = None,
        position: Annotated[
            int | None,
            QueryParameter(ge=1, le=MAX_POSITION, description="Recorded position in the store"),
        ] = None,
    ) -> ReplayView:
        if (as_of is None) == (position is None):
            raise ApiProblem(
                422,
                "one_time_axis",
                "give exactly one of as_of (a business date) or position",
                field="as_of",
            )
        self._platform(request, services, platform_id)
        with read_models(services) as store:
            result = replay_platform(
                services.app,
                store,
                platform_id,
                as_of=as_of,
                position=position,
                risk=services.risk,
            )
        name = str(result.balances.get("name") or "")
        return ReplayView(
            platform_id=platform_id,
            as_of=as_of,
            position=position,
            events=result.events,
            last_position=result.last_position,
            balance=PlatformFigures(**figures_fields(result.balances)),
            grants=[grant_view(None, g) for g in result.grants],
            recognition=RecognitionView(**recognition_fields(result.status)),
            findings=[finding_view(platform_id, name, f) for f in result.signals["findings"]],
            score=RiskScore(**result.signals["score"])
            if result.signals.get("score")
            else RiskScore(score=0, level="none", strong=0, medium=0, weak=0),
        )
