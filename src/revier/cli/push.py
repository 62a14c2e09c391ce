"""``revier admin pusher …`` and ``revier admin duty …``: a user's pushers, and duty hours.

The same services as the admin API, audited with the actor ``cli:<os user>``.
Changes reach a running server at once with Redis configured, else at its
next look at the user (five minutes at most for duty hours).
"""

from __future__ import annotations

import argparse
import json
import re
from typing import TYPE_CHECKING, Any

from revier.cli.common import (
    USER_HELP,
    Handler,
    Subcommands,
    cli_actor,
    command_group,
    pick_tenant,
    resolve_user,
    when,
    with_services,
)
from revier.cli.registration import parse_expiry
from revier.config import Settings

if TYPE_CHECKING:
    from revier.services.container import Services

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS = re.compile(r"^([a-z]{3})(?:-([a-z]{3}))?\s+(.+)$")
_HOURS_HELP = (
    'weekly hours, e.g. --hours "mon-fri 07:00-16:00" --hours "sat 08:00-12:00"; a shift '
    'past midnight ("22:00-06:00") ends the next day; repeat for more days'
)


def parse_hours(specs: list[str]) -> dict[str, list[str]]:
    """``["mon-fri 07:00-16:00", "sat 08:00-12:00,13:00-15:00"]`` as a schedule object."""
    schedule: dict[str, list[str]] = {}
    for spec in specs:
        match = _HOURS.match(spec.strip().lower())
        if match is None or match.group(1) not in DAYS or match.group(2) not in (None, *DAYS):
            raise SystemExit(f'revier: --hours {spec!r} is not like "mon-fri 07:00-16:00"')
        first = DAYS.index(match.group(1))
        last = DAYS.index(match.group(2)) if match.group(2) else first
        for day in DAYS[first : last + 1]:
            schedule.setdefault(day, []).extend(s.strip() for s in match.group(3).split(","))
    return schedule


def add_push_commands(admin_sub: Subcommands, common: argparse.ArgumentParser) -> None:
    _pusher_commands(admin_sub, common)
    _duty_commands(admin_sub, common)


def _pusher_commands(admin_sub: Subcommands, common: argparse.ArgumentParser) -> None:
    group = admin_sub.add_parser(
        "pusher",
        help="a user's pushers (where their phones get push notifications)",
        description="List and remove the pushers of a user; a pushkey is never shown in full.",
    )
    add = command_group(group, common, tenant="server_name of the tenant of a bare user name")

    async def list_pushers(args: argparse.Namespace, settings: Settings) -> int:
        async def work(svc: Services) -> int:
            tenant, user_id = resolve_user(svc, args)
            found = await svc.pushers.of_user(tenant, user_id)
            for p in found:
                state = f"failing since {when(p.failing_since)}" if p.failing_since else "ok"
                print(
                    f"{p.pusher_id}  {p.app_id}  device {p.device_id}  gateway {p.gateway}  "
                    f"key …{p.pushkey_end}  last push {when(p.last_success_ts)}  {state}"
                )
            print(f"{len(found)} pushers")
            return 0

        return await with_services(settings, work)

    async def remove(args: argparse.Namespace, settings: Settings) -> int:
        async def work(svc: Services) -> int:
            tenant, user_id = resolve_user(svc, args)
            await svc.pushers.remove(tenant, cli_actor(), user_id, args.pusher_id)
            print(f"removed pusher {args.pusher_id} of {user_id}")
            return 0

        return await with_services(settings, work)

    for name, handler, text in (
        ("list", list_pushers, "list a user's pushers: app, device, gateway, last push"),
        (
            "remove",
            remove,
            "remove a pusher (its phone gets no pushes until the app sets it again)",
        ),
    ):
        p = add(name, handler, text)
        p.add_argument("user", metavar="USER", help=USER_HELP)
        if name == "remove":
            p.add_argument("pusher_id", metavar="PUSHER_ID", type=int, help="from `pusher list`")


