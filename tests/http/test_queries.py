"""Every read route over HTTP, against the demo history (figures from the README)."""

from __future__ import annotations

from typing import Any

import pytest

from audit import merkle
from domain.budget import DistrictBudget
from domain.grant import Grant
from domain.platform import Platform
from projections.registry import open_store, runner
from projections.replay import platform_positions
from projections.store import ReadModelStore
from service.demo import load_demo
from service.http.policy import Role
from tests.http.conftest import Api
from tests.http.givens import expense, ok, recognised

G_BUURT = Platform.id_for("Stichting Bewonersplatform G-buurt")
K_BUURT = Platform.id_for("Hart voor de K-buurt")
G_GRANT = Grant.id_for("ZO-2019-G")


class TestPlatformReads:
    def test_platforms_are_listed_with_their_money_as_decimal_strings(self, demo_api: Api) -> None:
        # when
        rows = ok(demo_api.get("/platforms"))
        # then
        by_name = {row["neighbourhood"]: row for row in rows}
        assert {"K-buurt", "G-buurt", "Bloemenbuurt", "Kleine Wereld"} <= set(by_name)
        g = by_name["G-buurt"]
        assert (g["received"], g["unexplained_outflows"], g["cash_on_hand"]) == (
            "125000.00",
            "66150.00",
            "30000.00",
        )

    def test_a_platforms_balance_shows_its_grants(self, demo_api: Api) -> None:
        # when
        balance = ok(demo_api.get(f"/platforms/{G_BUURT}/balance"))
        # then
        assert balance["id"] == str(G_BUURT)
        [grant] = balance["grants"]
        assert (grant["id"], grant["reference"], grant["state"]) == (
            str(G_GRANT),
            "ZO-2019-G",
            "revoked",
        )
        assert (grant["refunded"], grant["recovered"]) == ("22650.00", "39350.00")

    def test_a_platforms_status_shows_recognition_history_members_grants_and_version(
        self, demo_api: Api
    ) -> None:
        # when
        status = ok(demo_api.get(f"/platforms/{G_BUURT}/status"))
        # then
        assert status["recognition"] == "revoked"
        assert [h["state"] for h in status["history"]] == ["recognised", "suspended", "revoked"]
        assert status["members"]
        assert [g["reference"] for g in status["grants"]] == ["ZO-2019-G"]
        platform = demo_api.services.app.load(Platform, G_BUURT, "platform")
        assert status["version"] == platform.version

    def test_a_status_behind_the_store_says_so_and_gives_the_version_it_shows(
        self, api: Api
    ) -> None:
        # given a recognised platform, read models current
        platform_id = recognised(api)
        api.project()
        current = ok(api.get(f"/platforms/{platform_id}/status"))
        # when it is suspended, and read again before the projector folds that
        suspension = {
            "decision_ref": "S-1",
            "effective_on": "2020-02-01",
            "reason": "investigation",
            "occurred_on": "2020-02-01",
        }
        path = f"/platforms/{platform_id}/recognition/suspensions"
        ok(api.post(path, {**suspension, "expected_version": current["version"]}))
        stale = ok(api.get(f"/platforms/{platform_id}/status"))
        # then the read says how far behind it is, and its version is the one it shows:
        # a decision taken on it is refused, as the platform moved on since
        assert stale["recognition"] == "recognised"
        assert stale["version"] == current["version"]
        assert stale["read_at"]["lag"] == 1
        assert stale["read_at"]["head"] == stale["read_at"]["position"] + 1
        again = api.post(path, {**suspension, "expected_version": stale["version"]})
        assert ok(again, 409)["rule"] == "concurrent_update"
        # and once folded, the read is current
        api.project()
        fresh = ok(api.get(f"/platforms/{platform_id}/status"))
        assert (fresh["recognition"], fresh["read_at"]["lag"]) == ("suspended", 0)
        assert fresh["version"] == current["version"] + 1

    def test_a_platforms_events_are_paged_by_cursor_until_the_last_page(
        self, demo_api: Api
    ) -> None:
        # given
        with demo_api.services.pool.connection() as conn:
            expected = platform_positions(demo_api.services.app, ReadModelStore(conn), G_BUURT)
        seen: list[int] = []
        cursor: int | None = 0
        pages = 0
        # when
        while cursor is not None:
            page = ok(demo_api.get(f"/platforms/{G_BUURT}/events", cursor=cursor, limit=25))
            seen.extend(item["position"] for item in page["items"])
            cursor = page["next_cursor"]
            pages += 1
        # then
        assert seen == expected
        assert pages == -(-len(expected) // 25)
        first = ok(demo_api.get(f"/platforms/{G_BUURT}/events", limit=1))["items"][0]
        assert (first["type"], first["aggregate_id"], first["version"]) == (
            "buurtkas.platform.Registered",
            str(G_BUURT),
            1,
        )
        assert first["summary"].startswith("Registered: Stichting Bewonersplatform G-buurt")

    def test_a_page_larger_than_the_limit_allows_is_refused_naming_the_parameter(
        self, demo_api: Api
    ) -> None:
        # when
        response = demo_api.get(f"/platforms/{G_BUURT}/events", limit=501)
        # then
        problem = ok(response, 422)
        assert problem["field"] == "limit"


class TestReplay:
    def test_replay_as_of_a_date_shows_the_drawdown_before_the_recovery(
        self, demo_api: Api
    ) -> None:
        # when
        before = ok(demo_api.get(f"/platforms/{G_BUURT}/replay", who="auditor", as_of="2019-12-31"))
        during = ok(demo_api.get(f"/platforms/{G_BUURT}/replay", who="auditor", as_of="2020-04-01"))
        # then
        assert before["balance"]["unexplained_outflows"] == "0.00"
        assert during["balance"]["unexplained_outflows"] == "66150.00"
        assert during["recognition"]["recognition"] in {"recognised", "suspended"}
        assert {f["rule"] for f in during["findings"] if f["strength"] == "strong"} >= {
            "unapproved_payment"
        }
        assert during["score"]["level"] == "high"

    def test_replay_by_position_shows_what_the_books_said_then(self, demo_api: Api) -> None:
        # given
        registered_at = ok(demo_api.get(f"/platforms/{G_BUURT}/events", limit=1))["items"][0]
        # when
        replay = ok(
            demo_api.get(
                f"/platforms/{G_BUURT}/replay", who="auditor", position=registered_at["position"]
            )
        )
        # then
        assert (replay["events"], replay["last_position"]) == (1, registered_at["position"])
        assert replay["recognition"]["recognition"] == "unrecognised"
        assert replay["balance"]["received"] == "0.00"

    @pytest.mark.parametrize("params", [{}, {"as_of": "2020-01-01", "position": 3}])
    def test_replay_needs_exactly_one_time_axis(
        self, demo_api: Api, params: dict[str, Any]
    ) -> None:
        # when
        response = demo_api.get(f"/platforms/{G_BUURT}/replay", who="auditor", **params)
        # then
        assert ok(response, 422)["rule"] == "one_time_axis"


class TestBudgetGrantExpenseReads:
    def test_budgets_are_listed_and_read_one_by_one(self, demo_api: Api) -> None:
        # given
        budget_id = DistrictBudget.id_for("Zuidoost", 2019)
        # when
        listed = ok(demo_api.get("/budgets", who="viewer"))
        one = ok(demo_api.get(f"/budgets/{budget_id}", who="viewer"))
        # then
        assert one in listed
        assert (one["district"], one["year"]) == ("Zuidoost", 2019)
        assert (one["allocated"], one["awarded"], one["paid_out"], one["available"]) == (
            "500000.00",
            "375000.00",
            "375000.00",
            "125000.00",
        )

    def test_a_grant_is_read_with_its_figures_and_version(self, demo_api: Api) -> None:
        # when
        grant = ok(demo_api.get(f"/grants/{G_GRANT}", who="viewer"))
        # then
        assert (grant["reference"], grant["state"], grant["platform_id"]) == (
            "ZO-2019-G",
            "revoked",
            str(G_BUURT),
        )
        assert (grant["awarded"], grant["tranches_paid"]) == ("250000.00", "125000.00")
        assert grant["version"] == demo_api.services.app.load(Grant, G_GRANT, "grant").version

    def test_an_unknown_grant_is_404(self, demo_api: Api) -> None:
        # when
        response = demo_api.get(f"/grants/{Grant.id_for('NO-SUCH-GRANT')}")
        # then
        assert (ok(response, 404)["field"], ok(response, 404)["rule"]) == ("grant_id", "not_found")

    def test_an_expense_is_read_with_its_state_and_version(self, api: Api) -> None:
        # given
        platform_id = recognised(api)
        tess = api.token(Role.TREASURER, platform_id, subject="treasurer:tess")
        expense_id = expense(api, platform_id, tess, amount="99.95")
        # when
        view = ok(api.get(f"/expenses/{expense_id}", who=tess))
        # then
        assert (view["amount"], view["state"], view["version"]) == ("99.95", "submitted", 1)
        assert (view["submitted_by"], view["platform_id"]) == ("treasurer:tess", str(platform_id))


class TestRiskAuditAndProjections:
    def test_risk_findings_are_filtered_by_platform_rule_and_severity(self, demo_api: Api) -> None:
        # when
        everything = ok(demo_api.get("/risk/findings"))
        g_only = ok(demo_api.get("/risk/findings", platform_id=str(G_BUURT)))
        high = ok(demo_api.get("/risk/findings", severity="high"))
        unapproved = ok(demo_api.get("/risk/findings", rule="unapproved_payment"))
        # then
        assert {f["platform_id"] for f in g_only["items"]} == {str(G_BUURT)}
        assert [p["platform_id"] for p in g_only["platforms"]] == [str(G_BUURT)]
        assert g_only["platforms"][0]["score"]["level"] == "high"
        assert high["items"]
        assert {f["severity"] for f in high["items"]} == {"high"}
        assert {f["rule"] for f in unapproved["items"]} == {"unapproved_payment"}
        assert len(everything["items"]) > len(g_only["items"])
        money_findings = [f for f in everything["items"] if f["unit"] == "EUR"]
        assert all("." in f["value"] for f in money_findings)

    def test_findings_say_how_many_platforms_wait_to_be_evaluated(self, api: Api) -> None:
        # given a platform's events folded by the signals halfway, short of the head
        platform_id = recognised(api)
        expense(api, platform_id, api.token(Role.TREASURER, platform_id, subject="t:x"))
        store = open_store(api.services.app.store_env)
        try:
            runner(api.services.app, store, "signals", batch_size=3).step()
        finally:
            store.conn.close()
        # when
        halfway = ok(api.get("/risk/findings"))
        api.project()
        current = ok(api.get("/risk/findings"))
        # then the first read says its findings are not yet evaluated, the second is current
        assert halfway["evaluating"] == 1
        head = int(api.services.app.recorder.max_notification_id() or 0)
        assert (halfway["read_at"]["position"], halfway["read_at"]["lag"]) == (3, head - 3)
        assert (current["evaluating"], current["read_at"]["lag"]) == (0, 0)
        assert [p["platform_id"] for p in current["platforms"]] == [str(platform_id)]

    def test_an_unknown_severity_is_refused_naming_the_parameter(self, demo_api: Api) -> None:
        # when
        response = demo_api.get("/risk/findings", severity="extreme")
        # then
        assert ok(response, 422)["field"] == "severity"

    def test_an_inclusion_proof_verifies_against_the_latest_checkpoint(self, demo_api: Api) -> None:
        # when
        checkpoint = ok(demo_api.get("/audit/checkpoint", who="auditor"))
        proof = ok(demo_api.get("/audit/events/137/proof", who="auditor"))
        # then
        assert checkpoint["tree_size"] == demo_api.events()
        assert proof["checkpoint"] == checkpoint
        assert merkle.verify_inclusion(
            proof["leaf_index"],
            proof["tree_size"],
            bytes.fromhex(proof["leaf_hash"]),
            [bytes.fromhex(h) for h in proof["path"]],
            bytes.fromhex(checkpoint["root_hash"]),
        )
        beyond = demo_api.get(f"/audit/events/{demo_api.events() + 1}/proof", who="auditor")
        assert ok(beyond, 404)["rule"] == "not_sealed"

    def test_without_a_signed_checkpoint_there_is_no_proof(self, sqlite_api: Api) -> None:
        api = sqlite_api
        # given
        ok(
            api.post(
                "/budgets",
                {"district": "Noord", "year": 2020, "amount": "1.00", "occurred_on": "2020-01-01"},
            ),
            201,
        )
        # when
        checkpoint = api.get("/audit/checkpoint", who="auditor")
        proof = api.get("/audit/events/1/proof", who="auditor")
        # then
        assert ok(checkpoint, 404)["rule"] == "no_checkpoint"
        assert ok(proof, 404)["rule"] == "no_checkpoint"

    def test_projection_positions_and_lag_are_reported(self, sqlite_api: Api) -> None:
        api = sqlite_api
        # given
        load_demo(api.services.app)
        # when
        behind = ok(api.get("/projections"))
        api.project()
        caught_up = ok(api.get("/projections", who="auditor"))
        # then
        assert {p["projection"] for p in behind} == {
            "balances",
            "status",
            "signals",
            "platform_index",
        }
        assert {p["lag"] for p in behind} == {api.events()}
        assert {(p["position"], p["lag"]) for p in caught_up} == {(api.events(), 0)}
