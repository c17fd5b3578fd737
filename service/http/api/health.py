"""Liveness and readiness (public: no token), and the read models' positions and lag."""

from __future__ import annotations

from litestar import Controller, get
from litestar.di import NamedDependency
from pydantic import Field

from projections.registry import FACTORIES, projection
from projections.store import made_by
from service.http.api.fields import Reply
from service.http.api.reading import SECURITY, read_models
from service.http.auth import PERMISSION, PUBLIC
from service.http.context import Services
from service.http.policy import Permission
from service.http.problems import ApiProblem, responses


class Live(Reply):
    status: str = Field(examples=["live"])


class ProjectionStatus(Reply):
    projection: str
    generation: int
    position: int = Field(description="The last event folded into this read model")
    head: int = Field(description="The last event in the store")
    lag: int = Field(description="Events not yet folded")
    build: str | None = Field(
        description="The build (version, and risk configuration for the signals) that made "
        "this generation; null when not recorded yet"
    )
    current: bool = Field(
        description="Whether that is the service's build; if not, the projector (or "
        "`buurtkas project`) rebuilds the read model side by side and this generation is "
        "served until the swap (its lag does not count against readiness)"
    )
    rebuild_position: int | None = Field(
        default=None,
        description="When not current: how far the side-by-side rebuild by the service's "
        "build has got (null: none has begun)",
    )


class Ready(Reply):
    status: str = Field(examples=["ready"])
    head: int
    max_lag: int = Field(description="The largest lag at which the service calls itself ready")
    projections: list[ProjectionStatus]


def projection_status(services: Services) -> list[ProjectionStatus]:
    head = int(services.app.recorder.max_notification_id() or 0)
    found = []
    with read_models(services) as store:
        for name in FACTORIES:
            generation, build = store.ensure_built(name)
            position = store.position(name, generation)
            wanted = projection(name, services.risk).build()
            current = made_by(build, position, wanted)
            rebuild = None if current else store.rebuild_under_way(name, wanted)
            found.append(
                ProjectionStatus(
                    projection=name,
                    generation=generation,
                    position=position,
                    head=head,
                    lag=max(0, head - position),
                    build=build,
                    current=current,
                    rebuild_position=None if rebuild is None else rebuild[1],
                )
            )
    return found


class HealthController(Controller):
    path = "/health"
    tags = ["health"]

    @get(
        "/live",
        operation_id="live",
        summary="The process answers",
        opt={PUBLIC: True},
        responses=responses(public=True),
    )
    async def live(self) -> Live:
        return Live(status="live")

    @get(
        "/ready",
        operation_id="ready",
        summary="The database answers and the current read models are not too far behind",
        opt={PUBLIC: True},
        responses=responses(503, public=True),
        sync_to_thread=True,
    )
    def ready(self, services: NamedDependency[Services]) -> Ready:
        try:
            found = projection_status(services)
        except Exception as error:
            raise ApiProblem(
                503, "database_unavailable", f"the database does not answer: {type(error).__name__}"
            ) from None
        # a read model another build made is served as it stands until its rebuild is
        # swapped in (its rows name that build): only current ones must keep up
        worst = max((p.lag for p in found if p.current), default=0)
        if worst > services.max_ready_lag:
            raise ApiProblem(
                503,
                "projections_behind",
                f"the read models are {worst} events behind (ready at {services.max_ready_lag})",
            )
        head = found[0].head if found else 0
        return Ready(status="ready", head=head, max_lag=services.max_ready_lag, projections=found)


class ProjectionController(Controller):
    path = "/projections"
    tags = ["projections"]
    security = SECURITY

    @get(
        "/",
        operation_id="listProjections",
        summary="Each read model's generation, position, the store's head and the lag",
        opt={PERMISSION: Permission.PROJECTIONS_READ},
        responses=responses(403),
        sync_to_thread=True,
    )
    def list_projections(self, services: NamedDependency[Services]) -> list[ProjectionStatus]:
        return projection_status(services)
