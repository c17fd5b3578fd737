"""The documented PostgreSQL role: appends and reads the log, can neither change it nor
switch its triggers off, and keeps its own read models."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import psycopg
import pytest
from psycopg import sql

from projections.registry import open_store, runners
from service.application import Buurtkas
from service.demo import load_demo
from service.integrity import verify
from service.storage import persistence_env
from service.synthetic import generate

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.postgres


def roles_script(schema: str, role: str) -> str:
    """scripts/postgres_roles.sql with its psql variables filled in."""
    text = (ROOT / "scripts" / "postgres_roles.sql").read_text()
    text = text.replace(':"schema"', f'"{schema}"').replace(':"role"', f'"{role}"')
    return "\n".join(line for line in text.splitlines() if not line.startswith("--"))


@pytest.fixture
def service_url(postgres_schema_url: str) -> Iterator[str]:
    """The schema's tables created by the owner, and the URL of a service role on it."""
    owner = Buurtkas(env=persistence_env(postgres_schema_url))
    load_demo(owner)
    owner.close()
    parsed = urlparse(postgres_schema_url)
    schema = parsed.query.removeprefix("schema=")
    role = f"svc_{secrets.token_hex(4)}"
    admin_url = urlunparse(parsed._replace(query=""))
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(roles_script(schema, role).encode())
    try:
        yield urlunparse(parsed._replace(netloc=f"{role}@{parsed.hostname}:{parsed.port}"))
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP OWNED BY {} CASCADE").format(sql.Identifier(role)))
            admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def as_service(url: str) -> psycopg.Connection[tuple[object, ...]]:
    parsed = urlparse(url)
    conn = psycopg.connect(urlunparse(parsed._replace(query="")), autocommit=True)
    schema = parsed.query.removeprefix("schema=")
    conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
    return conn


class TestServiceRole:
    def test_the_service_role_appends_projects_and_verifies(self, service_url: str) -> None:
        # given
        app = Buurtkas(env=persistence_env(service_url, create_tables=False))
        store = open_store(app.store_env)
        try:
            # when
            generate(app, 600, seed=4)
            for runner in runners(app, store):
                runner.catch_up()
            report = verify(app, None)
        finally:
            store.conn.close()
            app.close()
        # then
        assert report.ok, report.to_json()
        assert report.checks[0].figures["events"] == 1094

    @pytest.mark.parametrize(
        ("statement", "refusal"),
        [
            ("UPDATE buurtkas_events SET topic = 'x'", "append-only"),
            ("DELETE FROM buurtkas_events", "permission denied"),
            ("TRUNCATE buurtkas_events", "permission denied"),
            ("ALTER TABLE buurtkas_events DISABLE TRIGGER USER", "must be owner"),
            ("DELETE FROM audit_leaves", "permission denied"),
            ("UPDATE audit_nodes SET hash = ''", "permission denied"),
            ("DROP TABLE audit_checkpoints", "must be owner"),
        ],
    )
    def test_the_service_role_cannot_change_the_log(
        self, service_url: str, statement: str, refusal: str
    ) -> None:
        # given
        conn = as_service(service_url)
        # when / then
        try:
            with pytest.raises(psycopg.Error, match=refusal):
                conn.execute(statement.encode())
        finally:
            conn.close()
