"""Settings, read from the environment by a factory (nothing is read at import)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from domain.risk import RiskConfig

DEFAULT_DATABASE_URL = "sqlite:///buurtkas.db"


class Settings(BaseModel):
    """buurtkas configuration.

    - ``BUURTKAS_DATABASE_URL``: ``sqlite:///PATH`` (default ``sqlite:///buurtkas.db``,
      the file ``./buurtkas.db``) or ``postgresql://user:password@host:port/dbname``.
    - ``BUURTKAS_LOG_LEVEL``: ``debug``, ``info`` (default), ``warning`` or ``error``.
    - ``BUURTKAS_LOG_FORMAT``: ``auto`` (console on a terminal, JSON otherwise),
      ``json`` or ``console``.
    - ``BUURTKAS_RISK_CONFIG``: a JSON file of fraud-risk thresholds (``RiskConfig`` field
      names); unset means the built-in defaults.
    - ``BUURTKAS_SIGNING_KEY``: the PEM Ed25519 private key that signs checkpoints
      (``buurtkas keygen`` makes one).
    - ``BUURTKAS_AUDIT_PUBLIC_KEY``: the PEM public key that checks them; unset means the
      signing key's own public half.
    - ``BUURTKAS_CREATE_TABLES``: ``yes`` (default) creates the event store's tables and
      triggers when missing; ``no`` for a service role that does not own them.
    """

    database_url: str = Field(default=DEFAULT_DATABASE_URL, min_length=1)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["auto", "json", "console"] = "auto"
    risk_config: str | None = None
    signing_key: str | None = None
    audit_public_key: str | None = None
    create_tables: bool = True


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    values = {
        "database_url": env.get("BUURTKAS_DATABASE_URL") or DEFAULT_DATABASE_URL,
        "log_level": env.get("BUURTKAS_LOG_LEVEL", "info").lower(),
        "log_format": env.get("BUURTKAS_LOG_FORMAT", "auto").lower(),
        "risk_config": env.get("BUURTKAS_RISK_CONFIG") or None,
        "signing_key": env.get("BUURTKAS_SIGNING_KEY") or None,
        "audit_public_key": env.get("BUURTKAS_AUDIT_PUBLIC_KEY") or None,
        "create_tables": env.get("BUURTKAS_CREATE_TABLES", "yes").lower(),
    }
    try:
        return Settings.model_validate(values)
    except ValidationError as error:
        raise SettingsError(
            "; ".join(
                f"BUURTKAS_{'_'.join(str(part) for part in e['loc']).upper()}: "
                f"{values.get(str(e['loc'][0]))!r} {e['msg'].lower()}"
                for e in error.errors()
            )
        ) from None


class SettingsError(ValueError):
    """A setting from the environment that cannot be used, named by its variable."""


class RiskConfigError(ValueError):
    """The risk configuration file cannot be used; the message names the setting."""


def load_risk_config(path: str | None) -> RiskConfig:
    """The fraud-risk thresholds from ``path`` (JSON), or the defaults when it is None."""
    if not path:
        return RiskConfig()
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        raise RiskConfigError(f"BUURTKAS_RISK_CONFIG: cannot read {path}: {error}") from None
    if not isinstance(data, dict):
        raise RiskConfigError("BUURTKAS_RISK_CONFIG: must hold a JSON object of thresholds")
    unknown = sorted(set(data) - {f.name for f in fields(RiskConfig)})
    if unknown:
        raise RiskConfigError(f"BUURTKAS_RISK_CONFIG: unknown setting(s) {', '.join(unknown)}")
    try:
        return TypeAdapter(RiskConfig).validate_python(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise RiskConfigError(f"BUURTKAS_RISK_CONFIG: {where}: {first['msg']}") from None
