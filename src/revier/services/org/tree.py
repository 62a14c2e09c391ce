"""Changing the tree of units: create, rename, move — each in the caller's
transaction, with its space kept in step and its audit entry."""

from __future__ import annotations

import secrets

from revier.errors import InvalidParam, NotFound
from revier.services.core import Actor, AuditLog, Clock, Tenant
from revier.services.org import spaces
from revier.services.org.service_user import service_user
from revier.services.rooms import RoomSteward, Written
from revier.storage import Tx
from revier.storage.org import OrgRepos
from revier.storage.org.units import UnitRow

MAX_UNIT_ID_LENGTH = 64


async def unit_row(tx: Tx, tenant: Tenant, unit_id: str, *, lock: bool = False) -> UnitRow:
    """The tenant's unit; another tenant's is "no such unit" alike."""
    db = OrgRepos.of(tx).units
    if not isinstance(unit_id, str) or len(unit_id) > MAX_UNIT_ID_LENGTH:
        raise NotFound("No such unit")
    row = await (db.lock if lock else db.get)(tenant.server_name, unit_id)
    if row is None:
        raise NotFound("No such unit")
    return row


class TreeWriter:
    def __init__(self, clock: Clock, audit: AuditLog, steward: RoomSteward) -> None:
        self._clock = clock
        self._audit = audit
        self._steward = steward

    async def create(
        self,
        tx: Tx,
        tenant: Tenant,
        name: str,
        parent_id: str | None,
        external_id: str | None,
        actor: Actor,
        written: Written,
    ) -> UnitRow:
        now = self._clock.time_ms()
        db = OrgRepos.of(tx).units
        parent = await unit_row(tx, tenant, parent_id) if parent_id is not None else None
        if external_id is not None and await db.by_external_id(tenant.server_name, external_id):
            raise InvalidParam(f"A unit with the external ID {external_id!r} exists")
        service = await service_user(tx, tenant, now)
        space = await self._steward.create_room(
            tx, tenant, service, name=name, space=True, now=now, written=written
        )
        row = UnitRow(
            secrets.token_hex(8), tenant.server_name, external_id, name, parent_id, space, now
        )
        await db.insert(row)
        if parent is not None:
            await spaces.link(
                tx, self._steward, tenant, service, parent.space_room_id, space, written
            )
        await self._audit.record_as(
            tx,
            tenant,
            actor,
            "unit.created",
            target=row.unit_id,
            details={"parent_id": parent_id, "external_id": external_id, "space_room_id": space},
        )
        return row

    async def rename(
        self, tx: Tx, tenant: Tenant, row: UnitRow, name: str, actor: Actor, written: Written
    ) -> None:
        service = await service_user(tx, tenant, self._clock.time_ms())
        await OrgRepos.of(tx).units.rename(row.unit_id, name)
        await spaces.rename(tx, self._steward, tenant, service, row.space_room_id, name, written)
        await self._audit.record_as(tx, tenant, actor, "unit.renamed", target=row.unit_id)

    async def move(
        self,
        tx: Tx,
        tenant: Tenant,
        row: UnitRow,
        parent_id: str | None,
        actor: Actor,
        written: Written,
    ) -> None:
        """Refuses a move under the unit itself or one of its descendants (a cycle)."""
        db = OrgRepos.of(tx).units
        parents = await db.parents(tenant.server_name)
        if parent_id is not None:
            if parent_id not in parents:
                raise NotFound("No such parent unit")
            ancestor: str | None = parent_id
            while ancestor is not None:
                if ancestor == row.unit_id:
                    raise InvalidParam("A unit can't be moved under itself or its own sub-units")
                ancestor = parents.get(ancestor)
        service = await service_user(tx, tenant, self._clock.time_ms())
        if row.parent_id is not None:
            old = await unit_row(tx, tenant, row.parent_id)
            await spaces.unlink(
                tx, self._steward, tenant, service, old.space_room_id, row.space_room_id, written
            )
        if parent_id is not None:
            new = await unit_row(tx, tenant, parent_id)
            await spaces.link(
                tx, self._steward, tenant, service, new.space_room_id, row.space_room_id, written
            )
        await db.move(row.unit_id, parent_id)
        await self._audit.record_as(
            tx,
            tenant,
            actor,
            "unit.moved",
            target=row.unit_id,
            details={"from": row.parent_id, "to": parent_id},
        )
