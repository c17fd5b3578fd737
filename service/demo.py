"""The demo history: a deterministic, plausible history modelled on the Amsterdam pilots.

Zuidoost grants K-buurt and G-buurt EUR 250,000 each. The G-buurt receives a EUR 125,000
first tranche at the end of 2019; in March 2020 EUR 96,150 leaves its account in cash
withdrawals and transfers to the chair and acquaintances without core-group approval. The
grant is revoked and EUR 62,000 recovered. Noord (Bloemenbuurt by theme, Kleine Wereld),
Nieuw-West (Slotermeer Noordoost, 13 plans) and three later Zuidoost areas complete it.
All people are invented. The whole history is saved in one atomic save.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Final, TypeVar

from eventsourcing.domain import Aggregate

from domain.bank import BankStatement
from domain.budget import DistrictBudget
from domain.expense import Expense
from domain.grant import Grant, TrancheSpec
from domain.matching import BankMatch
from domain.money import Money
from domain.platform import Platform
from domain.values import (
    BankLineKind,
    Criterion,
    Direction,
    LegalForm,
    PaymentMethod,
    Role,
    stable_id,
)
from service.application import Buurtkas
from service.fixtures import assessment, d, dutch_iban

OFFICIAL_ZO: Final = "official:s.dewit@zuidoost"
OFFICIAL_NOORD: Final = "official:p.visser@noord"
OFFICIAL_NW: Final = "official:a.elidrissi@nieuw-west"
T = TypeVar("T", bound=Aggregate)


def eur(units: int | str) -> Money:
    return Money.parse("amount", str(units))


@dataclass
class PlatformBook:
    """A platform under construction, with its statements and counters."""

    platform: Platform
    treasurer: str
    approvers: list[str]
    statements: dict[str, BankStatement] = field(default_factory=dict)
    matches: list[BankMatch] = field(default_factory=list)
    expense_count: int = 0

    def statement(self, day: date, actor: str) -> BankStatement:
        ref = f"{day.year}-{day.month:02d}"
        if ref not in self.statements:
            self.statements[ref] = BankStatement.open(
                platform_id=self.platform.id,
                statement_ref=ref,
                account_iban=self.platform.iban,
                occurred_on=day.replace(day=1),
                actor=actor,
            )
        return self.statements[ref]

    def bank_line(
        self,
        day: date,
        direction: Direction,
        kind: BankLineKind,
        amount: Money,
        counterparty: str,
        counterparty_iban: str | None = None,
        description: str = "",
        matches: str | None = None,
        record: Aggregate | None = None,
    ) -> None:
        """One statement line; a line that ``matches`` a ``record`` also claims it."""
        statement = self.statement(day, f"bank-import:{self.platform.name}")
        statement.record_line(
            line_no=len(statement.line_numbers) + 1,
            direction=direction,
            kind=kind,
            amount=amount,
            counterparty_name=counterparty,
            counterparty_iban=counterparty_iban,
            description=description,
            matches=matches,
            occurred_on=day,
            actor=f"bank-import:{self.platform.name}",
        )
        if record is not None:
            self.matches.append(
                BankMatch.confirm_line(
                    statement=statement,
                    line_version=statement.version,
                    record=record,
                    existing=None,
                    occurred_on=day,
                    actor=f"bank-import:{self.platform.name}",
                )
            )


class DemoBuilder:
    def __init__(self) -> None:
        self.aggregates: list[Aggregate] = []
        self.books: list[PlatformBook] = []
        self.iban_counter = 1000
        self.rng = random.Random(20191231)  # noqa: S311 - deterministic demo data

    def iban(self) -> str:
        self.iban_counter += 1
        return dutch_iban(self.iban_counter)

    def keep(self, aggregate: T) -> T:
        self.aggregates.append(aggregate)
        return aggregate

    def budget(self, district: str, year: int, amount: int, day: str, actor: str) -> DistrictBudget:
        return self.keep(
            DistrictBudget.allocate(
                district=district, year=year, amount=eur(amount), occurred_on=d(day), actor=actor
            )
        )

    def platform(
        self,
        *,
        name: str,
        neighbourhood: str,
        district: str,
        legal_form: LegalForm,
        kvk: str,
        founded: str,
        board: list[tuple[str, Role]],
        core_group: list[str],
        actor: str,
        recognised: str,
        not_met: dict[Criterion, str] | None = None,
    ) -> PlatformBook:
        day = d(founded)
        platform = self.keep(
            Platform.register(
                name=name,
                neighbourhood=neighbourhood,
                district=district,
                legal_form=legal_form,
                kvk=kvk,
                account_iban=self.iban(),
                occurred_on=day,
                actor=actor,
            )
        )
        for person, role in board:
            platform.join(person=person, role=role, iban=self.iban(), occurred_on=day, actor=actor)
        for person in core_group:
            platform.join(person=person, role=Role.CORE_GROUP, occurred_on=day, actor=actor)
        decided = d(recognised)
        platform.apply_for_recognition(
            application_ref=f"AANVRAAG-{neighbourhood}-{day.year}",
            occurred_on=day + timedelta(days=14),
            actor=actor,
        )
        platform.decide_recognition(
            granted=True,
            assessment=assessment(not_met),
            decision_ref=f"SDC-{district}-{decided.year}-{decided.month:02d}-{neighbourhood}",
            effective_on=decided,
            reason="Draagvlak, organisatiekracht en rechtspersoon aangetoond; "
            "plannen sluiten aan bij de opgaven van het stadsdeel.",
            occurred_on=decided,
            actor=OFFICIAL_ZO if district == "Zuidoost" else actor,
        )
        treasurer = next(p for p, r in board if r is Role.TREASURER)
        approvers = [p for p, r in board if r is not Role.TREASURER] + core_group
        book = PlatformBook(platform, treasurer, approvers)
        self.books.append(book)
        return book

    def grant(
        self,
        book: PlatformBook,
        budget: DistrictBudget,
        *,
        reference: str,
        amount: int,
        start: str,
        end: str,
        purpose: str,
        tranches: list[tuple[str, int]],
        awarded: str,
        actor: str,
    ) -> Grant:
        return self.keep(
            Grant.award(
                budget=budget,
                platform=book.platform,
                reference=reference,
                amount=eur(amount),
                period_start=d(start),
                period_end=d(end),
                purpose=purpose,
                tranches=[
                    TrancheSpec(number=i, due_on=d(due), amount=eur(part))
                    for i, (due, part) in enumerate(tranches, start=1)
                ],
                decision_ref=f"BESCHIKKING-{reference}",
                reason="Subsidie verleend volgens de buurtbudgettenregeling.",
                occurred_on=d(awarded),
                actor=actor,
            )
        )

    def pay_tranche(
        self, book: PlatformBook, grant: Grant, number: int, day: str, actor: str
    ) -> None:
        spec = next(t for t in grant.tranches if t.number == number)
        grant.pay_tranche(
            platform=book.platform,
            number=number,
            amount=spec.amount,
            occurred_on=d(day),
            actor=actor,
        )
        book.bank_line(
            d(day) + timedelta(days=1),
            Direction.IN,
            BankLineKind.TRANSFER,
            spec.amount,
            f"Gemeente Amsterdam, stadsdeel {book.platform.district}",
            description=f"Voorschot tranche {number} {grant.reference}",
            matches=f"tranche:{grant.reference}:{number}",
            record=grant,
        )

    def expense(
        self,
        book: PlatformBook,
        grant: Grant | None,
        *,
        day: date,
        payee: str,
        payee_iban: str | None,
        amount: Money,
        category: str,
        description: str,
        method: PaymentMethod = PaymentMethod.BANK,
        approver: str | None = None,
    ) -> Expense:
        book.expense_count += 1
        number = book.expense_count
        receipt = f"{number:02d}{book.platform.name}".encode().hex().ljust(64, "0")[:64]
        expense = self.keep(
            Expense.submit(
                expense_id=stable_id("expense", book.platform.name, str(number)),
                platform_id=book.platform.id,
                grant_id=grant.id if grant else None,
                payee_name=payee,
                payee_iban=payee_iban,
                amount=amount,
                category=category,
                description=description,
                invoice_number=f"F{day.year}-{number:04d}",
                receipt_sha256=receipt,
                payment_method=method,
                occurred_on=day,
                actor=book.treasurer,
            )
        )
        approver = approver or book.approvers[number % len(book.approvers)]
        expense.approve(occurred_on=day + timedelta(days=1), actor=approver)
        paid_on = day + timedelta(days=3)
        expense.pay(occurred_on=paid_on, actor=book.treasurer)
        if method is not PaymentMethod.CASH:
            book.bank_line(
                paid_on,
                Direction.OUT,
                BankLineKind.TRANSFER
                if method is PaymentMethod.BANK
                else BankLineKind.CARD_PAYMENT,
                amount,
                payee,
                counterparty_iban=payee_iban,
                description=description,
                matches=f"expense:{expense.id}",
                record=expense,
            )
        return expense

    def routine_spending(
        self,
        book: PlatformBook,
        grant: Grant,
        *,
        start: str,
        months: int,
        per_month: int,
        payees: list[tuple[str, str]],
        typical: int,
    ) -> None:
        """Ordinary approved spending, spread over ``months`` months."""
        first = d(start)
        ibans = {name: self.iban() for name, _ in payees}
        for month in range(months):
            for k in range(per_month):
                payee, category = payees[(month * per_month + k) % len(payees)]
                day = date(
                    first.year + (first.month - 1 + month) // 12,
                    (first.month - 1 + month) % 12 + 1,
                    3 + k * 6,
                )
                cents = self.rng.randint(typical * 40, typical * 160) + self.rng.randint(1, 99)
                self.expense(
                    book,
                    grant,
                    day=day,
                    payee=payee,
                    payee_iban=ibans[payee],
                    amount=Money(cents),
                    category=category,
                    description=f"{category} {day.isoformat()}",
                )


def build_demo() -> list[Aggregate]:
    """Every aggregate of the demo history, with its events pending."""
    b = DemoBuilder()
    zuidoost_2019 = b.budget("Zuidoost", 2019, 500_000, "2019-01-15", OFFICIAL_ZO)
    noord_2019 = b.budget("Noord", 2019, 500_000, "2019-01-15", OFFICIAL_NOORD)
    nieuw_west_2019 = b.budget("Nieuw-West", 2019, 500_000, "2019-01-15", OFFICIAL_NW)
    zuidoost_2022 = b.budget("Zuidoost", 2022, 900_000, "2022-01-10", OFFICIAL_ZO)
    _k_buurt(b, zuidoost_2019)
    _g_buurt(b, zuidoost_2019)
    _noord(b, noord_2019)
    _nieuw_west(b, nieuw_west_2019)
    _later_zuidoost(b, zuidoost_2022)
    statements = [s for book in b.books for s in book.statements.values()]
    matches = [m for book in b.books for m in book.matches]
    return [*b.aggregates, *statements, *matches]


def _k_buurt(b: DemoBuilder, budget: DistrictBudget) -> None:
    book = b.platform(
        name="Hart voor de K-buurt",
        neighbourhood="K-buurt",
        district="Zuidoost",
        legal_form=LegalForm.STICHTING,
        kvk="71234567",
        founded="2018-05-01",
        board=[
            ("Gloria Brathwaite", Role.CHAIR),
            ("Orlando Sedney", Role.SECRETARY),
            ("Naima Bouzid", Role.TREASURER),
        ],
        core_group=["Kwame Asante", "Esther Rijkaard", "Tom Verbeek", "Priya Ramdin"],
        actor="kvk-registratie:k-buurt",
        recognised="2019-03-01",
    )
    grant = b.grant(
        book,
        budget,
        reference="ZO-2019-K",
        amount=250_000,
        start="2019-04-01",
        end="2020-12-31",
        purpose="Buurtplatform K-buurt: ontmoeting, schone buurt, gezond leven",
        tranches=[  # ahead of the spending they fund: the account never goes below zero
            ("2019-04-15", 100_000),
            ("2019-10-01", 100_000),
            ("2020-04-01", 37_500),
            ("2020-10-01", 12_500),
        ],
        awarded="2019-03-20",
        actor=OFFICIAL_ZO,
    )
    payees = [
        ("Buurthuis Kraaiennest", "huur"),
        ("Drukkerij Zuidoost", "communicatie"),
        ("Schoon Zuidoost BV", "materialen"),
        ("Catering Mama Afua", "activiteiten"),
        ("Sportschool Fit in K", "activiteiten"),
        ("Vrijwilligersvergoedingen K-buurt", "vrijwilligers"),
    ]
    for number, day in enumerate(["2019-04-15", "2019-10-01", "2020-04-01", "2020-10-01"], 1):
        b.pay_tranche(book, grant, number, day, OFFICIAL_ZO)
    b.routine_spending(
        book, grant, start="2019-05-01", months=14, per_month=2, payees=payees, typical=8_400
    )
    spent = sum(
        e.amount.cents
        for e in b.aggregates
        if isinstance(e, Expense) and e.platform_id == book.platform.id
    )
    settled = Money(min(spent, grant.amount.cents))
    refund = grant.paid_total - settled
    if refund.cents > 0:
        grant.receive_refund(amount=refund, occurred_on=d("2021-02-15"), actor=OFFICIAL_ZO)
        book.bank_line(
            d("2021-02-15"),
            Direction.OUT,
            BankLineKind.TRANSFER,
            refund,
            "Gemeente Amsterdam, stadsdeel Zuidoost",
            description="Terugbetaling niet bestede middelen ZO-2019-K",
            matches=f"refund:ZO-2019-K:{grant.version}",
            record=grant,
        )
    grant.settle(
        budget=budget,
        amount=settled,
        decision_ref="VASTSTELLING-ZO-2019-K",
        reason="Verantwoording (Awb 4:45) goedgekeurd; subsidie vastgesteld op de bestede kosten.",
        occurred_on=d("2021-03-15"),
        actor=OFFICIAL_ZO,
    )


def _g_buurt(b: DemoBuilder, budget: DistrictBudget) -> None:
    chair, treasurer = "Yvonne Koster", "Ricardo Lont"
    book = b.platform(
        name="Stichting Bewonersplatform G-buurt",
        neighbourhood="G-buurt",
        district="Zuidoost",
        legal_form=LegalForm.STICHTING,
        kvk="75432198",
        founded="2019-06-12",
        board=[(chair, Role.CHAIR), (treasurer, Role.TREASURER)],
        core_group=["Fatima Azzouzi", "Henk Vos", "Abena Owusu", "Dirk Meijer"],
        actor="kvk-registratie:g-buurt",
        recognised="2019-10-01",
        not_met={
            Criterion.TRANSPARENT_AND_FINDABLE: "Nog geen financieel beleid vastgesteld.",
            Criterion.BROAD_DIVERSE_SUPPORT: "Kerngroep is klein; draagvlak moet groeien.",
        },
    )
    platform = book.platform
    chair_iban = platform.members[chair].iban
    platform.declare_relative(
        person=chair,
        relative_name="Lisa Koster",
        relative_iban=b.iban(),
        occurred_on=d("2019-06-12"),
        actor="kvk-registratie:g-buurt",
    )
    sister_iban = platform.members[chair].relatives["Lisa Koster"]
    grant = b.grant(
        book,
        budget,
        reference="ZO-2019-G",
        amount=250_000,
        start="2019-12-01",
        end="2020-12-31",
        purpose="Buurtplannen G-buurt: onderhoud, zwerfvuil, gezond leven, verkeer",
        tranches=[("2019-12-15", 125_000), ("2020-07-01", 125_000)],
        awarded="2019-10-15",
        actor=OFFICIAL_ZO,
    )
    b.pay_tranche(book, grant, 1, "2019-12-20", OFFICIAL_ZO)
    for day, payee, amount, category, text in [
        ("2020-01-08", "Buurthuis Gein", "1250.00", "huur", "Zaalhuur kick-off"),
        ("2020-01-14", "Drukkerij Zuidoost", "480.00", "communicatie", "Flyers buurtplannen"),
        ("2020-01-22", "Schoon Zuidoost BV", "1870.00", "materialen", "Materiaal opruimdag"),
        ("2020-02-05", "Catering Mama Afua", "950.00", "activiteiten", "Catering bewonersavond"),
        ("2020-02-18", "Webbouw Amstel", "1650.00", "communicatie", "Website platform"),
    ]:
        b.expense(
            book,
            grant,
            day=d(day),
            payee=payee,
            payee_iban=b.iban(),
            amount=eur(amount),
            category=category,
            description=text,
            approver="Fatima Azzouzi",
        )
    # March 2020: the money leaves the account; no expense, no core-group approval.
    acquaintances = {
        "Marco Pinas": b.iban(),
        "Pinas Events & Catering": b.iban(),
        "J. Brouwer": b.iban(),
        "Lisa Koster": sister_iban,
    }
    outflows: list[tuple[str, BankLineKind, str, str, str | None]] = [
        (
            "2020-03-02",
            BankLineKind.CASH_WITHDRAWAL,
            "4000.00",
            "Geldautomaat Amsterdamse Poort",
            None,
        ),
        ("2020-03-03", BankLineKind.TRANSFER, "12500.00", chair, chair_iban),
        (
            "2020-03-04",
            BankLineKind.TRANSFER,
            "8000.00",
            "Marco Pinas",
            acquaintances["Marco Pinas"],
        ),
        ("2020-03-05", BankLineKind.CASH_WITHDRAWAL, "4000.00", "Geldautomaat Bijlmerplein", None),
        (
            "2020-03-09",
            BankLineKind.CASH_WITHDRAWAL,
            "3500.00",
            "Geldautomaat Amsterdamse Poort",
            None,
        ),
        ("2020-03-10", BankLineKind.TRANSFER, "6500.00", "Lisa Koster", sister_iban),
        ("2020-03-12", BankLineKind.CASH_WITHDRAWAL, "4000.00", "Geldautomaat Ganzenhoef", None),
        ("2020-03-16", BankLineKind.CASH_WITHDRAWAL, "4000.00", "Geldautomaat Bijlmerplein", None),
        ("2020-03-17", BankLineKind.TRANSFER, "15000.00", chair, chair_iban),
        (
            "2020-03-18",
            BankLineKind.TRANSFER,
            "9500.00",
            "Pinas Events & Catering",
            acquaintances["Pinas Events & Catering"],
        ),
        ("2020-03-19", BankLineKind.CASH_WITHDRAWAL, "3000.00", "Geldautomaat Ganzenhoef", None),
        (
            "2020-03-23",
            BankLineKind.CASH_WITHDRAWAL,
            "4000.00",
            "Geldautomaat Amsterdamse Poort",
            None,
        ),
        ("2020-03-25", BankLineKind.TRANSFER, "5000.00", "J. Brouwer", acquaintances["J. Brouwer"]),
        ("2020-03-26", BankLineKind.CASH_WITHDRAWAL, "3500.00", "Geldautomaat Bijlmerplein", None),
        ("2020-03-30", BankLineKind.TRANSFER, "9650.00", chair, chair_iban),
    ]
    for day, kind, amount, counterparty, counterparty_iban in outflows:
        book.bank_line(
            d(day),
            Direction.OUT,
            kind,
            eur(amount),
            counterparty,
            counterparty_iban=counterparty_iban,
            description="Opname/overboeking",
        )
    platform.suspend(
        decision_ref="SDC-ZO-2020-04-G-SCHORSING",
        effective_on=d("2020-04-08"),
        reason="Kerngroep meldt betalingen zonder goedkeuring; onderzoek gestart.",
        occurred_on=d("2020-04-08"),
        actor=OFFICIAL_ZO,
    )
    platform.revoke(
        decision_ref="SDC-ZO-2020-06-G-INTREKKING",
        effective_on=d("2020-06-25"),
        reason="Integriteitsonderzoek: EUR 96.150 onttrokken zonder besluit kerngroep.",
        occurred_on=d("2020-06-25"),
        actor=OFFICIAL_ZO,
    )
    grant.revoke(
        budget=budget,
        effective_on=d("2019-12-01"),
        retroactive=True,
        decision_ref="INTREKKING-ZO-2019-G",
        reason="Subsidie ingetrokken met terugwerkende kracht (Awb 4:48).",
        occurred_on=d("2020-06-25"),
        actor=OFFICIAL_ZO,
    )
    remainder = eur("22650.00")
    grant.receive_refund(amount=remainder, occurred_on=d("2020-07-10"), actor=OFFICIAL_ZO)
    book.bank_line(
        d("2020-07-10"),
        Direction.OUT,
        BankLineKind.TRANSFER,
        remainder,
        "Gemeente Amsterdam, stadsdeel Zuidoost",
        description="Restant rekening",
        matches=f"refund:ZO-2019-G:{grant.version}",
        record=grant,
    )
    grant.claim_recovery(
        amount=eur("96150.00"),
        decision_ref="TERUGVORDERING-ZO-2019-G",
        reason="Terugvordering onverschuldigd betaald voorschot (Awb 4:57); "
        "aantoonbare kosten (EUR 6.200) geaccepteerd.",
        occurred_on=d("2020-08-01"),
        actor=OFFICIAL_ZO,
    )
    for day, amount in [
        ("2020-10-15", "15000.00"),
        ("2021-01-15", "12000.00"),
        ("2021-04-15", "12350.00"),
    ]:
        grant.receive_recovery(amount=eur(amount), occurred_on=d(day), actor=OFFICIAL_ZO)


def _noord(b: DemoBuilder, budget: DistrictBudget) -> None:
    bloemen = b.platform(
        name="Bloemenbuurt Beslist",
        neighbourhood="Bloemenbuurt",
        district="Noord",
        legal_form=LegalForm.VERENIGING,
        kvk="74561230",
        founded="2019-02-01",
        board=[
            ("Jan-Willem Smit", Role.CHAIR),
            ("Sevgi Yilmaz", Role.TREASURER),
            ("Mieke de Graaf", Role.SECRETARY),
        ],
        core_group=["Rachid Amrani", "Joke Hendriks"],
        actor=OFFICIAL_NOORD,
        recognised="2019-05-01",
    )
    for theme, amount in [("Ontmoeting", 115_000), ("Jeugd", 82_000), ("Groen", 53_000)]:
        half = amount // 2
        grant = b.grant(
            bloemen,
            budget,
            reference=f"N-2019-BLOEM-{theme.upper()}",
            amount=amount,
            start="2019-06-01",
            end="2020-12-31",
            purpose=f"Thema {theme} (deliberatie, Antwerps model)",
            tranches=[("2019-06-15", half), ("2020-01-15", amount - half)],
            awarded="2019-05-20",
            actor=OFFICIAL_NOORD,
        )
        b.pay_tranche(bloemen, grant, 1, "2019-06-15", OFFICIAL_NOORD)
        b.routine_spending(
            bloemen,
            grant,
            start="2019-07-01",
            months=2,
            per_month=1,
            payees=[(f"Buurtwerkplaats {theme}", theme.lower())],
            typical=4_100,
        )
    kleine_wereld = b.platform(
        name="Buurtplatform Kleine Wereld",
        neighbourhood="Kleine Wereld",
        district="Noord",
        legal_form=LegalForm.STICHTING,
        kvk="74561249",
        founded="2019-02-10",
        board=[("Anouk Terpstra", Role.CHAIR), ("Bayu Santoso", Role.TREASURER)],
        core_group=["Lotte Kramer", "Yusuf Demir", "Ria Vermeulen"],
        actor=OFFICIAL_NOORD,
        recognised="2019-05-01",
    )
    grant = b.grant(
        kleine_wereld,
        budget,
        reference="N-2019-KW",
        amount=250_000,
        start="2019-06-01",
        end="2020-12-31",
        purpose="Buurtplannen Kleine Wereld",
        tranches=[("2019-06-15", 125_000), ("2020-01-15", 125_000)],
        awarded="2019-05-20",
        actor=OFFICIAL_NOORD,
    )
    b.pay_tranche(kleine_wereld, grant, 1, "2019-06-15", OFFICIAL_NOORD)
    b.pay_tranche(kleine_wereld, grant, 2, "2020-01-15", OFFICIAL_NOORD)
    b.routine_spending(
        kleine_wereld,
        grant,
        start="2019-07-01",
        months=2,
        per_month=1,
        payees=[
            ("Speeltuinvereniging Noord", "activiteiten"),
            ("Groenbedrijf Waterland", "materialen"),
        ],
        typical=6_300,
    )


def _nieuw_west(b: DemoBuilder, budget: DistrictBudget) -> None:
    book = b.platform(
        name="Buurtplatform Slotermeer Noordoost",
        neighbourhood="Slotermeer Noordoost",
        district="Nieuw-West",
        legal_form=LegalForm.STICHTING,
        kvk="73219876",
        founded="2019-01-20",
        board=[
            ("Hatice Kaya", Role.CHAIR),
            ("Wim Post", Role.TREASURER),
            ("Samira Haddou", Role.BOARD_MEMBER),
        ],
        core_group=["Bas Jonker", "Ilse Peeters"],
        actor=OFFICIAL_NW,
        recognised="2019-04-01",
    )
    plans = [
        ("Moestuin Noordoost", 52_000),
        ("Buurtkeuken", 48_500),
        ("Speelplek Burgemeester", 41_000),
        ("Taalcafe", 27_500),
        ("Fietsenwerkplaats", 38_000),
        ("Bankjes en bloembakken", 33_000),
        ("Jongerenpodium", 45_000),
        ("Ouderen in beweging", 29_000),
        ("Repair Cafe", 18_500),
        ("Muurschildering", 36_000),
        ("Buurtkrant", 22_000),
        ("Huiswerkklas", 61_500),
        ("Veilig oversteken", 48_000),
    ]
    for i, (plan, amount) in enumerate(plans, 1):
        grant = b.grant(
            book,
            budget,
            reference=f"NW-2019-SN-{i:02d}",
            amount=amount,
            start="2019-06-01",
            end="2020-06-30",
            purpose=f"Challenge-plan {i}: {plan} (stemronde 12+)",
            tranches=[("2019-06-10", amount)],
            awarded="2019-05-28",
            actor=OFFICIAL_NW,
        )
        b.pay_tranche(book, grant, 1, "2019-06-10", OFFICIAL_NW)
        if i == 1:
            b.routine_spending(
                book,
                grant,
                start="2019-07-01",
                months=1,
                per_month=2,
                payees=[(f"Uitvoerder {plan}", "uitvoering")],
                typical=7_900,
            )


def _later_zuidoost(b: DemoBuilder, budget: DistrictBudget) -> None:
    for n, (area, people) in enumerate(
        [
            (
                "Bijlmer-Centrum",
                [("Marcia Doelwijt", Role.CHAIR), ("Kevin Boateng", Role.TREASURER)],
            ),
            ("Bijlmer-Oost", [("Sharon Tjin", Role.CHAIR), ("Edwin Pinas", Role.TREASURER)]),
            ("Gaasperdam-Driemond", [("Anja Dekker", Role.CHAIR), ("Ravi Autar", Role.TREASURER)]),
        ]
    ):
        book = b.platform(
            name=f"Buurtplatform {area}",
            neighbourhood=area,
            district="Zuidoost",
            legal_form=LegalForm.STICHTING,
            kvk=f"8{n}123456",
            founded="2021-09-01",
            board=[*people, (f"Secretaris {area}", Role.SECRETARY)],
            core_group=[f"Kerngroeplid {area} {i}" for i in range(1, 4)],
            actor=OFFICIAL_ZO,
            recognised="2022-02-01",
        )
        grant = b.grant(
            book,
            budget,
            reference=f"ZO-2022-{n + 1}",
            amount=300_000,
            start="2022-03-01",
            end="2023-12-31",
            purpose=f"Zelforganiserend buurtplatform {area}",
            tranches=[("2022-03-15", 100_000), ("2022-10-01", 100_000), ("2023-04-01", 100_000)],
            awarded="2022-02-15",
            actor=OFFICIAL_ZO,
        )
        b.pay_tranche(book, grant, 1, "2022-03-15", OFFICIAL_ZO)
        b.routine_spending(
            book,
            grant,
            start="2022-04-01",
            months=1,
            per_month=1,
            payees=[(f"Buurthuis {area}", "huur")],
            typical=3_200,
        )


def load_demo(app: Buurtkas) -> int:
    """Load the demo history unless it is there already; return the number of new events."""
    if app.exists(Platform.id_for("Stichting Bewonersplatform G-buurt")):
        return 0
    aggregates = build_demo()
    recordings = app.save(*aggregates)
    return len(recordings)
