"""Rooms attached to a unit, each with a rule: ``auto_join`` (members are
joined), ``invite`` (members are invited), ``announce`` (members are joined,
only leads may post).

The service account acts in an attached room, so attaching needs it there
with the power for what it will do: invite and remove members, and for
``announce`` change power levels. An admin invites it and raises its level; a
room the unit creates itself is the service account's from the start.
"""

from __future__ import annotations

from revier.errors import Forbidden, InvalidParam, NotFound
from revier.services.core import Actor, AuditLog, Clock, Tenant
from revier.services.org import spaces
from revier.services.org.model import Rule, check_name, check_rule
from revier.services.org.powers import announce_levels
from revier.services.org.service_user import service_user
from revier.services.org.tree import unit_row
from revier.services.org.work import UnitWork
from revier.services.rooms import RoomSteward, Written
from revier.storage import Store, Tx
from revier.storage.org import OrgRepos
from revier.storage.org.units import UnitRow

MAX_ROOM_ID_LENGTH = 255


class UnitRooms:
    def __init__(
        self, store: Store, clock: Clock, audit: AuditLog, steward: RoomSteward, work: UnitWork
    ) -> None:
        self._store = store
        self._clock = clock
        self._audit = audit
        self._steward = steward
        self._work = work

    async def attach(
        self,
        tenant: Tenant,
        unit_id: str,
        *,
        room_id: str | None,
        name: str | None,
        rule: str,
        actor: Actor,
    ) -> str:
        """Attach ``room_id``, or with ``name`` a new room the unit creates; the
        unit's members follow (a job). Returns the room ID."""
        checked = check_rule(rule)
        if (room_id is None) == (name is None):
            raise InvalidParam("Give either 'room_id' or 'name' (for a new room)")
        written = Written()
        async with self._store.transaction() as tx:
            db = OrgRepos.of(tx)
            unit = await unit_row(tx, tenant, unit_id, lock=True)
            now = self._clock.time_ms()
            service = await service_user(tx, tenant, now)
            if room_id is None:
                assert name is not None
                room_id = await self._steward.create_room(
                    tx,
                    tenant,
                    service,
                    name=check_name(name),
                    space=False,
                    now=now,
                    written=written,
                )
            else:
                await self._check_room(tx, tenant, room_id, service, checked, written)
            before = await db.unit_rooms.get(unit_id, room_id)
            if before == checked:
                return room_id
            if before is not None:
                await db.unit_rooms.detach(unit_id, room_id)
            await db.unit_rooms.attach(unit_id, room_id, checked)
            if checked == "announce":
                await self._steward.change_power_levels(
                    tx, tenant, room_id, service, announce_levels, written
                )
            await spaces.link(
                tx, self._steward, tenant, service, unit.space_room_id, room_id, written
            )
            await self._audit.record_as(
                tx,
                tenant,
                actor,
                "unit.room_attached",
                target=unit_id,
                details={"room_id": room_id, "rule": checked, "created": name is not None},
            )
            reason = f"You are no longer in the unit {unit.name}"
            job = await self._queue_members(tx, tenant, unit, room_id, checked, actor, reason)
        self._work.notify(written)
        await self._work.run([job] if job else [], tenant)
        return room_id

    async def detach(self, tenant: Tenant, unit_id: str, room_id: str, actor: Actor) -> None:
        """Members who have the room through no other unit are removed from it."""
        written = Written()
        async with self._store.transaction() as tx:
            db = OrgRepos.of(tx)
            unit = await unit_row(tx, tenant, unit_id, lock=True)
            rule = await db.unit_rooms.get(unit_id, room_id)
            if rule is None:
                raise NotFound("This room is not attached to this unit")
            await db.unit_rooms.detach(unit_id, room_id)
            service = await service_user(tx, tenant, self._clock.time_ms())
            await spaces.unlink(
                tx, self._steward, tenant, service, unit.space_room_id, room_id, written
            )
            await self._audit.record_as(
                tx,
                tenant,
                actor,
                "unit.room_detached",
                target=unit_id,
                details={"room_id": room_id, "rule": rule},
            )
            reason = f"The room was detached from the unit {unit.name}"
            job = await self._queue_members(tx, tenant, unit, room_id, rule, actor, reason)
        self._work.notify(written)
        await self._work.run([job] if job else [], tenant)

    async def _check_room(
        self, tx: Tx, tenant: Tenant, room_id: str, service: str, rule: Rule, written: Written
    ) -> None:
        if not room_id.startswith("!") or len(room_id) > MAX_ROOM_ID_LENGTH or "\x00" in room_id:
            raise InvalidParam("'room_id' must be a room ID (!…)")
        standing = await self._steward.standing(tx, room_id, service)
        if standing is None or standing.tenant != tenant.server_name:
            raise NotFound("No such room")
        if await OrgRepos.of(tx).units.by_space(tenant.server_name, room_id) is not None:
            raise InvalidParam("A unit's space can't be attached as a room; move the unit instead")
        if standing.membership == "invite" and not standing.closed:
            # The admin invited the service account: it accepts.
            await self._steward.join_on_behalf(tx, tenant, room_id, service, written)
            standing = await self._steward.standing(tx, room_id, service)
            assert standing is not None
        if standing.closed:
            raise Forbidden("This room is closed")
        if not standing.may_manage(power=rule == "announce"):
            what = (
                "invite, remove and change power levels"
                if rule == "announce"
                else "invite and remove"
            )
            raise Forbidden(
                f"{service} must be in the room with the power to {what} members: "
                "invite it and raise its power level first"
            )

    async def _queue_members(
        self,
        tx: Tx,
        tenant: Tenant,
        unit: UnitRow,
        room_id: str,
        rule: str,
        actor: Actor,
        reason: str,
    ) -> int | None:
        members = [u for u, _ in await OrgRepos.of(tx).unit_members.members(unit.unit_id)]
        return await self._work.queue(
            tx, tenant, unit.unit_id, [(room_id, rule)], members, reason=reason, actor=actor.name
        )
