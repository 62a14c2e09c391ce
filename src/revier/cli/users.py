"""``revier admin user …``: creating accounts one by one or many at once, listing
them, an account's state, resetting passwords, admin rights, and closing and
reopening accounts — the same services as the admin API, audited with the actor
``cli:<os user>`` from ``local``."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from revier.cli.common import (
    TENANT_HELP,
    USER_HELP,
    AddCommand,
    cli_actor,
    command_group,
    password_options,
    pick_tenant,
    read_password,
    resolve_user,
    when,
    with_services,
)
from revier.cli.moderation import add_user_moderation_commands
from revier.cli.signin import add_signin_commands
from revier.config import Settings

if TYPE_CHECKING:
    from revier.services.accounts import ImportReport, NewUser, UserDetails
    from revier.services.container import Services

_DEACTIVATE_HELP = (
    "deactivate an account for good: it can't log in, its devices, keys and key "
    "backups are deleted at once, then it leaves every room (progress on standard "
    "error). Interrupted (or the server stopped), the server finishes it at its next "
    "start; running the command again finishes it too"
)
_REACTIVATE_HELP = (
    "open a deactivated account again with a new password; it rejoins no rooms and "
    "starts without devices or keys. Refused while it is still leaving its rooms"
)
# A deactivation that takes longer than this reports its progress.
_QUIET_S = 2.0


def add_account_state_commands(add: AddCommand) -> None:
    async def show(args: argparse.Namespace, settings: Settings) -> int:
        async def work(svc: Services) -> int:
            tenant, user_id = resolve_user(svc, args)
            details = await svc.accounts.details(tenant, user_id)
            pending = await svc.deactivation.is_pending(user_id)
            print(format_details(details, pending))
            return 0

        return await with_services(settings, work)

    async def deactivate(args: argparse.Namespace, settings: Settings) -> int:
        async def work(svc: Services) -> int:
            tenant, user_id = resolve_user(svc, args)
            rooms_left = await svc.deactivation.deactivate(
                tenant, user_id, cli_actor(), progress=_ProgressPrinter()
            )
            print(f"deactivated {user_id}; it left {rooms_left} rooms")
            return 0

        return await with_services(settings, work)

    async def reactivate(args: argparse.Namespace, settings: Settings) -> int:
        password, generated = read_password(args)

        async def work(svc: Services) -> int:
            tenant, user_id = resolve_user(svc, args)
            await svc.deactivation.reactivate(tenant, user_id, password, cli_actor())
            print(f"reactivated {user_id}")
            if generated:
                print(f"password: {password}")
            return 0

        return await with_services(settings, work)

    p = add("show", show, "show one account: flags, devices, rooms (never message content)")
    p.add_argument("user", metavar="USER", help=USER_HELP)
    p = add("deactivate", deactivate, _DEACTIVATE_HELP)
    p.add_argument("user", metavar="USER", help=USER_HELP)
    p = add("reactivate", reactivate, _REACTIVATE_HELP)
    p.add_argument("user", metavar="USER", help=USER_HELP)
    password_options(p)


def format_details(details: UserDetails, deactivation_pending: bool) -> str:
    """The fields of GET /_revier/admin/v1/users/{userId}, one per line."""
    user = details.user
    limit = f"{details.device_limit}" + ("" if user.max_devices is not None else " (default)")
    lines = [
        f"user_id:              {user.user_id}",
        f"displayname:          {user.displayname or ''}",
        f"avatar_url:           {user.avatar_url or ''}",
        f"admin:                {_yes(user.is_admin)}",
        f"guest:                {_yes(user.is_guest)}",
        f"deactivated:          {_yes(user.deactivated)}",
        f"deactivation_pending: {_yes(deactivation_pending)}",
        f"created:              {when(user.created_ts)}",
        f"device_limit:         {limit}",
        f"joined_rooms_count:   {details.joined_rooms_count}",
        f"devices:              {len(details.devices)}",
    ]
    lines += [
        f"  {d.device_id}  {d.display_name or '-'}  last seen {when(d.last_seen_ts)}"
        for d in details.devices
    ]
    return "\n".join(lines)


class _ProgressPrinter:
    """Rooms left so far, to standard error, once a second after the first two."""

    def __init__(self) -> None:
        self._start = time.monotonic()
        self._last = self._start

    def __call__(self, left: int, remaining: int) -> None:
        now = time.monotonic()
        if now - self._start < _QUIET_S or (now - self._last < 1.0 and remaining):
            return
        self._last = now
        print(f"left {left} rooms, {remaining} to go", file=sys.stderr, flush=True)


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def user_commands(user: argparse.ArgumentParser, common: argparse.ArgumentParser) -> None:
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
    add_user_moderation_commands(add)
    add_signin_commands(add)

    reset = add("reset-password", _user_reset_password, "set a new password; ends all sessions")
    reset.add_argument("user", help="user ID or user name")
    password_options(reset)

    make_admin = add("make-admin", _user_make_admin, "grant (or with --revoke, take) admin rights")
    make_admin.add_argument("user", help="user ID or user name")
    make_admin.add_argument("--revoke", action="store_true", help="take admin rights away")


async def _user_create(args: argparse.Namespace, settings: Settings) -> int:
    password, generated = read_password(args)

    async def work(svc: Services) -> int:
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

    def progress(report: ImportReport) -> None:
        done = len(report.created) + len(report.failed)
        print(f"{done} processed, {len(report.created)} created", file=sys.stderr, flush=True)

    async def work(svc: Services) -> int:
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
    async def work(svc: Services) -> int:
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

    async def work(svc: Services) -> int:
        tenant, user_id = resolve_user(svc, args)
        await svc.accounts.reset_password(tenant, user_id, password, cli_actor())
        print(f"new password set for {user_id}; all its sessions ended")
        if generated:
            print(f"password: {password}")
        return 0

    return await with_services(settings, work)


async def _user_make_admin(args: argparse.Namespace, settings: Settings) -> int:
    async def work(svc: Services) -> int:
        tenant, user_id = resolve_user(svc, args)
        await svc.accounts.set_admin(tenant, user_id, not args.revoke, cli_actor())
        print(f"{user_id} is {'no longer ' if args.revoke else ''}an admin")
        return 0

    return await with_services(settings, work)
