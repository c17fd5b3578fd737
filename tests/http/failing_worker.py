"""A worker app whose start-up fails, for the test of ``buurtkas serve --workers``."""

from __future__ import annotations

from litestar import Litestar


def cannot_start() -> None:
    raise RuntimeError("this worker cannot start")


def create_app() -> Litestar:
    return Litestar(route_handlers=[], on_startup=[cannot_start])
