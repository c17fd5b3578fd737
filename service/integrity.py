"""The nightly integrity check behind ``buurtkas verify``.

Four checks, each logged as one structured event and reported in JSON:

- ``store``: every stored event against its leaf, positions complete and in order, and the
  rebuilt tree against every signed checkpoint (:mod:`audit.scan`);
- ``subtrees``: every stored subtree (what inclusion and consistency proofs are built from)
  equals the hash of its leaves (:mod:`audit.subtrees`);
- ``read_models``: every read model equals a fresh fold of the history up to its position;
- ``ledger``: the double-entry invariants of :mod:`domain.ledger_checks`.

The result is ``ok`` only when all hold.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from audit import log as audit_log
from audit.checkpoint import Checkpoint
from audit.scan import scan
from audit.subtrees import check_subtrees
from domain.ledger_checks import check_ledger
from domain.risk import RiskConfig
from projections.base import Projection, fold_together
from projections.db import connect
from projections.registry import FACTORIES, open_store, projection
from projections.store import Doc, ReadModelStore, made_by
from service.application import Buurtkas

MAX_DIFFERENCES = 20


@dataclass
class CheckResult:
    name: str
    ok: bool
    summary: str
    seconds: float = 0.0
    details: list[dict[str, Any]] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "check": self.name,
            "ok": self.ok,
            "summary": self.summary,
            "seconds": round(self.seconds, 3),
            "figures": self.figures,
            "details": self.details,
        }


MAX_LAG = 1000
"""Events a read model may stand behind the head and still pass the check (the HTTP
service's readiness threshold)."""


@dataclass
class IntegrityReport:
    checks: list[CheckResult]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "checks": [check.to_json() for check in self.checks]}


def verify(
    app: Buurtkas,
    public_key: Ed25519PublicKey | None,
    risk: RiskConfig | None = None,
    trusted_checkpoints: Sequence[Checkpoint] = (),
    read_models: bool = True,
    on_check: Callable[[CheckResult], None] | None = None,
    workers: int | None = None,
    scan_options: Mapping[str, Any] | None = None,
    max_lag: int = MAX_LAG,
) -> IntegrityReport:
    """Run every check; ``trusted_checkpoints`` are kept outside the database (files).
    A read model more than ``max_lag`` events behind the head fails its check.

    ``scan_options`` tune the store scan (``parallel_from``, ``min_level``, ``start_method``).
    """
    workers = workers if workers is not None else min(os.cpu_count() or 1, 4)
    store = open_store(app.store_env)
    try:
        runs: list[tuple[str, Callable[[], CheckResult]]] = [
            (
                "store",
                lambda: check_store(
                    app, store, public_key, trusted_checkpoints, workers, scan_options or {}
                ),
            )
        ]
        runs.append(("subtrees", lambda: check_stored_subtrees(store)))
        if read_models:
            runs.append(("read_models", lambda: check_read_models(app, store, risk, max_lag)))
        runs.append(("ledger", lambda: check_double_entry(app)))
        results = []
        for name, run in runs:
            started = time.perf_counter()
            try:
                result = run()
            except Exception as error:  # a check that cannot finish has failed, and says why
                result = CheckResult(name, False, f"could not complete: {error!r}")
            result.seconds = time.perf_counter() - started
            results.append(result)
            if on_check is not None:
                on_check(result)
        return IntegrityReport(results)
    finally:
        store.conn.close()


