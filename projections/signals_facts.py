"""The signals' findings from a platform's rows: a pure function of its documents and
its log of facts."""

from __future__ import annotations

from datetime import date

from domain.risk import Facts, Outflow, RiskConfig, evaluate, iso_day, risk_score
from projections.rows import Elsewhere, Overlay, laid_over
from projections.store import Doc, decode
from projections.workers import store_for


def facts_of(meta: Doc, head: Doc, log: list[tuple[str, Doc]], clock: date | None) -> Facts:
    """A platform's facts: its log folded in order, with its ``meta`` and ``head``.
    ``clock`` fixes "today" (None: the platform's latest business date)."""
    inflows: dict[str, tuple[date, int, int]] = {}
    outflows: dict[str, Outflow] = {}
    expenses: dict[str, Doc] = {}
    for _, chunk in log:
        for fact in chunk["facts"]:
            tag = fact[0]
            if tag == "expense":
                _, key, day, cents, payee, iban, invoice, method, by, position, receipt = fact
                expenses[key] = {
                    "date": day,
                    "amount": cents,
                    "payee": payee,
                    "iban": iban,
                    "invoice": invoice,
                    "receipt": receipt,
                    "method": method,
                    "submitted_by": by,
                    "submitted_at": position,
                    "approved_by": None,
                    "state": "submitted",
                }
            elif tag == "out":
                _, key, day, cents, kind, payee, iban, matches, position = fact
                outflows[key] = Outflow(iso_day(day), cents, kind, payee, iban, matches, position)
            elif tag == "state":
                expense = expenses.get(fact[1])
                if expense is not None:
                    expense["state"] = fact[3]
                    if fact[3] == "paid":
                        expense["paid_at"] = fact[2]
            elif tag == "approved":
                expense = expenses.get(fact[1])
                if expense is not None:
                    expense["state"] = "approved"
                    expense["approved_by"] = fact[3]
                    expense["approved_on"] = fact[4]
                    expense["approved_at"] = fact[2]
            elif tag == "in":
                _, key, day, cents, position = fact
                inflows[key] = (iso_day(day), cents, position)
            elif tag == "gone":
                inflows.pop(fact[1], None)
                outflows.pop(fact[1], None)
            elif tag == "receipt":  # attached after submission
                expense = expenses.get(fact[1])
                if expense is not None:
                    expense["receipt"] = fact[3]
    return Facts(
        clock=clock or (iso_day(head["clock"]) if head["clock"] else None),
        members=meta["members"],
        relatives=meta["relatives"],
        approvers=set(meta["approvers"]),
        inflows=[inflows[key] for key in sorted(inflows)],
        outflows=sorted(outflows.values(), key=lambda o: o.position),
        expenses={key: expenses[key] for key in sorted(expenses)},
        grants=meta["grants"],
        recognition=[(iso_day(effective), state) for effective, state in meta["recognition"]],
        late=[(p, days) for p, days in meta["late_listed"]],
        late_count=head["late"],
        late_worst=head["worst"],
        duplicate_receipts=meta["duplicate_receipts"],
    )


def findings_doc(config: RiskConfig, name: str, facts: Facts) -> Doc:
    found = evaluate(facts, config)
    return {
        "name": name,
        "findings": [f.as_doc() for f in found],
        "score": risk_score(found),
        "config": f"{config.version}:{config.digest()}",
    }


def findings_elsewhere(
    config: RiskConfig,
    clock: date | None,
    where: Elsewhere,
    platforms: list[tuple[str, Doc, Doc]],
    overlay: Overlay,
) -> list[tuple[str, Doc]]:
    """In a worker process: ``findings_doc`` of each platform (with its ``meta`` and
    ``head``), its log read from the store ``where`` says with the batch's ``overlay``
    laid over, and decoded here. Its arguments and its answer are small."""
    store = store_for(where.env)
    found: dict[str, dict[str, str]] = {platform: {} for platform, _, _ in platforms}
    selected = store.select_platform_texts(where.projection, where.generation, "facts", list(found))
    logs = laid_over(found, selected, overlay.items())
    evaluated = []
    for platform, meta, head in platforms:
        log = [(key, decode(text)) for key, text in logs[platform]]
        facts = facts_of(meta, head, log, clock)
        evaluated.append((platform, findings_doc(config, meta.get("name", ""), facts)))
    return evaluated
