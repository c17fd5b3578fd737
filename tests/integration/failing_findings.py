"""Findings evaluations that fail, or end their worker, for a worker to import by name."""

from __future__ import annotations

import os
from datetime import date
from typing import Any

from domain.risk import RiskConfig


def findings_elsewhere(
    config: RiskConfig, clock: date | None, where: Any, platforms: list[Any], overlay: Any
) -> Any:
    raise RuntimeError(f"the findings of {len(platforms)} platforms could not be evaluated")


def dying_findings(
    config: RiskConfig, clock: date | None, where: Any, platforms: list[Any], overlay: Any
) -> Any:
    """A worker that ends in the middle of its work (killed, out of memory)."""
    os._exit(1)
