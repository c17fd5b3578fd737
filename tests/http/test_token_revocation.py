"""A revoked token stops working in a running service."""

from __future__ import annotations

import time

import pytest

from service.http import context, tokens
from service.http.policy import Role
from tests.http.conftest import Api
from tests.http.givens import ok


def test_a_revoked_token_is_refused_once_the_services_cache_of_it_expires(
    sqlite_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a token in use, with the service remembering accepted tokens for 0.2 s
    api = sqlite_api
    monkeypatch.setattr(context, "TOKEN_CACHE_SECONDS", 0.2)
    token = api.token(Role.VIEWER, subject="viewer:leaving")
    ok(api.get("/budgets", who=token))
    # when it is revoked
    with api.services.pool.connection() as conn:
        [(token_id,)] = conn.execute(
            f"SELECT token_id FROM {tokens.TABLE} WHERE subject = ?",
            ("viewer:leaving",),
        )
        tokens.revoke(conn, str(token_id))
    time.sleep(0.3)
    # then
    problem = ok(api.get("/budgets", who=token), 401)
    assert problem["status"] == 401
    # and other tokens still work
    assert ok(api.get("/budgets", who="viewer")) == []
