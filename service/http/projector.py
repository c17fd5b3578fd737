"""Keeps the read models up to date while the service runs (one background thread)."""

from __future__ import annotations

import threading
from typing import Any

from domain.risk import RiskConfig
from projections.registry import open_store, runners
from projections.runner import Runner, follow_together
from service.logging import get_logger


class Projector:
    """Polls the store and folds new events into every read model, batch by batch.

    While commands arrive it folds what came in the last ``poll`` seconds as one batch,
    rather than one batch per command: the read models then trail the store by about
    ``poll`` seconds, and the cost per event stays that of a batch. Only a full batch
    (a backlog) is followed at once by the next.

    Another projection process may run too: a batch it committed first is simply skipped
    (the runners' tracking positions make that safe).
    """

    def __init__(
        self, app: Any, risk: RiskConfig, *, poll: float = 0.25, batch_size: int = 1000
    ) -> None:
        self.app = app
        self.risk = risk
        self.poll = poll
        self.batch_size = batch_size
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="buurtkas-projector", daemon=True)
        self.log = get_logger("buurtkas.http")

    def start(self) -> Projector:
        self.thread.start()
        return self

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=30)

    def _run(self) -> None:
        store = open_store(self.app.store_env)
        try:
            all_runners = runners(self.app, store, self.batch_size, self.risk)
            follow_together(all_runners, self.stop, self._failed, poll=self.poll)
        finally:
            store.conn.close()

    def _failed(self, runner: Runner, error: Exception) -> None:
        # keep serving; readiness shows the lag
        self.log.error("http.projector_failed", projection=runner.name, error=str(error))
