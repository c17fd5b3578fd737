#!/usr/bin/env python3
"""Benchmarks, each figure next to a baseline measured in the same run.

    scripts/bench.py generate [--events N] [--repeat R] [--postgres-url URL]
    scripts/bench.py projections [--events N] [--repeat R] [--postgres-url URL]
    scripts/bench.py verify [--events N] [--repeat R] [--postgres-url URL]
    scripts/bench.py http [--commands N] [--clients C] [--rate R] [--workers W] [--postgres-url URL]
    scripts/bench.py save [--saves N] [--repeat R] [--postgres-url URL]

``save``: CPU and time per save of one minimal event on PostgreSQL, from one thread: the
sealing recorder buurtkas stores with (events, leaves, subtrees) next to the library's own
recorder, alternately on the same database. Medians of R runs of N saves.

``projections``: each read model rebuilt in a fresh process, next to the ceiling: reading
and decoding the same events with nothing else done, through the runners' EventSource.
R rounds, each a read at the ceiling and then the four rebuilds; a rebuild's ratio is its
rate over the ceiling of its own round, and the medians over the rounds are reported
with the range of the ratios (these machines are shared: one round can be a quarter
slower than the next). The first read of the freshly generated store is slowed by the
store itself (PostgreSQL sets its hint bits, SQLite checkpoints the generator's WAL): it
is shown, not counted. Peak memory is the rebuilding process's, at a quarter, half and
all of the events; beside it, the most its worker processes (the signals' findings)
held together, sampled every 0.1 s. A second table says where each rebuild's time went,
phase by phase of its batches (``Runner.phases``).

``generate``: events per second of ``buurtkas generate`` on SQLite and on PostgreSQL,
next to the bare eventsourcing save rate of the same number of minimal events, saved
in the same batch size on the same database. Medians of R runs; each run uses a fresh
store (a new SQLite file, a new PostgreSQL schema).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from uuid import UUID

import psycopg
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from psycopg import sql

from projections.runner import PHASES, REBUILD_BATCH
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
    # The library's own recorder, without buurtkas's sealing: the bare save rate.
    app = Bare(env={k: v for k, v in env.items() if k != "APPLICATION_RECORDER_TOPIC"})
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


def rss_mib() -> float:
    """The process's peak resident memory so far (VmHWM), in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def descendants(pid: int) -> list[int]:
    """The processes ``pid`` started, and theirs (the findings' worker processes and the
    fork server they come from)."""
    found: list[int] = []
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            pids = [int(child) for child in children.read_text().split()]
        except OSError:
            continue  # the thread (or process) has ended
        for child in pids:
            found += [child, *descendants(child)]
    return found


def rss_of(pids: list[int]) -> float:
    """The resident memory of ``pids`` now, summed, in MiB (ended ones count nothing)."""
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def watch_descendants(stop: threading.Event, peak: list[float], every: float = 0.1) -> None:
    """Keep in ``peak[0]`` the most memory the processes this one started held together,
    looked at every ``every`` seconds until ``stop`` is set."""
    me = os.getpid()
    while not stop.wait(every):
        peak[0] = max(peak[0], rss_of(descendants(me)))


def ceiling(
    app: Buurtkas, batch: int = REBUILD_BATCH, model: str | None = None
) -> tuple[int, float]:
    """Read and decode every stored event, doing nothing else: the rebuild's ceiling.

    It reads through the same ``EventSource`` as the runners do (the same queries, the
    same decoder), in the same batch size, on its own connection. With ``model``, it
    decodes only the fields that read model's runner decodes (``Projection.reads``):
    what reading costs that runner, shown beside the ceiling for comparison.
    """
    from projections.db import connect
    from projections.events import EventSource, PausedCollector
    from projections.registry import projection

    conn = connect(app.store_env)
    source = EventSource(app, conn, None if model is None else projection(model).reads)
    started = time.perf_counter()
    count, position = 0, 0
    try:
        with PausedCollector() as collector:  # as a runner's catch-up reads
            while True:
                events = source.read(position, batch)
                count += len(events)
                collector.folded(len(events))
                if len(events) < batch:
                    return count, count / (time.perf_counter() - started)
                position = events[-1][0]
    finally:
        conn.close()


