"""A served instance: ``buurtkas serve`` (uvicorn) in a subprocess, and clients of it.

``served(database_url)`` issues tokens with ``buurtkas token create``, starts the server on
a free port, waits until ``/health/live`` answers and stops the server afterwards, always.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

BUURTKAS = str(Path(sys.executable).with_name("buurtkas"))
STARTUP_SECONDS = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def buurtkas_env(database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "BUURTKAS_DATABASE_URL": database_url,
        "BUURTKAS_LOG_FORMAT": "json",
        "BUURTKAS_LOG_LEVEL": "warning",
    }


def create_token(database_url: str, role: str, subject: str, platform: str | None = None) -> str:
    command = [BUURTKAS, "token", "create", "--role", role, "--subject", subject]
    if platform:
        command += ["--platform", platform]
    done = subprocess.run(
        command, env=buurtkas_env(database_url), capture_output=True, text=True, check=True
    )
    return done.stdout.strip().splitlines()[-1]


@dataclass
class Served:
    """A client of the served instance, posting and reading as one of its tokens."""

    base_url: str
    tokens: dict[str, str]
    client: httpx.Client
    pid: int
    """The server's process (the first, with workers)."""

    def headers(self, who: str, key: str | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.tokens.get(who, who)}"}
        if key is not None:
            headers["Idempotency-Key"] = key
        return headers

    def post(
        self, path: str, body: Any, who: str = "official", key: str | None = None
    ) -> httpx.Response:
        return self.client.post(path, json=body, headers=self.headers(who, key or uuid.uuid4().hex))

    def get(self, path: str, who: str = "official") -> httpx.Response:
        return self.client.get(path, headers=self.headers(who))


def wait_until_live(process: subprocess.Popen[bytes], base_url: str) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"buurtkas serve exited with status {process.returncode}")
        try:
            if httpx.get(f"{base_url}/health/live", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"buurtkas serve did not answer at {base_url} in {STARTUP_SECONDS} s")


@contextmanager
def served(
    database_url: str,
    roles: tuple[str, ...] = ("official",),
    *,
    workers: int = 1,
    projector: bool = False,
) -> Iterator[Served]:
    """The service on ``database_url``, one token per role (subject ``ROLE:served``), served
    by ``workers`` processes, keeping the read models current only when ``projector``."""
    tokens = {role: create_token(database_url, role, f"{role}:served") for role in roles}
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    command = [BUURTKAS, "serve", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--workers", str(workers)] + ([] if projector else ["--no-projector"])
    # its own process group, so that a server that will not stop goes with its workers
    process = subprocess.Popen(
        command, env=buurtkas_env(database_url), stdout=subprocess.DEVNULL, start_new_session=True
    )
    try:
        wait_until_live(process, base_url)
        with httpx.Client(base_url=base_url, timeout=30.0) as client:
            yield Served(base_url, tokens, client, process.pid)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
