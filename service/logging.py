"""Structured logging with structlog: stable dotted event names and key/value context.

JSON lines when stderr is not a terminal, readable console output when it is.
Configured by a factory; nothing is configured at import.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from service.settings import Settings

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}


_IBAN = re.compile(r"\b[A-Z]{2}[0-9]{2}(?:[ ]?[A-Z0-9]){11,30}\b")


def _mask(match: re.Match[str]) -> str:
    compact = match[0].replace(" ", "")
    return f"{compact[:2]}{'*' * (len(compact) - 6)}{compact[-4:]}"


def mask_iban_text(text: str) -> str:
    """Mask IBANs in ``text``: only the country code and the last four characters stay."""
    return _IBAN.sub(_mask, text)


def _masked(value: Any, depth: int = 0) -> Any:
    if isinstance(value, str):
        return mask_iban_text(value)
    if depth < 3 and isinstance(value, dict):
        return {k: _masked(v, depth + 1) for k, v in value.items()}
    if depth < 3 and isinstance(value, list | tuple):
        return [_masked(v, depth + 1) for v in value]
    return value


def mask_ibans(
    logger: Any, method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: no log line shows a whole IBAN."""
    return {key: _masked(value) for key, value in event_dict.items()}


def configure_logging(settings: Settings, *, stream: Any = None) -> None:
    stream = stream if stream is not None else sys.stderr
    use_json = settings.log_format == "json" or (
        settings.log_format == "auto" and not stream.isatty()
    )
    renderer: Any = (
        structlog.processors.JSONRenderer() if use_json else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            mask_ibans,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(_LEVELS[settings.log_level]),
        logger_factory=structlog.PrintLoggerFactory(file=stream),
        cache_logger_on_first_use=False,
    )


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
