"""Given-steps for tests that go through the application service and a real store."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from domain.grant import TrancheSpec
from domain.money import Money
from domain.values import LegalForm, Role
from service.application import Buurtkas
from service.fixtures import assessment, dutch_iban

OFFICIAL = "official:test"
TREASURER = "Tess Treasurer"
CHAIR = "Chris Chair"
DAY = date(2020, 1, 10)


def eur(text: str) -> Money:
    return Money.parse("amount", text)


def given_budget(app: Buurtkas, amount: str = "500000", district: str = "Zuidoost") -> UUID:
    return app.allocate_budget(
        district=district,
        year=2020,
        amount=eur(amount),
        occurred_on=date(2020, 1, 2),
        actor=OFFICIAL,
    )


def given_platform(
    app: Buurtkas, name: str = "Testbuurt", *, recognised: bool = True, number: int = 1
) -> UUID:
    platform_id = app.register_platform(
        name=name,
        neighbourhood=f"{name} buurt",
        district="Zuidoost",
        legal_form=LegalForm.STICHTING,
        kvk=f"{number:08d}",
        account_iban=dutch_iban(number),
        occurred_on=date(2020, 1, 3),
        actor=OFFICIAL,
    )
    app.join_member(
        platform_id,
        person=CHAIR,
        role=Role.CHAIR,
        iban=dutch_iban(100 + number),
        occurred_on=date(2020, 1, 3),
        actor=OFFICIAL,
    )
    app.join_member(
        platform_id,
        person=TREASURER,
        role=Role.TREASURER,
        occurred_on=date(2020, 1, 3),
        actor=OFFICIAL,
    )
    if recognised:
        app.apply_for_recognition(
            platform_id, application_ref=f"A-{name}", occurred_on=date(2020, 1, 4), actor=OFFICIAL
        )
        app.decide_recognition(
            platform_id,
            granted=True,
            assessment=assessment(),
            decision_ref=f"D-{name}",
            effective_on=date(2020, 1, 5),
            reason="meets the criteria",
            occurred_on=date(2020, 1, 5),
            actor=OFFICIAL,
        )
    return platform_id


def given_grant(
    app: Buurtkas,
    budget_id: UUID,
    platform_id: UUID,
    reference: str = "G-1",
    amount: str = "100000",
    tranches: tuple[str, ...] = ("50000", "50000"),
) -> UUID:
    return app.award_grant(
        budget_id=budget_id,
        platform_id=platform_id,
        reference=reference,
        amount=eur(amount),
        period_start=date(2020, 1, 1),
        period_end=date(2020, 12, 31),
        purpose="test plans",
        tranches=[TrancheSpec(n, date(2020, n, 10), eur(a)) for n, a in enumerate(tranches, 1)],
        decision_ref=f"B-{reference}",
        reason="awarded",
        occurred_on=DAY,
        actor=OFFICIAL,
    )


def given_first_tranche_paid(app: Buurtkas, paid_on: date) -> tuple[UUID, UUID, UUID]:
    """A budget, a platform and a grant (``given_grant``) whose first tranche, EUR 50,000,
    was paid on ``paid_on``: their ids."""
    budget_id, platform_id = given_budget(app), given_platform(app)
    grant_id = given_grant(app, budget_id, platform_id)
    app.pay_tranche(grant_id, number=1, amount=eur("50000"), occurred_on=paid_on, actor=OFFICIAL)
    return budget_id, platform_id, grant_id
