"""Directory sync: one engine for every source. A source hands in its view of
the organisation (``DirectoryView``); the engine plans (``directory_plan``),
guards against a broken directory, applies (``directory_apply``) and audits.

The guard: a plan that would deactivate more than the tenant's
``directory.max_deactivate_share`` of the source's accounts is refused as a
whole — an LDAP server answering with an empty tree must not close the
organisation. The operator lets one such plan through on purpose with
``--allow-mass-deactivation``.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass

import structlog

from revier.errors import BadState, Forbidden
from revier.services.core import AuditLog, Tenant, TenantRegistry
from revier.services.org.batches import batches_for
from revier.services.org.directory_apply import Outcome, PlanApplier
from revier.services.org.directory_ldap import DirectoryUnavailable, read_directory
from revier.services.org.directory_plan import Plan, compute_plan
from revier.services.org.directory_units import UnitShape
from revier.services.org.directory_view import DirectoryView
from revier.storage import Store, Tx
from revier.storage.org import ManagedAccount, OrgRepos
from revier.storage.org.units import UnitRow

log = structlog.get_logger(__name__)

# One full sync at a time in the whole installation (several workers, the
# command line): two would plan the same creations.
SYNC_LOCK = 0x72657669_64697273  # "revidirs"

# The audit entry lists the accounts a sync changed up to this many per kind
# (the counts are always complete): a first sync of 25,000 accounts must not
# make one entry of a megabyte.
_AUDIT_IDS = 1000


def _directory_units(rows: list[UnitRow]) -> dict[str, UnitShape]:
    """revier's units from a directory: external ID → (name, parent's external ID)."""
    external = {r.unit_id: r.external_id for r in rows}
    return {
        r.external_id: (r.name, external.get(r.parent_id) if r.parent_id else None)
        for r in rows
        if r.external_id is not None
    }


async def _units_of(
    tx: Tx, user_ids: list[str], external: dict[str, str]
) -> dict[str, frozenset[str]]:
    """Each account → the external IDs of its directory units."""
    found: dict[str, set[str]] = {}
    if external and user_ids:
        for user_id, unit_id in await OrgRepos.of(tx).directory_accounts.unit_ids_of(user_ids):
            if unit_id in external:
                found.setdefault(user_id, set()).add(external[unit_id])
    return {user_id: frozenset(ids) for user_id, ids in found.items()}


class MassDeactivationRefused(Forbidden):
    def __init__(self, plan: Plan, limit: float) -> None:
        super().__init__(
            f"The sync would deactivate {len(plan.deactivations)} of {plan.managed_active} "
            f"directory accounts ({plan.deactivation_share:.0%}), more than the "
            f"directory.max_deactivate_share of {limit:.0%}: nothing was changed. Check the "
            "directory; if it is right, run the sync once with --allow-mass-deactivation "
            '(admin API: "allow_mass_deactivation": true)',
            counts=plan.counts(),
            managed=plan.managed_active,
        )
        self.plan = plan


@dataclass(frozen=True, slots=True)
class SyncResult:
    plan: Plan
    outcome: Outcome | None  # None: a dry run


class DirectorySync:
    def __init__(
        self,
        store: Store,
        tenants: TenantRegistry,
        audit: AuditLog,
        applier: PlanApplier,
    ) -> None:
        self._store = store
        self._tenants = tenants
        self._audit = audit
        self._applier = applier
        self.batches = batches_for(store.is_sqlite)  # per engine (org/batches.py)
        # One sync per tenant at a time in this process: two would plan the same creations.
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def plan(self, tenant: Tenant, view: DirectoryView) -> Plan:
        rows = None
        if view.has_units:
            async with self._store.read() as tx:
                rows = await OrgRepos.of(tx).units.all(tenant.server_name)
        # unit ID → external ID, of the directory's units (those made by hand are not the sync's)
        external = {r.unit_id: r.external_id for r in rows or () if r.external_id is not None}
        if view.complete:
            managed, memberships = await self._managed_pages(tenant, view, external)
        else:  # only the people the view names: a SCIM request is about one or a few
            async with self._store.read() as tx:
                managed = await OrgRepos.of(tx).directory_accounts.managed_of(
                    tenant.server_name, view.source, [p.external_id for p in view.people]
                )
                memberships = await _units_of(tx, [m.user_id for m in managed], external)
        mine = {m.user_id for m in managed}
        candidates = {tenant.user_id(p.localpart.lower()) for p in view.people}
        taken = await self._existing(sorted(candidates - mine))
        # Tens of thousands of accounts compared in Python: in a thread, so the
        # event loop answers requests meanwhile (it gets the GIL every few ms).
        return await asyncio.to_thread(
            compute_plan,
            tenant,
            view,
            managed,
            taken,
            memberships if rows is not None else None,
            _directory_units(rows) if rows is not None else None,
        )

    # The plan's reads, a page per read transaction with a turn of the loop in
    # between: on SQLite a statement runs on the event loop (sqlite_inline.py),
    # and one over every account held every request up. The pages are read
    # under the sync's lock, so no other sync changes them meanwhile; a SCIM
    # request or an admin that does is seen by the next sync (applying is
    # idempotent: a plan made of a stale page changes nothing twice).

    async def _managed_pages(
        self, tenant: Tenant, view: DirectoryView, external: dict[str, str]
    ) -> tuple[list[ManagedAccount], dict[str, frozenset[str]]]:
        """The source's accounts and (if the view has units) their directory units."""
        page = self.batches.plan_page
        managed: list[ManagedAccount] = []
        memberships: dict[str, frozenset[str]] = {}
        after: str | None = None
        while True:
            async with self._store.read() as tx:
                db = OrgRepos.of(tx).directory_accounts
                rows = await db.managed_page(
                    tenant.server_name, view.source, after=after, limit=page
                )
                if external and rows:
                    memberships |= await _units_of(tx, [m.user_id for m in rows], external)
            managed += rows
            if len(rows) < page:
                return managed, memberships
            after = rows[-1].user_id
            await asyncio.sleep(0)

    async def _existing(self, user_ids: list[str]) -> set[str]:
        page = self.batches.plan_page
        found: set[str] = set()
        for i in range(0, len(user_ids), page):
            if i:
                await asyncio.sleep(0)
            async with self._store.read() as tx:
                db = OrgRepos.of(tx).directory_accounts
                found |= await db.existing_users(user_ids[i : i + page])
        return found

    async def sync(
        self,
        tenant: Tenant,
        view: DirectoryView,
        *,
        dry_run: bool = False,
        allow_mass_deactivation: bool = False,
        requested_by: str | None = None,
    ) -> SyncResult:
        """Plan, and unless ``dry_run`` apply; MassDeactivationRefused when the
        guard stops it (a dry run shows the plan all the same). ``requested_by``:
        the admin who asked for it, for the audit log (None: the periodic sync)."""
        settings = tenant.settings.directory
        share = settings.max_deactivate_share if settings else 0.05
        batch = settings.batch_size if settings else 200
        async with self._locks[tenant.server_name], self._exclusive(view) as mine:
            if not mine:
                raise BadState(
                    "Another directory sync of this installation is under way; "
                    "try again when it is done"
                )
            plan = await self.plan(tenant, view)
            if dry_run:
                return SyncResult(plan, None)
            # The guard is for a whole directory read at once; a SCIM request
            # names the one account it closes.
            refuse = view.complete and plan.deactivation_share > share
            if refuse and not allow_mass_deactivation:
                await self._audit.record_now(
                    tenant,
                    "directory.sync_refused",
                    actor=f"directory:{view.source}",
                    details={
                        "counts": plan.counts(),
                        "managed": plan.managed_active,
                        "requested_by": requested_by,
                    },
                )
                raise MassDeactivationRefused(plan, share)
            outcome = await self._applier.apply(tenant, plan, batch_size=batch)
            await self._record(tenant, plan, outcome, allow_mass_deactivation, requested_by)
        log.info(
            "directory synced", tenant=tenant.server_name, source=view.source, **outcome.counts()
        )
        return SyncResult(plan, outcome)

    def _exclusive(self, view: DirectoryView) -> AbstractAsyncContextManager[bool]:
        """The installation-wide lock for a full view; a SCIM request's partial
        one needs only this process's lock."""
        if view.complete:
            return self._store.exclusive(SYNC_LOCK)
        return nullcontext(True)

    async def sync_ldap(
        self,
        tenant: Tenant,
        *,
        dry_run: bool = False,
        allow_mass_deactivation: bool = False,
        requested_by: str | None = None,
    ) -> SyncResult:
        """Read the tenant's LDAP directory (in a thread: ldap3 blocks) and sync it."""
        ldap = tenant.settings.directory.ldap if tenant.settings.directory else None
        if ldap is None:
            raise DirectoryUnavailable(f"tenant {tenant.server_name} has no directory.ldap")
        view = await asyncio.to_thread(read_directory, ldap)
        return await self.sync(
            tenant,
            view,
            dry_run=dry_run,
            allow_mass_deactivation=allow_mass_deactivation,
            requested_by=requested_by,
        )

    async def run_periodic(self) -> None:
        """Background task of a serving process: each tenant's LDAP sync at its
        interval. A failed or refused sync is logged and tried again next time."""
        due: dict[str, float] = {}
        loop = asyncio.get_running_loop()
        while True:
            for tenant in self._tenants:
                directory = tenant.settings.directory
                ldap = directory.ldap if directory else None
                if ldap is None or ldap.sync_interval_seconds == 0:
                    continue
                if loop.time() < due.get(tenant.server_name, 0):
                    continue
                due[tenant.server_name] = loop.time() + ldap.sync_interval_seconds
                try:
                    await self.sync_ldap(tenant)
                except MassDeactivationRefused as e:
                    log.error("directory sync refused", tenant=tenant.server_name, error=e.error)
                except BadState:
                    log.info("directory sync left to another worker", tenant=tenant.server_name)
                except DirectoryUnavailable as e:
                    log.error("directory unreachable", tenant=tenant.server_name, error=str(e))
                except Exception:
                    log.exception("directory sync failed", tenant=tenant.server_name)
            await asyncio.sleep(5)

    async def _record(
        self, tenant: Tenant, plan: Plan, outcome: Outcome, forced: bool, requested_by: str | None
    ) -> None:
        if plan.empty and not outcome.failed:
            return  # a periodic sync that found nothing to do leaves no entry
        details: dict[str, object] = {
            "counts": outcome.counts(),
            "refused": len(plan.refusals),
            "created": outcome.created[:_AUDIT_IDS],
            "updated": outcome.updated[:_AUDIT_IDS],
            "moved": outcome.moved[:_AUDIT_IDS],
            "deactivated": outcome.deactivated[:_AUDIT_IDS],
            "failed": [user_id for user_id, _ in outcome.failed[:_AUDIT_IDS]],
        }
        if forced:
            details["mass_deactivation_allowed"] = True
        if requested_by is not None:
            details["requested_by"] = requested_by
        await self._audit.record_now(
            tenant, "directory.sync", actor=f"directory:{plan.source}", details=details
        )
