"""Settings, read from the environment by a factory (nothing is read at import)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, Field

DEFAULT_DATABASE_URL = "sqlite:///buurtkas.db"


class Settings(BaseModel):
    """buurtkas configuration.

    - ``BUURTKAS_DATABASE_URL``: ``sqlite:///PATH`` (default ``sqlite:///buurtkas.db``,
      the file ``./buurtkas.db``) or ``postgresql://user:password@host:port/dbname``.
    - ``BUURTKAS_LOG_LEVEL``: ``debug``, ``info`` (default), ``warning`` or ``error``.
    - ``BUURTKAS_LOG_FORMAT``: ``auto`` (console on a terminal, JSON otherwise),
      ``json`` or ``console``.
    """

    database_url: str = Field(default=DEFAULT_DATABASE_URL, min_length=1)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["auto", "json", "console"] = "auto"


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    values = {
        "database_url": env.get("BUURTKAS_DATABASE_URL") or DEFAULT_DATABASE_URL,
        "log_level": env.get("BUURTKAS_LOG_LEVEL", "info").lower(),
        "log_format": env.get("BUURTKAS_LOG_FORMAT", "auto").lower(),
    }
    return Settings.model_validate(values)
