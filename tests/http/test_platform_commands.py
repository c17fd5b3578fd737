"""Platform and recognition commands over HTTP: one call, one application method, one save."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from domain.platform import Platform
from domain.values import RecognitionState, Role
from service.fixtures import dutch_iban
from service.http.policy import Role as ApiRole
from tests.http.conftest import Api
from tests.http.givens import ASSESSMENT, ok, registered

DECISION = {"reason": "council decision", "occurred_on": "2020-03-01"}


def registration(name: str, number: int) -> dict[str, Any]:
    return {
        "name": name,
        "neighbourhood": name,
        "district": "Zuidoost",
        "legal_form": "vereniging",
        "kvk": f"{number:08d}",
        "account_iban": dutch_iban(number),
        "occurred_on": "2020-01-03",
    }


def load(api: Api, platform_id: UUID) -> Platform:
    return api.services.app.load(Platform, platform_id, "platform")


class TestPlatformCommands:
    def test_registering_a_platform_answers_201_with_its_id_version_and_event(
        self, api: Api
    ) -> None:
        # when
        response = api.post("/platforms", registration("Hart voor de Testbuurt", 7))
        # then
        result = ok(response, 201)
        platform_id = UUID(result["id"])
        assert platform_id == Platform.id_for("Hart voor de Testbuurt")
        assert result["version"] == 1
        assert [(e["type"], e["version"]) for e in result["events"]] == [
            ("buurtkas.platform.Registered", 1)
        ]
        assert result["events"][0]["position"] == api.events()
        assert load(api, platform_id).kvk_number == "00000007"

    def test_every_event_records_the_tokens_subject_as_its_actor(self, sqlite_api: Api) -> None:
        api = sqlite_api
        # given
        token = api.token(ApiRole.OFFICIAL, subject="official:j.jansen@zuidoost")
        # when
        response = api.post("/platforms", registration("Actorbuurt", 9), who=token)
        # then
        platform_id = UUID(ok(response, 201)["id"])
        stored = api.services.app.recorder.select_events(platform_id)
        event: Any = api.services.app.mapper.to_domain_event(stored[0])
        assert event.actor == "official:j.jansen@zuidoost"

    def test_members_join_and_leave_and_relatives_are_declared(self, api: Api) -> None:
        # given
        platform_id = registered(api)
        # when
        joined = ok(
            api.post(
                f"/platforms/{platform_id}/memberships",
                {
                    "person": "Chris Chair",
                    "role": "chair",
                    "iban": dutch_iban(101),
                    "occurred_on": "2020-01-04",
                    "expected_version": 1,
                },
            )
        )
        declared = ok(
            api.post(
                f"/platforms/{platform_id}/relatives",
                {
                    "person": "Chris Chair",
                    "relative_name": "Cas Chair",
                    "relative_iban": dutch_iban(102),
                    "occurred_on": "2020-01-05",
                    "expected_version": joined["version"],
                },
            )
        )
        left = ok(
            api.post(
                f"/platforms/{platform_id}/departures",
                {
                    "person": "Chris Chair",
                    "role": "chair",
                    "occurred_on": "2020-02-01",
                    "expected_version": declared["version"],
                },
            )
        )
        # then
        assert (joined["version"], declared["version"], left["version"]) == (2, 3, 4)
        platform = load(api, platform_id)
        assert "Chris Chair" in platform.former_members
        assert platform.former_members["Chris Chair"].relatives == {"Cas Chair": dutch_iban(102)}
        assert platform.holders_of(Role.CHAIR) == []

    def test_recognition_is_applied_for_decided_suspended_lifted_and_revoked(
        self, api: Api
    ) -> None:
        # given
        platform_id = registered(api)
        base = f"/platforms/{platform_id}/recognition"
        # when
        version = ok(
            api.post(
                f"{base}/applications",
                {"application_ref": "A-1", "occurred_on": "2020-01-04", "expected_version": 1},
            )
        )["version"]
        version = ok(
            api.post(
                f"{base}/decisions",
                {
                    "granted": True,
                    "assessment": ASSESSMENT,
                    "decision_ref": "D-1",
                    "effective_on": "2020-01-05",
                    **DECISION,
                    "expected_version": version,
                },
            )
        )["version"]
        for step, day in (("suspensions", "02"), ("suspension-lifts", "03"), ("revocations", "04")):
            version = ok(
                api.post(
                    f"{base}/{step}",
                    {
                        "decision_ref": f"{step}-1",
                        "effective_on": f"2020-{day}-01",
                        **DECISION,
                        "expected_version": version,
                    },
                )
            )["version"]
        # then
        platform = load(api, platform_id)
        assert version == 6
        assert platform.recognition is RecognitionState.REVOKED
        assert [state for _, state in platform.recognition_history] == [
            RecognitionState.RECOGNISED,
            RecognitionState.SUSPENDED,
            RecognitionState.RECOGNISED,
            RecognitionState.REVOKED,
        ]

    def test_a_decision_without_every_criterion_is_refused_naming_the_field_and_rule(
        self, sqlite_api: Api
    ) -> None:
        api = sqlite_api
        # given
        platform_id = registered(api)
        ok(
            api.post(
                f"/platforms/{platform_id}/recognition/applications",
                {"application_ref": "A-1", "occurred_on": "2020-01-04", "expected_version": 1},
            )
        )
        # when
        response = api.post(
            f"/platforms/{platform_id}/recognition/decisions",
            {
                "granted": True,
                "assessment": ASSESSMENT[:3],
                "decision_ref": "D-1",
                "effective_on": "2020-01-05",
                **DECISION,
                "expected_version": 2,
            },
        )
        # then
        problem = ok(response, 422)
        assert (problem["field"], problem["rule"]) == ("assessment", "invalid_value")
        assert "missing" in problem["detail"]
        assert load(api, platform_id).version == 2

    def test_a_command_on_a_platform_that_does_not_exist_is_404(self, sqlite_api: Api) -> None:
        api = sqlite_api
        # when
        response = api.post(
            f"/platforms/{Platform.id_for('Nergensbuurt')}/memberships",
            {"person": "X", "role": "chair", "occurred_on": "2020-01-04", "expected_version": 1},
        )
        # then
        problem = ok(response, 404)
        assert (problem["field"], problem["rule"]) == ("platform", "not_found")
