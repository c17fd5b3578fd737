"""``scripts/bench.py verify``: the integrity check's store scan against a raw read.

For each database: ``buurtkas generate`` fills a fresh store, a checkpoint is signed, and
in the same run are measured

- the raw read: the same event rows (position, aggregate id, version, topic, state),
  read in the same pages over the same connection, with nothing done to them;
- the store checks (a) and (b) of ``buurtkas verify``: every event against its leaf, the
  positions, and the tree rebuilt and compared with the checkpoint;
- the whole ``buurtkas verify`` (store, every read model replayed, ledger), after
  ``buurtkas project`` built the read models;
- producing one inclusion proof (median of 200 random events) and checking one.
"""

from __future__ import annotations

import argparse
import functools
import os
import random
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit import log as audit_log
from audit import merkle
from audit.checkpoint import Checkpoint
from audit.log import Database
from audit.rows import PAGE
from audit.scan import scan
from projections.db import connect

Store = Callable[[], AbstractContextManager[dict[str, str]]]


def raw_read(db: Database, events_table: str, page: int = PAGE) -> tuple[int, float]:
    """Read every event row in pages, as the scan does, and do nothing with it."""
    column = "notification_id" if db.dialect == "postgres" else "rowid"
    statement = (
        f"SELECT {column}, originator_id, originator_version, topic, state "
        f"FROM {events_table} WHERE {column} > ? ORDER BY {column} LIMIT ?"
    )
    started = time.perf_counter()
    count, after = 0, 0
    while True:
        rows = db.execute(statement, [after, page])
        for _row in rows:
            count += 1
        if len(rows) < page:
            return count, count / (time.perf_counter() - started)
        after = rows[-1][0]


def run_cli(url: str, env: dict[str, str], *argv: str) -> float:
    started = time.perf_counter()
    subprocess.run(
        ["buurtkas", *argv],
        check=True,
        stdout=subprocess.DEVNULL,
        env={**os.environ, **env, "BUURTKAS_DATABASE_URL": url, "BUURTKAS_LOG_FORMAT": "json"},
    )
    return time.perf_counter() - started


def bench_verify(
    args: argparse.Namespace, targets: list[tuple[str, Store]], env_url: Callable[..., str]
) -> None:
    for name, store in targets:
        with store() as env, tempfile.TemporaryDirectory() as keys:
            url = env_url(env)
            key = Ed25519PrivateKey.generate()
            key_path = Path(keys) / "audit.key"
            key_path.write_bytes(
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
            settings = {"BUURTKAS_SIGNING_KEY": str(key_path)}
            generated = run_cli(url, settings, "generate", "--events", str(args.events))
            run_cli(url, settings, "checkpoint")
            db = connect(env)
            table = "buurtkas_events" if db.dialect == "postgres" else "stored_events"
            checkpoints = audit_log.checkpoints(db)
            raw_rates: list[float] = []
            scan_rates: dict[int, list[float]] = {1: [], args.workers: []}
            opener = functools.partial(connect, env)
            for _ in range(args.repeat):
                count, rate = raw_read(db, table)
                raw_rates.append(rate)
                for workers, rates in scan_rates.items():
                    started = time.perf_counter()
                    report = scan(
                        db, table, checkpoints, key.public_key(), opener, workers, parallel_from=0
                    )
                    rates.append(report.events / (time.perf_counter() - started))
                    assert not report.findings, report.findings
            raw = statistics.median(raw_rates)
            size = checkpoints[-1].tree_size
            produce, check = proof_times(db, checkpoints[-1], size)
            if not args.store_checks_only:
                projected = run_cli(url, settings, "project")
                whole = run_cli(url, settings, "verify")
            db.close()
            print(
                f"\n{name}: {count:,} events (buurtkas generate {args.events / generated:,.0f} "
                f"ev/s); medians of {args.repeat} runs"
            )
            print(f"{'':40} {'ev/s':>10} {'raw read':>10} {'ratio':>6}")
            for workers, rates in scan_rates.items():
                checked = statistics.median(rates)
                label = f"store checks (a) and (b), {workers} process(es)"
                print(f"{label:40} {checked:10,.0f} {raw:10,.0f} {checked / raw:6.2f}")
            if not args.store_checks_only:
                print(
                    f"whole buurtkas verify: {whole:.1f} s (store, 4 read models replayed, "
                    f"ledger); buurtkas project before it: {projected:.1f} s"
                )
            print(
                f"inclusion proof at size {size:,}: produce median {produce * 1000:.2f} ms, "
                f"check median {check * 1000:.3f} ms"
            )


def proof_times(db: Database, checkpoint: Checkpoint, size: int) -> tuple[float, float]:
    rng = random.Random(1)
    produced, checked = [], []
    positions = [row[0] for row in db.execute("SELECT position FROM audit_leaves")]
    for position in rng.sample(positions, 200):
        started = time.perf_counter()
        leaf = audit_log.leaf_at(db, position)
        assert leaf is not None
        proof = audit_log.inclusion_proof(db, leaf, size, checkpoint.root_hash)
        produced.append(time.perf_counter() - started)
        started = time.perf_counter()
        ok = merkle.verify_inclusion(leaf.leaf_index, size, leaf.hash, proof.path, proof.root_hash)
        checked.append(time.perf_counter() - started)
        assert ok
    return statistics.median(produced), statistics.median(checked)
