"""Command-line commands of the HTTP service: ``token create`` and ``serve``."""

from __future__ import annotations

import argparse
from typing import Any

from projections.db import connect
from service.application import Buurtkas
from service.http import tokens
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
    serve = sub.add_parser("serve", help="run the HTTP service against the configured database")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on (8000)")
    serve.add_argument(
        "--no-projector",
        action="store_true",
        help="do not keep the read models current in this process (run `buurtkas project "
        "--follow` elsewhere)",
    )


def cmd_token(app: Buurtkas, args: argparse.Namespace, log: Any) -> int:
    platform = find_platform(app, args.platform) if args.platform else None
    conn = connect(app.store_env)
    try:
        tokens.setup(conn)
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

    app = create_app(settings, follow_projections=not args.no_projector)
    log.info("http.starting", host=args.host, port=args.port, projector=not args.no_projector)
    uvicorn.run(app, host=args.host, port=args.port, log_config=None, access_log=False)
    return 0


COMMANDS = {"token": cmd_token}
