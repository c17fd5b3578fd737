"""``scripts/bench.py http``: the HTTP service on PostgreSQL against its baselines.

A fresh schema gets the demo history and its read models; ``buurtkas serve`` (uvicorn)
runs in a subprocess, in three layouts, one after the other:

- one process, with its projector as a child process (``make run``'s layout; its CPU is
  counted with the server's);
- one process with ``--no-projector``, and ``buurtkas project --follow`` as a process of
  its own beside it;
- ``--workers W`` (default 2): the serving process runs the projector, W workers serve;
- ``--workers W`` with ``--no-projector``, and ``buurtkas project --follow`` beside it.

In the same run are measured

- commands per second: platform registrations (one event each) sent by C concurrent
  clients, each a thread with its own connection, each request with its own
  Idempotency-Key; next to the bare eventsourcing save rate of one minimal event per save
  from C threads on the same database (the same shape of work without HTTP and the
  domain), measured right before every run of commands so that both see the machine at
  the same moment, and the batched bare save rate of ``bench.py generate`` for scale;
- latency at a fixed offered rate (open loop, default 200 requests/s for 10 s): GET a
  platform's balance, next to ``/health/live``, a route that does nothing. Latency is
  counted from the moment a request was due, so a server that falls behind is charged for
  the queue (no coordinated omission).

Medians of R runs for the rates, and the median of the R runs' ratios to their own
baselines; the latencies are p50 and p99 of one run per route.
Server CPU counts the serving process and all its workers; a projector process is counted
apart. Before every run the benchmark waits until every worker runs and the read models
trail by nothing; after it, it reports how far they trailed when the last command was
answered and how long they took to catch up.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from bench import Bare, Counter, bare_save

from domain.platform import Platform
from service.fixtures import dutch_iban

Store = Callable[[], AbstractContextManager[dict[str, str]]]
BUURTKAS = str(Path(sys.executable).with_name("buurtkas"))
K_BUURT = Platform.id_for("Hart voor de K-buurt")


def cli_env(url: str) -> dict[str, str]:
    return {
        **os.environ,
        "BUURTKAS_DATABASE_URL": url,
        "BUURTKAS_LOG_FORMAT": "json",
        "BUURTKAS_LOG_LEVEL": "warning",
    }


def cli(url: str, *argv: str) -> str:
    done = subprocess.run(
        [BUURTKAS, *argv], env=cli_env(url), check=True, capture_output=True, text=True
    )
    return done.stdout.strip()


@dataclass(frozen=True)
class Layout:
    """How the service runs: server processes, and where the projector runs."""

    workers: int = 1
    projector_process: bool = False

    @property
    def name(self) -> str:
        name = f"{self.workers} server process{'es' if self.workers > 1 else ''}"
        if self.projector_process:
            return name + " + projector process"
        return name + (" (its projector a child)" if self.workers == 1 else "")


def start(url: str, *argv: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [BUURTKAS, *argv],
        env=cli_env(url),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: a kill takes the workers too
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@contextmanager
def serving(url: str, layout: Layout) -> Iterator[tuple[str, list[int]]]:
    """``buurtkas serve`` on a free port (and ``buurtkas project --follow`` beside it when
    the layout says so); the base URL once ``/health/live`` answers, and the pids whose
    process trees serve: the server first, then the projector."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    serve = ["serve", "--host", "127.0.0.1", "--port", str(port)]
    serve += ["--workers", str(layout.workers)]
    if layout.projector_process:
        serve.append("--no-projector")
    processes = [start(url, *serve)]
    try:
        if layout.projector_process:
            processes.append(start(url, "project", "--follow"))
        deadline = time.monotonic() + 60
        while True:
            if processes[0].poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("buurtkas serve did not start")
            try:
                if httpx.get(f"{base}/health/live", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield base, [process.pid for process in processes]
    finally:
        for process in processes:
            stop(process)


def registration(number: int) -> dict[str, str]:
    return {
        "name": f"Bench platform {number}",
        "neighbourhood": f"Benchbuurt {number}",
        "district": "Zuidoost",
        "legal_form": "stichting",
        "kvk": f"{number:08d}",
        "account_iban": dutch_iban(number),
        "occurred_on": "2020-01-03",
    }


class Client:
    """A light keep-alive HTTP/1.1 client on a plain socket.

    The load generator shares the machine's cores with the server and the database, so it
    must cost little: httpx spent about 1.4 ms of CPU per request here, the standard
    library's ``http.client`` about 0.5 ms; writing the request's bytes and reading the
    answer by its Content-Length costs a fraction of that. (Every answer of the service
    has a Content-Length; one without is refused.)
    """

    def __init__(self, base: str, headers: dict[str, str]) -> None:
        parsed = urlsplit(base)
        host, port = parsed.hostname or "", parsed.port or 80
        self.sock = socket.create_connection((host, port), timeout=60)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        fixed = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        self.head = f" HTTP/1.1\r\nHost: {host}:{port}\r\n{fixed}"
        self.buffer = b""

    def request(
        self, method: str, path: str, body: bytes | None = None, key: str | None = None
    ) -> tuple[int, bytes]:
        head = method + " " + path + self.head
        if key is not None:
            head += f"Idempotency-Key: {key}\r\n"
        if body is not None:
            head += f"Content-Length: {len(body)}\r\n"
        self.sock.sendall(head.encode("latin-1") + b"\r\n" + (body or b""))
        return self._response()

    def _response(self) -> tuple[int, bytes]:
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        header, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = header.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length = None
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length is None:
            raise RuntimeError(f"an answer without Content-Length: {header!r}")
        while len(self.buffer) < length:
            self._fill()
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return status, body

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self.buffer += chunk

    def close(self) -> None:
        self.sock.close()


def command_rate(base: str, token: str, commands: int, clients: int, first: int) -> float:
    """Platform registrations per second from ``clients`` concurrent clients."""
    numbers = iter(range(first, first + commands))
    lock = threading.Lock()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def client() -> None:
        http = Client(base, headers)
        try:
            http.request("GET", "/health/live")
            while True:
                with lock:
                    number = next(numbers, None)
                if number is None:
                    return
                status, body = http.request(
                    "POST",
                    "/platforms",
                    json.dumps(registration(number)).encode(),
                    uuid.uuid4().hex,
                )
                if status != 201:
                    raise RuntimeError(f"{status}: {body!r}")
        finally:
            http.close()

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        for done in [pool.submit(client) for _ in range(clients)]:
            done.result()
    return commands / (time.perf_counter() - started)


def lag(http: Client) -> tuple[int, int]:
    """``/health/ready``'s status and the largest read-model lag it reports."""
    status, body = http.request("GET", "/health/ready")
    lags = [p["lag"] for p in json.loads(body).get("projections", [])]
    return status, max(lags, default=1)


def settle(base: str, token: str, workers: int, pid: int, timeout: float = 120.0) -> float:
    """Wait until the server runs all its workers and its read models trail by nothing;
    returns the seconds waited."""
    started = time.monotonic()
    children = workers if workers > 1 else 0
    http = Client(base, {"Authorization": f"Bearer {token}"})
    try:
        while time.monotonic() < started + timeout:
            status, behind = lag(http)
            if status == 200 and behind == 0 and len(descendants(pid)) >= children:
                return time.monotonic() - started
            time.sleep(0.05)
    finally:
        http.close()
    raise RuntimeError(f"the server did not settle in {timeout:.0f} s")


def descendants(pid: int) -> set[int]:
    """The live processes started, directly or not, by ``pid`` (Linux ``/proc``)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    parents[int(entry)] = int(stat.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
    tree: set[int] = set()
    grown = {pid}
    while grown:
        grown = {child for child, parent in parents.items() if parent in grown} - tree
        tree |= grown
    return tree


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process and its live descendants have used (``/proc``)."""
    total = 0
    for member in {pid} | descendants(pid):
        try:
            with open(f"/proc/{member}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended meanwhile
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def bare_single_saves(env: dict[str, str], events: int, threads: int) -> float:
    """One minimal event per save, from ``threads`` threads: the bare store's command rate."""
    app = Bare(env={k: v for k, v in env.items() if k != "APPLICATION_RECORDER_TOPIC"})
    app.save(Counter())  # tables made and connections opened before the clock starts
    left = iter(range(events))
    lock = threading.Lock()

    def saver() -> None:
        while True:
            with lock:
                if next(left, None) is None:
                    return
            app.save(Counter())

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        for done in [pool.submit(saver) for _ in range(threads)]:
            done.result()
    seconds = time.perf_counter() - started
    app.close()
    return events / seconds


def open_loop(base: str, path: str, token: str, rate: float, seconds: float) -> list[float]:
    """Latencies (s) of GET ``path`` sent at ``rate`` per second, each counted from when it
    was due; 32 client threads share the schedule."""
    total = int(rate * seconds)
    workers = 32
    latencies: list[float] = []
    errors: list[int] = []
    lock = threading.Lock()
    headers = {"Authorization": f"Bearer {token}"}
    start = time.perf_counter() + 2.0  # every worker connected before the first is due

    def worker(w: int) -> None:
        http = Client(base, headers)
        try:
            http.request("GET", "/health/live")
            for i in range(w, total, workers):
                due = start + i / rate
                pause = due - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
                status, _ = http.request("GET", path)
                took = time.perf_counter() - due
                with lock:
                    latencies.append(took)
                    if status != 200:
                        errors.append(status)
        finally:
            http.close()

    with ThreadPoolExecutor(workers) as pool:
        for done in [pool.submit(worker, w) for w in range(workers)]:
            done.result()
    if errors:
        raise RuntimeError(f"GET {path}: {len(errors)} answers not 200 ({errors[:5]})")
    return latencies


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def bench_http(
    args: argparse.Namespace, store: Store, env_url: Callable[[dict[str, str]], str]
) -> None:
    with store() as env:
        url = env_url(env)
        cli(url, "demo")
        cli(url, "project")
        official = cli(url, "token", "create", "--role", "official", "--subject", "bench:o")
        viewer = cli(url, "token", "create", "--role", "viewer", "--subject", "bench:v")
        served: dict[Layout, Served] = {}
        layouts = [Layout(1), Layout(1, projector_process=True)]
        if args.workers > 1:
            layouts += [Layout(args.workers), Layout(args.workers, projector_process=True)]
        for n, layout in enumerate(layouts):
            with serving(url, layout) as (base, pids):
                figures = Served()
                probe = Client(base, {"Authorization": f"Bearer {viewer}"})
                for r in range(args.repeat):
                    # every worker up, and the read models caught up with earlier runs
                    settle(base, viewer, layout.workers, pids[0])
                    # the baseline right before each run: the machine's speed drifts
                    before = time.process_time()
                    figures.bare.append(bare_single_saves(env, args.commands, args.clients))
                    figures.bare_cpu.append((time.process_time() - before) / args.commands * 1000)
                    cpu_before = [cpu_seconds(pid) for pid in pids]
                    # distinct eight-digit KvK numbers for every run (--repeat <= 30)
                    first = 90_000_000 + n * 2_400_000 + (r + 1) * 70_000
                    figures.rates.append(
                        command_rate(base, official, args.commands, args.clients, first)
                    )
                    figures.lag.append(lag(probe)[1])
                    figures.catch_up.append(settle(base, viewer, layout.workers, pids[0]))
                    # CPU counted once caught up: the projector's share of these commands too
                    cpu_after = [cpu_seconds(pid) for pid in pids]
                    spent = [
                        (a - b) / args.commands * 1000
                        for a, b in zip(cpu_after, cpu_before, strict=True)
                    ]
                    figures.cpu.append(spent[0])
                    figures.projector_cpu.append(sum(spent[1:]))
                probe.close()
                figures.live = open_loop(base, "/health/live", viewer, args.rate, args.seconds)
                figures.balance = open_loop(
                    base, f"/platforms/{K_BUURT}/balance", viewer, args.rate, args.seconds
                )
            served[layout] = figures
        bare_batched = statistics.median(bare_save(env, 5000) for _ in range(args.repeat))

    print(
        f"HTTP service on PostgreSQL (demo loaded, projector running), {args.clients} clients; "
        f"rates: median of {args.repeat} runs of {args.commands}, each run right after its "
        "own bare-save baseline; ratios: median of the runs' ratios to their baselines"
    )
    print(f"{'figure':58} {'value':>12} {'ratio':>7}")
    print(f"{'bare save, batches of 500 (bench.py generate), ev/s':58} {bare_batched:12,.0f}")
    offered = f"at {args.rate:.0f}/s for {args.seconds:.0f} s"
    for layout, figures in served.items():
        cmd = statistics.median(figures.rates)
        command_cpu = statistics.median(figures.cpu)
        bare_cpu_ms = statistics.median(figures.bare_cpu)
        ratios = [rate / bare for rate, bare in zip(figures.rates, figures.bare, strict=True)]
        cpu_ratios = [cpu / bare for cpu, bare in zip(figures.cpu, figures.bare_cpu, strict=True)]
        name = layout.name
        print(
            f"{name + ': bare save, 1 event per save, same threads, ev/s':58} "
            f"{statistics.median(figures.bare):12,.0f}"
        )
        print(f"{name + ': bare saver CPU per save (same process), ms':58} {bare_cpu_ms:12.2f}")
        print(
            f"{name + ': POST /platforms (1 event each), commands/s':58} {cmd:12,.0f} "
            f"{statistics.median(ratios):7.2f}"
        )
        print(
            f"{name + ': server CPU per command, ms':58} {command_cpu:12.2f} "
            f"{statistics.median(cpu_ratios):6.1f}x"
        )
        if layout.projector_process:
            projector_cpu = statistics.median(figures.projector_cpu)
            print(f"{name + ': projector CPU per command, ms':58} {projector_cpu:12.2f}")
        print(
            f"{name + ': read-model lag at the end of a run, events':58} "
            f"{statistics.median(figures.lag):12,.0f}"
        )
        print(
            f"{name + ': then caught up within, s':58} {statistics.median(figures.catch_up):12.2f}"
        )
        for label, values in (
            (f"GET platform balance {offered}", figures.balance),
            (f"GET /health/live {offered}", figures.live),
        ):
            print(f"{name + ': ' + label + ', p50 ms':58} {pct(values, 0.50):12.1f}")
            print(f"{name + ': ' + label + ', p99 ms':58} {pct(values, 0.99):12.1f}")


@dataclass
class Served:
    bare: list[float] = field(default_factory=list)
    """The bare save rate (ev/s) measured right before each run."""
    bare_cpu: list[float] = field(default_factory=list)
    """The bare saver's CPU per save (ms) in that measurement."""
    rates: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    """Server CPU per command (ms): the serving process and its workers together."""
    projector_cpu: list[float] = field(default_factory=list)
    """CPU per command (ms) of the projector process, when it runs on its own."""
    lag: list[int] = field(default_factory=list)
    """The read models' lag (events) when a run's last command was answered."""
    catch_up: list[float] = field(default_factory=list)
    """Seconds from then until the lag was 0 again."""
    live: list[float] = field(default_factory=list)
    balance: list[float] = field(default_factory=list)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], default_url: str) -> None:
    http = sub.add_parser("http", help="the HTTP service on PostgreSQL against its baselines")
    http.add_argument("--commands", type=int, default=400, help="commands per run (400)")
    http.add_argument("--clients", type=int, default=8, help="concurrent clients (8)")
    http.add_argument(
        "--repeat", type=int, default=3, choices=range(1, 31), metavar="R", help="runs (3)"
    )
    http.add_argument("--rate", type=float, default=200.0, help="offered GETs per second (200)")
    http.add_argument("--seconds", type=float, default=10.0, help="of each GET run (10)")
    http.add_argument(
        "--workers", type=int, default=2, help="also serve with this many processes (2)"
    )
    http.add_argument("--postgres-url", default=default_url)
