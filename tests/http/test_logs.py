"""One structured ``http.request`` line per request; IBANs masked; tokens never logged."""

from __future__ import annotations

from service.fixtures import dutch_iban
from service.logging import mask_iban_text
from tests.http.conftest import Api
from tests.http.givens import ok

BUDGET = {"district": "Zuidoost", "year": 2020, "amount": "250000.00", "occurred_on": "2020-01-02"}


def requests_logged(api: Api) -> list[dict[str, object]]:
    return [line for line in api.logs() if line["event"] == "http.request"]


class TestRequestLog:
    def test_every_request_gives_one_line_with_id_route_status_duration_and_actor(
        self, api: Api
    ) -> None:
        # given
        headers = api.bearer("official")
        # when
        created = api.post("/budgets", BUDGET)
        budget_id = created.json()["id"]
        read = api.client.get(
            f"/budgets/{budget_id}", headers={**headers, "X-Request-ID": "trace-42"}
        )
        unrouted = api.client.get("/nowhere")
        # then
        lines = requests_logged(api)
        assert len(lines) == 3
        post, get, missing = lines
        assert (post["method"], post["route"], post["status"], post["actor"]) == (
            "POST",
            "/budgets",
            201,
            "official:test",
        )
        assert post["request_id"] == created.headers["X-Request-ID"]
        assert (get["route"], get["request_id"], read.headers["X-Request-ID"]) == (
            "/budgets/{budget_id}",
            "trace-42",
            "trace-42",
        )
        assert (missing["status"], missing["route"], missing["actor"]) == (404, None, None)
        assert unrouted.headers["X-Request-ID"] == missing["request_id"]
        assert all(isinstance(line["duration_ms"], float) for line in lines)
        assert {line["level"] for line in lines} == {"info"}

    def test_a_malformed_request_id_is_replaced(self, sqlite_api: Api) -> None:
        api = sqlite_api
        # when
        response = api.client.get("/health/live", headers={"X-Request-ID": "bad id\twith tabs"})
        # then
        assert response.headers["X-Request-ID"] != "bad id\twith tabs"
        assert len(response.headers["X-Request-ID"]) == 32

    def test_tokens_are_never_logged(self, sqlite_api: Api) -> None:
        api = sqlite_api
        # given
        token = api.bearer("official")["Authorization"].removeprefix("Bearer ")
        # when
        ok(api.post("/budgets", BUDGET), 201)
        api.client.get("/budgets", headers={"Authorization": "Bearer bkt_forged-token-value"})
        # then
        text = api.log_stream.getvalue()
        assert text
        assert token not in text
        assert "bkt_forged-token-value" not in text

    def test_an_iban_in_a_logged_value_is_masked(self, sqlite_api: Api) -> None:
        api = sqlite_api
        # given
        iban = dutch_iban(3)
        # when
        api.client.get(f"/platforms/{iban}/balance", headers=api.bearer("official"))
        # then
        text = api.log_stream.getvalue()
        assert iban not in text
        assert f"{iban[:2]}{'*' * (len(iban) - 6)}{iban[-4:]}" in text

    def test_ibans_are_masked_compact_or_spaced_and_other_values_stay(self) -> None:
        # when
        masked = mask_iban_text("to NL91ABNA0417164300, from NL91 ABNA 0417 1643 00; KvK 12345678")
        # then
        assert masked == "to NL************4300, from NL************4300; KvK 12345678"
