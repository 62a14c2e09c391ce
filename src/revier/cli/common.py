"""What every ``revier admin`` command group shares: the services of the
configured installation, picking the tenant and the user, showing a time.

Only the standard library and the settings are imported here: ``revier
--help`` and ``revier serve`` shouldn't wait for the storage layer to load.
"""

from __future__ import annotations

import argparse
import getpass
import secrets
import sys
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeAlias

from revier.config import Settings

if TYPE_CHECKING:
    from revier.services.container import Services
    from revier.services.core import Actor, Tenant

Handler = Callable[[argparse.Namespace, Settings], Coroutine[Any, Any, int]]
# What ``admin_sub.add_parser`` is called on: argparse names no public type for it.
Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
# add(name, handler, help_text, details="") -> the command's parser
AddCommand = Callable[..., argparse.ArgumentParser]

USER_HELP = "user ID (@anna.schmidt:police.example) or user name"
TENANT_HELP = "server_name of the tenant (default: the first one)"


def command_group(
    group: argparse.ArgumentParser, common: argparse.ArgumentParser, *, tenant: str | None = None
) -> AddCommand:
    """The ``add`` of a command group (``revier admin room …``): each command takes
    the common options, and ``--tenant`` with the help text ``tenant`` if given; its
    description is its help text, then ``details``."""
    group.set_defaults(handler=None)
    cmds = group.add_subparsers(title="commands", required=True)

    def add(
        name: str, handler: Handler, help_text: str, details: str = ""
    ) -> argparse.ArgumentParser:
        description = f"{help_text}. {details}" if details else help_text
        p: argparse.ArgumentParser = cmds.add_parser(
            name, parents=[common], help=help_text, description=description
        )
        if tenant is not None:
            p.add_argument("--tenant", help=tenant)
        p.set_defaults(handler=handler)
        return p

    return add


def password_options(p: argparse.ArgumentParser) -> None:
    group = p.add_mutually_exclusive_group()
    group.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    group.add_argument(
        "--generate-password",
        action="store_true",
        help="generate a random password and print it once",
    )


def read_password(args: argparse.Namespace) -> tuple[str, bool]:
    """The new password, and whether it was generated (and so must be printed)."""
    if args.generate_password:
        return secrets.token_urlsafe(18), True
    if args.password_stdin or not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n"), False
    first = getpass.getpass("Password: ")
    if getpass.getpass("Repeat: ") != first:
        raise SystemExit("revier: the passwords differ")
    return first, False


async def with_services(settings: Settings, work: Callable[[Services], Awaitable[int]]) -> int:
    """Run ``work`` with the services of the configured installation."""
    from revier.app import start_services
    from revier.logs import configure_logging

    configure_logging(settings.logging.model_copy(update={"level": "WARNING"}))
    svc = await start_services(settings)
    try:
        return await work(svc)
    finally:
        await svc.notifier.close()  # sends the wake-ups for the serving workers
        await svc.store.close()


def cli_actor() -> Actor:
    """Who the audit log names for a command: ``cli:<os user>`` from ``local``."""
    from revier.services.core import Actor

    return Actor.command_line()


def pick_tenant(svc: Services, name: str | None) -> Tenant:
    """The tenant ``--tenant`` names, or the first one configured."""
    if name:
        found = svc.tenants.get(name)
        if found is None:
            raise SystemExit(f"revier: no tenant {name!r} in the configuration")
        return found
    return next(iter(svc.tenants))


def resolve_user(svc: Services, args: argparse.Namespace) -> tuple[Tenant, str]:
    """The tenant and user ID that USER (and --tenant) name: a full user ID picks
    its own tenant."""
    user: str = args.user
    if user.startswith("@"):
        owner = svc.tenants.owning(user)
        if owner is None or (args.tenant and args.tenant != owner.server_name):
            raise SystemExit(f"revier: {user} is not a user of a tenant of this installation")
        return owner, user
    chosen = pick_tenant(svc, args.tenant)
    return chosen, chosen.user_id(user.lower())


def when(ts: int | None) -> str:
    """A timestamp in milliseconds as people read it (UTC), or "never"."""
    if ts is None:
        return "never"
    return datetime.fromtimestamp(ts / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")
