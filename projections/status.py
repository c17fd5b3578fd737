"""Platform status: recognition state with its history, the last decision's criteria,
members, and each grant's state."""

from __future__ import annotations

from typing import Any

from domain.grant import Grant
from domain.platform import Platform
from projections.base import Projection
from projections.rows import Rows


class Status(Projection):
    name = "status"

    def apply(self, rows: Rows, position: int, event: Any) -> None:
        oid = str(event.originator_id)
        match event:
            case Platform.Registered():
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
            case Platform.MemberJoined() | Platform.MemberLeft():
                self._platform(rows, oid, lambda d: self._member(d, event))
            case Platform.RecognitionApplied():
                self._platform(
                    rows,
                    oid,
                    lambda d: d.update(
                        pending_application=event.application_ref, recognition="applied"
                    ),
                )
            case Platform.RecognitionDecided():
                state = "recognised" if event.granted else "refused"
                self._platform(rows, oid, lambda d: self._decided(d, event, position, state))
            case Platform.RecognitionSuspended():
                self._platform(rows, oid, lambda d: self._decided(d, event, position, "suspended"))
            case Platform.SuspensionLifted():
                self._platform(rows, oid, lambda d: self._decided(d, event, position, "recognised"))
            case Platform.RecognitionRevoked():
                self._platform(rows, oid, lambda d: self._decided(d, event, position, "revoked"))
            case Grant.Awarded():
                rows.put(
                    "grant",
                    oid,
                    {
                        "reference": event.reference,
                        "platform_id": str(event.platform_id),
                        "state": "awarded",
                        "period_start": event.period_start.isoformat(),
                        "period_end": event.period_end.isoformat(),
                        "revoked_on": None,
                        "retroactive": False,
                    },
                    str(event.platform_id),
                )
            case Grant.Amended():
                self._grant(rows, oid, lambda d: d.update(period_end=event.period_end.isoformat()))
            case Grant.Revoked():
                self._grant(
                    rows,
                    oid,
                    lambda d: d.update(
                        state="revoked",
                        revoked_on=event.effective_on.isoformat(),
                        retroactive=event.retroactive,
                    ),
                )
            case Grant.Settled():
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