def rebuild_one(database_url: str, name: str) -> dict[str, float]:
    """Rebuild one read model in a fresh process; RSS sampled as it goes."""
    code = f"""
import json, sys, time
sys.path.insert(0, {str(Path(__file__).resolve().parent)!r})
import threading
from bench import rss_mib, watch_descendants
from projections.registry import open_store, runner
from service.application import Buurtkas
from service.storage import persistence_env
app = Buurtkas(env=persistence_env({database_url!r}))
store = open_store(app.store_env)
r = runner(app, store, {name!r}, batch_size={REBUILD_BATCH})
head = app.recorder.max_notification_id()
samples = {{}}
def sample(n, position):
    for mark in (0.25, 0.5, 1.0):
        if position >= mark * head and mark not in samples:
            samples[mark] = rss_mib()
r.on_batch = sample
stop, workers = threading.Event(), [0.0]
watcher = threading.Thread(target=watch_descendants, args=(stop, workers), daemon=True)
watcher.start()
start = time.perf_counter()
folded = r.rebuild()
seconds = time.perf_counter() - start
stop.set()
watcher.join()
print(json.dumps({{"events": folded, "seconds": seconds, "rss_25": samples.get(0.25, 0),
                  "rss_50": samples.get(0.5, 0), "rss_100": samples.get(1.0, 0),
                  "workers": workers[0],
                  **{{"phase_" + k: v for k, v in r.phases.seconds.items()}}}}))
"""
    out = subprocess.run(
        [sys.executable, "-c", code],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "BUURTKAS_LOG_FORMAT": "json"},
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


MODELS = ("balances", "status", "platform_index", "signals")


def fresh_start(env: dict[str, str]) -> None:
    """Drop the generations the last rounds' rebuilds replaced, outside the timing: every
    round's rebuilds then start as the first round's do, with nothing to drop."""
    from projections.registry import open_store

    store = open_store(env)
    try:
        for model in MODELS:
            store.drop_inactive(model)
    finally:
        store.conn.close()


