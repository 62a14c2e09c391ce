"""``revier admin media …``: quarantine, list and delete uploads (never their content)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from revier.cli.common import Subcommands, cli_actor, command_group, with_services
from revier.config import Settings

if TYPE_CHECKING:
    from revier.services.container import Services
    from revier.services.core import Tenant


def add_media_commands(admin_sub: Subcommands, common: argparse.ArgumentParser) -> None:
    media = admin_sub.add_parser("media", help="uploaded files (pictures, videos, files)")
    add = command_group(media, common)

    async def quarantine(args: argparse.Namespace, settings: Settings) -> int:
        server_name, media_id = _parse_mxc(args.mxc)

        async def work(svc: Services) -> int:
            await svc.media_admin.set_quarantined(
                _local_tenant(svc, server_name),
                cli_actor(),
                server_name,
                media_id,
                not args.release,
            )
            state = "released from quarantine" if args.release else "quarantined"
            print(f"mxc://{server_name}/{media_id} {state}")
            return 0

        return await with_services(settings, work)

    async def list_user_media(args: argparse.Namespace, settings: Settings) -> int:
        async def work(svc: Services) -> int:
            records, total = await svc.media_admin.list_user_media(
                _user_tenant(svc, args.user), args.user
            )
            for r in records:
                flags = " [quarantined]" if r.quarantined else ""
                size = "pending" if r.size is None else f"{r.size} bytes"
                print(f"mxc://{r.server_name}/{r.media_id}  {size}  {r.content_type or '-'}{flags}")
            print(f"{len(records)} items, {total} bytes")
            return 0

        return await with_services(settings, work)

    async def delete_user_media(args: argparse.Namespace, settings: Settings) -> int:
        async def work(svc: Services) -> int:
            count = await svc.media_admin.delete_user_media(
                _user_tenant(svc, args.user), cli_actor(), args.user
            )
            print(f"deleted {count} items of {args.user}")
            return 0

        return await with_services(settings, work)

    q = add("quarantine", quarantine, "make one upload unavailable to everyone (kept on disk)")
    q.add_argument("mxc", help="mxc://server/media_id")
    q.add_argument("--release", action="store_true", help="serve it again")
    lst = add("list-user-media", list_user_media, "list one user's uploads with their sizes")
    lst.add_argument("user", help="full user ID, e.g. @anna:police.example")
    rm = add("delete-user-media", delete_user_media, "delete all uploads of one user")
    rm.add_argument("user", help="full user ID, e.g. @anna:police.example")


def _parse_mxc(value: str) -> tuple[str, str]:
    rest = value.removeprefix("mxc://")
    server_name, _, media_id = rest.partition("/")
    if not server_name or not media_id:
        raise SystemExit(f"revier: {value!r} is not an mxc:// URI")
    return server_name, media_id


def _user_tenant(svc: Services, user_id: str) -> Tenant:
    tenant = svc.tenants.owning(user_id)
    if tenant is None:
        raise SystemExit(f"revier: {user_id} is not a user of a tenant of this installation")
    return tenant


def _local_tenant(svc: Services, server_name: str) -> Tenant:
    tenant = svc.tenants.get(server_name)
    if tenant is None:
        raise SystemExit(f"revier: {server_name!r} is not a tenant of this installation")
    return tenant
