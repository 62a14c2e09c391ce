"""``revier admin room …``: list and inspect rooms (metadata only), close, purge.

Closing and purging run here to the end, in this process, with progress on
standard error; they are audited as ``cli:<os user>`` from ``local``. A
running server's clients see the changes at their next /sync (at once when
the installation uses Redis for wake-ups).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from revier.cli.common import (
    TENANT_HELP,
    Subcommands,
    cli_actor,
    command_group,
    pick_tenant,
    with_services,
)
from revier.config import Settings

if TYPE_CHECKING:
    from revier.services.container import Services


def add_room_commands(admin_sub: Subcommands, common: argparse.ArgumentParser) -> None:
    room = admin_sub.add_parser(
        "room",
        help="rooms: list, show, close, purge (never message content)",
        description="The organisation's rooms: metadata only, never a message.",
    )
    add = command_group(room, common)

    async def list_rooms(args: argparse.Namespace, settings: Settings) -> int:
        async def work(svc: Services) -> int:
            tenant = pick_tenant(svc, args.tenant)
            page = await svc.room_admin.list_rooms(
                tenant, search=args.search, offset=args.offset, limit=args.limit
            )
            if args.json:
                print(json.dumps({"rooms": page.rooms, "total": page.total}, indent=2))
                return 0
            for entry in page.rooms:
                print(_line(entry))
            print(f"{len(page.rooms)} of {page.total} rooms", file=sys.stderr)
            return 0

        return await with_services(settings, work)

    async def show(args: argparse.Namespace, settings: Settings) -> int:
        async def work(svc: Services) -> int:
            entry = await svc.room_admin.get_room(None, args.room)
            if args.json:
                print(json.dumps(entry, indent=2))
            else:
                for key, value in entry.items():
                    print(f"{key + ':':<20}{_text(value)}")
            return 0

        return await with_services(settings, work)

    async def close(args: argparse.Namespace, settings: Settings) -> int:
        return await with_services(settings, lambda svc: _close(svc, args, purge=False))

    async def purge(args: argparse.Namespace, settings: Settings) -> int:
        if not args.yes and not _confirm(args.room):
            print("revier: nothing purged", file=sys.stderr)
            return 1
        return await with_services(settings, lambda svc: _close(svc, args, purge=True))

    lst = add("list", list_rooms, "list the rooms of a tenant, newest first")
    lst.add_argument("--tenant", help=TENANT_HELP)
    lst.add_argument("--search", help="only rooms whose ID, name or alias contains this")
    lst.add_argument("--limit", type=_positive, default=100, help="at most this many (default 100)")
    lst.add_argument("--offset", type=_non_negative, default=0, help="skip this many first")
    lst.add_argument("--json", action="store_true", help="print JSON instead of a table")

    shw = add("show", show, "show one room's metadata, aliases and joined members")
    shw.add_argument("room", help="room ID (!…) or alias (#…)")
    shw.add_argument("--json", action="store_true", help="print JSON")

    cls = add(
        "close",
        close,
        "close a room for good",
        "Members get a final notice, then each leaves; nobody may join, be invited "
        "or knock again, the room leaves the public directory and its aliases are "
        "deleted. An interrupted run is finished by the next one (or by the server "
        "at start-up).",
    )
    cls.add_argument("room", help="room ID (!…) or alias (#…)")
    cls.add_argument("--reason", help="shown to the members in the notice")

    prg = add(
        "purge",
        purge,
        "close a room and delete its messages and state from the database",
        "Cannot be undone. The room ID stays reserved so it is never reused.",
    )
    prg.add_argument("room", help="room ID (!…) or alias (#…)")
    prg.add_argument("--yes", action="store_true", help="don't ask for confirmation")


async def _close(svc: Services, args: argparse.Namespace, *, purge: bool) -> int:
    def progress(step: str, done: int) -> None:
        what = "members taken out" if step == "members" else "events deleted"
        print(f"{what}: {done}", file=sys.stderr, flush=True)

    result = await svc.room_admin.close_locally(
        args.room,
        cli_actor(),
        getattr(args, "reason", None),
        purge=purge,
        progress=progress,
    )
    print(f"{result['room_id']} {result['closed']['status']}")
    return 0


def _confirm(room: str) -> bool:
    if not sys.stdin.isatty():
        print("revier: purging needs --yes when not run interactively", file=sys.stderr)
        return False
    answer = input(f"Delete every message and all state of {room} for good? Type 'purge': ")
    return answer.strip() == "purge"


def _line(entry: dict[str, Any]) -> str:
    flags = [
        flag
        for flag, on in (
            ("encrypted", entry["encrypted"]),
            ("public", entry["public"]),
            (entry["closed"]["status"] if entry["closed"] else "", entry["closed"]),
        )
        if on
    ]
    label = entry["name"] or entry["canonical_alias"] or ""
    members = f"{entry['joined_members']} joined, {entry['invited_members']} invited"
    return f"{entry['room_id']}  {members}  [{', '.join(flags)}]  {label}".rstrip()


def _text(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "-"
    if isinstance(value, dict):
        return ", ".join(f"{k}={_text(v)}" for k, v in value.items())
    return str(value)


def _positive(raw: str) -> int:
    value = int(raw)
    if not 1 <= value <= 1000:
        raise argparse.ArgumentTypeError("must be between 1 and 1000")
    return value


def _non_negative(raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return value
