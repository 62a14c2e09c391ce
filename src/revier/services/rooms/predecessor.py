"""What a member takes along into an upgraded room's successor when they join it.

Spec ("Room Upgrades"): "When a user joins the new room, the server should
automatically transfer/replicate some of the user's personalized settings such
as notifications, tags, etc." Room push rules are copied for every local member
at the upgrade itself (``room_upgrade``): a muted room must not start ringing
before its members have even joined. Tags are the user's room account data and
are carried over here, on their join.
"""

from __future__ import annotations

from revier.services.core import AccountDataService
from revier.services.rooms.room_events import CREATE
from revier.storage import Tx
from revier.storage.rooms import RoomRepos

CARRIED_OVER = ("m.tag",)


async def predecessor_of(tx: Tx, room_id: str) -> str | None:
    """The room this one replaces, from its m.room.create event's ``predecessor``."""
    create = (await RoomRepos.of(tx).events.current_state_events(room_id, [CREATE])).get(CREATE)
    predecessor = create.content.get("predecessor") if create is not None else None
    if not isinstance(predecessor, dict):
        return None
    old = predecessor.get("room_id")
    return old if isinstance(old, str) else None


async def carry_over(tx: Tx, account_data: AccountDataService, room_id: str, user_id: str) -> bool:
    """On the user's join of ``room_id``: their tags of its predecessor, if they were
    in it. True if some account data was written (the user's /sync must be woken)."""
    old = await predecessor_of(tx, room_id)
    if old is None or await RoomRepos.of(tx).memberships.get(old, user_id) is None:
        return False
    wrote = False
    for data_type in CARRIED_OVER:
        wrote |= await account_data.carry_over(tx, user_id, old, room_id, data_type)
    return wrote
