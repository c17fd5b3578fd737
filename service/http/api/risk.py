"""Fraud-risk findings, filtered by platform, rule, severity and strength."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from pydantic import Field

from service.http.api.fields import Reply, money
from service.http.api.reading import SECURITY, ReadAt, read_at, read_models, select_docs
from service.http.auth import PERMISSION, principal_of
from service.http.context import Services
from service.http.policy import Permission
from service.http.problems import responses


class RiskScore(Reply):
    score: int = Field(description="0 to 100")
    level: str
    strong: int
    medium: int
    weak: int


class FindingView(Reply):
    platform_id: UUID
    platform: str
    rule: str
    strength: str
    severity: str
    value: str = Field(description="The measured value (EUR amounts as decimal strings)")
    threshold: str
    unit: str
    positions: list[int] = Field(description="The events behind the finding")
    detail: str
    config: str = Field(description="The risk configuration's version and hash")


class PlatformRisk(Reply):
    platform_id: UUID
    platform: str
    score: RiskScore


class Findings(Reply):
    items: list[FindingView]
    platforms: list[PlatformRisk] = Field(description="The score of each platform listed")
    read_at: ReadAt
    evaluating: int = Field(
        description="Platforms whose findings wait to be evaluated again (the projector "
        "evaluates them once it reaches the head of the store): while any wait, their "
        "findings are older than read_at"
    )


def measured(value: Any, unit: str) -> str:
    if unit == "cents":
        return money(int(value))
    return str(value)


def finding_view(platform_id: UUID, name: str, found: dict[str, Any]) -> FindingView:
    unit = str(found["unit"])
    return FindingView(
        platform_id=platform_id,
        platform=name,
        rule=found["rule"],
        strength=found["strength"],
        severity=found["severity"],
        value=measured(found["value"], unit),
        threshold=measured(found["threshold"], unit),
        unit="EUR" if unit == "cents" else unit,
        positions=list(found["positions"]),
        detail=found["detail"],
        config=found.get("config", ""),
    )


class RiskController(Controller):
    path = "/risk"
    tags = ["risk"]
    security = SECURITY

    @get(
        "/findings",
        operation_id="listRiskFindings",
        summary="Fraud-risk findings of the signals read model, with each platform's score",
        opt={PERMISSION: Permission.RISK_READ},
        responses=responses(403, 422),
        sync_to_thread=True,
    )
    def findings(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        platform_id: Annotated[
            UUID | None, QueryParameter(description="Only this platform's findings")
        ] = None,
        rule: Annotated[
            str | None,
            QueryParameter(
                description="Only this rule (e.g. unapproved_payment)",
                pattern=r"^[a-z_]{1,64}$",
            ),
        ] = None,
        severity: Annotated[
            Literal["low", "medium", "high"] | None,
            QueryParameter(description="Only this severity"),
        ] = None,
        strength: Annotated[
            Literal["weak", "medium", "strong"] | None,
            QueryParameter(description="Only this strength"),
        ] = None,
    ) -> Findings:
        principal = principal_of(request)
        with read_models(services) as store:
            at = read_at(services, store, "signals")
            waiting = len(select_docs(store, "signals", "dirty", platform_id))
            docs = select_docs(store, "signals", "findings", platform_id)
        items: list[FindingView] = []
        platforms: list[PlatformRisk] = []
        for key, doc in docs:
            pid = UUID(key)
            if not principal.reaches({pid}):
                continue
            name = str(doc.get("name", ""))
            kept = [
                finding_view(pid, name, f)
                for f in doc.get("findings", [])
                if (rule is None or f["rule"] == rule)
                and (severity is None or f["severity"] == severity)
                and (strength is None or f["strength"] == strength)
            ]
            if kept or (rule is None and severity is None and strength is None):
                items.extend(kept)
                platforms.append(
                    PlatformRisk(platform_id=pid, platform=name, score=RiskScore(**doc["score"]))
                )
        return Findings(items=items, platforms=platforms, read_at=at, evaluating=waiting)
