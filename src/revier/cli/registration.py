"""``revier admin registration-token …``: the help desk's registration tokens.

The admin HTTP API has the same operations (``api/admin/registration_tokens.py``);
both go through ``RegistrationTokens``, which audits every change.
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from revier.cli.common import TENANT_HELP, cli_actor, command_group, pick_tenant, with_services
from revier.config import Settings

if TYPE_CHECKING:
    from revier.services.accounts import RegistrationToken
    from revier.services.container import Services

_DURATION = re.compile(r"^(\d+)([smhdw])$")
_UNIT_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}


def registration_token_commands(
    parser: argparse.ArgumentParser, common: argparse.ArgumentParser
) -> None:
    add = command_group(parser, common, tenant=TENANT_HELP)

    create = add(
        "create",
        _create,
        "create a token; it is printed once (hand it to the newcomer) and stored only hashed",
    )
    create.add_argument("--uses", type=int, help="how many accounts it may create (default: any)")
    create.add_argument(
        "--expires", help="when it stops working: a duration (30m, 12h, 7d, 2w) or an ISO time"
    )
    create.add_argument(
        "--token", help="choose the token yourself (A-Z a-z 0-9 . _ ~ -, at most 64)"
    )
    create.add_argument(
        "--displayname-pattern",
        help="display name of new accounts, '{localpart}' is replaced (default: the user name)",
    )
    create.add_argument("--max-devices", type=int, help="device limit of new accounts")

    add("list", _list, "list the tenant's tokens (ids and counters, never the tokens)")

    show = add("show", _show, "show one token's counters and limits")
    show.add_argument("token", help="token id (from list) or the token itself")

    update = add("update", _update, "change a token's limits")
    update.add_argument("token", help="token id (from list) or the token itself")
    uses = update.add_mutually_exclusive_group()
    uses.add_argument("--uses", type=int, help="new number of uses allowed")
    uses.add_argument("--unlimited", action="store_true", help="no limit on uses")
    expiry = update.add_mutually_exclusive_group()
    expiry.add_argument("--expires", help="new expiry: a duration (7d) or an ISO time")
    expiry.add_argument("--never-expires", action="store_true", help="remove the expiry")

    delete = add("delete", _delete, "delete a token: it can't be used any more")
    delete.add_argument("token", help="token id (from list) or the token itself")


def parse_expiry(value: str, now_ms: int) -> int:
    """``7d`` (from now) or an ISO 8601 time (UTC when it has no zone) → ms since the epoch."""
    if match := _DURATION.match(value.strip()):
        return now_ms + int(match.group(1)) * _UNIT_MS[match.group(2)]
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise SystemExit(
            f"revier: --expires {value!r} is neither like 7d nor an ISO time"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1000)


def _format_ts(ms: int | None) -> str:
    if ms is None:
        return "never"
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _describe(info: RegistrationToken) -> list[str]:
    uses = "unlimited" if info.uses_allowed is None else str(info.uses_allowed)
    return [
        f"token_id:      {info.token_id}",
        f"uses_allowed:  {uses}",
        f"pending:       {info.pending}",
        f"completed:     {info.completed}",
        f"expiry_time:   {_format_ts(info.expiry_time)}",
        f"created:       {_format_ts(info.created_ts)}",
        f"displayname:   {info.displayname_pattern or '(user name)'}",
        f"max_devices:   {info.max_devices or '(tenant default)'}",
    ]


async def _create(args: argparse.Namespace, settings: Settings) -> int:
    async def work(svc: Services) -> int:
        tenant = pick_tenant(svc, args.tenant)
        now = svc.clock.time_ms()
        new = await svc.registration_tokens.create(
            tenant,
            cli_actor(),
            uses_allowed=args.uses,
            expiry_time=parse_expiry(args.expires, now) if args.expires else None,
            token=args.token,
            displayname_pattern=args.displayname_pattern,
            max_devices=args.max_devices,
        )
        if tenant.policy.registration != "token":
            print(
                f"note: tenant {tenant.server_name} has registration = "
                f'"{tenant.policy.registration}"; set it to "token" for tokens to work',
                file=sys.stderr,
            )
        print("\n".join(_describe(new.info)))
        # The only time the token is shown: it is stored hashed.
        print(f"token:         {new.token}")
        return 0

    return await with_services(settings, work)


async def _list(args: argparse.Namespace, settings: Settings) -> int:
    async def work(svc: Services) -> int:
        now = svc.clock.time_ms()
        for info in await svc.registration_tokens.list(pick_tenant(svc, args.tenant)):
            uses = "∞" if info.uses_allowed is None else str(info.uses_allowed)
            state = "valid" if info.usable(now) else "invalid"
            print(
                f"{info.token_id}  {info.completed}/{uses} used, {info.pending} pending, "
                f"expires {_format_ts(info.expiry_time)}  [{state}]"
            )
        return 0

    return await with_services(settings, work)


async def _show(args: argparse.Namespace, settings: Settings) -> int:
    async def work(svc: Services) -> int:
        info = await svc.registration_tokens.get(pick_tenant(svc, args.tenant), args.token)
        print("\n".join(_describe(info)))
        return 0

    return await with_services(settings, work)


async def _update(args: argparse.Namespace, settings: Settings) -> int:
    async def work(svc: Services) -> int:
        tenant = pick_tenant(svc, args.tenant)
        current = await svc.registration_tokens.get(tenant, args.token)
        uses = current.uses_allowed
        if args.unlimited:
            uses = None
        elif args.uses is not None:
            uses = args.uses
        expiry = current.expiry_time
        if args.never_expires:
            expiry = None
        elif args.expires:
            expiry = parse_expiry(args.expires, svc.clock.time_ms())
        info = await svc.registration_tokens.update(
            tenant, cli_actor(), current.token_id, uses_allowed=uses, expiry_time=expiry
        )
        print("\n".join(_describe(info)))
        return 0

    return await with_services(settings, work)


async def _delete(args: argparse.Namespace, settings: Settings) -> int:
    async def work(svc: Services) -> int:
        tenant = pick_tenant(svc, args.tenant)
        info = await svc.registration_tokens.get(tenant, args.token)
        await svc.registration_tokens.delete(tenant, cli_actor(), info.token_id)
        print(f"deleted registration token {info.token_id}")
        return 0

    return await with_services(settings, work)
