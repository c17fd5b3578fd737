"""The ``buurtkas`` command line."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import sys
import time
from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import PersistenceError

from audit.seal import SealCorrupted
from domain.errors import DomainError
from domain.money import Money
from projections.registry import UnknownProjection
from projections.store import ConcurrentUpdateError
from service import cli_audit as audit_commands
from service import cli_projections as projection_commands
from service.application import Buurtkas
from service.demo import load_demo
from service.http import cli as http_commands
from service.logging import configure_logging, get_logger
from service.reports import find_platform, platform_balances, platform_history
from service.settings import RiskConfigError, Settings, load_settings
from service.storage import DatabaseUrlError, persistence_env, require_sqlite_file
from service.synthetic import GenerateError, generate

STORE_MAKERS = frozenset({"demo", "generate", "token", "keys", "serve"})
"""Commands that may begin a new store; every other one reads an existing event store, and
refuses a URL that holds none rather than making an empty one (a mistyped URL in the
nightly check would otherwise be checked, found intact and signed)."""


def open_app(settings: Settings, *, existing: bool = False) -> Buurtkas:
    """The application on the configured store; ``existing``: refused unless the store
    holds an event store already (nothing is created to find out)."""
    if existing:
        require_sqlite_file(settings.database_url)
        probe = Buurtkas(env=persistence_env(settings.database_url, create_tables=False))
        try:
            probe.recorder.max_notification_id()
        except PersistenceError as error:
            raise DatabaseUrlError(
                "BUURTKAS_DATABASE_URL: no event store there (buurtkas demo or buurtkas "
                f"generate makes one): {first_line(error)}"
            ) from None
        finally:
            probe.close()
    return Buurtkas(
        env=persistence_env(settings.database_url, create_tables=settings.create_tables)
    )


def first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="buurtkas",
        description="Event-sourced back office for neighbourhood budgets.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="load the demo history (safe to run twice)")
    balances = sub.add_parser("balances", help="every platform's balances")
    balances.add_argument("--json", action="store_true", help="print JSON")
    history = sub.add_parser("history", help="a platform's events in order")
    history.add_argument("--platform", required=True, help="platform name or neighbourhood")
    history.add_argument("--json", action="store_true", help="print JSON")
    gen = sub.add_parser("generate", help="append a deterministic synthetic history")
    gen.add_argument("--events", type=int, required=True, help="number of events (>= 20)")
    gen.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    gen.add_argument("--batch-size", type=int, default=500, help="events per save (<= 500)")
    projection_commands.add_commands(sub)
    audit_commands.add_commands(sub)
    http_commands.add_commands(sub)
    return parser


def _money(value: Money | None) -> str:
    return "" if value is None else str(value)


def cmd_demo(app: Buurtkas, args: argparse.Namespace, log: Any) -> int:
    del args
    added = load_demo(app)
    if added:
        log.info("demo.loaded", events=added)
        print(f"Demo history loaded: {added} events.")
    else:
        log.info("demo.already_loaded")
        print("Demo history already present; nothing added.")
    return 0


def cmd_balances(app: Buurtkas, args: argparse.Namespace, log: Any) -> int:
    rows = platform_balances(app)
    log.info("balances.computed", platforms=len(rows))
    if args.json:
        print(json.dumps([{k: str(v) for k, v in vars(r).items()} for r in rows], indent=2))
        return 0
    header = (
        f"{'platform':36} {'received':>12} {'spent':>12} {'unexplained':>12} "
        f"{'cash out':>10} {'funds':>12}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r.name[:36]:36} {r.received!s:>12} {r.spent!s:>12} {r.unexplained!s:>12} "
            f"{r.cash_withdrawn_unaccounted!s:>10} {r.funds!s:>12}"
        )
    return 0


def cmd_history(app: Buurtkas, args: argparse.Namespace, log: Any) -> int:
    platform = find_platform(app, args.platform)
    lines = platform_history(app, platform.originator_id)
    log.info("history.read", platform=platform.name, events=len(lines))
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "position": h.position,
                        "occurred_on": h.occurred_on.isoformat(),
                        "recorded_at": h.recorded_at.isoformat(),
                        "actor": h.actor,
                        "amount": _money(h.amount) or None,
                        "event": h.event,
                        "summary": h.summary,
                    }
                    for h in lines
                ],
                indent=2,
            )
        )
        return 0
    print(f"History of {platform.name} ({platform.neighbourhood}, {platform.district})")
    print(f"{'pos':>7} {'business':10} {'recorded':19} {'actor':32} {'amount':>11}  summary")
    for h in lines:
        print(
            f"{h.position:>7} {h.occurred_on.isoformat():10} "
            f"{h.recorded_at.strftime('%Y-%m-%d %H:%M:%S'):19} {h.actor[:32]:32} "
            f"{_money(h.amount):>11}  {h.summary}"
        )
    return 0


def cmd_generate(app: Buurtkas, args: argparse.Namespace, log: Any) -> int:
    started = time.perf_counter()
    stored = generate(app, args.events, args.seed, args.batch_size)
    seconds = time.perf_counter() - started
    rate = stored / seconds if seconds else 0.0
    log.info(
        "generate.completed",
        events=stored,
        seed=args.seed,
        seconds=round(seconds, 3),
        events_per_second=round(rate),
    )
    print(f"Generated {stored} events in {seconds:.2f} s ({rate:,.0f} events/s).")
    return 0


COMMANDS = {
    "demo": cmd_demo,
    "balances": cmd_balances,
    "history": cmd_history,
    "generate": cmd_generate,
    **projection_commands.COMMANDS,
    **audit_commands.COMMANDS,
    **http_commands.COMMANDS,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
        configure_logging(settings)
        log = get_logger("buurtkas.cli").bind(command=args.command)
        if args.command == "keygen":
            return audit_commands.cmd_keygen(args, log)
        if args.command == "serve":
            return http_commands.cmd_serve(settings, args, log)
        app = open_app(settings, existing=args.command not in STORE_MAKERS)
    except (DatabaseUrlError, ValueError, *audit_commands.ERRORS) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (PersistenceError, sqlite3.DatabaseError) as error:
        print(
            f"error: BUURTKAS_DATABASE_URL: cannot open the store: {first_line(error)}",
            file=sys.stderr,
        )
        return 2
    try:
        return flushed(log, COMMANDS[args.command](app, args, log))
    except BrokenPipeError:
        return output_closed(log)
    except ConcurrentUpdateError as error:
        log.error("projection.concurrent_update", error=str(error))
        print(
            f"error: {error}: another process changed this read model meanwhile (a rebuild "
            "started over, say); nothing was lost: run the command again",
            file=sys.stderr,
        )
        return 1
    except SealCorrupted as error:
        log.critical("audit.seal_refused", error=str(error))
        print(f"error: nothing was stored: {error}; run buurtkas verify", file=sys.stderr)
        return 1
    except (
        DomainError,
        GenerateError,
        UnknownProjection,
        RiskConfigError,
        *audit_commands.ERRORS,
        *http_commands.ERRORS,
    ) as error:
        log.warning("command.refused", error=str(error))
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (PersistenceError, sqlite3.DatabaseError) as error:
        log.error("command.store_failed", error=first_line(error))
        print(f"error: the store failed: {first_line(error)}", file=sys.stderr)
        return 2
    except OSError as error:
        log.error("command.file_failed", error=str(error))
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        log.warning("command.interrupted")
        print("interrupted: what was committed is kept (run the command again)", file=sys.stderr)
        return 130
    finally:
        app.close()


def flushed(log: Any, code: int) -> int:
    """``code``, once what the command printed has gone out: a reader that went away is
    found here rather than at exit."""
    try:
        if sys.stdout is not None:  # None: started with its output closed
            sys.stdout.flush()
    except BrokenPipeError:
        return output_closed(log, code)
    return code


def output_closed(log: Any, code: int = 0) -> int:
    """The reader of the output went away (``buurtkas history ... | head``): end quietly,
    with the command's own failure status, else the status of a command that SIGPIPE
    ended. Whatever the command stored stays."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())  # nothing is left to write at exit
        try:
            log.info("command.output_closed")
            sys.stderr.flush()
        except BrokenPipeError:  # the log went to the same pipe (2>&1 | head)
            os.dup2(devnull, sys.stderr.fileno())
    finally:
        os.close(devnull)
    return code or 128 + signal.SIGPIPE


if __name__ == "__main__":
    sys.exit(main())
