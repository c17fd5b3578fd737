"""Platforms: registration, members and relatives, recognition by the district council."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from domain.errors import InvalidIban, InvalidKvkNumber, InvalidTransition, InvalidValue
from domain.platform import CriterionAssessment, Member, Platform
from domain.values import Criterion, LegalForm, Outcome, RecognitionState, Role
from service.fixtures import assessment, d, dutch_iban
from tests.unit.builders import (
    CHAIR,
    CHAIR_IBAN,
    LATER,
    OFFICIAL,
    REGISTERED_ON,
    TREASURER,
    a_recognised_platform,
    a_registered_platform,
    a_revoked_platform,
    a_suspended_platform,
    an_applying_platform,
    one_new_event,
    with_board,
)

DECIDED_ON = d("2019-09-01")

# Registration -------------------------------------------------------------------------


def test_registering_a_platform_records_its_legal_entity_and_account() -> None:
    # given
    account = "nl58 abna 0000 0000 01"

    # when
    platform = Platform.register(
        name=" Stichting G-buurt ",
        neighbourhood="G-buurt",
        district="Zuidoost",
        legal_form=LegalForm.STICHTING,
        kvk="70000001",
        account_iban=account,
        occurred_on=REGISTERED_ON,
        actor=OFFICIAL,
    )

    # then
    event = one_new_event(platform, 0, Platform.Registered)
    assert (event.name, event.neighbourhood, event.district) == (
        "Stichting G-buurt",
        "G-buurt",
        "Zuidoost",
    )
    assert (event.legal_form, event.kvk_number, event.iban) == (
        LegalForm.STICHTING,
        "70000001",
        "NL58ABNA0000000001",
    )
    assert (event.occurred_on, event.actor) == (REGISTERED_ON, OFFICIAL)
    assert platform.id == Platform.id_for("stichting g-buurt")
    assert platform.recognition is RecognitionState.UNRECOGNISED
    assert platform.members == {}


@pytest.mark.parametrize(
    ("changes", "field", "error", "rule"),
    [
        ({"name": ""}, "name", InvalidValue, "invalid_value"),
        ({"name": "n" * 201}, "name", InvalidValue, "invalid_value"),
        ({"neighbourhood": "  "}, "neighbourhood", InvalidValue, "invalid_value"),
        ({"district": ""}, "district", InvalidValue, "invalid_value"),
        ({"kvk": "1234567"}, "kvk_number", InvalidKvkNumber, "invalid_kvk_number"),
        ({"kvk": "123456789"}, "kvk_number", InvalidKvkNumber, "invalid_kvk_number"),
        ({"account_iban": "NL58ABNA0000000002"}, "account_iban", InvalidIban, "invalid_iban"),
        ({"occurred_on": "2019-03-01"}, "occurred_on", InvalidValue, "invalid_value"),
        ({"actor": ""}, "actor", InvalidValue, "invalid_value"),
    ],
)
def test_a_registration_with_an_invalid_field_is_refused(
    changes: dict[str, object], field: str, error: type[InvalidValue], rule: str
) -> None:
    # given
    command: dict[str, object] = {
        "name": "Stichting G-buurt",
        "neighbourhood": "G-buurt",
        "district": "Zuidoost",
        "legal_form": LegalForm.STICHTING,
        "kvk": "70000001",
        "account_iban": dutch_iban(1),
        "occurred_on": REGISTERED_ON,
        "actor": OFFICIAL,
    } | changes

    # when
    with pytest.raises(error) as info:
        Platform.register(**command)  # type: ignore[arg-type]

    # then
    assert type(info.value) is error
    assert info.value.field == field
    assert f"[rule: {rule}]" in str(info.value)


# Members ------------------------------------------------------------------------------


def test_a_person_joins_in_a_role_with_her_own_account() -> None:
    # given
    platform = a_registered_platform()
    before = len(platform.pending_events)

    # when
    platform.join(
        person=f" {CHAIR} ", role=Role.CHAIR, iban=CHAIR_IBAN, occurred_on=LATER, actor=OFFICIAL
    )

    # then
    event = one_new_event(platform, before, Platform.MemberJoined)
    assert (event.person, event.role, event.iban) == (CHAIR, Role.CHAIR, CHAIR_IBAN)
    assert (event.occurred_on, event.actor) == (LATER, OFFICIAL)
    assert platform.members == {CHAIR: Member(CHAIR, {Role.CHAIR}, CHAIR_IBAN)}
    assert platform.holders_of(Role.CHAIR) == [CHAIR]


def test_a_member_may_hold_a_second_role_and_keeps_her_known_account() -> None:
    # given
    platform = with_board(a_registered_platform())
    before = len(platform.pending_events)

    # when
    platform.join(person=CHAIR, role=Role.TREASURER, occurred_on=LATER, actor=OFFICIAL)

    # then
    event = one_new_event(platform, before, Platform.MemberJoined)
    assert event.iban is None
    assert platform.members[CHAIR].roles == {Role.CHAIR, Role.TREASURER}
    assert platform.members[CHAIR].iban == CHAIR_IBAN
    assert platform.holders_of(Role.TREASURER) == [CHAIR, TREASURER]


def test_joining_in_a_role_already_held_is_refused() -> None:
    # given
    platform = with_board(a_registered_platform())
    before = len(platform.pending_events)

    # when
    with pytest.raises(InvalidTransition) as info:
        platform.join(person=CHAIR, role=Role.CHAIR, occurred_on=LATER, actor=OFFICIAL)

    # then
    assert info.value.field == "role"
    assert f"{CHAIR} already holds the role chair" in str(info.value)
    assert "[rule: invalid_transition]" in str(info.value)
    assert len(platform.pending_events) == before


def test_joining_with_an_invalid_account_is_refused() -> None:
    # given
    platform = a_registered_platform()
    before = len(platform.pending_events)

    # when
    with pytest.raises(InvalidIban) as info:
        platform.join(
            person=CHAIR,
            role=Role.CHAIR,
            iban="NL58ABNA0000000002",
            occurred_on=LATER,
            actor=OFFICIAL,
        )

    # then
    assert info.value.field == "iban"
    assert "[rule: invalid_iban]" in str(info.value)
    assert len(platform.pending_events) == before
    assert platform.members == {}


def test_joining_without_a_name_is_refused() -> None:
    # given
    platform = a_registered_platform()
    before = len(platform.pending_events)

    # when
    with pytest.raises(InvalidValue) as info:
        platform.join(person=" ", role=Role.CORE_GROUP, occurred_on=LATER, actor=OFFICIAL)

    # then
    assert info.value.field == "person"
    assert "[rule: invalid_value]" in str(info.value)
    assert len(platform.pending_events) == before


def test_a_member_leaving_one_of_two_roles_stays_a_member() -> None:
    # given
    platform = with_board(a_registered_platform())
    platform.join(person=CHAIR, role=Role.CORE_GROUP, occurred_on=LATER, actor=OFFICIAL)
    before = len(platform.pending_events)

    # when
    platform.leave(person=CHAIR, role=Role.CHAIR, occurred_on=LATER, actor=OFFICIAL)

    # then
    event = one_new_event(platform, before, Platform.MemberLeft)
    assert (event.person, event.role, event.actor) == (CHAIR, Role.CHAIR, OFFICIAL)
    assert platform.members[CHAIR].roles == {Role.CORE_GROUP}
    assert platform.holders_of(Role.CHAIR) == []
    assert CHAIR not in platform.former_members


def test_a_member_leaving_her_last_role_becomes_a_former_member() -> None:
    # given
    platform = with_board(a_registered_platform())
    before = len(platform.pending_events)

    # when
    platform.leave(person=CHAIR, role=Role.CHAIR, occurred_on=LATER, actor=OFFICIAL)

    # then
    one_new_event(platform, before, Platform.MemberLeft)
    assert CHAIR not in platform.members
    assert platform.former_members[CHAIR].iban == CHAIR_IBAN


@pytest.mark.parametrize(("person", "role"), [(CHAIR, Role.TREASURER), ("Nobody", Role.CHAIR)])
def test_leaving_a_role_not_held_is_refused(person: str, role: Role) -> None:
    # given
    platform = with_board(a_registered_platform())
    before = len(platform.pending_events)

    # when
    with pytest.raises(InvalidTransition) as info:
        platform.leave(person=person, role=role, occurred_on=LATER, actor=OFFICIAL)

    # then
    assert info.value.field == "role"
    assert f"{person} does not hold the role {role.value}" in str(info.value)
    assert "[rule: invalid_transition]" in str(info.value)
    assert len(platform.pending_events) == before


def test_a_member_declares_a_relative_with_an_account() -> None:
    # given
    platform = with_board(a_registered_platform())
    before = len(platform.pending_events)
    nephew_iban = dutch_iban(301)

    # when
    platform.declare_relative(
        person=CHAIR,
        relative_name=" Nico Nephew ",
        relative_iban=nephew_iban,
        occurred_on=LATER,
        actor=OFFICIAL,
    )

    # then
    event = one_new_event(platform, before, Platform.RelativeDeclared)
    assert (event.person, event.relative_name, event.relative_iban) == (
        CHAIR,
        "Nico Nephew",
        nephew_iban,
    )
    assert platform.members[CHAIR].relatives == {"Nico Nephew": nephew_iban}


def test_declaring_a_relative_of_a_non_member_is_refused() -> None:
    # given
    platform = with_board(a_registered_platform())
    platform.leave(person=CHAIR, role=Role.CHAIR, occurred_on=LATER, actor=OFFICIAL)
    before = len(platform.pending_events)

    # when
    with pytest.raises(InvalidValue) as info:
        platform.declare_relative(
            person=CHAIR, relative_name="Nico Nephew", occurred_on=LATER, actor=OFFICIAL
        )

    # then
    assert info.value.field == "person"
    assert "is not a member of Stichting G-buurt" in str(info.value)
    assert "[rule: invalid_value]" in str(info.value)
    assert len(platform.pending_events) == before


def test_declaring_a_relative_with_an_invalid_account_is_refused() -> None:
    # given
    platform = with_board(a_registered_platform())
    before = len(platform.pending_events)

    # when
    with pytest.raises(InvalidIban) as info:
        platform.declare_relative(
            person=CHAIR,
            relative_name="Nico Nephew",
            relative_iban="NL00INGB0000000000",
            occurred_on=LATER,
            actor=OFFICIAL,
        )

    # then
    assert info.value.field == "relative_iban"
    assert "[rule: invalid_iban]" in str(info.value)
    assert len(platform.pending_events) == before
    assert platform.members[CHAIR].relatives == {}


# Recognition --------------------------------------------------------------------------


def test_applying_for_recognition_leaves_an_application_pending() -> None:
    # given
    platform = a_registered_platform()
    before = len(platform.pending_events)

    # when
    platform.apply_for_recognition(
        application_ref=" AANVRAAG-7 ", occurred_on=d("2019-06-01"), actor=OFFICIAL
    )

    # then
    event = one_new_event(platform, before, Platform.RecognitionApplied)
    assert (event.application_ref, event.occurred_on) == ("AANVRAAG-7", d("2019-06-01"))
    assert platform.recognition is RecognitionState.APPLIED
    assert platform.pending_application == "AANVRAAG-7"


@pytest.mark.parametrize(
    ("given_platform", "message"),
    [
        (an_applying_platform, "is still pending"),
        (a_recognised_platform, "is already recognised"),
        (a_suspended_platform, "is already recognised"),
    ],
)
def test_applying_again_while_pending_or_recognised_is_refused(
    given_platform: Callable[[], Platform], message: str
) -> None:
    # given
    platform = given_platform()
    before = len(platform.pending_events)

    # when
    with pytest.raises(InvalidTransition) as info:
        platform.apply_for_recognition(
            application_ref="AANVRAAG-8", occurred_on=LATER, actor=OFFICIAL
        )

    # then
    assert info.value.field == "application_ref"
    assert message in str(info.value)
    assert "[rule: invalid_transition]" in str(info.value)
    assert len(platform.pending_events) == before


def test_a_revoked_platform_may_apply_again() -> None:
    # given
    platform = a_revoked_platform()
    before = len(platform.pending_events)

    # when
    platform.apply_for_recognition(application_ref="AANVRAAG-9", occurred_on=LATER, actor=OFFICIAL)

    # then
    one_new_event(platform, before, Platform.RecognitionApplied)
    assert platform.recognition is RecognitionState.APPLIED


def test_granting_recognition_records_the_assessment_in_criterion_order() -> None:
    # given
    platform = an_applying_platform()
    before = len(platform.pending_events)
    shuffled = list(reversed(assessment({Criterion.MOBILISES_OUTSIDE_MONEY: "no co-funding"})))

    # when
    platform.decide_recognition(
        granted=True,
        assessment=shuffled,
        decision_ref="ERKENNING-1",
        effective_on=d("2019-09-15"),
        reason="support in the neighbourhood is broad",
        occurred_on=DECIDED_ON,
        actor=OFFICIAL,
    )

    # then
    event = one_new_event(platform, before, Platform.RecognitionDecided)
    assert event.granted is True
    assert event.application_ref == "AANVRAAG-Stichting G-buurt"
    assert [a.criterion for a in event.assessment] == list(Criterion)
    assert event.assessment[-1] == CriterionAssessment(
        Criterion.MOBILISES_OUTSIDE_MONEY, Outcome.NOT_MET, "no co-funding"
    )
    assert (event.decision_ref, event.effective_on) == ("ERKENNING-1", d("2019-09-15"))
    assert event.reason == "support in the neighbourhood is broad"
    assert platform.recognition is RecognitionState.RECOGNISED
    assert platform.pending_application is None
    assert platform.recognition_history == [(d("2019-09-15"), RecognitionState.RECOGNISED)]
    assert platform.last_assessment == event.assessment


def test_refusing_recognition_leaves_the_platform_refused() -> None:
    # given
    platform = an_applying_platform()
    before = len(platform.pending_events)

    # when
    platform.decide_recognition(
        granted=False,
        assessment=assessment({Criterion.BROAD_DIVERSE_SUPPORT: "a small circle of friends"}),
        decision_ref="WEIGERING-1",
        effective_on=DECIDED_ON,
        reason="support is too narrow",
        occurred_on=DECIDED_ON,
        actor=OFFICIAL,
    )

    # then
    event = one_new_event(platform, before, Platform.RecognitionDecided)
    assert event.granted is False
    assert platform.recognition is RecognitionState.REFUSED
    assert platform.pending_application is None
    assert not platform.is_recognised_on(d("2030-01-01"))


def test_deciding_without_an_application_is_refused() -> None:
    # given
    platform = a_registered_platform()
    before = len(platform.pending_events)

    # when
    with pytest.raises(InvalidTransition) as info:
        platform.decide_recognition(
            granted=True,
            assessment=assessment(),
            decision_ref="ERKENNING-1",
            effective_on=DECIDED_ON,
            reason="meets the criteria",
            occurred_on=DECIDED_ON,
            actor=OFFICIAL,
        )

    # then
    assert info.value.field == "decision_ref"
    assert "has no pending application" in str(info.value)
    assert "[rule: invalid_transition]" in str(info.value)
    assert len(platform.pending_events) == before
    assert platform.recognition is RecognitionState.UNRECOGNISED


@pytest.mark.parametrize(
    ("criteria", "message"),
    [
        (assessment()[:-1], "missing: mobilises_outside_money"),
        ([], "missing: capacity_to_act, involves_many_residents"),
        (assessment() + assessment()[:1], "duplicates found"),
    ],
)
def test_an_assessment_that_misses_or_repeats_a_criterion_is_refused(
    criteria: list[CriterionAssessment], message: str
) -> None:
    # given
    platform = an_applying_platform()
    before = len(platform.pending_events)

    # when
    with pytest.raises(InvalidValue) as info:
        platform.decide_recognition(
            granted=True,
            assessment=criteria,
            decision_ref="ERKENNING-1",
            effective_on=DECIDED_ON,
            reason="meets the criteria",
            occurred_on=DECIDED_ON,
            actor=OFFICIAL,
        )

    # then
    assert info.value.field == "assessment"
    assert "must assess every criterion exactly once" in str(info.value)
    assert message in str(info.value)
    assert "[rule: invalid_value]" in str(info.value)
    assert len(platform.pending_events) == before
    assert platform.recognition is RecognitionState.APPLIED


def test_a_decision_without_a_reason_is_refused() -> None:
    # given
    platform = an_applying_platform()
    before = len(platform.pending_events)

    # when
    with pytest.raises(InvalidValue) as info:
        platform.decide_recognition(
            granted=True,
            assessment=assessment(),
            decision_ref="ERKENNING-1",
            effective_on=DECIDED_ON,
            reason="",
            occurred_on=DECIDED_ON,
            actor=OFFICIAL,
        )

    # then
    assert info.value.field == "reason"
    assert "[rule: invalid_value]" in str(info.value)
    assert len(platform.pending_events) == before


def test_suspending_a_recognised_platform_records_the_decision() -> None:
    # given
    platform = a_recognised_platform()
    before = len(platform.pending_events)

    # when
    platform.suspend(
        decision_ref="SCHORSING-1",
        effective_on=d("2020-03-20"),
        reason="chair withdrew the money",
        occurred_on=d("2020-03-19"),
        actor=OFFICIAL,
    )

    # then
    event = one_new_event(platform, before, Platform.RecognitionSuspended)
    assert (event.decision_ref, event.effective_on) == ("SCHORSING-1", d("2020-03-20"))
    assert (event.reason, event.occurred_on, event.actor) == (
        "chair withdrew the money",
        d("2020-03-19"),
        OFFICIAL,
    )
    assert platform.recognition is RecognitionState.SUSPENDED
    assert platform.recognition_history[-1] == (d("2020-03-20"), RecognitionState.SUSPENDED)


@pytest.mark.parametrize(
    ("given_platform", "state"),
    [
        (a_registered_platform, "unrecognised"),
        (an_applying_platform, "applied"),
        (a_suspended_platform, "suspended"),
        (a_revoked_platform, "revoked"),
    ],
)
def test_suspending_a_platform_that_is_not_recognised_is_refused(
    given_platform: Callable[[], Platform], state: str
) -> None:
    # given
    platform = given_platform()
    before = len(platform.pending_events)

    # when
    with pytest.raises(InvalidTransition) as info:
        platform.suspend(
            decision_ref="SCHORSING-2",
            effective_on=LATER,
            reason="report overdue",
            occurred_on=LATER,
            actor=OFFICIAL,
        )

    # then
    assert info.value.field == "decision_ref"
    assert f"cannot suspend Stichting G-buurt: it is {state}" in str(info.value)
    assert "[rule: invalid_transition]" in str(info.value)
    assert len(platform.pending_events) == before


def test_lifting_a_suspension_restores_recognition() -> None:
    # given
    platform = a_suspended_platform()
    before = len(platform.pending_events)

    # when
    platform.lift_suspension(
        decision_ref="OPHEFFING-1",
        effective_on=d("2019-12-01"),
        reason="report received",
        occurred_on=d("2019-12-01"),
        actor=OFFICIAL,
    )

    # then
    event = one_new_event(platform, before, Platform.SuspensionLifted)
    assert (event.decision_ref, event.effective_on) == ("OPHEFFING-1", d("2019-12-01"))
    assert platform.recognition is RecognitionState.RECOGNISED
    assert platform.is_recognised_on(d("2019-12-01"))


@pytest.mark.parametrize("given_platform", [a_registered_platform, a_recognised_platform])
def test_lifting_a_suspension_that_is_not_in_force_is_refused(
    given_platform: Callable[[], Platform],
) -> None:
    # given
    platform = given_platform()
    before = len(platform.pending_events)

    # when
    with pytest.raises(InvalidTransition) as info:
        platform.lift_suspension(
            decision_ref="OPHEFFING-1",
            effective_on=LATER,
            reason="report received",
            occurred_on=LATER,
            actor=OFFICIAL,
        )

    # then
    assert info.value.field == "decision_ref"
    assert "cannot lift the suspension of Stichting G-buurt" in str(info.value)
    assert "[rule: invalid_transition]" in str(info.value)
    assert len(platform.pending_events) == before


@pytest.mark.parametrize("given_platform", [a_recognised_platform, a_suspended_platform])
def test_revoking_recognition_of_a_recognised_or_suspended_platform_is_recorded(
    given_platform: Callable[[], Platform],
) -> None:
    # given
    platform = given_platform()
    before = len(platform.pending_events)

    # when
    platform.revoke(
        decision_ref="INTREKKING-1",
        effective_on=d("2020-04-01"),
        reason="integrity report",
        occurred_on=d("2020-04-01"),
        actor=OFFICIAL,
    )

    # then
    event = one_new_event(platform, before, Platform.RecognitionRevoked)
    assert (event.decision_ref, event.reason) == ("INTREKKING-1", "integrity report")
    assert platform.recognition is RecognitionState.REVOKED
    assert platform.recognition_on(d("2020-04-01")) is RecognitionState.REVOKED


@pytest.mark.parametrize(
    ("given_platform", "state"),
    [(a_revoked_platform, "revoked"), (a_registered_platform, "unrecognised")],
)
def test_revoking_a_recognition_that_is_not_in_force_is_refused(
    given_platform: Callable[[], Platform], state: str
) -> None:
    # given
    platform = given_platform()
    before = len(platform.pending_events)

    # when
    with pytest.raises(InvalidTransition) as info:
        platform.revoke(
            decision_ref="INTREKKING-2",
            effective_on=LATER,
            reason="again",
            occurred_on=LATER,
            actor=OFFICIAL,
        )

    # then
    assert info.value.field == "decision_ref"
    assert f"cannot revoke: Stichting G-buurt is {state}" in str(info.value)
    assert "[rule: invalid_transition]" in str(info.value)
    assert len(platform.pending_events) == before


def test_recognition_on_a_day_follows_the_effective_dates_of_the_decisions() -> None:
    # given
    platform = a_recognised_platform(effective_on=d("2019-09-01"))
    platform.suspend(
        decision_ref="SCHORSING-1",
        effective_on=d("2020-03-20"),
        reason="money withdrawn",
        occurred_on=d("2020-03-25"),
        actor=OFFICIAL,
    )
    platform.revoke(
        decision_ref="INTREKKING-1",
        effective_on=d("2020-06-01"),
        reason="integrity report",
        occurred_on=d("2020-05-20"),
        actor=OFFICIAL,
    )

    # when
    days = ["2019-08-31", "2019-09-01", "2020-03-19", "2020-03-20", "2020-05-31", "2020-06-01"]
    states = [platform.recognition_on(d(day)) for day in days]

    # then
    assert states == [
        RecognitionState.UNRECOGNISED,
        RecognitionState.RECOGNISED,
        RecognitionState.RECOGNISED,
        RecognitionState.SUSPENDED,
        RecognitionState.SUSPENDED,
        RecognitionState.REVOKED,
    ]
    assert platform.is_recognised_on(d("2020-03-19"))
    assert not platform.is_recognised_on(d("2020-03-20"))
