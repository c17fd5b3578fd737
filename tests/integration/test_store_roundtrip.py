"""Every event type is stored and read back losslessly; old versions are upcast."""

from __future__ import annotations

from datetime import date
from uuid import uuid4

from eventsourcing.domain import Aggregate, CanMutateAggregate
from eventsourcing.persistence import StoredEvent

from domain.bank import BankStatement
from domain.budget import DistrictBudget
from domain.expense import Expense
from domain.grant import Grant
from domain.matching import BankMatch, parse_reference, record_id
from domain.platform import Platform
from domain.transfer import PlatformTransfer
from domain.values import BankLineKind, GrantState, RecognitionState, Role
from service.application import Buurtkas
from service.demo import build_demo
from service.synthetic import generate
from tests.integration.givens import OFFICIAL, given_platform

AGGREGATES = (DistrictBudget, Platform, Grant, Expense, BankStatement, PlatformTransfer, BankMatch)


def all_event_topics() -> set[str]:
    topics = set()
    for aggregate in AGGREGATES:
        for value in vars(aggregate).values():
            if (
                isinstance(value, type)
                and issubclass(value, CanMutateAggregate)
                and value is not aggregate.Event
                and value is not Platform.RecognitionChanged  # a base, never stored
            ):
                topics.add(value.TOPIC)  # type: ignore[attr-defined]
    return topics


def every_event_type_history() -> list[Aggregate]:
    """The demo plus the corrections and rare decisions it does not contain."""
    aggregates = build_demo()
    platform = next(a for a in aggregates if isinstance(a, Platform) and a.name.endswith("K-buurt"))
    day = date(2021, 6, 1)
    platform.leave(person="Tom Verbeek", role=Role.CORE_GROUP, occurred_on=day, actor=OFFICIAL)
    platform.suspend(
        decision_ref="S", effective_on=day, reason="check", occurred_on=day, actor=OFFICIAL
    )
    platform.lift_suspension(
        decision_ref="L", effective_on=day, reason="ok", occurred_on=day, actor=OFFICIAL
    )
    expense = next(a for a in aggregates if isinstance(a, Expense))
    expense.reverse(reverses_version=3, reason="r", occurred_on=day, actor="t")
    expense.attach_receipt(receipt_sha256="cd" * 32, occurred_on=day, actor="t")
    rejected = Expense.submit(
        expense_id=uuid4(),
        platform_id=platform.id,
        payee_name="x",
        amount=expense.amount,
        category="c",
        description="",
        payment_method=expense.payment_method,
        occurred_on=day,
        actor="t",
    )
    rejected.reject(reason="no", occurred_on=day, actor="c")
    statement = next(
        a
        for a in aggregates
        if isinstance(a, BankStatement) and 2 in a.lines and a.lines[2].matches
    )
    line = statement.lines[2]
    match = next(
        a
        for a in aggregates
        if isinstance(a, BankMatch)
        and a.reference == line.matches
        and a.statement_id == statement.id
    )
    wanted = record_id(parse_reference(line.matches or ""))
    record = next(a for a in aggregates if a.id == wanted)
    statement.reverse(reverses_version=2, reason="typo", occurred_on=day, actor="t")
    match.release(reason="typo", occurred_on=day, actor="t")
    statement.record_line(
        line_no=line.line_no,
        direction=line.direction,
        kind=BankLineKind.TRANSFER,
        amount=line.amount,
        counterparty_name="x",
        matches=line.matches,
        occurred_on=day,
        actor="t",
    )
    BankMatch.confirm_line(
        statement=statement,
        line_version=statement.version,
        record=record,
        existing=match,
        occurred_on=day,
        actor="t",
    )
    bloemen = next(a for a in aggregates if isinstance(a, Grant) and "BLOEM-GROEN" in a.reference)
    budget = next(a for a in aggregates if isinstance(a, DistrictBudget) and a.district == "Noord")
    grantee = next(a for a in aggregates if isinstance(a, Platform) and a.id == bloemen.platform_id)
    bloemen.amend(
        budget=budget,
        platform=grantee,
        amount=bloemen.amount,
        period_end=date(2021, 6, 30),
        tranches=bloemen.tranches,
        decision_ref="W",
        reason="later",
        occurred_on=day,
        actor=OFFICIAL,
    )
    bloemen.reverse(reverses_version=2, reason="paid in error", occurred_on=day, actor=OFFICIAL)
    grants = [a for a in aggregates if isinstance(a, Grant) and a is not bloemen]
    reported = next(g for g in grants if g.paid)
    reported.submit_report(
        tranche=min(reported.paid),
        spent=reported.paid[min(reported.paid)],
        summary="spent as planned",
        occurred_on=day,
        actor="t",
    )
    asking = next(
        g
        for g in grants
        if g.state is not GrantState.REVOKED
        and {t.number for t in g.tranches} - set(g.paid) - set(g.requested)
    )
    asking.request_tranche(
        number=min({t.number for t in asking.tranches} - set(asking.paid) - set(asking.requested)),
        occurred_on=day,
        actor="t",
    )
    other = next(
        a
        for a in aggregates
        if isinstance(a, Platform)
        and a is not platform
        and a.recognition is RecognitionState.RECOGNISED  # a transfer needs two
    )
    transfer = PlatformTransfer.make(
        reference="T",
        from_platform=platform,
        to_platform=other,
        amount=expense.amount,
        occurred_on=day,
        actor=OFFICIAL,
    )
    transfer.reverse(reverses_version=1, reason="r", occurred_on=day, actor=OFFICIAL)
    return [*aggregates, rejected, transfer]


class TestStoreRoundTrip:
    def test_every_event_type_round_trips_losslessly(self, app: Buurtkas) -> None:
        # given
        aggregates = every_event_type_history()
        # when
        recordings = app.save(*aggregates)
        # then
        saved = [r.domain_event for r in recordings]
        loaded = [event for _, event in app.stored_events()]
        assert loaded == saved
        assert {type(e).TOPIC for e in loaded} == all_event_topics()
        for aggregate in aggregates:
            assert app.repository.get(aggregate.id) == aggregate

    def test_synthetic_events_round_trip_through_the_store(self, app: Buurtkas) -> None:
        # given
        generate(app, 300, seed=5)
        # when
        notifications = list(app.notifications())
        # then
        for notification in notifications:
            event = app.mapper.to_domain_event(notification)
            again = app.mapper.to_stored_event(event)
            assert (again.topic, again.state) == (notification.topic, notification.state)

    def test_a_stored_version_1_member_event_is_upcast_on_reading(self, app: Buurtkas) -> None:
        # given: a MemberJoined written before members had an IBAN (class version 1)
        platform_id = given_platform(app)
        version = app.load(Platform, platform_id, "p").version
        state = (
            b'{"timestamp":{"_type_":"datetime_iso","_data_":"2020-02-01T10:00:00+00:00"},'
            b'"occurred_on":{"_type_":"date_iso","_data_":"2020-02-01"},"actor":"o",'
            b'"person":"Olga Old","role":{"_type_":"role","_data_":"secretary"}}'
        )
        app.recorder.insert_events(
            [
                StoredEvent(
                    originator_id=platform_id,
                    originator_version=version + 1,
                    topic="buurtkas.platform.MemberJoined",
                    state=state,
                )
            ]
        )
        # when
        platform = app.load(Platform, platform_id, "p")
        # then
        assert platform.members["Olga Old"].iban is None
        assert platform.holders_of(Role.SECRETARY) == ["Olga Old"]
