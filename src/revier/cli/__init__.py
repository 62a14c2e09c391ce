"""The ``revier`` command: ``revier serve`` and ``revier admin …``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from revier import __version__
from revier.cli.audit import add_audit_commands
from revier.cli.common import Handler
from revier.cli.devices import add_device_commands
from revier.cli.media import add_media_commands
from revier.cli.push import add_push_commands
from revier.cli.registration import registration_token_commands
from revier.cli.rooms import add_room_commands
from revier.cli.serve import serve_command
from revier.cli.users import user_commands
from revier.config import ConfigError, load_settings
from revier.errors import MatrixError


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return 2
    try:
        settings = load_settings(args.config)
    except ConfigError as e:
        print(f"revier: {e}", file=sys.stderr)
        return 2
    if args.handler is serve_command:
        return serve_command(args, settings)  # type: ignore[no-any-return]  # argparse hands back Any
    handler: Handler = args.handler
    try:
        return asyncio.run(handler(args, settings))
    except MatrixError as e:
        print(f"revier: {e.error} ({e.errcode})", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="revier",
        description="revier: a Matrix homeserver for organisations.",
    )
    parser.add_argument("--version", action="version", version=f"revier {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        "-c",
        type=Path,
        default=None,
        help="TOML configuration file (default: $REVIER_CONFIG, else built-in defaults)",
    )
    sub = parser.add_subparsers(title="commands")

    serve = sub.add_parser(
        "serve",
        parents=[common],
        help="run the server",
        description="Run the server until interrupted (Ctrl-C or SIGTERM stop it gracefully).",
    )
    serve.add_argument("--host", help="listen address (overrides server.bind_address)")
    serve.add_argument("--port", type=int, help="listen port (overrides server.port)")
    serve.add_argument(
        "--conformance-mode",
        action="store_true",
        help="for protocol test suites only: open registration, guests, no rate limits; "
        "needs a [testing] section with conformance = true as well",
    )
    serve.set_defaults(handler=serve_command)

    admin = sub.add_parser(
        "admin",
        help="manage accounts (works on the configured database)",
        description="Administer the installation directly on its database.",
    )
    admin_sub = admin.add_subparsers(title="objects")
    user_commands(admin_sub.add_parser("user", help="user accounts", parents=[]), common)
    registration_token_commands(
        admin_sub.add_parser(
            "registration-token",
            help="registration tokens for self-service sign-up",
            description="Tokens with which newcomers create their own account "
            '(tenant policy registration = "token").',
        ),
        common,
    )
    add_media_commands(admin_sub, common)
    add_audit_commands(admin_sub, common)
    add_device_commands(admin_sub, common)
    add_room_commands(admin_sub, common)
    add_push_commands(admin_sub, common)
    return parser
