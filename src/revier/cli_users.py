"""``revier admin user show | deactivate | reactivate``: an account's state, and
closing and reopening it — the same services as the admin API, audited with
the actor ``cli:<os user>`` from ``local``."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from revier.cli_common import (
    USER_HELP,
    AddCommand,
    cli_actor,
    password_options,
    read_password,
    resolve_user,
    when,
    with_services,
)
from revier.config import Settings

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
        async def work(svc: Any) -> int:
            tenant, user_id = resolve_user(svc, args)
            details = await svc.accounts.details(tenant, user_id)
            pending = await svc.deactivation.is_pending(user_id)
            print(format_details(details, pending))
            return 0

        return await with_services(settings, work)

    async def deactivate(args: argparse.Namespace, settings: Settings) -> int:
        async def work(svc: Any) -> int:
            tenant, user_id = resolve_user(svc, args)
            rooms_left = await svc.deactivation.deactivate(
                tenant, user_id, cli_actor(), progress=_ProgressPrinter()
            )
            print(f"deactivated {user_id}; it left {rooms_left} rooms")
            return 0

        return await with_services(settings, work)

    async def reactivate(args: argparse.Namespace, settings: Settings) -> int:
        password, generated = read_password(args)

        async def work(svc: Any) -> int:
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


def format_details(details: Any, deactivation_pending: bool) -> str:
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
