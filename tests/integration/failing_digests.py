"""Digesters that fail, or end their worker, for a pipeline's workers to import by name."""

from __future__ import annotations

import os
from typing import Any

from projections.pipeline import Digesting
from projections.signals_digest import Digester


class FailingDigester(Digester):
    def digest_batch(self, events: Any, batch: list[tuple[int, Any]]) -> list[Any]:
        raise RuntimeError("cannot digest")


class DyingDigester(Digester):
    """A worker that ends (killed, out of memory) at its second range."""

    def __init__(self) -> None:
        super().__init__()
        self.ranges = 0

    def digest_batch(self, events: Any, batch: list[tuple[int, Any]]) -> list[Any]:
        self.ranges += 1
        if self.ranges > 1:
            os._exit(1)
        return super().digest_batch(events, batch)


def failing_job(app: Any, env: dict[str, str], digester: Any) -> Digesting:
    return Digesting(app, env, FailingDigester)


def dying_job(app: Any, env: dict[str, str], digester: Any) -> Digesting:
    return Digesting(app, env, DyingDigester)
