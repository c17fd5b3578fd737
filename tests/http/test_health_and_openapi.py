"""Health checks, the projector thread, and the OpenAPI 3.1 document."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from litestar.testing import TestClient

from projections.balances import Balances
from projections.registry import open_store, runner
from service.demo import load_demo
from service.http.app import create_app
from service.settings import Settings
from service.synthetic import generate
from tests.http.conftest import Api
from tests.http.givens import ok
from tests.integration.test_read_model_builds import OTHER

BUDGET = {"district": "Noord", "year": 2021, "amount": "1000.00", "occurred_on": "2021-01-04"}


class TestHealth:
    def test_live_and_ready_answer_without_a_token(self, api: Api) -> None:
        # when
        live = api.client.get("/health/live")
        ready = api.client.get("/health/ready")
        # then
        assert ok(live) == {"status": "live"}
        body = ok(ready)
        assert (body["status"], body["head"]) == ("ready", 0)
        assert {p["lag"] for p in body["projections"]} == {0}
        assert {p["current"] for p in body["projections"]} == {True}
        assert {p["projection"]: p["build"] for p in body["projections"]}[
            "balances"
        ] == f"v{Balances.version}"

    def test_ready_is_503_while_the_read_models_lag_too_far_behind(self, api: Api) -> None:
        # given
        load_demo(api.services.app)
        api.services.max_ready_lag = 100
        # when
        behind = api.client.get("/health/ready")
        api.project()
        caught_up = api.client.get("/health/ready")
        # then
        problem = ok(behind, 503)
        assert problem["rule"] == "projections_behind"
        assert behind.headers["content-type"].startswith("application/problem+json")
        assert ok(caught_up)["status"] == "ready"

    def test_a_read_model_being_rebuilt_for_new_thresholds_is_served_and_shows_its_progress(
        self, api: Api
    ) -> None:
        # given read models current with the defaults, 300 more events, then the service's
        # thresholds changed: every other model catches up, the signals' rebuild by the
        # new thresholds is one batch in
        app = api.services.app
        load_demo(app)
        api.project()
        generate(app, 300, seed=4)
        api.services.risk = OTHER
        api.services.max_ready_lag = 100
        store = open_store(app.store_env)
        try:
            for name in ("balances", "status", "platform_index"):
                runner(app, store, name).catch_up()
            rebuilding = runner(app, store, "signals", 100, OTHER)
            rebuilding.begin_rebuild(resume=True)
            rebuilding.rebuild_step()
            progress = store.rebuild_under_way("signals", rebuilding.build)
        finally:
            store.conn.close()
        assert progress is not None
        # when
        ready = api.client.get("/health/ready")
        generate(app, 150, seed=6)
        behind = api.client.get("/health/ready")
        # then the old signals, 300 events behind, do not make the service unready; their
        # rebuild's progress is shown; a current model as far behind still does
        signals = {p["projection"]: p for p in ok(ready)["projections"]}["signals"]
        assert (signals["current"], signals["lag"]) == (False, 300)
        assert signals["rebuild_position"] == progress[1]
        assert {p["projection"]: p["rebuild_position"] for p in ok(ready)["projections"]} == {
            "balances": None,
            "status": None,
            "signals": progress[1],
            "platform_index": None,
        }
        assert ok(behind, 503)["rule"] == "projections_behind"

    def test_ready_is_503_when_the_database_does_not_answer(
        self, sqlite_api: Api, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        api = sqlite_api

        # given
        @contextmanager
        def unreachable() -> Iterator[Any]:
            raise ConnectionRefusedError("database down")
            yield

        monkeypatch.setattr(api.services.pool, "connection", unreachable)
        # when
        response = api.client.get("/health/ready")
        # then
        assert ok(response, 503)["rule"] == "database_unavailable"


class TestProjector:
    def test_the_service_keeps_the_read_models_current_by_itself(self, database_url: str) -> None:
        # given
        app = create_app(Settings(database_url=database_url), follow_projections=True)
        with TestClient(app) as client:
            services = app.state.services
            api = Api(client, services, log_stream=io.StringIO())
            # when
            ok(api.post("/budgets", BUDGET), 201)
            deadline = time.monotonic() + 10
            while not ok(api.get("/budgets")) and time.monotonic() < deadline:
                time.sleep(0.05)
            # then
            [budget] = ok(api.get("/budgets"))
            assert (budget["district"], budget["allocated"]) == ("Noord", "1000.00")
        assert not services.projector.thread.is_alive()


class TestOpenApi:
    def test_the_document_is_openapi_3_1_and_the_interactive_page_is_served(
        self, sqlite_api: Api
    ) -> None:
        # when
        document = ok(sqlite_api.client.get("/schema/openapi.json"))
        page = sqlite_api.client.get("/schema")
        # then
        assert document["openapi"].startswith("3.1")
        assert "BearerToken" in document["components"]["securitySchemes"]
        assert page.status_code == 200
        assert "swagger" in page.text.lower()

    def test_every_operation_has_an_id_a_tag_described_parameters_and_its_errors(
        self, sqlite_api: Api
    ) -> None:
        # given
        document = ok(sqlite_api.client.get("/schema/openapi.json"))
        operations = [
            (method, path, op)
            for path, item in document["paths"].items()
            for method, op in item.items()
            if method in {"get", "post"}
        ]
        wrong: list[str] = []
        created: set[str] = set()
        # when
        for method, path, op in operations:
            where = f"{method.upper()} {path}"
            public = path.startswith("/health")
            if not op.get("operationId") or not op.get("tags"):
                wrong.append(f"{where}: operation id or tag")
            for parameter in op.get("parameters", []):
                if not parameter.get("description"):
                    wrong.append(f"{where}: parameter {parameter['name']} undescribed")
            errors = {int(s) for s in op["responses"] if int(s) >= 400}
            needed = {500} if public else {401, 403, 500}
            if method == "post":
                needed |= {400, 409, 422}
                keys = [p for p in op.get("parameters", []) if p["name"] == "Idempotency-Key"]
                if not keys or not keys[0]["required"]:
                    wrong.append(f"{where}: Idempotency-Key header")
                if "requestBody" not in op:
                    wrong.append(f"{where}: request body")
            if not needed <= errors:
                wrong.append(f"{where}: documents {sorted(errors)}")
            for status in errors:
                content = op["responses"][str(status)].get("content", {})
                if "application/problem+json" not in content:
                    wrong.append(f"{where}: {status} is not a problem document")
            if not public and op.get("security") != [{"BearerToken": []}]:
                wrong.append(f"{where}: security")
            success = [s for s in op["responses"] if int(s) < 400]
            body = op["responses"][success[0]].get("content", {}).get("application/json", {})
            if len(success) != 1 or not body.get("schema"):
                wrong.append(f"{where}: success response {success} without a schema")
            elif success == ["201"]:
                created.add(op["operationId"])
        # then
        assert len(operations) == 43
        assert wrong == []
        assert created == {
            "registerPlatform",
            "allocateBudget",
            "awardGrant",
            "submitExpense",
            "makeTransfer",
        }

    def test_money_is_a_decimal_string_and_bodies_refuse_unknown_fields(
        self, sqlite_api: Api
    ) -> None:
        # given
        document = ok(sqlite_api.client.get("/schema/openapi.json"))
        schemas = document["components"]["schemas"]
        # when
        award = schemas["AwardGrant"]
        tranche = schemas["Tranche"]
        # then
        assert award["additionalProperties"] is False
        assert award["properties"]["amount"]["type"] == "string"
        assert award["properties"]["amount"]["pattern"] == r"^[0-9]{1,9}(\.[0-9]{1,2})?$"
        assert award["properties"]["tranches"]["maxItems"] == 60
        assert tranche["properties"]["due_on"]["format"] == "date"