def bench_projections(args: argparse.Namespace) -> None:
    targets: list[tuple[str, Store]] = [("SQLite", sqlite_store)]
    if args.postgres_url:
        targets.append(("PostgreSQL", lambda: postgres_store(args.postgres_url)))
    for name, store in targets:
        with store() as env:
            url = env_url(env)
            started = time.perf_counter()
            subprocess.run(
                ["buurtkas", "generate", "--events", str(args.events), "--seed", "1"],
                check=True,
                env={**os.environ, "BUURTKAS_DATABASE_URL": url, "BUURTKAS_LOG_FORMAT": "json"},
            )
            generated = args.events / (time.perf_counter() - started)
            app = Buurtkas(env=env)
            # the first read of freshly generated events is slowed by the store itself
            # (PostgreSQL sets its hint bits, SQLite checkpoints the generator's WAL): shown,
            # not counted
            count, first_read = ceiling(app)
            reads: list[float] = []
            rounds: list[dict[str, dict[str, float]]] = []
            for _ in range(args.repeat):
                fresh_start(env)
                reads.append(ceiling(app)[1])
                rounds.append({m: rebuild_one(url, m) for m in MODELS})
            own_reads = {m: ceiling(app, model=m)[1] for m in MODELS}
            read_rate = statistics.median(reads)
            print(
                f"\n{name}: {count:,} events; buurtkas generate {generated:,.0f} ev/s; "
                f"ceiling (read and decode only) median {read_rate:,.0f} ev/s over "
                f"{args.repeat} rounds ({', '.join(f'{r:,.0f}' for r in reads)}; the first "
                f"read of the fresh store, not counted: {first_read:,.0f})"
            )
            print(
                f"{'read model':16} {'ev/s':>10} {'ceiling':>10} {'ratio':>6} {'range':>11} "
                f"{'peak@25%':>8} {'peak@50%':>8} {'peak@100%':>9} {'workers':>8} "
                f"{'own read':>10}  (medians over the rounds; ratio: the median of each "
                "round's rebuild rate over that round's ceiling, range: the lowest and "
                "highest; peak RSS so far, MiB, the most of any round; workers: the most its "
                "worker processes held together, MiB, sampled every 0.1 s; own read: ev/s "
                "reading and decoding only the fields that runner decodes)"
            )
            for model in MODELS:
                results = [r[model] for r in rounds]
                rates = [r["events"] / r["seconds"] for r in results]
                ratios = [rate / read for rate, read in zip(rates, reads, strict=True)]
                peak = {k: max(r[k] for r in results) for k in ("rss_25", "rss_50", "rss_100")}
                print(
                    f"{model:16} {statistics.median(rates):10,.0f} {read_rate:10,.0f} "
                    f"{statistics.median(ratios):6.2f} {min(ratios):5.2f}-{max(ratios):<5.2f} "
                    f"{peak['rss_25']:8.0f} {peak['rss_50']:8.0f} {peak['rss_100']:9.0f} "
                    f"{max(r['workers'] for r in results):8.0f} {own_reads[model]:10,.0f}"
                )
            totals = [count / sum(r[m]["seconds"] for m in MODELS) for r in rounds]
            print(
                f"{'all four':16} {statistics.median(totals):10,.0f} (events/s over the four "
                "rebuilds in sequence, median over the rounds)"
            )
            print_phases(rounds)
            replay_busy(app, env)
            app.close()


def print_phases(rounds: list[dict[str, dict[str, float]]]) -> None:
    """Where each rebuild's time went (``Runner.phases``), medians over the rounds."""
    print(
        f"{'read model':16} {'seconds':>8} "
        + " ".join(f"{phase:>8}" for phase in PHASES)
        + f" {'rest':>8}  (where each rebuild's time went, s, medians over the rounds: its "
        "runner's thread reading, folding, evaluating at the head, encoding rows, committing "
        "or waiting for the committer; rest: between batches, freeing each and swapping)"
    )
    for model in MODELS:
        results = [r[model] for r in rounds]
        spent = {p: statistics.median(r[f"phase_{p}"] for r in results) for p in PHASES}
        total = statistics.median(r["seconds"] for r in results)
        rest = statistics.median(
            r["seconds"] - sum(r[f"phase_{p}"] for p in PHASES) for r in results
        )
        print(
            f"{model:16} {total:8.2f} "
            + " ".join(f"{spent[p]:8.2f}" for p in PHASES)
            + f" {rest:8.2f}"
        )


def replay_busy(app: Buurtkas, env: dict[str, str], repeat: int = 5) -> None:
    from projections.registry import open_store
    from projections.replay import platform_positions, replay_platform
    from service.reports import find_platform

    store = open_store(env)
    platform = find_platform(app, "Synthetisch platform s1-0000")
    events = len(platform_positions(app, store, platform.originator_id))
    times, cpu = [], []
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        replay_platform(
            app, store, platform.originator_id, position=app.recorder.max_notification_id()
        )
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    print(
        f"replay of the busiest platform ({events:,} of its events): median "
        f"{statistics.median(times) * 1000:.0f} ms over {repeat} runs (target < 200 ms); "
        f"CPU time of this process: median {statistics.median(cpu) * 1000:.0f} ms"
    )
    store.conn.close()


def per_save(app: Application[UUID], saves: int) -> tuple[float, float]:
    """CPU and wall milliseconds per save of one minimal event (after 50 unmeasured)."""
    for _ in range(50):
        app.save(Counter())
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(saves):
        app.save(Counter())
    return (
        (time.process_time() - cpu) / saves * 1000,
        (time.perf_counter() - wall) / saves * 1000,
    )


