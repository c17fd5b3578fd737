"""Platform status: recognition state with its history, the last decision's criteria,
members, and each grant's state."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from domain.decisions import in_force
from domain.grant import Grant
from domain.ids import text
from domain.platform import Platform
from projections.base import Dispatch, Projection
from projections.rows import Rows

Handler = Callable[[Rows, int, Any, str], None]


class Status(Projection):
    name = "status"

    def __init__(self) -> None:
        self.handlers: Dispatch[Handler] = Dispatch(
            [
                (Platform.Registered, self._registered),
                ((Platform.MemberJoined, Platform.MemberLeft), self._membership),
                (Platform.RecognitionApplied, self._applied),
                (Platform.RecognitionDecided, self._recognition_decided),
                (Platform.RecognitionSuspended, self._recognition("suspended")),
                (Platform.SuspensionLifted, self._recognition("recognised")),
                (Platform.RecognitionRevoked, self._recognition("revoked")),
                (Grant.Awarded, self._awarded),
                (Grant.Amended, self._amended),
                (Grant.Revoked, self._revoked),
                (Grant.Settled, self._settled),
            ]
        )

    def reads(self, cls: type) -> frozenset[str] | None:
        """Every field of the events it handles; nothing of the others."""
        return None if self.handlers[cls] is not None else frozenset()

    def apply(self, rows: Rows, position: int, event: Any) -> None:
        handler = self.handlers[type(event)]
        if handler is not None:
            handler(rows, position, event, text(event.originator_id))

    def _registered(self, rows: Rows, position: int, event: Any, oid: str) -> None:
        rows.put(
            "platform",
            oid,
            {
                "name": event.name,
                "neighbourhood": event.neighbourhood,
                "district": event.district,
                "legal_form": event.legal_form.value,
                "kvk_number": event.kvk_number,
                "recognition": "unrecognised",
                "history": [],
                "last_assessment": [],
                "members": {},
                "pending_application": None,
            },
            oid,
        )

    def _membership(self, rows: Rows, position: int, event: Any, oid: str) -> None:
        self._platform(rows, oid, lambda d: self._member(d, event))

    def _applied(self, rows: Rows, position: int, event: Any, oid: str) -> None:
        self._platform(
            rows,
            oid,
            lambda d: d.update(pending_application=event.application_ref, recognition="applied"),
        )

    def _recognition_decided(self, rows: Rows, position: int, event: Any, oid: str) -> None:
        state = "recognised" if event.granted else "refused"
        self._platform(rows, oid, lambda d: self._decided(d, event, position, state))

    def _recognition(self, state: str) -> Handler:
        def handler(rows: Rows, position: int, event: Any, oid: str) -> None:
            self._platform(rows, oid, lambda d: self._decided(d, event, position, state))

        return handler

    def _awarded(self, rows: Rows, position: int, event: Any, oid: str) -> None:
        platform = text(event.platform_id)
        rows.put(
            "grant",
            oid,
            {
                "reference": event.reference,
                "platform_id": platform,
                "state": "awarded",
                "period_start": event.period_start.isoformat(),
                "period_end": event.period_end.isoformat(),
                "revoked_on": None,
                "retroactive": False,
            },
            platform,
        )

    def _amended(self, rows: Rows, position: int, event: Any, oid: str) -> None:
        self._grant(rows, oid, lambda d: d.update(period_end=event.period_end.isoformat()))

    def _revoked(self, rows: Rows, position: int, event: Any, oid: str) -> None:
        self._grant(
            rows,
            oid,
            lambda d: d.update(
                state="revoked",
                revoked_on=event.effective_on.isoformat(),
                retroactive=event.retroactive,
            ),
        )

    def _settled(self, rows: Rows, position: int, event: Any, oid: str) -> None:
        self._grant(
            rows,
            oid,
            lambda d: d.update(state="settled" if d["state"] == "awarded" else d["state"]),
        )

    @staticmethod
    def _platform(rows: Rows, key: str, change: Any) -> None:
        doc = rows.get("platform", key)
        if doc is not None:
            change(doc)
            rows.put("platform", key, doc, key)

    @staticmethod
    def _grant(rows: Rows, key: str, change: Any) -> None:
        doc = rows.get("grant", key)
        if doc is not None:
            change(doc)
            rows.put("grant", key, doc, doc["platform_id"])

    @staticmethod
    def _member(doc: dict[str, Any], event: Any) -> None:
        roles = set(doc["members"].get(event.person, []))
        if isinstance(event, Platform.MemberJoined):
            roles.add(event.role.value)
        else:
            roles.discard(event.role.value)
        if roles:
            doc["members"][event.person] = sorted(roles)
        else:
            doc["members"].pop(event.person, None)

    @staticmethod
    def _decided(doc: dict[str, Any], event: Any, position: int, state: str) -> None:
        doc["recognition"] = state
        doc["history"].append(
            {
                "state": state,
                "effective_on": event.effective_on.isoformat(),
                "decision_ref": event.decision_ref,
                "reason": event.reason,
                "position": position,
            }
        )
        if isinstance(event, Platform.RecognitionDecided):
            doc["pending_application"] = None
            doc["last_assessment"] = [
                {"criterion": a.criterion.value, "outcome": a.outcome.value, "note": a.note}
                for a in event.assessment
            ]


def recognition_in_force(doc: dict[str, Any], day: date) -> str:
    """The recognition state in force on ``day`` by a platform's status document, as
    ``Platform.recognition_on`` reads the platform's own history."""
    history = ((entry["effective_on"], str(entry["state"])) for entry in doc.get("history", []))
    return in_force(history, day.isoformat(), "unrecognised")
