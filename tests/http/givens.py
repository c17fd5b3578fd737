"""Given-steps over HTTP: each builds its records through the API, as an official would."""

from __future__ import annotations

from typing import Any, Protocol
from uuid import UUID

import httpx

from service.fixtures import dutch_iban


class Api(Protocol):
    """Whatever posts as a role: the in-process test client or a client of a served app."""

    def post(
        self, path: str, body: Any, who: str = "official", key: str | None = None
    ) -> httpx.Response: ...


CRITERIA = [
    "capacity_to_act",
    "involves_many_residents",
    "works_with_vulnerable",
    "builds_capability",
    "connects_and_open",
    "broad_diverse_support",
    "transparent_and_findable",
    "informs_neighbourhood",
    "advances_council_programme",
    "mobilises_outside_money",
]
ASSESSMENT = [{"criterion": c, "outcome": "met", "note": ""} for c in CRITERIA]


def ok(response: Any, status: int = 200) -> Any:
    """The JSON body of a response that has ``status`` (the body is shown when it has not)."""
    assert response.status_code == status, response.text
    return response.json()


def registered(api: Api, name: str = "Testbuurt", number: int = 1) -> UUID:
    body = {
        "name": name,
        "neighbourhood": f"{name} buurt",
        "district": "Zuidoost",
        "legal_form": "stichting",
        "kvk": f"{number:08d}",
        "account_iban": dutch_iban(number),
        "occurred_on": "2020-01-03",
    }
    return UUID(ok(api.post("/platforms", body), 201)["id"])


def recognised(api: Api, name: str = "Testbuurt", number: int = 1) -> UUID:
    """A platform with a chair and a treasurer, recognised from 2020-01-05."""
    platform = registered(api, name, number)
    steps: list[tuple[str, dict[str, Any]]] = [
        ("memberships", {"person": "Chris Chair", "role": "chair", "occurred_on": "2020-01-03"}),
        (
            "memberships",
            {"person": "Tess Treasurer", "role": "treasurer", "occurred_on": "2020-01-03"},
        ),
        (
            "recognition/applications",
            {"application_ref": f"A-{name}", "occurred_on": "2020-01-04"},
        ),
        (
            "recognition/decisions",
            {
                "granted": True,
                "assessment": ASSESSMENT,
                "decision_ref": f"D-{name}",
                "effective_on": "2020-01-05",
                "reason": "meets the criteria",
                "occurred_on": "2020-01-05",
            },
        ),
    ]
    version = 1
    for path, body in steps:
        version = ok(
            api.post(f"/platforms/{platform}/{path}", {**body, "expected_version": version})
        )["version"]
    return platform


def budget(api: Api, amount: str = "500000.00", year: int = 2020) -> UUID:
    body = {"district": "Zuidoost", "year": year, "amount": amount, "occurred_on": "2020-01-02"}
    return UUID(ok(api.post("/budgets", body), 201)["id"])


def grant(
    api: Api,
    budget_id: UUID,
    platform_id: UUID,
    reference: str = "G-1",
    tranches: tuple[str, ...] = ("50000.00", "50000.00"),
) -> UUID:
    body = grant_body(budget_id, platform_id, reference, tranches)
    return UUID(ok(api.post("/grants", body), 201)["id"])


def grant_body(
    budget_id: UUID,
    platform_id: UUID,
    reference: str = "G-1",
    tranches: tuple[str, ...] = ("50000.00", "50000.00"),
) -> dict[str, Any]:
    """An award of EUR 100,000 for 2020 in ``tranches``."""
    return {
        "budget_id": str(budget_id),
        "platform_id": str(platform_id),
        "reference": reference,
        "amount": "100000.00",
        "period_start": "2020-01-01",
        "period_end": "2020-12-31",
        "purpose": "plans of the neighbourhood",
        "tranches": [
            {"number": n, "due_on": f"2020-{n:02d}-10", "amount": a}
            for n, a in enumerate(tranches, 1)
        ],
        "decision_ref": f"B-{reference}",
        "reason": "awarded",
        "occurred_on": "2020-01-10",
    }


def paid_tranche(api: Api, grant_id: UUID, number: int = 1, version: int = 1) -> int:
    body = {
        "number": number,
        "amount": "50000.00",
        "occurred_on": "2020-01-15",
        "expected_version": version,
    }
    return int(ok(api.post(f"/grants/{grant_id}/tranche-payments", body))["version"])


def expense(api: Api, platform_id: UUID, who: str, amount: str = "120.00", **extra: Any) -> UUID:
    body = {
        "platform_id": str(platform_id),
        "payee_name": "Drukkerij De Letter",
        "amount": amount,
        "category": "communicatie",
        "description": "flyers",
        "payment_method": "bank",
        "invoice_number": "F-1",
        "occurred_on": "2020-02-01",
        **extra,
    }
    return UUID(ok(api.post("/expenses", body, who=who), 201)["id"])
