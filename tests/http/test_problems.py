"""Every 4xx and 5xx is an RFC 9457 problem document; bad input never causes a 500."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import StoredEvent

from service.http.problems import MEDIA_TYPE
from tests.http.conftest import Api
from tests.http.givens import budget, grant, grant_body, ok, recognised
from tests.integration.superuser import Superuser

BUDGET = {"district": "Zuidoost", "year": 2020, "amount": "250000.00", "occurred_on": "2020-01-02"}
PROBLEM_FIELDS = {"type", "title", "status", "detail", "instance", "rule", "request_id"}


def award(**changes: Any) -> dict[str, Any]:
    return {
        "budget_id": "00000000-0000-0000-0000-000000000001",
        "platform_id": "00000000-0000-0000-0000-000000000002",
        "reference": "G-1",
        "amount": "1000.00",
        "period_start": "2020-01-01",
        "period_end": "2020-12-31",
        "purpose": "p",
        "tranches": [{"number": 1, "due_on": "2020-02-01", "amount": "1000.00"}],
        "decision_ref": "B",
        "reason": "r",
        "occurred_on": "2020-01-10",
        **changes,
    }


class TestProblemDocuments:
    def test_every_kind_of_error_is_a_problem_document(self, sqlite_api: Api) -> None:
        api = sqlite_api
        # given
        official = api.bearer("official")
        viewer = api.bearer("viewer")
        key = {"Idempotency-Key": "k"}
        # when
        responses = {
            400: api.client.post(
                "/budgets",
                content=b"{not json",
                headers={**official, **key, "Content-Type": "application/json"},
            ),
            401: api.client.get("/budgets"),
            403: api.client.post("/budgets", json=BUDGET, headers={**viewer, **key}),
            404: api.client.get("/no/such/route", headers=official),
            405: api.client.delete("/budgets", headers=official),
            413: api.client.post("/budgets", content=b"x" * 1_100_000, headers={**official, **key}),
            422: api.client.post("/budgets", json={}, headers={**official, **key}),
        }
        # then
        for status, response in responses.items():
            assert response.status_code == status, response.text
            assert response.headers["content-type"].startswith(MEDIA_TYPE)
            problem = response.json()
            assert set(problem) >= PROBLEM_FIELDS, problem
            assert problem["status"] == status
            assert problem["type"] == f"urn:buurtkas:problem:{problem['rule']}"
            assert problem["request_id"] == response.headers["X-Request-ID"]
        assert api.events() == 0

    def test_a_domain_refusal_keeps_its_field_and_rule(self, sqlite_api: Api) -> None:
        api = sqlite_api
        # given
        ok(api.post("/budgets", BUDGET), 201)
        # when
        taken = api.post("/budgets", BUDGET)
        unknown = api.get("/budgets/00000000-0000-0000-0000-000000000009")
        # then
        assert (ok(taken, 409)["field"], ok(taken, 409)["rule"]) == ("year", "already_exists")
        assert ok(unknown, 404)["rule"] == "not_found"

    def test_a_key_given_twice_in_a_body_is_refused_naming_it_and_nothing_is_stored(
        self, sqlite_api: Api
    ) -> None:
        # given
        before = sqlite_api.events()
        body = (
            b'{"district": "Noord", "year": 2021, "amount": "1.00", '
            b'"occurred_on": "2021-01-02", "district": "X"}'
        )
        # when
        response = sqlite_api.post_bytes("/budgets", body, key="twice-1")
        # then
        problem = ok(response, 422)
        assert (problem["field"], problem["rule"]) == ("district", "duplicate_key")
        assert sqlite_api.events() == before

    def test_a_key_given_twice_in_a_nested_object_is_refused_naming_its_path(
        self, sqlite_api: Api
    ) -> None:
        # given an award whose second tranche gives its amount twice
        before = sqlite_api.events()
        body = (
            b'{"tranches": [{"number": 1, "amount": "1.00"}, '
            b'{"number": 2, "amount": "1.00", "due_on": "2020-03-01", "amount": "9.00"}], '
            b'"reference": "G-9"}'
        )
        # when
        response = sqlite_api.post_bytes("/grants", body, key="twice-nested-1")
        # then
        problem = ok(response, 422)
        assert (problem["field"], problem["rule"]) == ("tranches.1.amount", "duplicate_key")
        assert problem["detail"] == "tranches.1.amount: given twice in one object"
        assert sqlite_api.events() == before

    def test_an_award_from_an_unknown_budget_names_the_budget_id_it_was_given(
        self, sqlite_api: Api
    ) -> None:
        # given a platform and no budget
        platform_id = recognised(sqlite_api)
        # when
        response = sqlite_api.post("/grants", grant_body(UUID(int=9), platform_id))
        # then the refusal names the request's own field
        problem = ok(response, 404)
        assert (problem["field"], problem["rule"]) == ("budget_id", "not_found")

    @pytest.mark.parametrize(
        ("body", "field", "rule"),
        [
            ({**BUDGET, "amount": 12.5}, "amount", "type"),
            ({**BUDGET, "amount": "12.345"}, "amount", "pattern"),
            ({**BUDGET, "amount": "0.00"}, "amount", "invalid_amount"),
            ({**BUDGET, "amount": "100000000.01"}, "amount", "invalid_amount"),
            ({**BUDGET, "occurred_on": "2020-02-30"}, "occurred_on", "invalid_value"),
            ({**BUDGET, "occurred_on": "20200102"}, "occurred_on", "invalid_value"),
            ({**BUDGET, "year": "2020"}, "year", "type"),
            ({**BUDGET, "district": "x" * 201}, "district", "too_long"),
            ({**BUDGET, "note": "hi"}, "note", "unknown_field"),
            ({**BUDGET, "district": "Zuid\u0000oost"}, "district", "pattern"),
            ({**BUDGET, "district": "Zuid\noost"}, "district", "pattern"),
            ({**BUDGET, "district": "Zuid\u202eoost"}, "district", "pattern"),
            ({**BUDGET, "district": "Zuid\u0085oost"}, "district", "pattern"),
            ({**BUDGET, "district": "Zuid\u2028oost"}, "district", "pattern"),
            ({**BUDGET, "district": "Zuid\u200boost"}, "district", "pattern"),
            ({**BUDGET, "occurred_on": "0001-01-01"}, "occurred_on", "invalid_value"),
            ({k: v for k, v in BUDGET.items() if k != "year"}, "year", "required"),
        ],
    )
    def test_invalid_input_is_422_naming_the_field_and_the_rule(
        self, sqlite_api: Api, body: dict[str, Any], field: str, rule: str
    ) -> None:
        # given
        api = sqlite_api
        # when
        response = api.post("/budgets", body)
        # then
        problem = ok(response, 422)
        assert (problem["field"], problem["rule"]) == (field, rule)
        assert problem["errors"][0]["source"] == "body"
        assert api.events() == 0

    def test_a_nested_field_is_named_by_its_path(self, sqlite_api: Api) -> None:
        # given
        api = sqlite_api
        # when
        response = api.post(
            "/grants",
            award(
                tranches=[
                    {"number": 1, "due_on": "2020-02-01", "amount": "500.00"},
                    {"number": 2, "due_on": "2020-03-01", "amount": "-1"},
                ]
            ),
        )
        too_many = api.post(
            "/grants",
            award(
                tranches=[
                    {"number": n, "due_on": "2020-02-01", "amount": "1.00"} for n in range(1, 62)
                ]
            ),
        )
        # then
        assert ok(response, 422)["field"] == "tranches.1.amount"
        assert (ok(too_many, 422)["field"], ok(too_many, 422)["rule"]) == (
            "tranches",
            "too_many_items",
        )

    def test_bad_input_never_causes_a_server_error(self, sqlite_api: Api) -> None:
        api = sqlite_api
        # given
        grant_id = grant(api, budget(api), recognised(api))
        nasty: list[Any] = [
            None,
            [],
            "text",
            12,
            {"amount": {"$gt": 1}},
            {"expected_version": True, "occurred_on": 20200101, "amount": 1e308},
            {"expected_version": -1, "occurred_on": "9999-99-99", "amount": "NaN"},
            {"lines": [None], "tranches": "all", "assessment": [{}]},
        ]
        paths = [
            "/platforms",
            f"/platforms/{grant_id}/memberships",
            "/budgets",
            "/grants",
            f"/grants/{grant_id}/tranche-payments",
            f"/grants/{grant_id}/settlement",
            "/expenses",
            f"/platforms/{grant_id}/bank-lines",
            "/transfers",
            "/corrections",
        ]
        # when
        statuses = {
            (path, repr(body)[:40]): api.post(path, body).status_code
            for path in paths
            for body in nasty
        }
        # then
        assert {k: s for k, s in statuses.items() if s >= 500} == {}
        assert set(statuses.values()) <= {400, 403, 404, 409, 422}

    @pytest.mark.parametrize(
        ("path", "params", "field", "rule"),
        [
            ("/audit/events/99999999999999999999/proof", {}, "position", "too_large"),
            ("/audit/events/0/proof", {}, "position", "too_small"),
            (f"/platforms/{UUID(int=1)}/events", {"cursor": 10**30}, "cursor", "too_large"),
            (f"/platforms/{UUID(int=1)}/events", {"limit": "many"}, "limit", "type"),
            (f"/platforms/{UUID(int=1)}/replay", {"as_of": "2020-02-30"}, "as_of", "invalid_value"),
        ],
    )
    def test_bad_path_and_query_values_are_422_naming_the_parameter(
        self, sqlite_api: Api, path: str, params: dict[str, Any], field: str, rule: str
    ) -> None:
        # when
        response = sqlite_api.get(path, who="auditor", **params)
        # then
        problem = ok(response, 422)
        assert (problem["field"], problem["rule"]) == (field, rule)
        assert problem["errors"][0]["source"] in ("path", "query")

    @pytest.mark.parametrize(
        ("body", "detail"),
        [
            (b"[" * 100_000 + b"]" * 100_000, "the JSON body is nested too deeply"),
            (b'{"district": "\xff\xfe"}', "the body is not UTF-8 text"),
            (b"{not json", "JSON is malformed"),
        ],
    )
    def test_a_body_the_json_decoder_cannot_take_is_400(
        self, sqlite_api: Api, body: bytes, detail: str
    ) -> None:
        # when
        response = sqlite_api.post_bytes("/budgets", body)
        # then
        problem = ok(response, 400)
        assert problem["rule"] == "bad_request"
        assert problem["detail"].startswith(detail)

    def test_a_post_without_a_body_is_422_naming_the_body(self, sqlite_api: Api) -> None:
        # when
        response = sqlite_api.client.post(
            "/budgets", headers={**sqlite_api.bearer("official"), "Idempotency-Key": "k"}
        )
        # then
        problem = ok(response, 422)
        assert (problem["field"], problem["rule"]) == ("body", "required")


class TestServerErrors:
    def test_an_unexpected_error_is_a_500_problem_that_shows_nothing_and_is_logged(
        self, sqlite_api: Api, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        api = sqlite_api

        # given
        def broken(**_: Any) -> None:
            raise RuntimeError("the secret connection string")

        monkeypatch.setattr(api.services.app, "allocate_budget", broken)
        # when
        response = api.post("/budgets", BUDGET, key="will-fail")
        retried = api.post("/budgets", BUDGET, key="will-fail")
        # then
        problem = ok(response, 500)
        assert problem["rule"] == "internal_error"
        assert "secret" not in response.text
        logged = [line for line in api.logs() if line["event"] == "http.unhandled_error"]
        assert logged[0]["request_id"] == response.headers["X-Request-ID"]
        assert "RuntimeError" in logged[0]["exception"]
        assert retried.status_code == 500  # the key was released, not kept

    def test_a_change_the_audit_trail_cannot_seal_is_a_500_naming_the_trail_and_stores_nothing(
        self, api: Api, database_url: str
    ) -> None:
        # given a tree of an odd number of leaves, and the subtree the next leaf will
        # complete already written, past the service
        superuser = Superuser(database_url)
        try:
            if int(superuser.run("SELECT COUNT(*) FROM audit_leaves")[0][0]) % 2 == 0:
                event = StoredEvent(uuid4(), 1, "tests:Bulk.Appended", b"{}")
                api.services.app.recorder.insert_events([event])
            size = int(superuser.run("SELECT COUNT(*) FROM audit_leaves")[0][0])
            superuser.run(
                "INSERT INTO audit_nodes (end_leaf, level, hash) VALUES (?, ?, ?)",
                (size, 1, bytes(32)),
            )
        finally:
            superuser.close()
        stored = api.events()
        # when
        response = api.post("/budgets", BUDGET, key="cannot-seal")
        retried = api.post("/budgets", BUDGET, key="cannot-seal")
        # then: not a 409 a client would retry, and nothing was stored
        problem = ok(response, 500)
        assert problem["rule"] == "audit_trail_corrupted"
        assert "buurtkas verify" in problem["detail"]
        assert ok(retried, 500)["rule"] == "audit_trail_corrupted"
        assert api.events() == stored
        logged = [line for line in api.logs() if line["event"] == "audit.seal_refused"]
        assert logged[0]["request_id"] == response.headers["X-Request-ID"]
        assert logged[0]["level"] == "critical"
