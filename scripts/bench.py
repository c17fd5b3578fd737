#!/usr/bin/env python3
"""Benchmarks, each figure next to a baseline measured in the same run.

    scripts/bench.py generate [--events N] [--repeat R] [--postgres-url URL]

``generate``: events per second of ``buurtkas generate`` on SQLite and on PostgreSQL,
next to the bare eventsourcing save rate of the same number of minimal events, saved
in the same batch size on the same database. Medians of R runs; each run uses a fresh
store (a new SQLite file, a new PostgreSQL schema).
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from uuid import UUID

import psycopg
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from psycopg import sql

from service.application import Buurtkas
from service.storage import persistence_env
from service.synthetic import generate

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


class Counter(Aggregate):
    """The smallest useful aggregate: the baseline's events."""

    @event("Counted")
    def count(self, n: int) -> None:
        self.n = n


class Bare(Application[UUID]):
    name = "bare"


def bare_save(env: dict[str, str], events: int, batch: int = 500) -> float:
    app = Bare(env=env)
    started = time.perf_counter()
    done = 0
    while done < events:
        aggregates = []
        pending = 0
        while pending < batch and done + pending < events:
            counter = Counter()
            for n in range(min(9, events - done - pending - 1)):
                counter.count(n)
            aggregates.append(counter)
            pending += len(counter.pending_events)
        app.save(*aggregates)
        done += pending
    seconds = time.perf_counter() - started
    app.close()
    return events / seconds


def buurtkas_generate(env: dict[str, str], events: int) -> float:
    app = Buurtkas(env=env)
    started = time.perf_counter()
    stored = generate(app, events, seed=1)
    seconds = time.perf_counter() - started
    app.close()
    return stored / seconds


@contextmanager
def sqlite_store() -> Iterator[dict[str, str]]:
    with tempfile.TemporaryDirectory() as folder:
        yield persistence_env(f"sqlite:///{folder}/bench.db")


@contextmanager
def postgres_store(url: str) -> Iterator[dict[str, str]]:
    schema = f"bench_{secrets.token_hex(5)}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        yield persistence_env(f"{url}?schema={schema}")
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


Store = Callable[[], AbstractContextManager[dict[str, str]]]


def median_rate(store: Store, run: Callable[[dict[str, str]], float], repeat: int) -> float:
    rates = []
    for _ in range(repeat):
        with store() as env:
            rates.append(run(env))
    return statistics.median(rates)


def bench_generate(args: argparse.Namespace) -> None:
    stores: list[tuple[str, Store]] = [("SQLite", sqlite_store)]
    if args.postgres_url:
        stores.append(("PostgreSQL", lambda: postgres_store(args.postgres_url)))
    print(f"buurtkas generate, {args.events} events, median of {args.repeat} runs")
    print(f"{'database':12} {'generate ev/s':>14} {'bare save ev/s':>15} {'ratio':>7}")
    for name, store in stores:
        gen = median_rate(store, lambda env: buurtkas_generate(env, args.events), args.repeat)
        bare = median_rate(store, lambda env: bare_save(env, args.events), args.repeat)
        print(f"{name:12} {gen:14,.0f} {bare:15,.0f} {gen / bare:7.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="benchmark", required=True)
    gen = sub.add_parser("generate", help="buurtkas generate against the bare save rate")
    gen.add_argument("--events", type=int, default=20_000)
    gen.add_argument("--repeat", type=int, default=3)
    gen.add_argument(
        "--postgres-url",
        default=os.environ.get("BUURTKAS_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL),
        help="empty string to skip PostgreSQL",
    )
    args = parser.parse_args()
    if args.benchmark == "generate":
        bench_generate(args)


if __name__ == "__main__":
    main()
