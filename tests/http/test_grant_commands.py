"""Budget and grant commands over HTTP: award to settlement, recovery and refunds."""

from __future__ import annotations

from domain.budget import DistrictBudget
from domain.grant import Grant
from domain.money import Money
from domain.values import GrantState
from service.http.policy import Role
from tests.http.conftest import Api
from tests.http.givens import budget, grant, ok, paid_tranche, recognised

DECISION = {"reason": "council decision", "occurred_on": "2020-06-01"}


class TestGrantCommands:
    def test_a_budget_is_allocated_and_a_grant_awarded_from_it(self, api: Api) -> None:
        # given
        platform_id = recognised(api)
        # when
        budget_id = budget(api, "250000.00")
        grant_id = grant(api, budget_id, platform_id)
        # then
        awarded = api.services.app.load(Grant, grant_id, "grant")
        allocated = api.services.app.load(DistrictBudget, budget_id, "budget")
        assert awarded.amount == Money(10_000_000)
        assert allocated.unawarded == Money(15_000_000)

    def test_an_award_beyond_the_budget_is_refused_and_nothing_is_stored(
        self, sqlite_api: Api
    ) -> None:
        api = sqlite_api
        # given
        platform_id = recognised(api)
        budget_id = budget(api, "50000.00")
        before = api.events()
        # when
        response = api.post(
            "/grants",
            {
                "budget_id": str(budget_id),
                "platform_id": str(platform_id),
                "reference": "G-TOO-MUCH",
                "amount": "100000.00",
                "period_start": "2020-01-01",
                "period_end": "2020-12-31",
                "purpose": "too much",
                "tranches": [{"number": 1, "due_on": "2020-02-01", "amount": "100000.00"}],
                "decision_ref": "B-1",
                "reason": "awarded",
                "occurred_on": "2020-01-10",
            },
        )
        # then
        problem = ok(response, 422)
        assert (problem["field"], problem["rule"]) == ("amount", "budget_exceeded")
        assert "EUR 100000.00 exceeds the unawarded budget" in problem["detail"]
        assert api.events() == before

    def test_an_award_whose_schedule_falls_short_of_the_amount_is_refused_and_nothing_is_stored(
        self, api: Api
    ) -> None:
        # given
        platform_id = recognised(api)
        budget_id = budget(api)
        before = api.events()
        # when EUR 1,000 is awarded with one tranche of EUR 500
        response = api.post(
            "/grants",
            {
                "budget_id": str(budget_id),
                "platform_id": str(platform_id),
                "reference": "G-SHORT",
                "amount": "1000.00",
                "period_start": "2020-01-01",
                "period_end": "2020-12-31",
                "purpose": "half a schedule",
                "tranches": [{"number": 1, "due_on": "2020-02-01", "amount": "500.00"}],
                "decision_ref": "B-1",
                "reason": "awarded",
                "occurred_on": "2020-01-10",
            },
        )
        # then
        problem = ok(response, 422)
        assert (problem["field"], problem["rule"]) == ("tranches", "schedule_below_award")
        assert "the schedule totals EUR 500.00, EUR 500.00 short of the award" in problem["detail"]
        assert api.events() == before

    def test_an_amendment_whose_schedule_falls_short_of_the_new_amount_is_refused(
        self, api: Api
    ) -> None:
        # given a grant of EUR 100,000 in two tranches of EUR 50,000
        grant_id = grant(api, budget(api), recognised(api))
        before = api.events()
        # when the amount is raised and the schedule is not
        response = api.post(
            f"/grants/{grant_id}/amendments",
            {
                "amount": "120000.00",
                "period_end": "2021-06-30",
                "tranches": [
                    {"number": 1, "due_on": "2020-01-10", "amount": "50000.00"},
                    {"number": 2, "due_on": "2021-01-10", "amount": "50000.00"},
                ],
                "decision_ref": "W-1",
                **DECISION,
                "expected_version": 1,
            },
        )
        # then
        problem = ok(response, 422)
        assert (problem["field"], problem["rule"]) == ("tranches", "schedule_below_award")
        assert "EUR 20000.00 short of the award of EUR 120000.00" in problem["detail"]
        assert api.events() == before

    def test_a_grant_is_amended_paid_settled_and_part_recovered_and_refunded(
        self, api: Api
    ) -> None:
        # given
        platform_id = recognised(api)
        grant_id = grant(api, budget(api), platform_id)
        base = f"/grants/{grant_id}"
        # when
        version = ok(
            api.post(
                f"{base}/amendments",
                {
                    "amount": "120000.00",
                    "period_end": "2021-06-30",
                    "tranches": [
                        {"number": 1, "due_on": "2020-01-10", "amount": "50000.00"},
                        {"number": 2, "due_on": "2021-01-10", "amount": "70000.00"},
                    ],
                    "decision_ref": "W-1",
                    **DECISION,
                    "expected_version": 1,
                },
            )
        )["version"]
        version = paid_tranche(api, grant_id, version=version)
        version = ok(
            api.post(
                f"{base}/settlement",
                {
                    "amount": "30000.00",
                    "decision_ref": "V-1",
                    **DECISION,
                    "expected_version": version,
                },
            )
        )["version"]
        version = ok(
            api.post(
                f"{base}/recovery-claims",
                {
                    "amount": "15000.00",
                    "decision_ref": "T-1",
                    **DECISION,
                    "expected_version": version,
                },
            )
        )["version"]
        version = ok(
            api.post(
                f"{base}/recovery-receipts",
                {"amount": "15000.00", "occurred_on": "2020-07-01", "expected_version": version},
            )
        )["version"]
        version = ok(
            api.post(
                f"{base}/refunds",
                {"amount": "5000.00", "occurred_on": "2020-07-02", "expected_version": version},
            )
        )["version"]
        # then
        settled = api.services.app.load(Grant, grant_id, "grant")
        assert version == 7
        assert settled.state is GrantState.SETTLED
        assert (settled.amount, settled.paid_total, settled.settled) == (
            Money(12_000_000),
            Money(5_000_000),
            Money(3_000_000),
        )
        assert (settled.claimed, settled.recovered, settled.refunded) == (
            Money(1_500_000),
            Money(1_500_000),
            Money(500_000),
        )

    def test_a_revoked_grant_pays_no_more_tranches(self, api: Api) -> None:
        # given
        grant_id = grant(api, budget(api), recognised(api))
        version = paid_tranche(api, grant_id)
        version = ok(
            api.post(
                f"/grants/{grant_id}/revocation",
                {
                    "effective_on": "2020-03-01",
                    "retroactive": True,
                    "decision_ref": "I-1",
                    **DECISION,
                    "expected_version": version,
                },
            )
        )["version"]
        # when
        response = api.post(
            f"/grants/{grant_id}/tranche-payments",
            {
                "number": 2,
                "amount": "50000.00",
                "occurred_on": "2020-06-02",
                "expected_version": version,
            },
        )
        # then
        problem = ok(response, 409)
        assert (problem["field"], problem["rule"]) == ("number", "grant_revoked")
        assert api.services.app.load(Grant, grant_id, "grant").state is GrantState.REVOKED

    def test_a_settlement_of_zero_is_accepted_and_above_the_award_refused(
        self, sqlite_api: Api
    ) -> None:
        api = sqlite_api
        # given
        grant_id = grant(api, budget(api), recognised(api))
        body = {"decision_ref": "V-1", **DECISION, "expected_version": 1}
        # when
        above = api.post(f"/grants/{grant_id}/settlement", {**body, "amount": "100000.01"})
        zero = api.post(f"/grants/{grant_id}/settlement", {**body, "amount": "0"})
        # then
        assert ok(above, 422)["rule"] == "amount_beyond_limit"
        assert ok(zero)["version"] == 2
        assert api.services.app.load(Grant, grant_id, "grant").settled == Money(0)


