"""The auditor's export bundle (format ``buurtkas-audit-bundle/1``, see docs/audit.md).

A directory with the exported events as NDJSON (their exact stored bytes, and a readable
copy), the signed checkpoint they are proven against, the earlier checkpoints with the
consistency proofs between them, one inclusion proof per event (for a platform's export;
a whole-store export is proven by rebuilding the root from every leaf), and a README.
``scripts/verify_bundle.py`` checks it offline.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import orjson

from audit import log as audit_log
from audit.checkpoint import Checkpoint
from audit.log import Database, Leaf, MissingNode
from audit.rows import event_rows
from audit.seal import LEAVES
from service.application import Buurtkas
from service.reports import find_platform, platform_history

FORMAT = "buurtkas-audit-bundle/1"


class ExportError(ValueError):
    """The export cannot be made (no checkpoint, or a directory that is not empty)."""


@dataclass(frozen=True)
class ExportSummary:
    out: Path
    events: int
    tree_size: int
    platform: str | None
    unproven: int


def export_bundle(
    app: Buurtkas,
    db: Database,
    out: Path,
    platform: str | None = None,
) -> ExportSummary:
    """Write the bundle for the whole store, or for one platform's events, into ``out``."""
    checkpoint = audit_log.latest_checkpoint(db)
    if checkpoint is None:
        raise ExportError("export: no checkpoint yet; run `buurtkas checkpoint` first")
    if out.exists() and any(out.iterdir()):
        raise ExportError(f"--out: {out} is not empty")
    size = checkpoint.tree_size
    platform_name = None
    wanted: set[int] | None = None
    if platform is not None:
        found = find_platform(app, platform)
        platform_name = found.name
        wanted = {line.position for line in platform_history(app, found.originator_id)}
    out.mkdir(parents=True, exist_ok=True)
    exported, unproven = _write_events(app, db, out, checkpoint, wanted)
    _write_checkpoints(db, out, checkpoint)
    manifest = {
        "format": FORMAT,
        "created_at": datetime.now(UTC).isoformat(),
        "scope": "platform" if platform_name else "store",
        "platform": platform_name,
        "events": exported,
        "tree_size": size,
        "root_hash": checkpoint.root_hash.hex(),
        "events_after_checkpoint": unproven,
        "proofs": "inclusion" if platform_name else "root",
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    (out / "README.md").write_text(auditor_readme(manifest))
    return ExportSummary(out, exported, size, platform_name, unproven)


def _write_events(
    app: Buurtkas,
    db: Database,
    out: Path,
    checkpoint: Checkpoint,
    wanted: set[int] | None,
) -> tuple[int, int]:
    """Write every event up to the checkpoint's last position, sealed or not.

    An event without a leaf inside that range is written with ``leaf_index`` null: the
    bundle must show it (and fail verification) rather than quietly leave it out.
    """
    size = checkpoint.tree_size
    last = _last_sealed_position(db, size)
    exported = 0
    with (
        (out / "events.ndjson").open("wb") as events_file,
        (out / "proofs.ndjson").open("wb") as proofs_file,
    ):
        batch: list[tuple[Any, ...]] = []

        def flush() -> int:
            leaves = audit_log.leaves_at(db, [row[0] for row in batch])
            for position, aggregate_id, version, topic, state in batch:
                leaf = leaves.get(position)
                if leaf is not None and leaf.leaf_index >= size:
                    leaf = None
                events_file.write(_event_line(position, aggregate_id, version, topic, state, leaf))
                if wanted is not None and leaf is not None:
                    try:
                        proof = audit_log.inclusion_proof(db, leaf, size, checkpoint.root_hash)
                    except MissingNode:  # no proof to give: the verifier will fail the event
                        continue
                    proofs_file.write(orjson.dumps(proof.to_json()) + b"\n")
            written = len(batch)
            batch.clear()
            return written

        for row in event_rows(db, app.events_table):
            if row[0] > last:
                break
            if wanted is not None and row[0] not in wanted:
                continue
            batch.append(row)
            if len(batch) >= 1000:
                exported += flush()
        exported += flush()
    total = len(wanted) if wanted is not None else audit_log.tree_size(db)
    return exported, max(0, total - exported)


def _last_sealed_position(db: Database, size: int) -> int:
    if size == 0:
        return 0
    _refuse_unreadable_leaves(db, size)
    rows = db.execute(
        f"SELECT MAX(position) FROM {LEAVES} WHERE leaf_index < ?",  # noqa: S608
        [size],
    )
    return int(rows[0][0]) if rows and rows[0][0] is not None else 0


def _refuse_unreadable_leaves(db: Database, size: int) -> None:
    """Refuse to export when a sealed leaf's position is not a whole number.

    SQLite keeps any value in any column, and such a leaf names no event: the export
    could not say which events the checkpoint covers (PostgreSQL's column refuses it).
    """
    if db.dialect != "sqlite":
        return
    rows = db.execute(
        f"SELECT leaf_index, position FROM {LEAVES} "  # noqa: S608
        "WHERE leaf_index < ? AND typeof(position) <> 'integer' ORDER BY leaf_index LIMIT 1",
        [size],
    )
    if rows:
        index, position = rows[0]
        raise ExportError(
            f"the seal is damaged: leaf {index} has position {position!r}, not a whole "
            "number; `buurtkas verify` names what differs"
        )


def _event_line(
    position: int,
    aggregate_id: bytes | str,
    version: Any,
    topic: Any,
    state: bytes | None,
    leaf: Leaf | None,
) -> bytes:
    """One event as stored. A column that no append writes (SQLite keeps any value) is
    written as it is, so that the bundle shows the event and fails its verification."""
    stored = None if state is None else bytes(state)
    try:
        readable: Any = None if stored is None else orjson.loads(stored)
    except orjson.JSONDecodeError:
        readable = None
    shown = (
        str(UUID(bytes=aggregate_id))
        if isinstance(aggregate_id, bytes) and len(aggregate_id) == 16
        else str(aggregate_id)
    )
    return (
        orjson.dumps(
            {
                "position": position,
                "leaf_index": None if leaf is None else leaf.leaf_index,
                "aggregate_id": shown,
                "version": version,
                "topic": topic,
                "state_base64": None if stored is None else base64.b64encode(stored).decode(),
                "recorded_at": None if leaf is None else _as_stored(leaf.recorded_at),
                "leaf_hash": None if leaf is None else leaf.hash.hex(),
                "state": readable,
            }
        )
        + b"\n"
    )


def _as_stored(value: Any) -> Any:
    """A column's value as JSON can hold it; a value of another type (SQLite keeps bytes
    in any column) as its ``repr``, which no verifier reads as a number."""
    return value if value is None or isinstance(value, int | float | str) else repr(value)


def _write_checkpoints(db: Database, out: Path, latest: Checkpoint) -> None:
    history = [c for c in audit_log.checkpoints(db) if c.tree_size <= latest.tree_size]
    entries = []
    previous: Checkpoint | None = None
    for checkpoint in history:
        entry: dict[str, Any] = {"checkpoint": checkpoint.to_json()}
        if previous is not None:
            try:
                proof = audit_log.consistency_proof(db, previous.tree_size, checkpoint.tree_size)
                entry["consistency_from_previous"] = [h.hex() for h in proof]
            except MissingNode as error:  # the bundle shows it; the verifier will fail it
                entry["consistency_from_previous"] = None
                entry["error"] = str(error)
        entries.append(entry)
        previous = checkpoint
    (out / "checkpoint.json").write_text(json.dumps(latest.to_json(), indent=2) + "\n")
    (out / "checkpoints.json").write_text(json.dumps(entries, indent=2) + "\n")


def auditor_readme(manifest: dict[str, Any]) -> str:
    scope = (
        f"the events of platform {manifest['platform']!r}"
        if manifest["platform"]
        else "every event in the store"
    )
    return f"""# buurtkas audit bundle

This directory holds {scope}: {manifest["events"]} events, proven against a checkpoint
signed over the first {manifest["tree_size"]} events of the store (root hash
`{manifest["root_hash"]}`).

Check it offline, with the public key you were given separately (never one that came
with this bundle):

    python scripts/verify_bundle.py THIS_DIRECTORY --public-key buurtkas-audit.pub

Give `--public-key` again for a retired signing key, `--checkpoint FILE` for each
checkpoint you kept from earlier (it must be in this bundle's history), and
`--require-complete` when the bundle must hold every event the checkpoint covers. It
needs Python 3.11+ and the `cryptography` package only. It prints every check it made,
says whether the bundle is the whole log or a selection, and exits 0 when the bundle is
intact, 1 otherwise.

Files:

- `manifest.json`: what was exported, and the checkpoint's size and root.
- `events.ndjson`: one event per line, in store order: position, leaf index, aggregate
  id, version, topic, the stored state (`state_base64`, the exact bytes that are
  hashed; `state` is a readable copy, checked against them), the time it was sealed
  and its leaf hash.
- `checkpoint.json`: the signed checkpoint the events are proven against.
- `checkpoints.json`: every checkpoint up to it, each with the consistency proof from
  the one before, so an auditor who kept an earlier checkpoint can see the log only grew.
- `proofs.ndjson`: for a platform's export, one RFC 6962 inclusion proof per event; a
  whole-store export is proven instead by rebuilding the root from every leaf.

The format is documented in buurtkas's docs/audit.md.
"""
