"""schemathesis against the service's own OpenAPI document, served on SQLite.

Every operation of ``/schema/openapi.json`` gets a bounded number of generated requests,
valid ones and invalid ones, sent as an official with a generated Idempotency-Key; every
answer must not be a server error and must conform to the documented response schema.
Derandomised, so a run is repeatable; the figures are kept in ``FIGURES``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import APIOperation, Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.http.served import Served, served

EXAMPLES_PER_MODE = 6
CHECKS = [not_a_server_error, response_schema_conformance]
FIGURES: dict[str, int] = {}


@pytest.fixture
def sqlite_server(tmp_path: Path) -> Iterator[Served]:
    with served(f"sqlite:///{tmp_path}/buurtkas.db") as running:
        yield running


def test_generated_requests_get_no_server_error_and_documented_answers(
    sqlite_server: Served, record_property: Any
) -> None:
    # given the service's own OpenAPI document and an official's token
    schema = schemathesis.openapi.from_url(f"{sqlite_server.base_url}/schema/openapi.json")
    auth = {"Authorization": f"Bearer {sqlite_server.tokens['official']}"}
    operations: list[APIOperation[Any, Any, Any, Any]] = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result.err()  # the document itself is valid
        operations.append(result.ok())
    session = requests.Session()
    cases: list[str] = []
    failures: list[str] = []
    without_invalid: list[str] = []
    statuses: dict[str, int] = {}

    def send(case: Case[Any]) -> None:
        cases.append(case.operation.label)
        response = case.call(base_url=sqlite_server.base_url, session=session, headers=auth)
        statuses[f"{response.status_code // 100}xx"] = (
            statuses.get(f"{response.status_code // 100}xx", 0) + 1
        )
        try:
            case.validate_response(response, checks=CHECKS, headers=auth)
        except FailureGroup as group:
            failures.append(f"{case.operation.label}: {group}")

    # when each operation gets valid and invalid generated requests
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = operation.as_strategy(generation_mode=mode)

            @settings(
                max_examples=EXAMPLES_PER_MODE,
                deadline=None,
                database=None,
                derandomize=True,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=strategy)
            def run(case: Any) -> None:
                send(case)

            try:
                run()
            except Unsatisfiable:
                # no invalid request exists for an operation without parameters or body
                assert mode is GenerationMode.NEGATIVE
                without_invalid.append(operation.label)

    FIGURES.update(
        operations=len(operations),
        cases=len(cases),
        failures=len(failures),
        without_invalid=len(without_invalid),
        **statuses,
    )
    for name, value in FIGURES.items():
        record_property(name, value)
    # then every operation was exercised, and no answer was a 5xx or undocumented
    assert {c for c in cases} == {o.label for o in operations}
    assert failures == [], "\n".join(failures[:5])
