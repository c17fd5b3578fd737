"""A findings evaluation that fails, for a worker process to import by name."""

from __future__ import annotations

from datetime import date
from typing import Any

from domain.risk import RiskConfig


def findings_elsewhere(
    config: RiskConfig, clock: date | None, where: Any, platforms: list[Any], overlay: Any
) -> Any:
    raise RuntimeError(f"the findings of {len(platforms)} platforms could not be evaluated")
