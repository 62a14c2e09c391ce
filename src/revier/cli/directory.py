"""``revier admin directory …``: sync the tenant's LDAP directory now (or show
what a sync would do), and issue SCIM tokens — the same services as the admin
API and the periodic sync, audited with the actor ``cli:<os user>``."""

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
    from revier.services.org import Plan


def add_directory_commands(admin_sub: Subcommands, common: argparse.ArgumentParser) -> None:
    group = admin_sub.add_parser(
        "directory",
        help="the organisation's directory (LDAP, SCIM): sync now, SCIM tokens",
        description="Accounts and units from the directory. Only accounts the directory "
        "made are changed; a sync never reactivates an account.",
    )
    add = command_group(group, common, tenant=TENANT_HELP)

    async def sync(args: argparse.Namespace, settings: Settings) -> int:
        async def work(svc: Services) -> int:
            from revier.services.org import DirectoryUnavailable, MassDeactivationRefused

            tenant = pick_tenant(svc, args.tenant)
            try:
                result = await svc.org_directory.sync.sync_ldap(
                    tenant,
                    dry_run=args.dry_run,
                    allow_mass_deactivation=args.allow_mass_deactivation,
                    requested_by=cli_actor().name,
                )
            except MassDeactivationRefused as e:
                _show(e.plan, args.json)
                print(f"revier: {e.error}")
                return 1
            except DirectoryUnavailable as e:
                print(f"revier: the directory can't be read: {e}", file=sys.stderr)
                return 1
            _show(result.plan, args.json)
            if result.outcome is not None:
                # The room work of big units runs in the background: this process
                # ends after the command, so it finishes it first.
                await svc.unit_work.finish(tenant)
            if result.outcome is None:
                print("dry run: nothing was changed")
            else:
                counts = result.outcome.counts()
                print("done: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
                for user_id, why in result.outcome.failed:
                    print(f"  failed {user_id}: {why}")
            return 0

        return await with_services(settings, work)

    p = add(
        "sync",
        sync,
        "read the tenant's LDAP directory and bring its accounts in line",
        "Creates accounts for new people, updates display names, moves people between "
        "units and deactivates those gone or disabled. Refused as a whole when it would "
        "deactivate more than directory.max_deactivate_share of the accounts.",
    )
    p.add_argument("--dry-run", action="store_true", help="show the plan, change nothing")
    p.add_argument(
        "--allow-mass-deactivation",
        action="store_true",
        help="let this one sync deactivate more than directory.max_deactivate_share",
    )
    p.add_argument("--json", action="store_true", help="the plan as JSON")

    async def scim_token(args: argparse.Namespace, settings: Settings) -> int:
        async def work(svc: Services) -> int:
            tenant = pick_tenant(svc, args.tenant)
            if args.revoke_all:
                n = await svc.org_directory.scim_tokens.revoke_all(tenant, cli_actor().name)
                print(f"revoked {n} SCIM token(s) of {tenant.server_name}")
                return 0
            token = await svc.org_directory.scim_tokens.issue(tenant, cli_actor().name)
            print(f"SCIM bearer token for {tenant.server_name} (shown this once):\n{token}")
            return 0

        return await with_services(settings, work)

    p = add(
        "scim-token",
        scim_token,
        "issue a bearer token for the identity provider's SCIM client",
        "Only its hash is kept: copy it into the identity provider now.",
    )
    p.add_argument("--revoke-all", action="store_true", help="revoke the tenant's issued tokens")


def _show(plan: Plan, as_json: bool) -> None:
    described: dict[str, Any] = plan.describe()
    if as_json:
        print(json.dumps(described, indent=2))
        return
    counts = described["counts"]
    print("plan: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    for c in described["create"]:
        print(
            f"  create {c['user_id']}" + (f" units {', '.join(c['units'])}" if c["units"] else "")
        )
    for u in described["update"]:
        print(f"  update {u['user_id']} display name")
    for m in described["move"]:
        print(f"  move {m['user_id']} join {m['join']} leave {m['leave']}")
    for d in described["deactivate"]:
        print(f"  deactivate {d['user_id']} ({d['reason']})")
    for r in described["refused"]:
        print(f"  refused {r['user_id'] or r['external_id']}: {r['reason']}")
