"""Response models of the read side, built from read-model documents (cents → strings)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from pydantic import Field

from projections.balances import grant_figures, platform_figures
from projections.store import Doc
from service.http.api.fields import MoneyText, Reply, money
from service.http.api.reading import ReadAt


class AwaitingApproval(Reply):
    count: int
    amount: MoneyText


class PlatformFigures(Reply):
    name: str | None
    neighbourhood: str | None
    received: MoneyText = Field(description="Everything that came into the bank account")
    spent: MoneyText
    spent_by_category: dict[str, MoneyText]
    bank: MoneyText
    cash_on_hand: MoneyText
    funds: MoneyText
    unexplained_outflows: MoneyText = Field(
        description="Money that left the account without a matching record"
    )
    awaiting_approval: AwaitingApproval


class GrantFigures(Reply):
    id: UUID | None = None
    reference: str | None
    state: str
    awarded: MoneyText
    tranches_paid: MoneyText
    spent: MoneyText
    unspent: MoneyText
    settled: MoneyText | None
    refunded: MoneyText
    to_recover: MoneyText
    recovered: MoneyText


class PlatformBalance(PlatformFigures):
    id: UUID
    grants: list[GrantFigures]
    read_at: ReadAt


class RecognitionEntry(Reply):
    state: str
    effective_on: str
    decision_ref: str
    reason: str
    position: int


class AssessmentView(Reply):
    criterion: str
    outcome: str
    note: str


class MemberView(Reply):
    person: str
    roles: list[str]


class RecognitionView(Reply):
    name: str | None = None
    neighbourhood: str | None = None
    district: str | None = None
    legal_form: str | None = None
    kvk_number: str | None = None
    recognition: str = "unrecognised"
    decided: str | None = Field(
        default=None,
        description="In a replay by business date: the state the last decision taken by then "
        "set (recognition is the state in force on the date, by effective dates)",
    )
    pending_application: str | None = None
    history: list[RecognitionEntry] = []
    last_assessment: list[AssessmentView] = []
    members: list[MemberView] = []


class GrantStatus(Reply):
    id: UUID
    reference: str
    state: str
    period_start: str
    period_end: str
    revoked_on: str | None
    retroactive: bool


class PlatformStatus(RecognitionView):
    id: UUID
    version: int = Field(
        description="The platform's version as the read model folded it (read_at): "
        "expected_version of a change decided on this view"
    )
    read_at: ReadAt
    grants: list[GrantStatus]


def platform_fields(doc: Doc) -> dict[str, Any]:
    return figures_fields(platform_figures(doc))


def figures_fields(f: dict[str, Any]) -> dict[str, Any]:
    """``PlatformFigures`` fields from ``projections.balances.platform_figures`` (cents)."""
    return {
        "name": f["name"],
        "neighbourhood": f["neighbourhood"],
        "received": money(f["received"]),
        "spent": money(f["spent"]),
        "spent_by_category": {k: money(v) for k, v in f["spent_by_category"].items()},
        "bank": money(f["bank"]),
        "cash_on_hand": money(f["cash_on_hand"]),
        "funds": money(f["funds"]),
        "unexplained_outflows": money(f["unexplained_outflows"]),
        "awaiting_approval": AwaitingApproval(
            count=f["awaiting_approval"]["count"],
            amount=money(f["awaiting_approval"]["amount"]),
        ),
    }


def grant_view(key: str | None, figures: dict[str, Any]) -> GrantFigures:
    return GrantFigures(
        id=UUID(key) if key else None,
        reference=figures["reference"],
        state=figures["state"],
        settled=None if figures["settled"] is None else money(figures["settled"]),
        **{
            k: money(figures[k])
            for k in (
                "awarded",
                "tranches_paid",
                "spent",
                "unspent",
                "refunded",
                "to_recover",
                "recovered",
            )
        },
    )


def grant_doc_view(key: str, doc: Doc) -> GrantFigures:
    return grant_view(key, grant_figures(doc))


def recognition_fields(doc: Doc) -> dict[str, Any]:
    return {
        "name": doc.get("name"),
        "neighbourhood": doc.get("neighbourhood"),
        "district": doc.get("district"),
        "legal_form": doc.get("legal_form"),
        "kvk_number": doc.get("kvk_number"),
        "recognition": doc.get("recognition", "unrecognised"),
        "decided": doc.get("decided"),
        "pending_application": doc.get("pending_application"),
        "history": [RecognitionEntry(**entry) for entry in doc.get("history", [])],
        "last_assessment": [AssessmentView(**a) for a in doc.get("last_assessment", [])],
        "members": [
            MemberView(person=person, roles=list(roles))
            for person, roles in sorted(doc.get("members", {}).items())
        ],
    }


def grant_status(key: str, doc: Doc) -> GrantStatus:
    return GrantStatus(
        id=UUID(key),
        reference=doc["reference"],
        state=doc["state"],
        period_start=doc["period_start"],
        period_end=doc["period_end"],
        revoked_on=doc.get("revoked_on"),
        retroactive=bool(doc.get("retroactive")),
    )
