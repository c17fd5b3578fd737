"""Shared fixtures: the same test classes run on SQLite and on PostgreSQL.

PostgreSQL tests connect through ``BUURTKAS_TEST_POSTGRES_URL`` (default: the local
server at 127.0.0.1:5432 as user postgres). Each test session creates its own database
and drops it afterwards; each test gets a fresh schema in it. Without a server the
PostgreSQL variants are skipped with the reason, except when ``CI=true``: then they fail.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlparse, urlunparse

import psycopg
import pytest
from psycopg import sql

from service.application import Buurtkas
from service.storage import persistence_env

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
STORES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def postgres_admin_url() -> str:
    return os.environ.get("BUURTKAS_TEST_POSTGRES_URL") or DEFAULT_POSTGRES_URL


def with_database(url: str, dbname: str) -> str:
    return urlunparse(urlparse(url)._replace(path=f"/{dbname}"))


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """The URL of a database created for this test session (and dropped after it)."""
    admin_url = postgres_admin_url()
    try:
        admin = psycopg.connect(admin_url, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as error:
        reason = f"PostgreSQL not reachable at {admin_url} (BUURTKAS_TEST_POSTGRES_URL): {error}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true requires PostgreSQL. {reason}")
        pytest.skip(reason)
    name = f"buurtkas_test_{os.getpid()}_{secrets.token_hex(4)}"
    with admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield with_database(admin_url, name)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@contextmanager
def fresh_schema(postgres_database: str) -> Iterator[str]:
    """The URL of a fresh, empty schema in the session database, dropped afterwards."""
    schema = f"t_{secrets.token_hex(6)}"
    with psycopg.connect(postgres_database, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        yield f"{postgres_database}?schema={schema}"
    finally:
        with psycopg.connect(postgres_database, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture
def postgres_schema_url(postgres_database: str) -> Iterator[str]:
    with fresh_schema(postgres_database) as url:
        yield url


@pytest.fixture(params=STORES)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('store')}/buurtkas.db"
    url: str = request.getfixturevalue("postgres_schema_url")
    return url


@pytest.fixture
def app(database_url: str) -> Iterator[Buurtkas]:
    application = Buurtkas(env=persistence_env(database_url))
    yield application
    application.close()
