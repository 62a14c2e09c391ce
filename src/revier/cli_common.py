"""What every ``revier admin`` command group shares: the services of the
configured installation, picking the tenant and the user, showing a time.

Only the standard library and the settings are imported here: ``revier
--help`` and ``revier serve`` shouldn't wait for the storage layer to load.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

from revier.config import Settings

Handler = Callable[[argparse.Namespace, Settings], Coroutine[Any, Any, int]]
WithServices = Callable[[Settings, Callable[[Any], Awaitable[int]]], Awaitable[int]]

USER_HELP = "user ID (@anna.schmidt:police.example) or user name"


async def with_services(settings: Settings, work: Callable[[Any], Awaitable[int]]) -> int:
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


def cli_actor() -> Any:
    """Who the audit log names for a command: ``cli:<os user>`` from ``local``."""
    from revier.services.audit import Actor

    return Actor.command_line()


def pick_tenant(svc: Any, name: str | None) -> Any:
    """The tenant ``--tenant`` names, or the first one configured."""
    if name:
        found = svc.tenants.get(name)
        if found is None:
            raise SystemExit(f"revier: no tenant {name!r} in the configuration")
        return found
    return next(iter(svc.tenants))


def resolve_user(svc: Any, args: argparse.Namespace) -> tuple[Any, str]:
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
