"""``revier admin user unlock|lock-state|factors|reset-factors``: the help desk's
part of signing in — the same services as the admin API, audited with the actor
``cli:<os user>`` from ``local``. Second factors are listed by kind and name;
nothing of a secret is ever shown."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from typing import TYPE_CHECKING

from revier.cli.common import USER_HELP, AddCommand, cli_actor, resolve_user, when, with_services
from revier.config import Settings

if TYPE_CHECKING:
    from revier.services.container import Services

_UNLOCK_HELP = (
    "lift an account's lock, whoever set it (the lockout after too many failed "
    "passwords or codes, or an admin), and forget its failed sign-ins: its sessions "
    "work again as they were"
)
_RESET_HELP = (
    "remove every second factor (authenticator app, passkeys) and recovery code of an "
    "account, e.g. after a lost phone; the user enrols again (at the next sign-in "
    "where the tenant requires a second factor)"
)


def add_signin_commands(add: AddCommand) -> None:
    async def unlock(args: argparse.Namespace, settings: Settings) -> int:
        async def work(svc: Services) -> int:
            tenant, user_id = resolve_user(svc, args)
            actor = cli_actor()
            await svc.signin_attempts.unlock(
                tenant, user_id, admin=actor.name, address=actor.source or "local"
            )
            print(f"{user_id} is unlocked")
            return 0

        return await with_services(settings, work)

    async def lock_state(args: argparse.Namespace, settings: Settings) -> int:
        async def work(svc: Services) -> int:
            tenant, user_id = resolve_user(svc, args)
            state = await svc.signin_attempts.state(tenant, user_id)
            if args.json:
                print(json.dumps(asdict(state), indent=2))
                return 0
            locked = f"locked ({state.reason})" if state.locked else "not locked"
            since = f" since {when(state.locked_ts)}" if state.locked_ts else ""
            print(f"{user_id}: {locked}{since}; {state.failures} failed sign-ins counted")
            if state.retry_after_ms:
                print(f"next attempt allowed in {state.retry_after_ms / 1000:.0f} s")
            return 0

        return await with_services(settings, work)

    async def factors(args: argparse.Namespace, settings: Settings) -> int:
        async def work(svc: Services) -> int:
            tenant, user_id = resolve_user(svc, args)
            enrolled = await svc.second_factors.factors(tenant, user_id)
            status = await svc.second_factors.status(tenant, user_id)
            for f in enrolled:
                used = when(f.last_used_ts) if f.last_used_ts else "never used"
                print(f"{f.id}  {f.kind:<8}  {f.name}  (added {when(f.created_ts)}, {used})")
            if not enrolled:
                print(f"{user_id} has no second factor")
            print(f"recovery codes left: {status.recovery_codes_left}")
            return 0

        return await with_services(settings, work)

    async def reset(args: argparse.Namespace, settings: Settings) -> int:
        async def work(svc: Services) -> int:
            tenant, user_id = resolve_user(svc, args)
            actor = cli_actor()
            await svc.second_factors.reset(
                tenant, user_id, admin=actor.name, address=actor.source or "local"
            )
            print(f"{user_id} has no second factor now")
            return 0

        return await with_services(settings, work)

    p = add("unlock", unlock, _UNLOCK_HELP)
    p.add_argument("user", metavar="USER", help=USER_HELP)
    p = add("lock-state", lock_state, "whether an account is locked, and its failed sign-ins")
    p.add_argument("user", metavar="USER", help=USER_HELP)
    p.add_argument("--json", action="store_true", help="print JSON")
    p = add("factors", factors, "list an account's second factors (kinds and names only)")
    p.add_argument("user", metavar="USER", help=USER_HELP)
    p = add("reset-factors", reset, _RESET_HELP)
    p.add_argument("user", metavar="USER", help=USER_HELP)
