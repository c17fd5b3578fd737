"""Command-line commands of the HTTP service: ``token create|list|revoke``, ``keys prune``
and ``serve``."""

from __future__ import annotations

import argparse
import json
from typing import Any

from projections.db import Connection, connect
from service.application import Buurtkas
from service.http import idempotency, tokens
from service.http.policy import Role
from service.reports import find_platform
from service.settings import Settings

ERRORS = (tokens.TokenError,)


def add_commands(sub: Any) -> None:
    token = sub.add_parser("token", help="bearer tokens for the HTTP service")
    token_commands = token.add_subparsers(dest="token_command", required=True)
    create = token_commands.add_parser("create", help="make a token and print it, once")
    create.add_argument("--role", required=True, choices=[r.value for r in Role])
    create.add_argument(
        "--platform", help="the platform a treasurer token serves (name or neighbourhood)"
    )
    create.add_argument(
        "--subject", help="recorded as the actor of every event it causes (default ROLE:ID)"
    )
    listing = token_commands.add_parser("list", help="every token by id (never its secret)")
    listing.add_argument("--json", action="store_true", help="one JSON object per token")
    revoke = token_commands.add_parser(
        "revoke", help="revoke a token by id (a running service stops accepting it within 10 s)"
    )
    revoke.add_argument("token_id", metavar="TOKEN_ID")
    keys = sub.add_parser("keys", help="the HTTP service's idempotency keys")
    keys_commands = keys.add_subparsers(dest="keys_command", required=True)
    prune = keys_commands.add_parser(
        "prune", help="forget the responses kept for old Idempotency-Keys"
    )
    prune.add_argument(
        "--older-than-days", type=_days, default=30, help="keys older than this (30 days)"
    )
    serve = sub.add_parser("serve", help="run the HTTP service against the configured database")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on (8000)")
    serve.add_argument(
        "--no-projector",
        action="store_true",
        help="do not keep the read models current (by default, with one process, a child "
        "process `buurtkas project --follow` does, and with --workers a thread of this "
        "process; run `buurtkas project --follow` elsewhere instead)",
    )
    serve.add_argument(
        "--workers",
        type=_workers,
        default=1,
        help="server processes (1); with more, this process makes the tables and runs the "
        "projector, and the workers serve requests",
    )


def _workers(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--workers: {text!r} is not a whole number") from None
    if not 1 <= value <= MAX_WORKERS:
        raise argparse.ArgumentTypeError(f"--workers: must be from 1 to {MAX_WORKERS}")
    return value


def _days(text: str) -> int:
    try:
        days = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a whole number of days, not {text!r}") from None
    if days < 1:
        raise argparse.ArgumentTypeError("at least 1 day")
    return days


def cmd_token(app: Buurtkas, args: argparse.Namespace, log: Any) -> int:
    conn = connect(app.store_env)
    try:
        tokens.setup(conn)
        action = args.token_command
        if action == "list":
            return _list_tokens(conn, args.json)
        if action == "revoke":
            revoked_at = tokens.revoke(conn, args.token_id)
            log.info("token.revoked", token_id=args.token_id, revoked_at=revoked_at)
            print(f"token {args.token_id} revoked at {revoked_at}")
            return 0
    finally:
        conn.close()
    return _create_token(app, args, log)


def _list_tokens(conn: Connection, as_json: bool) -> int:
    for token in tokens.listing(conn):
        if as_json:
            print(json.dumps(token))
        else:
            state = f"revoked {token['revoked_at']}" if token["revoked_at"] else "active"
            platform = f" platform {token['platform_id']}" if token["platform_id"] else ""
            print(
                f"{token['token_id']}  {token['role']:9} {token['subject']}{platform}  "
                f"made {token['created_at']}  {state}"
            )
    return 0


def cmd_keys(app: Buurtkas, args: argparse.Namespace, log: Any) -> int:
    conn = connect(app.store_env)
    try:
        idempotency.setup_table(conn)
        pruned = idempotency.prune(conn, args.older_than_days)
    finally:
        conn.close()
    log.info("keys.pruned", keys=pruned, older_than_days=args.older_than_days)
    print(f"forgot {pruned} idempotency keys older than {args.older_than_days} days")
    return 0


def _create_token(app: Buurtkas, args: argparse.Namespace, log: Any) -> int:
    platform = find_platform(app, args.platform) if args.platform else None
    conn = connect(app.store_env)
    try:
        token, principal = tokens.issue(
            conn,
            Role(args.role),
            platform_id=platform.originator_id if platform else None,
            subject=args.subject,
        )
    finally:
        conn.close()
    log.info(
        "token.created",
        token_id=principal.token_id,
        role=principal.role.value,
        subject=principal.subject,
        platform=platform.name if platform else None,
    )
    print(token)
    return 0


def cmd_serve(settings: Settings, args: argparse.Namespace, log: Any) -> int:
    import uvicorn

    from service.http.app import create_app
    from service.http.context import open_services

    projector = not args.no_projector
    log.info(
        "http.starting", host=args.host, port=args.port, projector=projector, workers=args.workers
    )
    if args.workers == 1:
        # the projector in a child process: a thread here would take the interpreter lock
        # from the requests (one process with no other core to use)
        app = create_app(settings, follow_projections=projector, projector_process=True)
        uvicorn.run(app, host=args.host, port=args.port, log_config=None, access_log=False)
        return 0
    # Several processes: this one makes the tables once (workers starting together would
    # race to create them) and keeps the read models current; uvicorn starts the workers,
    # each of which builds its own app from the environment.
    services = open_services(settings, follow_projections=projector, max_ready_lag=1000)
    try:
        return _supervise_workers(args, log)
    finally:
        services.close()


WORKER_APP = "service.http.app:create_worker_app"


def _supervise_workers(args: argparse.Namespace, log: Any) -> int:
    """Run uvicorn's supervisor of ``args.workers`` worker processes until it stops.

    uvicorn's own ``run`` returns quietly when it stops because a worker failed to start
    (it would fail the same way on every restart); here that ends the command with
    uvicorn's exit status for a failed start, so a process manager sees it."""
    import uvicorn
    from uvicorn.config import STARTUP_FAILURE
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config(
        WORKER_APP,
        factory=True,
        workers=args.workers,
        host=args.host,
        port=args.port,
        log_config=None,
        access_log=False,
    )
    supervisor = Multiprocess(config, sockets=[config.bind_socket()])
    supervisor.run()
    failed = [p.pid for p in supervisor.processes if p.exitcode == STARTUP_FAILURE]
    if failed:
        log.error("http.worker_failed_to_start", workers=failed, exit_status=STARTUP_FAILURE)
        return STARTUP_FAILURE
    return 0


MAX_WORKERS = 64

COMMANDS = {"token": cmd_token, "keys": cmd_keys}