def check_store(
    app: Buurtkas,
    store: ReadModelStore,
    public_key: Ed25519PublicKey | None,
    trusted_checkpoints: Sequence[Checkpoint],
    workers: int = 1,
    scan_options: Mapping[str, Any] | None = None,
) -> CheckResult:
    stored = audit_log.checkpoints(store.conn)
    known = {(c.tree_size, c.signed_at, c.signature) for c in stored}
    extra = [c for c in trusted_checkpoints if (c.tree_size, c.signed_at, c.signature) not in known]
    report = scan(
        store.conn,
        app.events_table,
        [*stored, *extra],
        public_key,
        connect=functools.partial(connect, app.store_env),
        workers=workers,
        **(scan_options or {}),
    )
    details = [finding.to_json() for finding in sorted(report.findings, key=_position)]
    figures = {
        "events": report.events,
        "leaves": report.leaves,
        "checkpoints": report.checkpoints,
        "root_hash": report.root_hash.hex(),
        "findings": report.counts,
    }
    if not details:
        note = "" if report.checkpoints else "; no checkpoint yet (run buurtkas checkpoint)"
        summary = (
            f"{report.events} events match their {report.leaves} leaves; positions complete "
            f"and in order; {report.checkpoints} checkpoint(s) hold{note}"
        )
        return CheckResult("store", True, summary, details=details, figures=figures)
    first = details[0]
    where = f" at position {first['position']}" if first["position"] is not None else ""
    summary = (
        f"{sum(report.counts.values())} finding(s); first{where}: {first['kind']}: "
        f"{first['detail']}"
    )
    return CheckResult("store", False, summary, details=details, figures=figures)


def check_stored_subtrees(store: ReadModelStore) -> CheckResult:
    """Every stored subtree against the leaves (the proofs an export gives rest on them)."""
    report = check_subtrees(store.conn)
    details = [finding.to_json() for finding in report.listed]
    figures = {"leaves": report.leaves, "subtrees": report.subtrees, "findings": report.counts}
    if report.incomplete is not None:
        summary = f"not every subtree checked: {report.incomplete} (see the store check)"
        return CheckResult("subtrees", False, summary, details=details, figures=figures)
    if details:
        first = details[0]
        summary = (
            f"{sum(report.counts.values())} finding(s); first: {first['kind']}: {first['detail']}"
        )
        return CheckResult("subtrees", False, summary, details=details, figures=figures)
    summary = f"{report.subtrees} stored subtrees match the {report.leaves} leaves"
    return CheckResult("subtrees", True, summary, details=details, figures=figures)


def _position(finding: Any) -> tuple[int, int]:
    return (0 if finding.position is None else 1, finding.position or 0)


def check_read_models(
    app: Buurtkas, store: ReadModelStore, risk: RiskConfig | None, max_lag: int = MAX_LAG
) -> CheckResult:
    """Every built read model against a fresh fold up to its position; read models at the
    same position (the usual case) are folded together, in one pass over the history.

    A read model that equals the replay up to its position but stands more than
    ``max_lag`` events behind the head fails too: it does not show the history as it
    is (nothing keeps it current, say); its figures give its position, head and lag.

    A read model whose active generation another build made (other code, other risk
    thresholds) is named as stale rather than compared row by row: every row may differ,
    and ``buurtkas project`` rebuilds it."""
    details: list[dict[str, Any]] = []
    figures: dict[str, Any] = {}
    stored: dict[str, dict[tuple[str, str], tuple[str | None, Doc]]] = {}
    rows: dict[str, int] = {}
    models = {name: projection(name, risk) for name in FACTORIES}
    by_position: dict[int, list[str]] = {}
    for name, model in models.items():
        active = store.active(name)
        if active is None:
            figures[name] = "not built"
            continue
        generation, build = active
        wanted = model.build()
        if not made_by(build, store.position(name, generation), wanted):
            figures[name] = {"stale": True, "built": build, "current": wanted}
            details.append(
                {"read_model": name, "difference": "stale", "built": build, "current": wanted}
            )
            continue
        position, rows[name], stored[name] = _stable_rows(store, model, generation)
        by_position.setdefault(position, []).append(name)
    head = int(app.recorder.max_notification_id() or 0)
    for position, names in sorted(by_position.items()):
        together = [models[name] for name in names]
        folded = fold_together(together, app.stored_events(stop=position))
        for model, fresh in zip(together, folded, strict=True):
            name = model.name
            differences = diff_rows(stored[name], _keyed(model.canonical(fresh.select())))
            figures[name] = {
                "position": position,
                "head": head,
                "lag": head - position,
                "rows": rows[name],
                "differences": len(differences),
            }
            details += [{"read_model": name, **d} for d in differences[:MAX_DIFFERENCES]]
            if head - position > max_lag:
                details.append(
                    {
                        "read_model": name,
                        "difference": "behind",
                        "position": position,
                        "head": head,
                        "lag": head - position,
                        "max_lag": max_lag,
                    }
                )
    built = [name for name, value in figures.items() if value != "not built"]
    if details:
        stale = sorted({d["read_model"] for d in details if d["difference"] == "stale"})
        behind = sorted({d["read_model"] for d in details if d["difference"] == "behind"})
        differ = sorted(
            {d["read_model"] for d in details if d["difference"] not in ("stale", "behind")}
        )
        said = []
        if differ:
            said.append(f"{', '.join(differ)} differ(s) from a fresh replay of the history")
        if behind:
            said.append(
                f"{', '.join(behind)} more than {max_lag} events behind the head "
                "(nothing keeps it current? run buurtkas project)"
            )
        if stale:
            said.append(
                f"{', '.join(stale)} built by another version or configuration "
                "(buurtkas project rebuilds it)"
            )
        return CheckResult(
            "read_models",
            False,
            "; ".join(said),
            details=details,
            figures=figures,
        )
    summary = (
        f"{len(built)} read model(s) equal a fresh replay"
        if built
        else "no read model built yet (run buurtkas project)"
    )
    return CheckResult("read_models", True, summary, figures=figures)


