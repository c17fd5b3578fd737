"""The application factory: ``create_app(settings)`` builds the Litestar service.

Nothing runs at import. The lifespan opens the application service, the connection pool
and the service's tables (and, when asked, the projector: a thread, or a child process),
and closes them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import anyio
from litestar import Litestar
from litestar.datastructures import ResponseHeader, State
from litestar.di import Provide
from litestar.middleware import DefineMiddleware

from service.http.api.audit import AuditController
from service.http.api.bank import BankController
from service.http.api.budgets import BudgetController
from service.http.api.expenses import ExpenseController
from service.http.api.grant_reads import GrantReadController
from service.http.api.grants import GrantController
from service.http.api.health import HealthController, ProjectionController
from service.http.api.history import HistoryController
from service.http.api.platform_reads import PlatformReadController
from service.http.api.platforms import PlatformController
from service.http.api.recognition import RecognitionController
from service.http.api.risk import RiskController
from service.http.api.transfers import CorrectionController, TransferController
from service.http.auth import BearerTokenAuth, authorize
from service.http.bodies import refuse_undecodable_bodies
from service.http.commands import REPLAYED, provide_services
from service.http.context import open_services
from service.http.openapi import ClosedCommandSchemas, openapi_config
from service.http.problems import EXCEPTION_HANDLERS
from service.http.requestlog import log_request
from service.settings import Settings

MAX_BODY_BYTES = 1_048_576

CONTROLLERS = [
    PlatformController,
    PlatformReadController,
    RecognitionController,
    BudgetController,
    GrantController,
    GrantReadController,
    ExpenseController,
    BankController,
    TransferController,
    CorrectionController,
    HistoryController,
    RiskController,
    AuditController,
    ProjectionController,
    HealthController,
]


class BuurtkasService(Litestar):
    """Litestar, with one ``http.request`` log line for every request (routed or not)."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            await log_request(super().__call__, scope, receive, send)
        else:
            await super().__call__(scope, receive, send)


@asynccontextmanager
async def lifespan(app: Litestar) -> AsyncIterator[None]:
    """Open what ``app.state`` names (settings, projector, readiness lag); close it after."""
    services = await anyio.to_thread.run_sync(
        partial(
            open_services,
            app.state.settings,
            follow_projections=app.state.follow_projections,
            max_ready_lag=app.state.max_ready_lag,
            projector_process=app.state.projector_process,
        )
    )
    app.state.services = services
    try:
        yield
    finally:
        await anyio.to_thread.run_sync(services.close)


def create_app(
    settings: Settings,
    *,
    follow_projections: bool = True,
    max_ready_lag: int = 1000,
    projector_process: bool = False,
) -> Litestar:
    """The HTTP service over the database ``settings`` name.

    ``follow_projections`` runs the projector that keeps the read models current: a
    thread, or with ``projector_process`` a child process (``buurtkas project --follow``);
    ``max_ready_lag`` is the largest read-model lag at which ``/health/ready`` says ready.
    Nothing is opened until the lifespan starts.
    """
    return BuurtkasService(
        route_handlers=CONTROLLERS,
        lifespan=[lifespan],
        state=State(
            {
                "settings": settings,
                "follow_projections": follow_projections,
                "max_ready_lag": max_ready_lag,
                "projector_process": projector_process,
            }
        ),
        dependencies={"services": Provide(provide_services, sync_to_thread=False)},
        middleware=[DefineMiddleware(BearerTokenAuth, exclude=["^/schema"])],
        guards=[authorize],
        before_request=refuse_undecodable_bodies,
        exception_handlers=EXCEPTION_HANDLERS,
        openapi_config=openapi_config(),
        plugins=[ClosedCommandSchemas()],
        response_headers=[
            ResponseHeader(
                name="X-Request-ID",
                documentation_only=True,
                description="The request's id (the one sent, when well-formed); also in logs "
                "and problem documents",
            ),
            ResponseHeader(
                name=REPLAYED,
                documentation_only=True,
                description="true on a POST answered from its Idempotency-Key's first response",
            ),
        ],
        request_max_body_size=MAX_BODY_BYTES,
        logging_config=None,
    )


def create_worker_app() -> Litestar:
    """One of several server processes (``buurtkas serve --workers N``), built in the worker.

    Settings come from the environment, as in the process that started the workers, which
    already made the tables and runs the projector: workers only serve requests. They never
    create tables: workers starting together would race on PostgreSQL's catalogue.
    """
    from service.logging import configure_logging
    from service.settings import load_settings

    settings = load_settings().model_copy(update={"create_tables": False})
    configure_logging(settings)
    return create_app(settings, follow_projections=False)
