"""Keeps the read models up to date while the service runs (one background thread)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from abc import ABC, abstractmethod
from typing import Any

from domain.risk import RiskConfig
from projections.registry import open_store, runners
from projections.runner import Runner, follow_together
from projections.store import StaleReadModel
from service.logging import get_logger
from service.settings import Settings


class Follower(ABC):
    """What keeps the read models current while the service runs, until it is closed."""

    @abstractmethod
    def close(self) -> None:
        """Stop following (after the fold in progress)."""


class Projector(Follower):
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
            follow_together(
                all_runners,
                self.stop,
                self._failed,
                poll=self.poll,
                rebuilding=self._rebuilding,
                superseded=self._superseded,
            )
        finally:
            store.conn.close()

    def _failed(self, runner: Runner, error: Exception) -> None:
        # keep serving; readiness shows the lag
        self.log.error("http.projector_failed", projection=runner.name, error=str(error))

    def _superseded(self, runner: Runner, stale: StaleReadModel) -> None:
        self.log.error(
            "http.projector_superseded",
            projection=runner.name,
            active=stale.built,
            wanted=stale.wanted,
        )

    def _rebuilding(self, runner: Runner, stale: StaleReadModel) -> None:
        self.log.warning(
            "http.projector_rebuilding",
            projection=runner.name,
            built=stale.built,
            wanted=stale.wanted,
        )


FOLLOW = (
    "import sys; from service.cli import main; sys.exit(main(sys.argv[1:]))",
    "project",
    "--follow",
)
"""``buurtkas project --follow``, run by this Python whatever the installed scripts."""


class ProjectorProcess(Follower):
    """``buurtkas project --follow`` as a child process of the server.

    The read models are then folded beside the requests, on the machine's other core,
    instead of taking the interpreter lock from them in a thread of the serving process.
    The child follows the database of ``env`` (the server's settings). It stops with the
    server (SIGTERM, after the fold in progress), and by itself as soon as the server
    that started it is gone, however it ended. A child that ends while the server runs is
    logged (``http.projector_exited``) and started again after ``restart_seconds``.
    """

    def __init__(
        self,
        env: dict[str, str] | None = None,
        *,
        stop_seconds: float = 30.0,
        restart_seconds: float = 5.0,
    ) -> None:
        self.env = env
        self.stop_seconds = stop_seconds
        self.restart_seconds = restart_seconds
        self.process: subprocess.Popen[bytes] | None = None
        self.closing = threading.Event()
        self.lock = threading.Lock()
        self.watcher = threading.Thread(
            target=self._watch, name="buurtkas-projector-watch", daemon=True
        )
        self.log = get_logger("buurtkas.http")

    def start(self) -> ProjectorProcess:
        with self.lock:
            self._spawn()
        self.watcher.start()
        return self

    def _spawn(self) -> subprocess.Popen[bytes]:
        # this same Python, with fixed arguments (-P: not the working directory's modules)
        command = [sys.executable, "-P", "-c", *FOLLOW, "--parent", str(os.getpid())]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, env=self.env)  # noqa: S603
        self.process = process
        self.log.info("http.projector_started", pid=process.pid)
        return process

    def _watch(self) -> None:
        process = self.process
        while process is not None:
            status = process.wait()
            if self.closing.is_set():
                return
            self.log.error("http.projector_exited", pid=process.pid, exit_status=status)
            if self.closing.wait(self.restart_seconds):
                return
            with self.lock:
                process = None if self.closing.is_set() else self._spawn()

    def close(self) -> None:
        self.closing.set()
        with self.lock:
            process, self.process = self.process, None
        if process is not None:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=self.stop_seconds)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            self.log.info("http.projector_stopped", pid=process.pid, exit_status=process.returncode)
        if self.watcher.is_alive():
            self.watcher.join(timeout=self.stop_seconds)


def projector_env(settings: Settings) -> dict[str, str]:
    """The environment of a projector child: the server's, with its database and risk
    thresholds as ``settings`` name them."""
    env = {**os.environ, "BUURTKAS_DATABASE_URL": settings.database_url}
    if settings.risk_config:
        env["BUURTKAS_RISK_CONFIG"] = settings.risk_config
    return env
