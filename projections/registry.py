"""The read models buurtkas keeps, and how to open their store and runners."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from domain.risk import RiskConfig
from projections.balances import Balances
from projections.base import Projection
from projections.db import connect
from projections.events import EventSource
from projections.index import PlatformIndex
from projections.runner import Runner
from projections.signals import Signals
from projections.status import Status
from projections.store import ReadModelStore

FACTORIES: dict[str, Callable[[], Projection]] = {
    "balances": Balances,
    "status": Status,
    "signals": lambda: Signals(RiskConfig()),
    "platform_index": PlatformIndex,
}


class UnknownProjection(KeyError):
    pass


def open_store(env: dict[str, str]) -> ReadModelStore:
    store = ReadModelStore(connect(env), lambda: connect(env, committing=True), env=env)
    store.setup()
    return store


def projection(name: str, risk: RiskConfig | None = None) -> Projection:
    """The read model ``name``; the signals use ``risk`` thresholds (default ones if None)."""
    if name == "signals" and risk is not None:
        return Signals(risk)
    try:
        return FACTORIES[name]()
    except KeyError:
        known = ", ".join(FACTORIES)
        raise UnknownProjection(f"projection: no read model {name!r} (known: {known})") from None


def runner(
    app: Any,
    store: ReadModelStore,
    name: str,
    batch_size: int = 1000,
    risk: RiskConfig | None = None,
) -> Runner:
    folded = projection(name, risk)
    return Runner(EventSource(app, store.conn, folded.reads), store, folded, batch_size=batch_size)


def runners(
    app: Any, store: ReadModelStore, batch_size: int = 1000, risk: RiskConfig | None = None
) -> list[Runner]:
    return [runner(app, store, name, batch_size, risk) for name in FACTORIES]
