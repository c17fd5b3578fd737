"""Fixtures of the integration tests: the read-model store of the test's application."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from projections.registry import open_store
from projections.store import ReadModelStore
from service.application import Buurtkas


@pytest.fixture
def store(app: Buurtkas) -> Iterator[ReadModelStore]:
    opened = open_store(app.store_env)
    yield opened
    opened.conn.close()
