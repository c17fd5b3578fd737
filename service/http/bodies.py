"""A check of every request body before it is parsed.

Litestar's JSON decoder turns malformed JSON into a 400 but lets a body that is not UTF-8
or that nests deeper than the interpreter allows escape as an error (a 500). This hook,
which runs after the guards and before the body is parsed, refuses those as 400.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request

from service.http.problems import ApiProblem


async def refuse_undecodable_bodies(request: Request[Any, Any, Any]) -> None:
    if request.method != "POST":
        return
    body = await request.body()  # kept on the request for the parser
    if not body:
        return
    try:
        msgspec.json.decode(body)
    except RecursionError:
        raise ApiProblem(400, "bad_request", "the JSON body is nested too deeply") from None
    except UnicodeDecodeError:
        raise ApiProblem(400, "bad_request", "the body is not UTF-8 text") from None
    except msgspec.DecodeError:
        return  # Litestar refuses it as malformed JSON, naming the byte
