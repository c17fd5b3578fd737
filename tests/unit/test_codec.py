"""Stored events: transcodings of buurtkas values and the upcaster of MemberJoined."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from eventsourcing.persistence import (
    DatetimeAsISO,
    JSONTranscoder,
    Mapper,
    StoredEvent,
    UUIDAsHex,
)

from domain.codec import register_transcodings
from domain.grant import Grant
from domain.platform import Member, Platform
from domain.values import Role
from service.fixtures import assessment, d
from tests.unit.builders import (
    AWARDED_ON,
    CHAIR,
    CHAIR_IBAN,
    LATER,
    OFFICIAL,
    PERIOD_END,
    PERIOD_START,
    a_budget,
    a_recognised_platform,
    a_registered_platform,
    eur,
    the_schedule,
)


def a_mapper() -> Mapper[UUID]:
    transcoder = JSONTranscoder()
    transcoder.register(UUIDAsHex())
    transcoder.register(DatetimeAsISO())
    register_transcodings(transcoder)
    return Mapper(transcoder=transcoder)


def test_a_version_1_member_joined_is_read_with_an_unknown_account() -> None:
    # given a MemberJoined stored before members had an account (no iban, no class_version)
    mapper = a_mapper()
    platform = a_registered_platform()
    v1_state = mapper.transcoder.encode(
        {
            "timestamp": datetime(2019, 3, 2, 9, 30, tzinfo=UTC),
            "occurred_on": d("2019-03-02"),
            "actor": OFFICIAL,
            "person": CHAIR,
            "role": Role.CHAIR,
        }
    )
    stored = StoredEvent(
        originator_id=platform.id,
        originator_version=platform.version + 1,
        topic="buurtkas.platform.MemberJoined",
        state=v1_state,
    )

    # when
    event = mapper.to_domain_event(stored)

    # then
    assert b"iban" not in v1_state
    assert isinstance(event, Platform.MemberJoined)
    assert event.iban is None
    assert (event.person, event.role, event.occurred_on) == (CHAIR, Role.CHAIR, d("2019-03-02"))
    assert (event.originator_id, event.originator_version) == (platform.id, 2)
    event.mutate(platform)
    assert platform.members == {CHAIR: Member(CHAIR, {Role.CHAIR}, None)}


def test_a_version_2_member_joined_keeps_its_account_through_the_store() -> None:
    # given
    mapper = a_mapper()
    platform = a_registered_platform()
    platform.join(person=CHAIR, role=Role.CHAIR, iban=CHAIR_IBAN, occurred_on=LATER, actor=OFFICIAL)
    (joined,) = platform.collect_events()

    # when
    stored = mapper.to_stored_event(joined)
    read_back = mapper.to_domain_event(stored)

    # then
    assert stored.topic == "buurtkas.platform.MemberJoined"
    assert b'"class_version":2' in stored.state
    assert isinstance(read_back, Platform.MemberJoined)
    assert read_back.iban == CHAIR_IBAN
    assert read_back.role is Role.CHAIR


def test_an_award_round_trips_with_money_dates_and_its_tranche_schedule() -> None:
    # given
    mapper = a_mapper()
    budget = a_budget()
    platform = a_recognised_platform()
    grant = Grant.award(
        budget=budget,
        platform=platform,
        reference="SUB-2019-G",
        amount=eur("250000"),
        period_start=PERIOD_START,
        period_end=PERIOD_END,
        purpose="plans of the G-buurt residents",
        tranches=the_schedule(),
        decision_ref="VERLENING-1",
        reason="the plans fit the district's goals",
        occurred_on=AWARDED_ON,
        actor=OFFICIAL,
    )
    (awarded,) = grant.collect_events()

    # when
    stored = mapper.to_stored_event(awarded)
    read_back = mapper.to_domain_event(stored)

    # then
    assert b'"_type_":"eur_cents","_data_":25000000' in stored.state
    assert b'"_type_":"date_iso","_data_":"2019-11-01"' in stored.state
    assert b'"_type_":"tranche_spec"' in stored.state
    assert isinstance(read_back, Grant.Awarded)
    assert (read_back.amount, read_back.tranches) == (eur("250000"), the_schedule())
    assert (read_back.period_start, read_back.period_end) == (PERIOD_START, PERIOD_END)
    assert (read_back.platform_id, read_back.budget_id) == (platform.id, budget.id)


def test_a_recognition_decision_round_trips_with_its_assessment() -> None:
    # given
    mapper = a_mapper()
    platform = a_registered_platform()
    platform.apply_for_recognition(application_ref="A-1", occurred_on=LATER, actor=OFFICIAL)
    platform.collect_events()
    platform.decide_recognition(
        granted=True,
        assessment=assessment(),
        decision_ref="E-1",
        effective_on=LATER,
        reason="meets the criteria",
        occurred_on=LATER,
        actor=OFFICIAL,
    )
    (decided,) = platform.collect_events()

    # when
    read_back = mapper.to_domain_event(mapper.to_stored_event(decided))

    # then
    assert isinstance(read_back, Platform.RecognitionDecided)
    assert read_back.assessment == assessment()
    assert read_back.effective_on == LATER
