"""``revier admin report …`` (content reports: list, show, resolve) and
``revier admin user lock|suspend|unsuspend`` (``unlock`` is in ``signin.py``: it also
forgets the lockout's failed sign-ins) — the same services as the
admin API, audited with the actor ``cli:<os user>`` from ``local``. Reports
name what was reported and who reported it, never the content."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from revier.cli.common import (
    TENANT_HELP,
    USER_HELP,
    AddCommand,
    Subcommands,
    cli_actor,
    command_group,
    pick_tenant,
    resolve_user,
    when,
    with_services,
)
from revier.config import Settings

if TYPE_CHECKING:
    from revier.services.container import Services

_LOCK_HELP = (
    "lock an account: its sessions stay but every request answers M_USER_LOCKED "
    "(clients keep their data and wait), and it can't log in; unlock restores the sessions"
)
_SUSPEND_HELP = (
    "suspend an account: it may still read, leave rooms and talk to the admins, but not "
    "send, join, invite, create rooms or change its profile (M_USER_SUSPENDED)"
)


def add_user_moderation_commands(add: AddCommand) -> None:
    """``lock``, ``suspend``, ``unsuspend`` in ``revier admin user``."""

    def command(locked: bool | None, suspended: bool | None) -> Any:
        async def run(args: argparse.Namespace, settings: Settings) -> int:
            async def work(svc: Services) -> int:
                tenant, user_id = resolve_user(svc, args)
                if locked is not None:
                    await svc.moderation.set_locked(tenant, user_id, locked, cli_actor())
                    print(f"{user_id} is {'locked' if locked else 'unlocked'}")
                else:
                    assert suspended is not None
                    await svc.moderation.set_suspended(tenant, user_id, suspended, cli_actor())
                    print(f"{user_id} is {'suspended' if suspended else 'no longer suspended'}")
                return 0

            return await with_services(settings, work)

        return run

    for name, handler, help_text in (
        ("lock", command(True, None), _LOCK_HELP),
        ("suspend", command(None, True), _SUSPEND_HELP),
        ("unsuspend", command(None, False), "lift a suspension"),
    ):
        p = add(name, handler, help_text)
        p.add_argument("user", metavar="USER", help=USER_HELP)


def add_report_commands(admin_sub: Subcommands, common: argparse.ArgumentParser) -> None:
    report = admin_sub.add_parser(
        "report",
        aliases=["reports"],
        help="content reports users sent: list, show, resolve (never message content)",
        description="Reports of events, rooms and users that users sent to the "
        "organisation's admins. A report names what was reported and who reported it; "
        "it never holds the message.",
    )
    add = command_group(report, common, tenant=TENANT_HELP)

    async def list_reports(args: argparse.Namespace, settings: Settings) -> int:
        from revier.services.rooms import ReportQuery

        query = ReportQuery(
            kind=args.kind,
            reporter=args.reporter,
            room_id=args.room,
            target_user_id=args.target,
            resolved=None if args.all else args.resolved,
        )

        async def work(svc: Services) -> int:
            page = await svc.reports.page(
                pick_tenant(svc, args.tenant), query, after_id=args.after, limit=args.limit
            )
            if args.json:
                print(json.dumps({"reports": [r.to_json() for r in page]}, indent=2))
                return 0
            for r in page:
                target = r.event_id or r.room_id if r.kind != "user" else r.target_user_id
                state = "resolved" if r.resolved_ts is not None else "open"
                print(
                    f"{r.report_id}  {when(r.received_ts)}  {r.kind:<5}  {state:<8}  "
                    f"{r.reporter} -> {target}"
                )
            return 0

        return await with_services(settings, work)

    async def show(args: argparse.Namespace, settings: Settings) -> int:
        async def work(svc: Services) -> int:
            found = await svc.reports.get(pick_tenant(svc, args.tenant), args.report_id)
            _print_report(found.to_json(), args.json)
            return 0

        return await with_services(settings, work)

    async def resolve(args: argparse.Namespace, settings: Settings) -> int:
        async def work(svc: Services) -> int:
            done = await svc.reports.resolve(
                pick_tenant(svc, args.tenant), args.report_id, cli_actor()
            )
            print(f"report {done.report_id} is resolved")
            return 0

        return await with_services(settings, work)

    lst = add("list", list_reports, "list reports, oldest first (open ones unless told)")
    lst.add_argument("--kind", choices=("event", "room", "user"), help="only this kind")
    lst.add_argument("--reporter", help="only reports by this user ID")
    lst.add_argument("--room", help="only reports about this room ID")
    lst.add_argument("--target", help="only reports about this user (or their events)")
    which = lst.add_mutually_exclusive_group()
    which.add_argument("--resolved", action="store_true", help="only resolved reports")
    which.add_argument("--all", action="store_true", help="open and resolved reports")
    lst.add_argument("--after", type=int, default=0, help="only reports with a higher ID")
    lst.add_argument("--limit", type=int, default=100, help="at most this many (default 100)")
    lst.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p = add("show", show, "show one report")
    p.add_argument("report_id", metavar="REPORT_ID", type=int)
    p.add_argument("--json", action="store_true", help="print JSON")
    p = add("resolve", resolve, "mark a report as dealt with (it is kept, for the record)")
    p.add_argument("report_id", metavar="REPORT_ID", type=int)


def _print_report(report: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(report, indent=2))
        return
    for key, value in report.items():
        if key.endswith("_ts"):
            value = when(value) if value is not None else ""
        print(f"{key + ':':<16}{'' if value is None else value}")
