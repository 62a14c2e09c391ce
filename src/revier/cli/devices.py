"""``revier admin device …``: list a user's devices, wipe them, set their limit.

The same service as the admin API, audited with the actor ``cli:<os user>``
from ``local``.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from revier.cli.common import (
    USER_HELP,
    Handler,
    Subcommands,
    cli_actor,
    command_group,
    resolve_user,
    when,
    with_services,
)
from revier.config import Settings

if TYPE_CHECKING:
    from revier.services.container import Services

_WIPE_HELP = (
    "sign devices out: each erases its local data (messages, keys) once the server "
    "refuses it. The admin API does that on the device's very next request; from this "
    "separate process it can take one /sync long-poll plus 10 seconds"
)
_LIMIT_HELP = (
    "set how many devices the user may be logged in on (overrides the tenant's "
    "max_devices_per_user). Lowering it logs nobody out: it only refuses new logins "
    "until the user has fewer devices than the limit"
)


def add_device_commands(admin_sub: Subcommands, common: argparse.ArgumentParser) -> None:
    device = admin_sub.add_parser(
        "device",
        help="a user's devices: list, remote wipe, device limit",
        description="Manage the devices (logged-in sessions) of a user.",
    )
    add_command = command_group(
        device, common, tenant="server_name of the tenant of a bare user name"
    )

    def add(name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
        p = add_command(name, handler, help_text)
        p.add_argument("user", metavar="USER", help=USER_HELP)
        return p

    async def list_devices(args: argparse.Namespace, settings: Settings) -> int:
        async def work(svc: Services) -> int:
            tenant, user_id = resolve_user(svc, args)
            devices = await svc.device_admin.list_devices(tenant, user_id)
            for d in devices:
                print(f"{d.device_id}  {d.display_name or '-'}  last seen {when(d.last_seen_ts)}")
            print(f"{len(devices)} devices")
            return 0

        return await with_services(settings, work)

    async def wipe(args: argparse.Namespace, settings: Settings) -> int:
        if bool(args.device_ids) == args.all:
            print("revier: name the devices to wipe, or give --all", file=sys.stderr)
            return 2

        async def work(svc: Services) -> int:
            tenant, user_id = resolve_user(svc, args)
            wanted = None if args.all else list(args.device_ids)
            details = {"all_devices": True} if args.all else None
            wiped = await svc.device_admin.wipe(
                tenant, cli_actor(), user_id, wanted, details=details
            )
            for d in wiped:
                print(f"wiped {d.device_id}  {d.display_name or '-'}")
            if args.all and not wiped:
                print(f"{user_id} has no devices")
            missing = sorted(set(wanted or ()) - {d.device_id for d in wiped})
            for device_id in missing:
                print(f"revier: {user_id} has no device {device_id}", file=sys.stderr)
            return 1 if missing else 0

        return await with_services(settings, work)

    async def limit(args: argparse.Namespace, settings: Settings) -> int:
        if (args.max_devices is None) != args.default:
            print("revier: give the limit N, or --default", file=sys.stderr)
            return 2

        async def work(svc: Services) -> int:
            tenant, user_id = resolve_user(svc, args)
            result = await svc.device_admin.set_max_devices(
                tenant, cli_actor(), user_id, args.max_devices
            )
            own = "the tenant's default" if result.max_devices is None else "its own limit"
            print(
                f"{user_id} may now be logged in on {result.effective} devices ({own}); "
                f"it has {result.device_count}"
            )
            if result.device_count >= result.effective:
                print("no new login is possible until a device is removed")
            return 0

        return await with_services(settings, work)

    add("list", list_devices, "list a user's devices (ID, name, last seen; no addresses)")

    w = add("wipe", wipe, _WIPE_HELP)
    w.add_argument("device_ids", metavar="DEVICE_ID", nargs="*", help="the devices to wipe")
    w.add_argument("--all", action="store_true", help="wipe every device of the user")

    lim = add("limit", limit, _LIMIT_HELP)
    lim.add_argument("max_devices", metavar="N", nargs="?", type=int, help="1 to 100")
    lim.add_argument(
        "--default", action="store_true", help="drop the user's own limit: the tenant's applies"
    )
