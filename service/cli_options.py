"""Option types shared by the command-line commands: refused by argparse (exit 2) with
the option's name and the rule."""

from __future__ import annotations

import argparse
from collections.abc import Callable


def whole(option: str, least: int) -> Callable[[str], int]:
    """A whole number of at least ``least``, for ``option``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{option}: {text!r} is not a whole number") from None
        if value < least:
            raise argparse.ArgumentTypeError(f"{option}: must be at least {least}")
        return value

    return parse
