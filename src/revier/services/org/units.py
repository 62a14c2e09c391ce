"""Units: the organisation's tree per tenant, each unit shown as a space, with
members (a role each) and attached rooms (a rule each).

Every change is one transaction with its audit entry (never content: who,
which unit, which user or room). Room memberships follow in jobs queued in
that same transaction (``work.UnitWork``): done before the call returns for a
few users, in committed batches in the background for big units.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import structlog

from revier.errors import NotFound
from revier.services.core import Actor, AuditLog, Clock, Tenant, TenantRegistry
from revier.services.org import spaces
from revier.services.org.membership import MembershipWriter
from revier.services.org.model import (
    BulkAdd,
    MembershipChange,
    Role,
    Unit,
    check_external_id,
    check_name,
    check_role,
)
from revier.services.org.service_user import service_user
from revier.services.org.tree import TreeWriter, unit_row
from revier.services.org.work import UnitWork
from revier.services.rooms import Room, RoomCloser, RoomSteward, Written
from revier.storage import Conflict, Store, Tx
from revier.storage.org import OrgRepos
from revier.storage.org.units import UnitRow

ActorLike = str | Actor
log = structlog.get_logger(__name__)


def _actor(actor: ActorLike) -> Actor:
    return actor if isinstance(actor, Actor) else Actor(actor, None)


def _unit(row: UnitRow) -> Unit:
    return Unit(row.unit_id, row.external_id, row.name, row.parent_id, row.space_room_id)


class Units:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        audit: AuditLog,
        steward: RoomSteward,
        work: UnitWork,
        closer: RoomCloser,
        tenants: TenantRegistry,
    ) -> None:
        self._tenants = tenants
        self._tree = TreeWriter(clock, audit, steward)
        self._members = MembershipWriter(store, audit, work)
        self._store = store
        self._clock = clock
        self._audit = audit
        self._steward = steward
        self._work = work
        self._closer = closer

    async def start(self) -> None:
        """Start-up: every tenant's service account exists (its name is taken
        before anyone could register it), and unfinished room work resumes."""
        for tenant in self._tenants:
            for attempt in (1, 2):
                try:
                    async with self._store.transaction() as tx:
                        await service_user(tx, tenant, self._clock.time_ms())
                    break
                except Conflict:
                    if attempt == 2:  # another worker made it at the same moment: theirs stands
                        raise
                except Exception:  # one tenant's problem doesn't stop the others
                    log.exception("no service account for units", tenant=tenant.server_name)
                    break
        await self._work.resume_pending()

    # --- reading ------------------------------------------------------------

    async def get(self, tenant: Tenant, unit_id: str) -> Unit:
        async with self._store.read() as tx:
            return _unit(await self._row(tx, tenant, unit_id))

    async def get_by_external_id(self, tenant: Tenant, external_id: str) -> Unit | None:
        async with self._store.read() as tx:
            row = await OrgRepos.of(tx).units.by_external_id(tenant.server_name, external_id)
        return _unit(row) if row else None

    async def list_units(self, tenant: Tenant) -> list[Unit]:
        async with self._store.read() as tx:
            return [_unit(r) for r in await OrgRepos.of(tx).units.all(tenant.server_name)]

    async def memberships(self, tenant: Tenant, user_id: str) -> dict[str, Role]:
        async with self._store.read() as tx:
            roles = await OrgRepos.of(tx).unit_members.of_user(tenant.server_name, user_id)
        return {unit_id: check_role(role) for unit_id, role in roles.items()}

    async def members(self, tenant: Tenant, unit_id: str) -> list[tuple[str, Role]]:
        async with self._store.read() as tx:
            await self._row(tx, tenant, unit_id)
            rows = await OrgRepos.of(tx).unit_members.members(unit_id)
        return [(user_id, check_role(role)) for user_id, role in rows]

    async def member_count(self, tenant: Tenant, unit_id: str) -> int:
        async with self._store.read() as tx:
            await self._row(tx, tenant, unit_id)
            return await OrgRepos.of(tx).unit_members.count(unit_id)

    async def rooms(self, tenant: Tenant, unit_id: str) -> dict[str, str]:
        """room ID → rule."""
        async with self._store.read() as tx:
            await self._row(tx, tenant, unit_id)
            return await OrgRepos.of(tx).unit_rooms.of_unit(unit_id)

    async def pending_jobs(self, tenant: Tenant, unit_id: str) -> list[dict[str, Any]]:
        return await self._work.pending(tenant, unit_id)

    # --- the tree -----------------------------------------------------------

    async def create_unit(
        self,
        tenant: Tenant,
        *,
        name: str,
        parent_id: str | None,
        actor: ActorLike,
        external_id: str | None = None,
    ) -> Unit:
        name = check_name(name)
        if external_id is not None:
            check_external_id(external_id)
        written = Written()
        async with self._store.transaction() as tx:
            row = await self._tree.create(
                tx, tenant, name, parent_id, external_id, _actor(actor), written
            )
        self._work.notify(written)
        return _unit(row)

    async def ensure_unit(
        self,
        tenant: Tenant,
        *,
        external_id: str,
        name: str,
        parent_external_id: str | None,
        actor: str,
    ) -> Unit:
        """The directory's unit: created, or renamed and moved to match; idempotent."""
        check_external_id(external_id)
        name = check_name(name)
        written = Written()
        async with self._store.transaction() as tx:
            db = OrgRepos.of(tx).units
            parent_id: str | None = None
            if parent_external_id is not None:
                parent = await db.by_external_id(tenant.server_name, parent_external_id)
                if parent is None:
                    raise NotFound(f"No unit has the external ID {parent_external_id!r}")
                parent_id = parent.unit_id
            row = await db.by_external_id(tenant.server_name, external_id)
            if row is None:
                row = await self._tree.create(
                    tx, tenant, name, parent_id, external_id, _actor(actor), written
                )
            else:
                if row.name != name:
                    await self._tree.rename(tx, tenant, row, name, _actor(actor), written)
                if row.parent_id != parent_id:
                    await self._tree.move(tx, tenant, row, parent_id, _actor(actor), written)
                row = await self._row(tx, tenant, row.unit_id)
        self._work.notify(written)
        return _unit(row)

    async def rename(self, tenant: Tenant, unit_id: str, name: str, actor: ActorLike) -> Unit:
        name = check_name(name)
        written = Written()
        async with self._store.transaction() as tx:
            row = await self._row(tx, tenant, unit_id, lock=True)
            if row.name != name:
                await self._tree.rename(tx, tenant, row, name, _actor(actor), written)
            row = await self._row(tx, tenant, unit_id)
        self._work.notify(written)
        return _unit(row)

    async def move(
        self, tenant: Tenant, unit_id: str, parent_id: str | None, actor: ActorLike
    ) -> Unit:
        written = Written()
        async with self._store.transaction() as tx:
            row = await self._row(tx, tenant, unit_id, lock=True)
            if row.parent_id != parent_id:
                await self._tree.move(tx, tenant, row, parent_id, _actor(actor), written)
            row = await self._row(tx, tenant, unit_id)
        self._work.notify(written)
        return _unit(row)

    async def delete_unit(self, tenant: Tenant, unit_id: str, *, actor: ActorLike) -> None:
        """Its members leave its rooms (unless another unit gives them), the rooms
        are detached, child units move up to its parent, its space is closed."""
        who = _actor(actor)
        written = Written()
        async with self._store.transaction() as tx:
            db = OrgRepos.of(tx)
            row = await self._row(tx, tenant, unit_id, lock=True)
            service = await service_user(tx, tenant, self._clock.time_ms())
            for child in await db.units.children(tenant.server_name, unit_id):
                await self._tree.move(tx, tenant, child, row.parent_id, who, written)
            if row.parent_id is not None:
                parent = await self._row(tx, tenant, row.parent_id)
                await spaces.unlink(
                    tx,
                    self._steward,
                    tenant,
                    service,
                    parent.space_room_id,
                    row.space_room_id,
                    written,
                )
            rooms = await db.unit_rooms.of_unit(unit_id)
            for room_id in rooms:
                await spaces.unlink(
                    tx, self._steward, tenant, service, row.space_room_id, room_id, written
                )
            members = [u for u, _ in await db.unit_members.members(unit_id)]
            await db.unit_rooms.detach_all(unit_id)
            await db.unit_members.remove_all(unit_id)
            await db.units.delete(unit_id)
            job = await self._work.queue(
                tx,
                tenant,
                unit_id,
                list(rooms.items()),
                members,
                reason=f"The unit {row.name} was dissolved",
                actor=who.name,
            )
            await self._audit.record_as(
                tx,
                tenant,
                who,
                "unit.deleted",
                target=unit_id,
                details={"members": len(members), "rooms_detached": sorted(rooms)},
            )
        self._work.notify(written)
        await self._work.run([job] if job else [], tenant)
        space = await self._steward_room(row.space_room_id)
        if space is not None:
            # Closing takes every member out in batches of its own; it resumes at start-up.
            self._work.background(
                self._closer.close(tenant, space, who, f"The unit {row.name} was dissolved")
            )

    # --- members ------------------------------------------------------------

    async def set_memberships(
        self,
        tenant: Tenant,
        user_id: str,
        desired: Mapping[str, Role],
        *,
        actor: ActorLike,
        reason: str,
    ) -> MembershipChange:
        """The user's whole set of units (from one source): adds, removes and
        changes roles, then joins, invites and removes rooms to match."""
        wanted = dict(desired)
        return await self._members.change(
            tenant, user_id, lambda _: wanted, actor=_actor(actor), reason=reason
        )

    async def set_memberships_many(
        self,
        tenant: Tenant,
        computes: Mapping[str, Callable[[dict[str, Role]], Mapping[str, str]]],
        *,
        actor: ActorLike,
        reason: str,
    ) -> tuple[list[str], list[tuple[str, str]]]:
        """``set_memberships`` for many users in one transaction, each user's
        units computed from their current ones; the users changed, and those
        refused with why."""
        return await self._members.change_many(tenant, computes, actor=_actor(actor), reason=reason)

    async def add_member(
        self, tenant: Tenant, unit_id: str, user_id: str, role: str, actor: ActorLike
    ) -> MembershipChange:
        """One unit more (or another role in it), the user's other units unchanged."""
        checked = check_role(role)
        await self.get(tenant, unit_id)
        return await self._members.change(
            tenant, user_id, lambda now: {**now, unit_id: checked}, actor=_actor(actor), reason=""
        )

    async def add_members(
        self, tenant: Tenant, unit_id: str, members: Mapping[str, str], actor: ActorLike
    ) -> BulkAdd:
        return await self._members.add_many(tenant, unit_id, members, actor=_actor(actor))

    async def remove_member(
        self, tenant: Tenant, unit_id: str, user_id: str, actor: ActorLike
    ) -> MembershipChange:
        await self.get(tenant, unit_id)

        def without(now: dict[str, Role]) -> dict[str, Role]:
            if unit_id not in now:
                raise NotFound(f"{user_id} is not a member of this unit")
            return {u: r for u, r in now.items() if u != unit_id}

        return await self._members.change(tenant, user_id, without, actor=_actor(actor), reason="")

    # --- inside a transaction ----------------------------------------------

    async def _row(self, tx: Tx, tenant: Tenant, unit_id: str, *, lock: bool = False) -> UnitRow:
        return await unit_row(tx, tenant, unit_id, lock=lock)

    async def _steward_room(self, room_id: str) -> Room | None:
        async with self._store.read() as tx:
            return await self._steward.room(tx, room_id)