class TestTrancheRequestsAndReports:
    def test_the_platforms_treasurer_requests_a_tranche_and_reports_on_the_paid_one(
        self, api: Api
    ) -> None:
        # given
        platform_id = recognised(api)
        grant_id = grant(api, budget(api), platform_id)
        version = paid_tranche(api, grant_id)
        treasurer = api.token(Role.TREASURER, platform_id, subject="penningmeester")
        # when
        requested = ok(
            api.post(
                f"/grants/{grant_id}/tranche-requests",
                {"number": 2, "occurred_on": "2020-05-01", "expected_version": version},
                who=treasurer,
            )
        )
        reported = api.post(
            f"/grants/{grant_id}/reports",
            {
                "tranche": 1,
                "spent": "48000.00",
                "summary": "festival and homework support",
                "occurred_on": "2020-05-02",
                "expected_version": requested["version"],
            },
            who=treasurer,
        )
        # then
        ok(reported)
        awarded = api.services.app.load(Grant, grant_id, "grant")
        assert (awarded.requested, awarded.reported) == ({2}, {1})
        events = [e for _, e in api.services.app.stored_events() if e.originator_id == grant_id]
        assert [type(e).__name__ for e in events[-2:]] == ["TrancheRequested", "ReportSubmitted"]
        assert {e.actor for e in events[-2:]} == {"penningmeester"}

    def test_a_treasurer_of_another_platform_may_not_request_its_tranche(
        self, sqlite_api: Api
    ) -> None:
        api = sqlite_api
        # given
        grant_id = grant(api, budget(api), recognised(api))
        other = recognised(api, "Andere buurt")
        before = api.events()
        # when
        response = api.post(
            f"/grants/{grant_id}/tranche-requests",
            {"number": 1, "occurred_on": "2020-05-01", "expected_version": 1},
            who=api.token(Role.TREASURER, other),
        )
        # then
        assert ok(response, 403)["rule"] == "outside_platform"
        assert api.events() == before


