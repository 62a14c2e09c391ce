"""``revier admin units …``: the organisation's units — the tree, each unit's
rooms (with a rule) and members (with a role).

Audited as ``cli:<os user>`` from ``local``. Room work a change causes runs
here to the end before the command returns (a running server would resume it
too, should this process be stopped).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from revier.cli.common import (
    TENANT_HELP,
    Subcommands,
    cli_actor,
    command_group,
    pick_tenant,
    resolve_user,
    with_services,
)
from revier.config import Settings

if TYPE_CHECKING:
    from revier.services.container import Services
    from revier.services.core import Tenant

Work = Callable[["Services", "Tenant", argparse.Namespace], Awaitable[Any]]


def add_unit_commands(admin_sub: Subcommands, common: argparse.ArgumentParser) -> None:
    units = admin_sub.add_parser(
        "units",
        help="the organisation's units: tree, rooms, members",
        description=(
            "The organisation's units: a tree per tenant, each shown to its members as a "
            "Matrix space; rooms attached with a rule (auto_join, invite, announce) and "
            "members with a role (member, lead), whose rooms follow their units."
        ),
    )
    add = command_group(units, common, tenant=TENANT_HELP)

    def run(work: Work) -> Callable[[argparse.Namespace, Settings], Awaitable[int]]:
        async def handler(args: argparse.Namespace, settings: Settings) -> int:
            async def go(svc: Services) -> int:
                tenant = pick_tenant(svc, args.tenant)
                result = await work(svc, tenant, args)
                await svc.unit_work.finish(tenant)
                if result is not None:
                    print(json.dumps(result, indent=2))
                return 0

            return await with_services(settings, go)

        return handler

    lst = add("list", run(_list), "show the tree of units")
    lst.add_argument("--json", action="store_true", help="print JSON instead of an indented tree")
    shw = add("show", run(_show), "show one unit, its rooms and members")
    shw.add_argument("unit", help="unit ID")
    crt = add("create", run(_create), "create a unit (and its space)")
    crt.add_argument("name")
    crt.add_argument("--parent", help="the parent unit's ID (default: a top unit)")
    crt.add_argument("--external-id", help="the directory's ID of the unit")
    ren = add("rename", run(_rename), "rename a unit")
    ren.add_argument("unit")
    ren.add_argument("name")
    mov = add("move", run(_move), "move a unit under another (never under itself or a sub-unit)")
    mov.add_argument("unit")
    mov.add_argument("--parent", help="the new parent's ID (omit: to the top)")
    dlt = add(
        "delete",
        run(_delete),
        "dissolve a unit",
        "Its members leave its rooms (unless another unit gives them), its rooms are "
        "detached, its sub-units move up, its space is closed.",
    )
    dlt.add_argument("unit")
    att = add("attach", run(_attach), "attach a room to a unit with a rule")
    att.add_argument("unit")
    att.add_argument("rule", choices=["auto_join", "invite", "announce"])
    which = att.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--room", help="an existing room (the service account must be in it with power)"
    )
    which.add_argument("--new", metavar="NAME", help="create a new room of this name for the unit")
    det = add("detach", run(_detach), "detach a room from a unit")
    det.add_argument("unit")
    det.add_argument("room")
    mem = add("members", run(_members), "list a unit's members and their roles")
    mem.add_argument("unit")
    adm = add("add-member", run(_add_member), "add a member to a unit (or change their role)")
    adm.add_argument("unit")
    adm.add_argument("user", help="user ID or user name")
    adm.add_argument("--role", choices=["member", "lead"], default="member")
    rmm = add("remove-member", run(_remove_member), "remove a member from a unit")
    rmm.add_argument("unit")
    rmm.add_argument("user", help="user ID or user name")


async def _list(svc: Services, tenant: Tenant, args: argparse.Namespace) -> Any:
    units = await svc.units.list_units(tenant)
    if args.json:
        return [u.__dict__ for u in units]
    children: dict[str | None, list[Any]] = {}
    for unit in units:
        children.setdefault(unit.parent_id, []).append(unit)

    def show(parent: str | None, depth: int) -> None:
        for unit in children.get(parent, []):
            print(f"{'  ' * depth}{unit.name}  [{unit.unit_id}]")
            show(unit.unit_id, depth + 1)

    show(None, 0)
    print(f"{len(units)} units", file=sys.stderr)
    return None


async def _show(svc: Services, tenant: Tenant, args: argparse.Namespace) -> Any:
    unit = await svc.units.get(tenant, args.unit)
    rooms = await svc.units.rooms(tenant, args.unit)
    members = await svc.units.members(tenant, args.unit)
    return {**unit.__dict__, "rooms": rooms, "member_count": len(members)}


async def _create(svc: Services, tenant: Tenant, args: argparse.Namespace) -> Any:
    unit = await svc.units.create_unit(
        tenant,
        name=args.name,
        parent_id=args.parent,
        external_id=args.external_id,
        actor=cli_actor(),
    )
    return unit.__dict__


async def _rename(svc: Services, tenant: Tenant, args: argparse.Namespace) -> Any:
    return (await svc.units.rename(tenant, args.unit, args.name, cli_actor())).__dict__


async def _move(svc: Services, tenant: Tenant, args: argparse.Namespace) -> Any:
    return (await svc.units.move(tenant, args.unit, args.parent, cli_actor())).__dict__


async def _delete(svc: Services, tenant: Tenant, args: argparse.Namespace) -> Any:
    await svc.units.delete_unit(tenant, args.unit, actor=cli_actor())
    print(f"dissolved {args.unit}", file=sys.stderr)
    return None


async def _attach(svc: Services, tenant: Tenant, args: argparse.Namespace) -> Any:
    room_id = await svc.unit_rooms.attach(
        tenant, args.unit, room_id=args.room, name=args.new, rule=args.rule, actor=cli_actor()
    )
    return {"room_id": room_id, "rule": args.rule}


async def _detach(svc: Services, tenant: Tenant, args: argparse.Namespace) -> Any:
    await svc.unit_rooms.detach(tenant, args.unit, args.room, cli_actor())
    print(f"detached {args.room}", file=sys.stderr)
    return None


async def _members(svc: Services, tenant: Tenant, args: argparse.Namespace) -> Any:
    for user_id, role in await svc.units.members(tenant, args.unit):
        print(f"{user_id}\t{role}")
    return None


async def _add_member(svc: Services, tenant: Tenant, args: argparse.Namespace) -> Any:
    _, user_id = resolve_user(svc, args)
    change = await svc.units.add_member(tenant, args.unit, user_id, args.role, cli_actor())
    return {"user_id": user_id, "role": args.role, "job_ids": list(change.job_ids)}


async def _remove_member(svc: Services, tenant: Tenant, args: argparse.Namespace) -> Any:
    _, user_id = resolve_user(svc, args)
    change = await svc.units.remove_member(tenant, args.unit, user_id, cli_actor())
    return {"user_id": user_id, "job_ids": list(change.job_ids)}