def _duty_commands(admin_sub: Subcommands, common: argparse.ArgumentParser) -> None:
    group = admin_sub.add_parser(
        "duty",
        help="duty hours: when a user's phones may be woken by pushes",
        description="Weekly duty hours per user or as the tenant's default (USER omitted), "
        "in the tenant's time_zone, and off/on duty switches. Outside duty nothing is pushed; "
        "when duty begins each phone gets one push with what is waiting.",
    )
    add = command_group(group, common, tenant="server_name of the tenant (default: the first)")

    def command(name: str, handler: Handler, text: str, *, user: str) -> argparse.ArgumentParser:
        p = add(name, handler, text)
        if user == "optional":
            p.add_argument(
                "user", metavar="USER", nargs="?", help=f"{USER_HELP}; none: the default"
            )
        else:
            p.add_argument("user", metavar="USER", help=USER_HELP)
        return p

    def target(svc: Services, args: argparse.Namespace) -> tuple[Any, str | None]:
        if args.user is None:
            return pick_tenant(svc, args.tenant), None
        return resolve_user(svc, args)

    async def show(args: argparse.Namespace, settings: Settings) -> int:
        async def work(svc: Services) -> int:
            tenant, user_id = target(svc, args)
            view = await svc.duty.view(tenant, user_id)
            print(f"time zone {tenant.policy.time_zone}")
            if user_id is not None:
                print(f"own hours: {_json(view.schedule)}")
                print(f"switch: {_json(view.switch)}")
                if view.own is not None:
                    print(f"set by the user: {_json(view.own)}")
            print(f"tenant default: {_json(view.default_schedule)}")
            print(
                f"{'on' if view.on_duty else 'off'} duty now; changes {when(view.next_change_ts)}"
            )
            return 0

        return await with_services(settings, work)

    async def set_hours(args: argparse.Namespace, settings: Settings) -> int:
        schedule = parse_hours(args.hours)

        async def work(svc: Services) -> int:
            tenant, user_id = target(svc, args)
            await svc.duty.set_schedule(tenant, cli_actor(), user_id, schedule)
            print(f"duty hours of {user_id or 'the tenant (default)'}: {_json(schedule)}")
            return 0

        return await with_services(settings, work)

    async def clear(args: argparse.Namespace, settings: Settings) -> int:
        async def work(svc: Services) -> int:
            tenant, user_id = target(svc, args)
            await svc.duty.set_schedule(tenant, cli_actor(), user_id, None)
            print(f"duty hours of {user_id or 'the tenant (default)'} cleared")
            return 0

        return await with_services(settings, work)

    def switch(state: str | None) -> Handler:
        async def handler(args: argparse.Namespace, settings: Settings) -> int:
            async def work(svc: Services) -> int:
                tenant, user_id = resolve_user(svc, args)
                value = None
                if state is not None:
                    until = getattr(args, "until", None)
                    now = svc.clock.time_ms()
                    value = {"state": state, "until": parse_expiry(until, now) if until else None}
                await svc.duty.set_switch(tenant, cli_actor(), user_id, value)
                print(f"{user_id}: {'back to the schedule' if state is None else state + ' duty'}")
                return 0

            return await with_services(settings, work)

        return handler

    command("show", show, "show duty hours, and whether the user is on duty now", user="optional")
    s = command("set", set_hours, "set weekly duty hours", user="optional")
    s.add_argument("--hours", action="append", required=True, help=_HOURS_HELP)
    command("clear", clear, "clear weekly duty hours", user="optional")
    for state, text in (("off", "off duty now"), ("on", "on duty now")):
        p = command(
            state,
            switch(state),
            f"{text}, until --until or the schedule's next change",
            user="required",
        )
        p.add_argument("--until", help="a duration (8h) or an ISO time")
    command("back", switch(None), "undo off/on: back to the schedule", user="required")


def _json(value: Any) -> str:
    return "none" if value is None else json.dumps(value, ensure_ascii=False)
