"""Keeping the units' spaces in step with the tree: ``m.space.child`` in a
parent's space for each child unit and attached room, ``m.space.parent`` in the
child (where the service account may send it), the space's name the unit's.

Every function writes in the caller's transaction, as the service account.
"""

from __future__ import annotations

from revier.services.core import Tenant
from revier.services.rooms import RoomSteward, Written
from revier.storage import Tx

SPACE_CHILD = "m.space.child"
SPACE_PARENT = "m.space.parent"


def _via(tenant: Tenant) -> dict[str, object]:
    return {"via": [tenant.server_name]}


async def link(
    tx: Tx,
    steward: RoomSteward,
    tenant: Tenant,
    service: str,
    parent_space: str,
    child_room: str,
    written: Written,
) -> None:
    """Show ``child_room`` (a child unit's space or an attached room) in ``parent_space``."""
    await steward.send_state(
        tx, tenant, parent_space, service, SPACE_CHILD, child_room, _via(tenant), written
    )
    if await _may_set_parent(tx, steward, child_room, service):
        content = {**_via(tenant), "canonical": True}
        await steward.send_state(
            tx, tenant, child_room, service, SPACE_PARENT, parent_space, content, written
        )


async def unlink(
    tx: Tx,
    steward: RoomSteward,
    tenant: Tenant,
    service: str,
    parent_space: str,
    child_room: str,
    written: Written,
) -> None:
    """The reverse of ``link``: empty content removes a space relation (spec "Spaces")."""
    await steward.send_state(
        tx, tenant, parent_space, service, SPACE_CHILD, child_room, {}, written
    )
    if await _may_set_parent(tx, steward, child_room, service):
        await steward.send_state(
            tx, tenant, child_room, service, SPACE_PARENT, parent_space, {}, written
        )


async def rename(
    tx: Tx,
    steward: RoomSteward,
    tenant: Tenant,
    service: str,
    space: str,
    name: str,
    written: Written,
) -> None:
    await steward.send_state(tx, tenant, space, service, "m.room.name", "", {"name": name}, written)


async def _may_set_parent(tx: Tx, steward: RoomSteward, room_id: str, service: str) -> bool:
    standing = await steward.standing(tx, room_id, service)
    return (
        standing is not None
        and not standing.closed
        and standing.membership == "join"
        and standing.level >= standing.space_parent
    )
