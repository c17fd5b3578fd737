"""Command-line commands for the audit trail: keygen, checkpoint, proof, export, verify."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from audit import log as audit_log
from audit.checkpoint import (
    Checkpoint,
    KeyFileError,
    generate_key_pair,
    key_id,
    load_private_key,
    load_public_key,
)
from projections.registry import open_store
from service.application import Buurtkas
from service.cli_options import whole
from service.export import ExportError, export_bundle
from service.integrity import MAX_LAG, CheckResult, verify
from service.settings import Settings, load_risk_config, load_settings


class AuditConfigError(ValueError):
    """A key or checkpoint the command needs is not configured or cannot be read."""


def add_commands(sub: Any) -> None:
    keygen = sub.add_parser("keygen", help="make an Ed25519 key pair for signing checkpoints")
    keygen.add_argument("--out", required=True, help="PREFIX: writes PREFIX.key and PREFIX.pub")
    checkpoint = sub.add_parser("checkpoint", help="sign the Merkle log's current size and root")
    checkpoint.add_argument("--out", type=Path, help="also write the checkpoint to this file")
    proof = sub.add_parser(
        "proof", help="an event's inclusion proof, or a consistency proof between checkpoints"
    )
    what = proof.add_mutually_exclusive_group(required=True)
    what.add_argument("--position", type=int, help="the event's position (inclusion proof)")
    what.add_argument(
        "--between",
        type=int,
        nargs=2,
        metavar=("SIZE", "LATER_SIZE"),
        help="the tree sizes of two stored checkpoints (consistency proof)",
    )
    export = sub.add_parser("export", help="write an auditor's bundle (events, proofs, README)")
    export.add_argument("--platform", help="only this platform's events (name or neighbourhood)")
    export.add_argument("--out", type=Path, required=True, help="an empty or new directory")
    check = sub.add_parser("verify", help="the integrity check (store, read models, ledger)")
    check.add_argument("--json", action="store_true", help="print the JSON report")
    check.add_argument(
        "--max-lag",
        type=whole("--max-lag", 0),
        default=MAX_LAG,
        help=f"events a read model may stand behind the head (default {MAX_LAG})",
    )
    check.add_argument(
        "--checkpoint",
        type=Path,
        action="append",
        default=[],
        help="a checkpoint file kept outside the database (repeatable)",
    )
    check.add_argument(
        "--skip-read-models", action="store_true", help="leave out the read-model replay"
    )


def cmd_keygen(args: argparse.Namespace, log: Any) -> int:
    private_path, public_path = Path(f"{args.out}.key"), Path(f"{args.out}.pub")
    for path in (private_path, public_path):
        if path.exists():
            raise AuditConfigError(f"--out: {path} exists; refusing to overwrite a key")
    private_pem, public_pem = generate_key_pair()
    private_path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(private_pem)
    public_path.write_bytes(public_pem)
    kid = key_id(load_public_key(public_path))
    log.info("audit.key_generated", key_id=kid, public_key=str(public_path))
    print(f"Private key: {private_path} (set BUURTKAS_SIGNING_KEY to it; keep it secret)")
    print(f"Public key:  {public_path} (give it to auditors)  key id {kid}")
    return 0


def signing_key(settings: Settings) -> Ed25519PrivateKey:
    if not settings.signing_key:
        raise AuditConfigError(
            "BUURTKAS_SIGNING_KEY: not set; `buurtkas keygen --out PREFIX` makes a key pair"
        )
    try:
        return load_private_key(Path(settings.signing_key))
    except KeyFileError as error:
        raise AuditConfigError(f"BUURTKAS_SIGNING_KEY: {error}") from None


def public_key(settings: Settings) -> Ed25519PublicKey | None:
    try:
        if settings.audit_public_key:
            return load_public_key(Path(settings.audit_public_key))
        if settings.signing_key:
            return load_private_key(Path(settings.signing_key)).public_key()
    except KeyFileError as error:
        raise AuditConfigError(f"BUURTKAS_AUDIT_PUBLIC_KEY: {error}") from None
    return None


def cmd_checkpoint(app: Buurtkas, args: argparse.Namespace, log: Any) -> int:
    key = signing_key(load_settings())
    if args.out:  # found writable before anything is signed, so no copy is lost
        args.out.parent.mkdir(parents=True, exist_ok=True)
        target = args.out if args.out.exists() else args.out.parent
        if args.out.is_dir() or not os.access(target, os.W_OK):
            raise AuditConfigError(f"--out: cannot write the checkpoint to {args.out}")
    store = open_store(app.store_env)
    try:
        checkpoint = audit_log.write_checkpoint(store.conn, key)
    finally:
        store.conn.close()
    text = json.dumps(checkpoint.to_json(), indent=2)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    log.info(
        "audit.checkpoint_signed",
        tree_size=checkpoint.tree_size,
        root_hash=checkpoint.root_hash.hex(),
        key_id=checkpoint.key_id,
    )
    print(text)
    return 0


def cmd_proof(app: Buurtkas, args: argparse.Namespace, log: Any) -> int:
    if args.between:
        return _consistency(app, args.between[0], args.between[1], log)
    store = open_store(app.store_env)
    try:
        checkpoint = audit_log.latest_checkpoint(store.conn)
        if checkpoint is None:
            raise AuditConfigError("proof: no checkpoint yet; run `buurtkas checkpoint` first")
        leaf = audit_log.leaf_at(store.conn, args.position)
        if leaf is None or leaf.leaf_index >= checkpoint.tree_size:
            raise AuditConfigError(
                f"--position: no sealed event at {args.position} inside the latest checkpoint "
                f"(size {checkpoint.tree_size})"
            )
        proof = audit_log.inclusion_proof(
            store.conn, leaf, checkpoint.tree_size, checkpoint.root_hash
        )
    finally:
        store.conn.close()
    log.info("audit.proof_made", position=args.position, tree_size=proof.tree_size)
    print(json.dumps({**proof.to_json(), "checkpoint": checkpoint.to_json()}, indent=2))
    return 0


def _consistency(app: Buurtkas, first: int, second: int, log: Any) -> int:
    store = open_store(app.store_env)
    try:
        stored = {c.tree_size: c for c in audit_log.checkpoints(store.conn)}
        for name, size in (("SIZE", first), ("LATER_SIZE", second)):
            if size not in stored:
                known = ", ".join(str(s) for s in sorted(stored)) or "none"
                raise AuditConfigError(
                    f"--between {name}: no checkpoint of size {size} (stored: {known})"
                )
        if first > second:
            raise AuditConfigError("--between: the first size must not exceed the second")
        proof = audit_log.consistency_proof(store.conn, first, second)
    finally:
        store.conn.close()
    log.info("audit.consistency_proof_made", first=first, second=second, hashes=len(proof))
    print(
        json.dumps(
            {
                "first": stored[first].to_json(),
                "second": stored[second].to_json(),
                "proof": [h.hex() for h in proof],
            },
            indent=2,
        )
    )
    return 0


def cmd_export(app: Buurtkas, args: argparse.Namespace, log: Any) -> int:
    store = open_store(app.store_env)
    try:
        summary = export_bundle(app, store.conn, args.out, args.platform)
    finally:
        store.conn.close()
    log.info(
        "audit.exported",
        out=str(summary.out),
        events=summary.events,
        tree_size=summary.tree_size,
        platform=summary.platform,
        events_after_checkpoint=summary.unproven,
    )
    scope = f"platform {summary.platform}" if summary.platform else "the whole store"
    print(f"Exported {summary.events} events of {scope} to {summary.out}")
    print(f"proven against the checkpoint of {summary.tree_size} events.")
    if summary.unproven:
        print(f"{summary.unproven} later event(s) left out: run `buurtkas checkpoint` first.")
    return 0


def _trusted(paths: list[Path]) -> list[Checkpoint]:
    found = []
    for path in paths:
        try:
            found.append(Checkpoint.from_json(json.loads(path.read_text())))
        except (OSError, ValueError, KeyError) as error:
            raise AuditConfigError(f"--checkpoint: cannot read {path}: {error}") from None
    return found


def cmd_verify(app: Buurtkas, args: argparse.Namespace, log: Any) -> int:
    settings = load_settings()

    def logged(result: CheckResult) -> None:
        emit = log.info if result.ok else log.error
        emit(
            f"verify.{result.name}",
            ok=result.ok,
            summary=result.summary,
            seconds=round(result.seconds, 3),
            **{k: v for k, v in result.figures.items() if not isinstance(v, dict)},
        )

    report = verify(
        app,
        public_key(settings),
        risk=load_risk_config(settings.risk_config),
        trusted_checkpoints=_trusted(args.checkpoint),
        read_models=not args.skip_read_models,
        on_check=logged,
        max_lag=args.max_lag,
    )
    log.info("verify.completed", ok=report.ok, checks=len(report.checks))
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        for result in report.checks:
            print(f"[{'ok' if result.ok else 'FAIL'}] {result.name}: {result.summary}")
            for detail in result.details[:10]:
                print(f"       {json.dumps(detail)}")
        print("integrity intact" if report.ok else "integrity NOT intact")
    return 0 if report.ok else 1


COMMANDS = {
    "checkpoint": cmd_checkpoint,
    "proof": cmd_proof,
    "export": cmd_export,
    "verify": cmd_verify,
}

ERRORS = (AuditConfigError, ExportError, audit_log.CheckpointDamaged)
