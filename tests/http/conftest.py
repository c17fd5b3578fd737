"""The HTTP service through Litestar's test client, on SQLite and on PostgreSQL.

``api`` is a running service (lifespan entered) over a fresh store of the
``database_url`` fixture, with no projector thread: tests bring the read models up to
date with ``api.project()`` when they read them. Log lines are captured as JSON.

``demo_api`` is one service per test module and store, over the demo history with its
read models current and a signed checkpoint: for tests that only read (or are refused).
``sqlite_api`` is for behaviour decided before the store is touched (request validation).
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from litestar import Litestar
from litestar.testing import TestClient

from audit import log as audit_log
from domain.platform import Platform
from projections.registry import open_store, runners
from service.demo import load_demo
from service.http import tokens
from service.http.app import create_app
from service.http.context import Services
from service.http.policy import Role
from service.logging import configure_logging
from service.settings import Settings
from tests.conftest import STORES, fresh_schema

K_BUURT = Platform.id_for("Hart voor de K-buurt")


@dataclass
class Api:
    client: TestClient[Any]
    services: Services
    log_stream: io.StringIO
    tokens: dict[str, str] = field(default_factory=dict)

    def token(self, role: Role, platform_id: UUID | None = None, subject: str | None = None) -> str:
        with self.services.pool.connection() as conn:
            token, _ = tokens.issue(conn, role, platform_id=platform_id, subject=subject)
        return token

    def bearer(self, who: str) -> dict[str, str]:
        """Headers for ``who``: a role name (official, auditor, viewer) or a token."""
        if who in Role.__members__.values() and who not in self.tokens:
            self.tokens[who] = self.token(Role(who), subject=f"{who}:test")
        token = self.tokens.get(who, who)
        return {"Authorization": f"Bearer {token}"}

    def post(
        self, path: str, body: Any, who: str = "official", key: str | None = None
    ) -> httpx.Response:
        headers = {**self.bearer(who), "Idempotency-Key": key or uuid.uuid4().hex}
        return self.client.post(path, json=body, headers=headers)

    def post_bytes(self, path: str, content: bytes, key: str = "k") -> httpx.Response:
        """A POST of ``content`` as it is, as JSON, by an official."""
        headers = {
            **self.bearer("official"),
            "Idempotency-Key": key,
            "Content-Type": "application/json",
        }
        return self.client.post(path, content=content, headers=headers)

    def get(self, path: str, who: str = "official", **params: Any) -> httpx.Response:
        return self.client.get(path, headers=self.bearer(who), params=params or None)

    def project(self) -> None:
        store = open_store(self.services.app.store_env)
        try:
            for runner in runners(self.services.app, store, risk=self.services.risk):
                runner.catch_up()
        finally:
            store.conn.close()

    def logs(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log_stream.getvalue().splitlines() if line]

    def events(self) -> int:
        return int(self.services.app.recorder.max_notification_id() or 0)


_reusable: list[Litestar] = []


def reusable_app() -> Litestar:
    """One app per test process for the function-scoped fixtures: building the routes costs
    more than a test; each test's lifespan opens its own store (``app.state.settings``)."""
    if not _reusable:
        _reusable.append(create_app(Settings(), follow_projections=False))
    return _reusable[0]


def running(database_url: str, app: Litestar | None = None) -> Iterator[Api]:
    settings = Settings(database_url=database_url, log_format="json", log_level="info")
    stream = io.StringIO()
    configure_logging(settings, stream=stream)
    app = app or reusable_app()
    if getattr(app.state, "services", None) is not None:
        raise RuntimeError("the reusable app is serving another test")
    app.state.settings = settings
    try:
        with TestClient(app) as client:
            yield Api(client, app.state.services, stream)
    finally:
        app.state.services = None


@pytest.fixture
def api(database_url: str) -> Iterator[Api]:
    yield from running(database_url)


@pytest.fixture
def sqlite_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    yield from running(f"sqlite:///{tmp_path_factory.mktemp('store')}/buurtkas.db")


@pytest.fixture(scope="module", params=STORES)
def shared_database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('shared')}/buurtkas.db"
        return
    with fresh_schema(request.getfixturevalue("postgres_database")) as url:
        yield url


@pytest.fixture(scope="module")
def demo_api(shared_database_url: str) -> Iterator[Api]:
    """The demo, read models current, a signed checkpoint, a K-buurt treasurer token."""
    app = create_app(Settings(database_url=shared_database_url), follow_projections=False)
    for api in running(shared_database_url, app):
        load_demo(api.services.app)
        api.project()
        with api.services.pool.connection() as conn:
            audit_log.write_checkpoint(conn, Ed25519PrivateKey.generate())
        api.tokens["treasurer"] = api.token(Role.TREASURER, K_BUURT, subject="treasurer:k")
        yield api
