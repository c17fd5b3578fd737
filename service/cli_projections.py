"""Command-line commands for the read models: project, projections, rebuild, replay."""

from __future__ import annotations

import argparse
import json
import re
import signal
import time
from datetime import date
from typing import Any

from domain.errors import InvalidValue
from domain.risk import RiskConfig
from domain.values import calendar_date
from projections.registry import FACTORIES, open_store, runner, runners
from projections.replay import replay_platform
from projections.runner import REBUILD_BATCH, Runner, SignalStop, follow_together
from projections.store import StaleReadModel
from service.application import Buurtkas
from service.cli_options import whole
from service.presenters import print_replay, replay_json
from service.reports import find_platform
from service.settings import load_risk_config, load_settings


def add_commands(sub: Any) -> None:
    project = sub.add_parser("project", help="bring every read model up to date")
    project.add_argument("--follow", action="store_true", help="keep following new events")
    project.add_argument(
        "--batch-size", type=whole("--batch-size", 1), default=1000, help="events per transaction"
    )
    project.add_argument(  # set by `buurtkas serve` for its projector child
        "--parent", type=int, default=None, help=argparse.SUPPRESS
    )
    projections = sub.add_parser("projections", help="each read model's position and lag")
    projections.add_argument("--json", action="store_true", help="print JSON")
    rebuild = sub.add_parser("rebuild", help="rebuild read models side by side and swap")
    rebuild.add_argument("name", nargs="?", help=f"one of {', '.join(FACTORIES)} (default all)")
    rebuild.add_argument(
        "--batch-size",
        type=whole("--batch-size", 1),
        default=REBUILD_BATCH,
        help="events per transaction",
    )
    replay = sub.add_parser("replay", help="a platform as of a business date or a position")
    replay.add_argument("--platform", required=True, help="platform name or neighbourhood")
    axis = replay.add_mutually_exclusive_group(required=True)
    axis.add_argument("--as-of", type=_date, help="business date YYYY-MM-DD")
    axis.add_argument(
        "--position", type=whole("--position", 1), help="recorded position in the store"
    )
    replay.add_argument("--json", action="store_true", help="print JSON")


ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _date(text: str) -> date:
    try:
        if not ISO_DAY.fullmatch(text):  # (fromisoformat also reads 20200101 and 2020-W01-1)
            raise ValueError(text)
        return calendar_date("--as-of", date.fromisoformat(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--as-of: {text!r} is not a date YYYY-MM-DD") from None
    except InvalidValue as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def print_status(all_runners: list[Runner], as_json: bool = False) -> None:
    rows = [r.status() for r in all_runners]
    if as_json:
        print(json.dumps([{**vars(s), "lag": s.lag} for s in rows], indent=2))
        return
    print(f"{'read model':16} {'generation':>10} {'position':>10} {'head':>10} {'lag':>8}  build")
    for s in rows:
        build = s.build or "not recorded"
        if not s.current:
            build += " (stale: buurtkas project rebuilds it)"
        print(
            f"{s.projection:16} {s.generation:>10} {s.position:>10} {s.head:>10} {s.lag:>8}  "
            f"{build}"
        )


def risk() -> RiskConfig:
    return load_risk_config(load_settings().risk_config)


def phase_seconds(r: Runner) -> dict[str, float]:
    """Where the runner's time went, as log fields: ``read_seconds``, ``fold_seconds``..."""
    return {f"{phase}_seconds": round(spent, 3) for phase, spent in r.phases.seconds.items()}


def cmd_project(app: Buurtkas, args: argparse.Namespace, log: Any) -> int:
    store = open_store(app.store_env)
    all_runners = runners(app, store, args.batch_size, risk())
    if args.follow:
        # it catches up batch by batch while following, so that SIGINT or SIGTERM (or, for
        # a server's projector child, its server's end) stops it between two batches even
        # in a long catch-up, and a failing batch does not end it
        follow(all_runners, log, args.parent)
        return 0
    for r in all_runners:
        started = time.perf_counter()
        status = r.status()
        if not status.current:
            log.warning("projection.stale", projection=r.name, built=status.build, wanted=r.build)
        processed, rebuilt = r.refresh()
        log.info(
            "projection.rebuilt" if rebuilt else "projection.caught_up",
            projection=r.name,
            events=processed,
            seconds=round(time.perf_counter() - started, 3),
            **phase_seconds(r),
        )
    print_status(all_runners)
    return 0


def follow(all_runners: list[Runner], log: Any, parent: int | None = None) -> None:
    """Keep the read models current until SIGINT or SIGTERM (or, given ``parent``, until
    this process's parent is no longer that one), on the runners' connection (in this
    thread, which made it); the fold in progress ends before the process does."""
    stop = SignalStop(parent=parent)

    def failed(runner: Runner, error: Exception) -> None:
        log.error("projection.follow_failed", projection=runner.name, error=str(error))

    def rebuilding(runner: Runner, stale: StaleReadModel) -> None:
        log.warning(
            "projection.rebuilding", projection=runner.name, built=stale.built, wanted=stale.wanted
        )

    def superseded(runner: Runner, stale: StaleReadModel) -> None:
        log.error(
            "projection.superseded",
            projection=runner.name,
            active=stale.built,
            wanted=stale.wanted,
            detail="a process started later made this read model with its own build; "
            "this one leaves it alone (give every process the same version and thresholds)",
        )

    handlers = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in STOP_SIGNALS}
    log.info("projection.following", projections=[r.name for r in all_runners])
    try:
        follow_together(all_runners, stop, failed, rebuilding=rebuilding, superseded=superseded)
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    log.info("projection.stopped_following")


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def cmd_projections(app: Buurtkas, args: argparse.Namespace, log: Any) -> int:
    print_status(runners(app, open_store(app.store_env), risk=risk()), args.json)
    return 0


def cmd_rebuild(app: Buurtkas, args: argparse.Namespace, log: Any) -> int:
    store = open_store(app.store_env)
    for name in [args.name] if args.name else list(FACTORIES):
        r = runner(app, store, name, args.batch_size, risk())
        started = time.perf_counter()
        folded = r.rebuild()
        seconds = time.perf_counter() - started
        log.info(
            "projection.rebuilt",
            projection=name,
            events=folded,
            seconds=round(seconds, 3),
            **phase_seconds(r),
        )
        print(
            f"Rebuilt {name}: {folded} events in {seconds:.2f} s, now generation "
            f"{r.status().generation}."
        )
    return 0


def cmd_replay(app: Buurtkas, args: argparse.Namespace, log: Any) -> int:
    platform = find_platform(app, args.platform)
    head = int(app.recorder.max_notification_id() or 0)
    if args.position is not None and args.position > head:
        raise InvalidValue(
            "--position", f"{args.position} is beyond the head of the store ({head})"
        )
    store = open_store(app.store_env)
    started = time.perf_counter()
    result = replay_platform(
        app,
        store,
        platform.originator_id,
        as_of=args.as_of,
        position=args.position,
        risk=risk(),
    )
    log.info(
        "replay.computed",
        platform=platform.name,
        events=result.events,
        seconds=round(time.perf_counter() - started, 4),
    )
    if args.json:
        print(json.dumps(replay_json(platform.name, result), indent=2, default=str))
    else:
        print_replay(platform.name, result)
    return 0


COMMANDS = {
    "project": cmd_project,
    "projections": cmd_projections,
    "rebuild": cmd_rebuild,
    "replay": cmd_replay,
}
