"""Properties over real stores: a fresh store per example, on SQLite and on PostgreSQL."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

import pytest
from hypothesis import HealthCheck, settings

from tests.conftest import fresh_schema


def on_both_stores(sqlite_examples: int, postgres_examples: int) -> pytest.MarkDecorator:
    """Run the property on SQLite, and (fewer examples, each slower) on PostgreSQL."""
    return pytest.mark.parametrize(
        ("store_kind", "examples"),
        [
            ("sqlite", sqlite_examples),
            pytest.param("postgres", postgres_examples, marks=pytest.mark.postgres),
        ],
    )


def store_examples(examples: int) -> settings:
    """Examples that each fill a store: no deadline, slow is fine."""
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )


def fresh_stores(
    store_kind: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[], AbstractContextManager[str]]:
    """Opens the URL of a fresh, empty store of ``store_kind`` for each example."""
    postgres_url = (
        request.getfixturevalue("postgres_database") if store_kind == "postgres" else None
    )
    tmp = str(tmp_path_factory.mktemp("stores"))

    @contextmanager
    def fresh() -> Iterator[str]:
        if store_kind == "sqlite":
            yield f"sqlite:///{tmp}/{secrets.token_hex(4)}.db"
            return
        assert postgres_url is not None
        with fresh_schema(postgres_url) as url:
            yield url

    return fresh
