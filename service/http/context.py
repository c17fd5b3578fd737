"""What the routes share while the service runs: the application service, connections,
idempotency keys, the risk thresholds. Opened in the lifespan, closed with it."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import anyio

from domain.bank import BankStatement
from domain.budget import DistrictBudget
from domain.errors import NotFound
from domain.expense import Expense
from domain.grant import Grant
from domain.matching import BankMatch
from domain.platform import Platform
from domain.risk import RiskConfig
from domain.transfer import PlatformTransfer
from projections.registry import FACTORIES, projection
from projections.store import ReadModelStore
from service.http import idempotency, tokens
from service.http.db import ConnectionPool
from service.http.idempotency import IdempotencyKeys
from service.http.policy import Principal
from service.http.projector import Follower, Projector, ProjectorProcess, projector_env
from service.http.recording import RecordingBuurtkas
from service.settings import Settings, load_risk_config
from service.storage import persistence_env

TOKEN_CACHE_SECONDS = 10.0


@dataclass(frozen=True)
class Owner:
    """What kind of record an id names and the platforms it belongs to."""

    kind: str
    platforms: frozenset[UUID]


@dataclass
class Services:
    settings: Settings
    app: RecordingBuurtkas
    pool: ConnectionPool
    keys: IdempotencyKeys
    risk: RiskConfig
    max_ready_lag: int
    projector: Follower | None = None
    _tokens: dict[str, tuple[Principal, float]] = field(default_factory=dict)

    # Authentication --------------------------------------------------------------------

    async def authenticate(self, token: str) -> Principal | None:
        digest = tokens.token_hash(token)
        cached = self._tokens.get(digest)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        principal = await anyio.to_thread.run_sync(self._lookup, token)
        if principal is not None:
            if len(self._tokens) > 1000:
                self._tokens.clear()
            self._tokens[digest] = (principal, time.monotonic() + TOKEN_CACHE_SECONDS)
        return principal

    def _lookup(self, token: str) -> Principal | None:
        with self.pool.connection() as conn:
            return tokens.lookup(conn, token)

    # The event store ------------------------------------------------------------------

    def version(self, aggregate_id: UUID) -> int:
        """The record's current version (0 when it does not exist)."""
        found = self.app.recorder.select_events(aggregate_id, desc=True, limit=1)
        return int(found[0].originator_version) if found else 0

    def owner(self, aggregate_id: UUID, field: str) -> Owner:
        """The kind and platforms of a record, from its first event; 404 if there is none."""
        found = self.app.recorder.select_events(aggregate_id, limit=1)
        if not found:
            raise NotFound(field, f"no record with id {aggregate_id}")
        first: Any = self.app.mapper.to_domain_event(found[0])
        match first:
            case Platform.Registered():
                return Owner("platform", frozenset({aggregate_id}))
            case Grant.Awarded():
                return Owner("grant", frozenset({first.platform_id}))
            case Expense.Submitted():
                return Owner("expense", frozenset({first.platform_id}))
            case BankStatement.Opened():
                return Owner("statement", frozenset({first.platform_id}))
            case BankMatch.Matched():
                return Owner("match", frozenset({first.platform_id}))
            case PlatformTransfer.Made():
                return Owner("transfer", frozenset({first.from_platform_id, first.to_platform_id}))
            case DistrictBudget.Allocated():
                return Owner("budget", frozenset())
        return Owner("unknown", frozenset())

    def close(self) -> None:
        if self.projector is not None:
            self.projector.close()
        self.pool.close()
        self.app.close()


def open_services(
    settings: Settings,
    *,
    follow_projections: bool,
    max_ready_lag: int,
    projector_process: bool = False,
) -> Services:
    """Open the store, create the service's tables, start the projector if asked: a
    thread of this process, or (``projector_process``) a child process, started once
    the tables exist."""
    env = persistence_env(settings.database_url, create_tables=settings.create_tables)
    app = RecordingBuurtkas(env=env)
    pool = ConnectionPool(app.store_env)
    try:
        with pool.connection() as conn:
            tokens.setup(conn)
            store = ReadModelStore(conn)
            store.setup()
            risk = load_risk_config(settings.risk_config)
            for name in FACTORIES:
                store.ensure(name, projection(name, risk).build())
        idempotency.setup(pool)
    except BaseException:
        pool.close()
        app.close()
        raise
    services = Services(settings, app, pool, IdempotencyKeys(pool), risk, max_ready_lag)
    if follow_projections:
        services.projector = (
            ProjectorProcess(projector_env(settings)).start()
            if projector_process
            else Projector(app, risk).start()
        )
    return services