def _stable_rows(
    store: ReadModelStore, model: Projection, generation: int
) -> tuple[int, int, dict[tuple[str, str], tuple[str | None, Doc]]]:
    """Position, the number of rows, and the rows as ``canonical`` has them, read while no
    batch committed in between (retried if one did)."""
    name = model.name
    for _ in range(5):
        position = store.position(name, generation)
        selected = list(store.select(name, generation))
        if store.position(name, generation) == position:
            return position, len(selected), _keyed(model.canonical(selected))
    raise RuntimeError(f"read model {name} kept moving while it was compared")


def _keyed(
    rows: Any,
) -> dict[tuple[str, str], tuple[str | None, Doc]]:
    return {(kind, key): (platform, doc) for kind, key, platform, doc in rows}


def diff_rows(
    stored: dict[tuple[str, str], tuple[str | None, Doc]],
    fresh: dict[tuple[str, str], tuple[str | None, Doc]],
) -> list[dict[str, Any]]:
    differences: list[dict[str, Any]] = []
    for key in sorted(stored.keys() | fresh.keys()):
        kind, row_key = key
        if key not in fresh:
            differences.append({"kind": kind, "key": row_key, "difference": "extra row"})
        elif key not in stored:
            differences.append({"kind": kind, "key": row_key, "difference": "missing row"})
        elif stored[key] != fresh[key]:
            (_, have), (_, want) = stored[key], fresh[key]
            fields = sorted(f for f in have.keys() | want.keys() if have.get(f) != want.get(f))
            differences.append(
                {
                    "kind": kind,
                    "key": row_key,
                    "difference": "differs",
                    "fields": {f: field_difference(have.get(f), want.get(f)) for f in fields},
                }
            )
    return differences


def field_difference(stored: Any, replay: Any) -> dict[str, Any]:
    """How a field of a row differs: both values; for two lists (a platform's log of
    facts, thousands long), their lengths and the first place they differ, with what each
    holds there."""
    if not (isinstance(stored, list) and isinstance(replay, list)):
        return {"stored": stored, "replay": replay}
    at = next(
        (i for i, (a, b) in enumerate(zip(stored, replay, strict=False)) if a != b),
        min(len(stored), len(replay)),
    )
    return {
        "stored_items": len(stored),
        "replay_items": len(replay),
        "first_difference": at,
        "stored": stored[at] if at < len(stored) else None,
        "replay": replay[at] if at < len(replay) else None,
    }


def check_double_entry(app: Buurtkas) -> CheckResult:
    result = check_ledger(app.stored_events())
    details = [
        {"position": v.position, "rule": v.rule, "detail": v.detail} for v in result.violations
    ]
    figures = {"events": result.events, "postings": result.postings, "total": str(result.total)}
    if details:
        first = details[0]
        return CheckResult(
            "ledger",
            False,
            f"{len(details)} violation(s); first at position {first['position']}: "
            f"{first['rule']}: {first['detail']}",
            details=details,
            figures=figures,
        )
    return CheckResult(
        "ledger",
        True,
        f"{result.postings} postings over {result.events} events balance; "
        "no commitment, available budget or claim below zero",
        figures=figures,
    )