class TestGrantRulesOverHttp:
    """Each refusal keeps the domain's field and rule, and stores nothing."""

    def test_given_a_claim_paid_by_a_refund_when_the_recovery_is_received_too_then_422(
        self, api: Api
    ) -> None:
        # given EUR 50,000 paid, revoked with retroactive effect, claimed, and refunded
        grant_id = grant(api, budget(api), recognised(api))
        version = paid_tranche(api, grant_id)
        base = f"/grants/{grant_id}"
        steps: list[tuple[str, dict[str, object]]] = [
            (
                "revocation",
                {"effective_on": "2020-01-10", "retroactive": True, "decision_ref": "I-1"},
            ),
            ("recovery-claims", {"amount": "50000.00", "decision_ref": "T-1"}),
        ]
        for path, body in steps:
            version = ok(
                api.post(f"{base}/{path}", {**body, **DECISION, "expected_version": version})
            )["version"]
        refund = {"amount": "50000.00", "occurred_on": "2020-07-01", "expected_version": version}
        version = ok(api.post(f"{base}/refunds", refund))["version"]
        before = api.events()
        # when
        response = api.post(
            f"{base}/recovery-receipts",
            {"amount": "50000.00", "occurred_on": "2020-07-02", "expected_version": version},
        )
        # then
        problem = ok(response, 422)
        assert (problem["field"], problem["rule"]) == ("amount", "returns_beyond_paid")
        assert api.events() == before

    def test_given_a_refund_of_a_tranche_when_the_tranche_is_reversed_then_409(
        self, api: Api
    ) -> None:
        # given
        grant_id = grant(api, budget(api), recognised(api))
        tranche_version = paid_tranche(api, grant_id)
        refund = {"amount": "20000.00", "occurred_on": "2020-02-01"}
        version = ok(
            api.post(f"/grants/{grant_id}/refunds", {**refund, "expected_version": tranche_version})
        )["version"]
        before = api.events()
        # when
        response = api.post(
            "/corrections",
            {
                "aggregate_id": str(grant_id),
                "reverses_version": tranche_version,
                "reason": "booked in error",
                "occurred_on": "2020-02-02",
                "expected_version": version,
            },
        )
        # then
        problem = ok(response, 409)
        assert (problem["field"], problem["rule"]) == ("reverses_version", "reversal_below_returns")
        assert api.events() == before

    def test_given_one_tranche_paid_when_settled_between_tranches_then_422(self, api: Api) -> None:
        # given EUR 100,000 in two tranches of EUR 50,000, the first paid
        grant_id = grant(api, budget(api), recognised(api))
        version = paid_tranche(api, grant_id)
        before = api.events()
        # when
        response = api.post(
            f"/grants/{grant_id}/settlement",
            {"amount": "75000.00", "decision_ref": "V-1", **DECISION, "expected_version": version},
        )
        # then
        problem = ok(response, 422)
        assert (problem["field"], problem["rule"]) == ("amount", "settlement_not_payable")
        assert "(EUR 100000.00)" in problem["detail"]
        assert api.events() == before

    def test_given_a_suspended_platform_when_its_award_is_raised_then_422(self, api: Api) -> None:
        # given
        platform_id = recognised(api)
        grant_id = grant(api, budget(api), platform_id)
        ok(
            api.post(
                f"/platforms/{platform_id}/recognition/suspensions",
                {
                    "decision_ref": "S-1",
                    "effective_on": "2020-02-01",
                    "reason": "investigation",
                    "occurred_on": "2020-02-01",
                    "expected_version": 5,
                },
            )
        )
        before = api.events()
        # when
        response = api.post(
            f"/grants/{grant_id}/amendments",
            {
                "amount": "120000.00",
                "period_end": "2020-12-31",
                "tranches": [
                    {"number": 1, "due_on": "2020-01-10", "amount": "50000.00"},
                    {"number": 2, "due_on": "2020-02-10", "amount": "70000.00"},
                ],
                "decision_ref": "W-1",
                **DECISION,
                "expected_version": 1,
            },
        )
        # then
        problem = ok(response, 422)
        assert (problem["field"], problem["rule"]) == ("platform", "platform_not_recognised")
        assert api.events() == before

    def test_given_a_retroactive_revocation_when_the_grant_is_settled_then_409(
        self, api: Api
    ) -> None:
        # given
        grant_id = grant(api, budget(api), recognised(api))
        version = paid_tranche(api, grant_id)
        version = ok(
            api.post(
                f"/grants/{grant_id}/revocation",
                {
                    "effective_on": "2020-01-10",
                    "retroactive": True,
                    "decision_ref": "I-1",
                    **DECISION,
                    "expected_version": version,
                },
            )
        )["version"]
        before = api.events()
        # when
        response = api.post(
            f"/grants/{grant_id}/settlement",
            {"amount": "50000.00", "decision_ref": "V-1", **DECISION, "expected_version": version},
        )
        # then
        problem = ok(response, 409)
        assert (problem["field"], problem["rule"]) == ("amount", "grant_revoked")
        assert api.events() == before

    def test_given_an_award_when_a_tranche_is_dated_before_it_then_422(self, api: Api) -> None:
        # given a grant awarded on 2020-01-10
        grant_id = grant(api, budget(api), recognised(api))
        before = api.events()
        # when
        response = api.post(
            f"/grants/{grant_id}/tranche-payments",
            {"number": 1, "amount": "50000.00", "occurred_on": "2020-01-09", "expected_version": 1},
        )
        # then
        problem = ok(response, 422)
        assert (problem["field"], problem["rule"]) == ("occurred_on", "before_award")
        assert api.events() == before
