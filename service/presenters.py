"""Text and JSON views of read-model results for the command line."""

from __future__ import annotations

from typing import Any

from domain.money import Money
from projections.replay import Replay


def eur(cents: int | None) -> str:
    return "" if cents is None else str(Money(int(cents)))


def money_fields(figures: dict[str, Any]) -> dict[str, Any]:
    """Figures with every cent amount as a string such as '1234.56'."""
    shown: dict[str, Any] = {}
    for key, value in figures.items():
        if isinstance(value, dict):
            shown[key] = money_fields(value)
        elif isinstance(value, int) and not isinstance(value, bool) and key != "count":
            shown[key] = eur(value)
        else:
            shown[key] = value
    return shown


def finding_json(finding: dict[str, Any]) -> dict[str, Any]:
    shown = dict(finding)
    if finding["unit"] == "cents":
        shown["value"], shown["threshold"] = eur(finding["value"]), eur(finding["threshold"])
    return shown


def replay_json(name: str, result: Replay) -> dict[str, Any]:
    return {
        "platform": name,
        "as_of": result.as_of.isoformat() if result.as_of else None,
        "position": result.position,
        "events": result.events,
        "last_position": result.last_position,
        "balances": money_fields(result.balances),
        "grants": [money_fields(g) for g in result.grants],
        "recognition": {
            "state": result.status.get("recognition"),
            "decided": result.status.get("decided"),
            "history": result.status.get("history", []),
            "last_assessment": result.status.get("last_assessment", []),
        },
        "risk": result.signals.get("score", {}),
        "config": result.signals.get("config"),
        "findings": [finding_json(f) for f in result.signals.get("findings", [])],
    }


def print_replay(name: str, result: Replay) -> None:
    axis = (
        f"business date {result.as_of.isoformat()}"
        if result.as_of
        else f"position {result.position}"
    )
    print(f"{name} as of {axis}: {result.events} events (last position {result.last_position})")
    b = result.balances
    print(
        f"  received {eur(b.get('received'))}  spent {eur(b.get('spent'))}  "
        f"unexplained outflows {eur(b.get('unexplained_outflows'))}  "
        f"cash on hand {eur(b.get('cash_on_hand'))}  bank {eur(b.get('bank'))}"
    )
    for g in result.grants:
        print(
            f"  grant {g['reference']} ({g['state']}): awarded {eur(g['awarded'])}, "
            f"paid {eur(g['tranches_paid'])}, spent {eur(g['spent'])}, "
            f"to recover {eur(g['to_recover'])}, recovered {eur(g['recovered'])}"
        )
    state = result.status.get("recognition", "unknown")
    decided = result.status.get("decided")
    if result.as_of and decided and decided != state:
        effective = result.status["history"][-1]["effective_on"]
        day = result.as_of.isoformat()
        state = f"{state} on {day} (last decided: {decided}, effective {effective})"
    print(f"  recognition: {state}")
    score = result.signals.get("score", {})
    print(
        f"  risk: {score.get('level', 'none')} (score {score.get('score', 0)}; "
        f"config {result.signals.get('config', '-')})"
    )
    for f in result.signals.get("findings", []):
        value = eur(f["value"]) if f["unit"] == "cents" else f["value"]
        threshold = eur(f["threshold"]) if f["unit"] == "cents" else f["threshold"]
        positions = ", ".join(str(p) for p in f["positions"][:12])
        more = f" (+{len(f['positions']) - 12} more)" if len(f["positions"]) > 12 else ""
        print(
            f"  [{f['strength']}/{f['severity']}] {f['rule']}: {f['detail']}; "
            f"measured {value} against {threshold}; events {positions}{more}"
        )
