"""Neighbourhood platforms: registration, members, recognition by the district council."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.base import Fact, actor_of, business_date, reason_of
from domain.decisions import in_force
from domain.errors import InvalidTransition, InvalidValue, PlatformNotRecognised
from domain.values import (
    Criterion,
    LegalForm,
    Outcome,
    RecognitionState,
    Role,
    iban,
    kvk_number,
    optional_iban,
    parse_enum,
    stable_id,
    text,
)


@dataclass(frozen=True)
class CriterionAssessment:
    """The council's finding on one recognition criterion."""

    criterion: Criterion
    outcome: Outcome
    note: str = ""


@dataclass
class Member:
    person: str
    roles: set[Role] = field(default_factory=set)
    iban: str | None = None
    relatives: dict[str, str | None] = field(default_factory=dict)


class Platform(Aggregate):
    TOPIC = "buurtkas.platform.Platform"

    class Event(Fact):
        TOPIC = "buurtkas.platform.Event"

    class Registered(Event, Aggregate.Created):
        TOPIC = "buurtkas.platform.Registered"
        name: str
        neighbourhood: str
        district: str
        legal_form: LegalForm
        kvk_number: str
        iban: str

    class MemberJoined(Event):
        TOPIC = "buurtkas.platform.MemberJoined"
        class_version = 2
        person: str
        role: Role
        iban: str | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Version 1 recorded no bank account for a member; read it as unknown."""
            state["iban"] = None

        def apply(self, aggregate: Platform) -> None:
            member = aggregate.members.setdefault(self.person, Member(self.person))
            member.roles.add(self.role)
            if self.iban is not None:
                member.iban = self.iban

    class MemberLeft(Event):
        TOPIC = "buurtkas.platform.MemberLeft"
        person: str
        role: Role

        def apply(self, aggregate: Platform) -> None:
            member = aggregate.members[self.person]
            member.roles.discard(self.role)
            if not member.roles:
                aggregate.former_members[self.person] = aggregate.members.pop(self.person)

    class RelativeDeclared(Event):
        TOPIC = "buurtkas.platform.RelativeDeclared"
        person: str
        relative_name: str
        relative_iban: str | None

        def apply(self, aggregate: Platform) -> None:
            aggregate.members[self.person].relatives[self.relative_name] = self.relative_iban

    class RecognitionApplied(Event):
        TOPIC = "buurtkas.platform.RecognitionApplied"
        application_ref: str

        def apply(self, aggregate: Platform) -> None:
            aggregate.pending_application = self.application_ref
            aggregate.recognition = RecognitionState.APPLIED

    class RecognitionDecided(Event):
        TOPIC = "buurtkas.platform.RecognitionDecided"
        reason: str
        application_ref: str
        granted: bool
        assessment: list[CriterionAssessment]
        decision_ref: str
        effective_on: date

        def apply(self, aggregate: Platform) -> None:
            aggregate.pending_application = None
            state = RecognitionState.RECOGNISED if self.granted else RecognitionState.REFUSED
            aggregate._set_recognition(self.effective_on, state)
            aggregate.last_assessment = list(self.assessment)

    class RecognitionChanged(Event):
        """Base of the council's later recognition decisions (never stored itself)."""

        TOPIC = "buurtkas.platform.RecognitionChanged"
        NEW_STATE = RecognitionState.RECOGNISED
        reason: str
        decision_ref: str
        effective_on: date

        def apply(self, aggregate: Platform) -> None:
            aggregate._set_recognition(self.effective_on, self.NEW_STATE)

    class RecognitionSuspended(RecognitionChanged):
        TOPIC = "buurtkas.platform.RecognitionSuspended"
        NEW_STATE = RecognitionState.SUSPENDED

    class SuspensionLifted(RecognitionChanged):
        TOPIC = "buurtkas.platform.SuspensionLifted"
        NEW_STATE = RecognitionState.RECOGNISED

    class RecognitionRevoked(RecognitionChanged):
        TOPIC = "buurtkas.platform.RecognitionRevoked"
        NEW_STATE = RecognitionState.REVOKED

    Created = Registered

    def __init__(
        self,
        name: str,
        neighbourhood: str,
        district: str,
        legal_form: LegalForm,
        kvk_number: str,
        iban: str,
    ) -> None:
        self.name = name
        self.neighbourhood = neighbourhood
        self.district = district
        self.legal_form = legal_form
        self.kvk_number = kvk_number
        self.iban = iban
        self.members: dict[str, Member] = {}
        self.former_members: dict[str, Member] = {}
        self.recognition = RecognitionState.UNRECOGNISED
        self.recognition_history: list[tuple[date, RecognitionState]] = []
        self.pending_application: str | None = None
        self.last_assessment: list[CriterionAssessment] = []

    @staticmethod
    def id_for(name: str) -> UUID:
        return stable_id("platform", name)

    @classmethod
    def register(
        cls,
        *,
        name: str,
        neighbourhood: str,
        district: str,
        legal_form: LegalForm,
        kvk: str,
        account_iban: str,
        occurred_on: date,
        actor: str,
    ) -> Platform:
        name = text("name", name)
        return cls._create(
            cls.Registered,
            id=cls.id_for(name),
            name=name,
            neighbourhood=text("neighbourhood", neighbourhood),
            district=text("district", district),
            legal_form=parse_enum(LegalForm, "legal_form", legal_form),
            kvk_number=kvk_number("kvk_number", kvk),
            iban=iban("account_iban", account_iban),
            occurred_on=business_date("occurred_on", occurred_on),
            actor=actor_of(actor),
        )

    # Members -------------------------------------------------------------------------

    def join(
        self, *, person: str, role: Role, occurred_on: date, actor: str, iban: str | None = None
    ) -> None:
        person = text("person", person)
        role = parse_enum(Role, "role", role)
        if person in self.members and role in self.members[person].roles:
            raise InvalidTransition("role", f"{person} already holds the role {role.value}")
        self.trigger_event(
            self.MemberJoined,
            person=person,
            role=role,
            iban=optional_iban("iban", iban),
            occurred_on=business_date("occurred_on", occurred_on),
            actor=actor_of(actor),
        )

    def leave(self, *, person: str, role: Role, occurred_on: date, actor: str) -> None:
        person = text("person", person)
        role = parse_enum(Role, "role", role)
        if person not in self.members or role not in self.members[person].roles:
            raise InvalidTransition("role", f"{person} does not hold the role {role.value}")
        self.trigger_event(
            self.MemberLeft,
            person=person,
            role=role,
            occurred_on=business_date("occurred_on", occurred_on),
            actor=actor_of(actor),
        )

    def declare_relative(
        self,
        *,
        person: str,
        relative_name: str,
        occurred_on: date,
        actor: str,
        relative_iban: str | None = None,
    ) -> None:
        person = text("person", person)
        if person not in self.members:
            raise InvalidValue("person", f"{person!r} is not a member of {self.name}")
        self.trigger_event(
            self.RelativeDeclared,
            person=person,
            relative_name=text("relative_name", relative_name),
            relative_iban=optional_iban("relative_iban", relative_iban),
            occurred_on=business_date("occurred_on", occurred_on),
            actor=actor_of(actor),
        )

    def holders_of(self, role: Role) -> list[str]:
        return sorted(p for p, m in self.members.items() if role in m.roles)

    # Recognition ---------------------------------------------------------------------

    def apply_for_recognition(self, *, application_ref: str, occurred_on: date, actor: str) -> None:
        if self.recognition in (RecognitionState.RECOGNISED, RecognitionState.SUSPENDED):
            raise InvalidTransition("application_ref", f"{self.name} is already recognised")
        if self.pending_application is not None:
            raise InvalidTransition(
                "application_ref", f"application {self.pending_application} is still pending"
            )
        self.trigger_event(
            self.RecognitionApplied,
            application_ref=text("application_ref", application_ref),
            occurred_on=business_date("occurred_on", occurred_on),
            actor=actor_of(actor),
        )

    def decide_recognition(
        self,
        *,
        granted: bool,
        assessment: list[CriterionAssessment],
        decision_ref: str,
        effective_on: date,
        reason: str,
        occurred_on: date,
        actor: str,
    ) -> None:
        if self.pending_application is None:
            raise InvalidTransition("decision_ref", f"{self.name} has no pending application")
        seen = [a.criterion for a in assessment]
        missing = [c.value for c in Criterion if c not in seen]
        if missing or len(seen) != len(set(seen)):
            raise InvalidValue(
                "assessment",
                "must assess every criterion exactly once"
                + (f"; missing: {', '.join(missing)}" if missing else "; duplicates found"),
            )
        self.trigger_event(
            self.RecognitionDecided,
            application_ref=self.pending_application,
            granted=bool(granted),
            assessment=sorted(assessment, key=lambda a: list(Criterion).index(a.criterion)),
            decision_ref=text("decision_ref", decision_ref),
            effective_on=business_date("effective_on", effective_on),
            reason=reason_of(reason),
            occurred_on=business_date("occurred_on", occurred_on),
            actor=actor_of(actor),
        )

    def suspend(
        self, *, decision_ref: str, effective_on: date, reason: str, occurred_on: date, actor: str
    ) -> None:
        self._require(RecognitionState.RECOGNISED, "suspend")
        self._decide(
            self.RecognitionSuspended, decision_ref, effective_on, reason, occurred_on, actor
        )

    def lift_suspension(
        self, *, decision_ref: str, effective_on: date, reason: str, occurred_on: date, actor: str
    ) -> None:
        self._require(RecognitionState.SUSPENDED, "lift the suspension of")
        self._decide(self.SuspensionLifted, decision_ref, effective_on, reason, occurred_on, actor)

    def revoke(
        self, *, decision_ref: str, effective_on: date, reason: str, occurred_on: date, actor: str
    ) -> None:
        if self.recognition not in (RecognitionState.RECOGNISED, RecognitionState.SUSPENDED):
            raise InvalidTransition(
                "decision_ref", f"cannot revoke: {self.name} is {self.recognition.value}"
            )
        self._decide(
            self.RecognitionRevoked, decision_ref, effective_on, reason, occurred_on, actor
        )

    def recognition_on(self, day: date) -> RecognitionState:
        """The recognition state in force on ``day`` (by effective date)."""
        return in_force(self.recognition_history, day, RecognitionState.UNRECOGNISED)

    def is_recognised_on(self, day: date) -> bool:
        return self.recognition_on(day) is RecognitionState.RECOGNISED

    def require_in_good_standing(self, field: str, day: date, *, dated: str, rule: str) -> None:
        """Refused unless recognised on ``day`` and still recognised now.

        District money moves to or from a platform only while the council recognises it:
        on the business date of the movement (by effective date), and in the platform's
        current state, so that a movement backdated to before a suspension or revocation
        is refused too. ``dated`` names the movement and ``rule`` the rule in the message.
        """
        if self.is_recognised_on(day) and self.recognition is RecognitionState.RECOGNISED:
            return
        when = f"on {day.isoformat()}"
        state = self.recognition_on(day)
        if state is RecognitionState.RECOGNISED:  # recognised then, but no longer
            when = f"now ({dated} dated {day.isoformat()})"
            state = self.recognition
        raise PlatformNotRecognised(field, f"{self.name} is {state.value} {when}; {rule}")

    def _require(self, state: RecognitionState, verb: str) -> None:
        if self.recognition is not state:
            raise InvalidTransition(
                "decision_ref", f"cannot {verb} {self.name}: it is {self.recognition.value}"
            )

    def _decide(
        self,
        event_class: type[Platform.Event],
        decision_ref: str,
        effective_on: date,
        reason: str,
        occurred_on: date,
        actor: str,
    ) -> None:
        self.trigger_event(
            event_class,
            decision_ref=text("decision_ref", decision_ref),
            effective_on=business_date("effective_on", effective_on),
            reason=reason_of(reason),
            occurred_on=business_date("occurred_on", occurred_on),
            actor=actor_of(actor),
        )

    def _set_recognition(self, effective_on: date, state: RecognitionState) -> None:
        self.recognition = state
        self.recognition_history.append((effective_on, state))