def bench_save(args: argparse.Namespace) -> None:
    with postgres_store(args.postgres_url) as env:
        apps: dict[str, Application[UUID]] = {
            "library recorder (unsealed)": Bare(
                env={k: v for k, v in env.items() if k != "APPLICATION_RECORDER_TOPIC"}
            ),
            "sealing recorder": Buurtkas(env=env),
        }
        figures: dict[str, list[tuple[float, float]]] = {name: [] for name in apps}
        for _ in range(args.repeat):
            for name, app in apps.items():
                figures[name].append(per_save(app, args.saves))
        for app in apps.values():
            app.close()
    print(f"PostgreSQL, one event per save, one thread; medians of {args.repeat} x {args.saves}")
    print(f"{'recorder':30} {'CPU ms/save':>12} {'wall ms/save':>13}")
    for name, runs in figures.items():
        cpu = statistics.median(run[0] for run in runs)
        wall = statistics.median(run[1] for run in runs)
        print(f"{name:30} {cpu:12.3f} {wall:13.3f}")


def env_url(env: dict[str, str]) -> str:
    if env["PERSISTENCE_MODULE"] == "eventsourcing.sqlite":
        return f"sqlite:///{env['SQLITE_DBNAME']}"
    password = f":{env['POSTGRES_PASSWORD']}" if env.get("POSTGRES_PASSWORD") else ""
    return (
        f"postgresql://{env['POSTGRES_USER']}{password}@{env['POSTGRES_HOST']}:"
        f"{env['POSTGRES_PORT']}/{env['POSTGRES_DBNAME']}?schema={env['POSTGRES_SCHEMA']}"
    )


def postgres_url_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("BUURTKAS_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL),
        help="empty string to skip PostgreSQL (where the benchmark has SQLite too)",
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="benchmark", required=True)
    gen = sub.add_parser("generate", help="buurtkas generate against the bare save rate")
    gen.add_argument("--events", type=int, default=20_000)
    gen.add_argument("--repeat", type=int, default=3)
    postgres_url_option(gen)
    proj = sub.add_parser("projections", help="rebuild every read model against the read ceiling")
    proj.add_argument("--events", type=int, default=1_000_000)
    proj.add_argument("--repeat", type=int, default=3, help="rounds of rebuilds")
    postgres_url_option(proj)
    check = sub.add_parser("verify", help="the integrity check's store scan against a raw read")
    check.add_argument("--events", type=int, default=1_000_000)
    check.add_argument("--repeat", type=int, default=3)
    check.add_argument("--workers", type=int, default=2, help="processes for the parallel scan")
    check.add_argument(
        "--store-checks-only",
        action="store_true",
        help="leave out buurtkas project and the whole buurtkas verify",
    )
    check.add_argument("--no-sqlite", action="store_true", help="measure PostgreSQL only")
    postgres_url_option(check)
    save = sub.add_parser("save", help="sealed save against the library's, per save")
    save.add_argument("--saves", type=int, default=1000)
    save.add_argument("--repeat", type=int, default=3)
    postgres_url_option(save)
    from bench_http import add_parser as add_http_parser

    add_http_parser(sub, os.environ.get("BUURTKAS_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL))
    args = parser.parse_args()
    if args.benchmark == "http":
        from bench_http import bench_http

        bench_http(args, lambda: postgres_store(args.postgres_url), env_url)
    elif args.benchmark == "verify":
        from bench_verify import bench_verify

        targets: list[tuple[str, Store]] = [] if args.no_sqlite else [("SQLite", sqlite_store)]
        if args.postgres_url:
            targets.append(("PostgreSQL", lambda: postgres_store(args.postgres_url)))
        bench_verify(args, targets, env_url)
    elif args.benchmark == "save":
        bench_save(args)
    elif args.benchmark == "generate":
        bench_generate(args)
    elif args.benchmark == "projections":
        bench_projections(args)


if __name__ == "__main__":
    main()
