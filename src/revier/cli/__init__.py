"""The ``revier`` command: ``revier serve`` and ``revier admin …``."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from revier import __version__
from revier.cli.audit import add_audit_commands
from revier.cli.backup import add_backup_commands
from revier.cli.common import Handler
from revier.cli.devices import add_device_commands
from revier.cli.directory import add_directory_commands
from revier.cli.media import add_media_commands
from revier.cli.moderation import add_report_commands
from revier.cli.push import add_push_commands
from revier.cli.registration import registration_token_commands
from revier.cli.rooms import add_room_commands
from revier.cli.serve import serve_command
from revier.cli.units import add_unit_commands
from revier.cli.users import user_commands
from revier.config import ConfigError, Settings, StartupRefused
from revier.config_file import config_path, load_settings
from revier.errors import MatrixError


def main(argv: list[str] | None = None) -> int:
    # Whatever revier writes (database, keys, media, its log) is personal data or
    # a secret: readable by its own user only, whoever started it with what umask.
    os.umask(0o077)
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
        return asyncio.run(_admin(handler, args, settings))
    except StartupRefused as e:
        print(f"revier: {e}", file=sys.stderr)
        return 2
    except MatrixError as e:
        print(f"revier: {e.error} ({e.errcode})", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


async def _admin(handler: Handler, args: argparse.Namespace, settings: Settings) -> int:
    """An admin command, on an existing installation unless told to make one: run
    in the wrong directory it would otherwise make a new database and keys, and an
    account created there would be one the server never sees."""
    from revier.app import has_database

    wanted = getattr(args, "needs_database", True) and not args.create_database
    if wanted and not await has_database(settings):
        raise StartupRefused(_no_database(args.config, settings))
    return await handler(args, settings)


def _no_database(path: Path | None, settings: Settings) -> str:
    config = config_path(path)
    source = f"configuration {config}" if config else "no configuration file: built-in defaults"
    if settings.database.url:
        where = f"in the database {_safe_url(settings.database.url)}"
    else:
        where = f"in the data directory {settings.server.data_dir.resolve()}"
    return (
        f"no revier installation {where} ({source}). Point the command at the server's "
        "configuration with --config FILE or REVIER_CONFIG=FILE; --create-database "
        "starts a new, empty installation there instead"
    )


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


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
    # Every admin command: the configuration, and whether it may make a new installation.
    admin_common = argparse.ArgumentParser(add_help=False, parents=[common])
    admin_common.add_argument(
        "--create-database",
        action="store_true",
        help="where the configuration points to no revier database, create a new, empty "
        "installation there (database and signing keys) instead of refusing",
    )
    user_commands(
        admin_sub.add_parser("user", aliases=["users"], help="user accounts", parents=[]),
        admin_common,
    )
    registration_token_commands(
        admin_sub.add_parser(
            "registration-token",
            help="registration tokens for self-service sign-up",
            description="Tokens with which newcomers create their own account "
            '(tenant policy registration = "token").',
        ),
        admin_common,
    )
    add_media_commands(admin_sub, admin_common)
    add_audit_commands(admin_sub, admin_common)
    add_device_commands(admin_sub, admin_common)
    add_room_commands(admin_sub, admin_common)
    add_report_commands(admin_sub, admin_common)
    add_directory_commands(admin_sub, admin_common)
    add_backup_commands(admin_sub, admin_common)
    add_push_commands(admin_sub, admin_common)
    add_unit_commands(admin_sub, admin_common)
    return parser
