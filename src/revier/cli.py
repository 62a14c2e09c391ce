"""The ``revier`` command: ``revier serve`` and ``revier admin …``."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from revier import __version__
from revier.cli_audit import add_audit_commands
from revier.cli_common import (
    TENANT_HELP,
    Handler,
    cli_actor,
    command_group,
    password_options,
    pick_tenant,
    read_password,
    resolve_user,
    with_services,
)
from revier.cli_devices import add_device_commands
from revier.cli_media import add_media_commands
from revier.cli_registration import registration_token_commands
from revier.cli_rooms import add_room_commands
from revier.cli_users import add_account_state_commands
from revier.config import ConfigError, Settings, load_settings
from revier.errors import MatrixError

if TYPE_CHECKING:
    from revier.services.accounts import NewUser


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
    if args.handler is _serve:
        return _serve(args, settings)  # type: ignore[no-any-return]  # argparse hands back Any
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
    serve.set_defaults(handler=_serve)

    admin = sub.add_parser(
        "admin",
        help="manage accounts (works on the configured database)",
        description="Administer the installation directly on its database.",
    )
    admin_sub = admin.add_subparsers(title="objects")
    _user_commands(admin_sub.add_parser("user", help="user accounts", parents=[]), common)
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
    return parser


def _user_commands(user: argparse.ArgumentParser, common: argparse.ArgumentParser) -> None:
    add = command_group(user, common, tenant=TENANT_HELP)
    create = add("create", _user_create, "create an account")
    create.add_argument(
        "localpart", help="user name, e.g. 'anna.schmidt' (becomes @anna.schmidt:server)"
    )
    create.add_argument("--admin", action="store_true", help="make the account a tenant admin")
    create.add_argument("--displayname", help="display name (default: the user name)")
    password_options(create)

    imp = add("import", _user_import, "create many accounts from a JSON-lines file")
    imp.description = (
        "Create many accounts at once. FILE holds one JSON object per line: "
        '{"localpart": "anna.schmidt", "password": "...", "displayname": "Anna Schmidt", '
        '"admin": false}; instead of "password", "password_hash" takes an Argon2id hash '
        "from a former system. Refused lines are reported and skipped; progress goes to "
        "standard error every 100 accounts. Exit status 1 if any line was refused."
    )
    imp.add_argument("file", metavar="FILE", help="JSON-lines file, or '-' for standard input")

    lst = add("list", _user_list, "list accounts")
    lst.add_argument("--search", help="only accounts whose user ID or display name contains this")
    lst.add_argument("--limit", type=int, default=100)
    lst.add_argument("--offset", type=int, default=0)

    add_account_state_commands(add)

    reset = add("reset-password", _user_reset_password, "set a new password; ends all sessions")
    reset.add_argument("user", help="user ID or user name")
    password_options(reset)

    make_admin = add("make-admin", _user_make_admin, "grant (or with --revoke, take) admin rights")
    make_admin.add_argument("user", help="user ID or user name")
    make_admin.add_argument("--revoke", action="store_true", help="take admin rights away")


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from revier.server import run  # it refuses a conformance mode half switched on

    overrides: dict[str, Any] = {}
    if args.host:
        overrides["bind_address"] = args.host
    if args.port is not None:
        overrides["port"] = args.port
    if overrides:
        settings = settings.model_copy(
            update={"server": settings.server.model_copy(update=overrides)}
        )
    return run(settings, conformance_mode=args.conformance_mode)


async def _user_create(args: argparse.Namespace, settings: Settings) -> int:
    password, generated = read_password(args)

    async def work(svc: Any) -> int:
        user = await svc.accounts.create_user(
            pick_tenant(svc, args.tenant),
            args.localpart,
            password,
            admin=args.admin,
            displayname=args.displayname,
            actor=cli_actor(),
        )
        print(f"created {user.user_id}" + (" (admin)" if user.is_admin else ""))
        if generated:
            print(f"password: {password}")
        return 0

    return await with_services(settings, work)


def _import_lines(lines: Iterable[str], bad: list[tuple[str, str]]) -> Iterator[NewUser]:
    """The import file's accounts; unreadable lines go to ``bad`` as (line N, reason)."""
    from revier.services.accounts import NewUser

    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            if not isinstance(entry, dict) or not isinstance(entry.get("localpart"), str):
                raise ValueError("needs a string 'localpart'")
            for key in ("password", "password_hash", "displayname"):
                if not isinstance(entry.get(key, ""), str):
                    raise ValueError(f"'{key}' must be a string")
            if not isinstance(entry.get("admin", False), bool):
                raise ValueError("'admin' must be true or false")
        except ValueError as e:  # json.JSONDecodeError is one
            bad.append((f"line {number}", str(e)))
            continue
        yield NewUser(
            localpart=entry["localpart"],
            password=entry.get("password"),
            password_hash=entry.get("password_hash"),
            displayname=entry.get("displayname"),
            admin=entry.get("admin", False),
        )


async def _user_import(args: argparse.Namespace, settings: Settings) -> int:
    def read() -> list[str]:
        if args.file == "-":
            return sys.stdin.read().splitlines()
        return Path(args.file).read_text(encoding="utf-8").splitlines()

    try:
        lines = await asyncio.to_thread(read)
    except (OSError, UnicodeDecodeError) as e:
        print(f"revier: cannot read {args.file}: {e}", file=sys.stderr)
        return 2

    def progress(report: Any) -> None:
        done = len(report.created) + len(report.failed)
        print(f"{done} processed, {len(report.created)} created", file=sys.stderr, flush=True)

    async def work(svc: Any) -> int:
        bad: list[tuple[str, str]] = []
        report = await svc.accounts.create_users(
            pick_tenant(svc, args.tenant),
            _import_lines(lines, bad),
            progress=progress,
            actor=cli_actor(),
        )
        failed = bad + report.failed
        for where, reason in failed:
            print(f"refused {where}: {reason}", file=sys.stderr)
        print(f"created {len(report.created)} accounts, refused {len(failed)}")
        return 1 if failed else 0

    return await with_services(settings, work)


async def _user_list(args: argparse.Namespace, settings: Settings) -> int:
    async def work(svc: Any) -> int:
        users = await svc.accounts.list_users(
            pick_tenant(svc, args.tenant), search=args.search, limit=args.limit, offset=args.offset
        )
        for u in users:
            flags = [f for f, on in (("admin", u.is_admin), ("deactivated", u.deactivated)) if on]
            print(u.user_id + (f"  [{', '.join(flags)}]" if flags else ""))
        return 0

    return await with_services(settings, work)


async def _user_reset_password(args: argparse.Namespace, settings: Settings) -> int:
    password, generated = read_password(args)

    async def work(svc: Any) -> int:
        tenant, user_id = resolve_user(svc, args)
        await svc.accounts.reset_password(tenant, user_id, password, cli_actor())
        print(f"new password set for {user_id}; all its sessions ended")
        if generated:
            print(f"password: {password}")
        return 0

    return await with_services(settings, work)


async def _user_make_admin(args: argparse.Namespace, settings: Settings) -> int:
    async def work(svc: Any) -> int:
        tenant, user_id = resolve_user(svc, args)
        await svc.accounts.set_admin(tenant, user_id, not args.revoke, cli_actor())
        print(f"{user_id} is {'no longer ' if args.revoke else ''}an admin")
        return 0

    return await with_services(settings, work)
