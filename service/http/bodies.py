"""A check of every request body before it is parsed.

Litestar's JSON decoder turns malformed JSON into a 400 but lets a body that is not UTF-8
or that nests deeper than the interpreter allows escape as an error (a 500), and keeps the
last of two values given for one key. This hook, which runs after the guards and before
the body is parsed, refuses the first two as 400 and a key given twice in one object as
422 naming it by its path (``tranches.1.amount``): which of the two was meant is not for
the service to guess.
"""

from __future__ import annotations

import json
from typing import Any

from litestar import Request

from service.http.problems import ApiProblem


async def refuse_undecodable_bodies(request: Request[Any, Any, Any]) -> None:
    if request.method != "POST":
        return
    body = await request.body()  # kept on the request for the parser
    if not body:
        return
    twice: list[str] = []  # the keys given twice, as the parser meets them
    try:
        decoded = json.loads(body, object_pairs_hook=lambda pairs: _marking(pairs, twice))
    except RecursionError:
        raise ApiProblem(400, "bad_request", "the JSON body is nested too deeply") from None
    except UnicodeDecodeError:
        raise ApiProblem(400, "bad_request", "the body is not UTF-8 text") from None
    except ValueError:
        return  # Litestar refuses it as malformed JSON, naming the byte
    if twice:
        path = _path_given_twice(decoded) or twice[0]
        raise ApiProblem(422, "duplicate_key", f"{path}: given twice in one object", field=path)


class _Twice(dict[str, Any]):
    """An object in which ``key`` was given twice (its keys before that one)."""

    def __init__(self, pairs: dict[str, Any], key: str) -> None:
        super().__init__(pairs)
        self.key = key


def _marking(pairs: list[tuple[str, Any]], twice: list[str]) -> dict[str, Any]:
    """An object, marked as a ``_Twice`` (and its key noted in ``twice``) when a key in it
    is given twice."""
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            twice.append(key)
            return _Twice(found, key)
        found[key] = value
    return found


def _path_given_twice(decoded: Any) -> str | None:
    """The path of a key given twice in a decoded body, dotted as the service names nested
    fields (``tranches.1.amount``); the first in document order, outer objects first.
    None when it cannot be told (a body nested too deeply to walk)."""
    try:
        return _find_twice(decoded, ())
    except RecursionError:
        return None


def _find_twice(value: Any, path: tuple[str, ...]) -> str | None:
    if isinstance(value, _Twice):
        return ".".join([*path, value.key])
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = ((str(number), item) for number, item in enumerate(value))
    else:
        return None
    for key, item in items:
        found = _find_twice(item, (*path, key))
        if found is not None:
            return found
    return None
