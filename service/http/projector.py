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
from service.logging import get_logger


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
            follow_together(all_runners, self.stop, self._failed, poll=self.poll)
        finally:
            store.conn.close()

    def _failed(self, runner: Runner, error: Exception) -> None:
        # keep serving; readiness shows the lag
        self.log.error("http.projector_failed", projection=runner.name, error=str(error))


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
    The child stops with the server (SIGTERM, after the fold in progress), and by itself
    as soon as the server that started it is gone, however it ended.
    """

    def __init__(self, *, stop_seconds: float = 30.0) -> None:
        self.stop_seconds = stop_seconds
        self.process: subprocess.Popen[bytes] | None = None
        self.log = get_logger("buurtkas.http")

    def start(self) -> ProjectorProcess:
        command = [sys.executable, "-c", *FOLLOW, "--parent", str(os.getpid())]
        # this same Python, with fixed arguments
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL)  # noqa: S603
        self.log.info("http.projector_started", pid=self.process.pid)
        return self

    def close(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=self.stop_seconds)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.log.info("http.projector_stopped", pid=process.pid, exit_status=process.returncode)
