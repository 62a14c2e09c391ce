"""What a suspended account may still do in rooms (spec "Account suspension").

The spec leaves the details to the server and recommends refusing joins,
knocks, invites (sent or accepted), messages and redacting other people's
events. revier follows that, with the exceptions the spec asks for:

- leaving a room and rejecting an invite;
- redacting one's own events;
- talking with the organisation's admins: a room whose other members are all
  admins of the tenant is where the help desk and the suspended user sort
  things out ("servers are recommended to allow the user to send events to
  that room"). So that such a room can be opened during a suspension, an
  invite *from an admin* of the tenant may be accepted.
"""

from __future__ import annotations

from revier.errors import UserSuspended
from revier.services.core import Requester, users
from revier.services.rooms.room_events import NewEvent
from revier.storage import Tx
from revier.storage.rooms import RoomRepos

REDACTION = "m.room.redaction"


async def check_send(tx: Tx, requester: Requester, room_id: str, new: NewEvent) -> None:
    """Before a suspended user's event is written (send, state, redact)."""
    if not requester.suspended:
        return
    if new.event_type == REDACTION and new.redacts:
        target = await RoomRepos.of(tx).events.get(new.redacts)
        if target is not None and target.pdu.sender == requester.user_id:
            return
    if await _with_admins_only(tx, requester, room_id):
        return
    raise UserSuspended()


async def check_membership(
    tx: Tx, requester: Requester, room_id: str, target: str, membership: str
) -> None:
    """Before a suspended user changes a membership (their own or another's)."""
    if not requester.suspended:
        return
    if target == requester.user_id and membership == "leave":
        return  # leaving, or rejecting an invite
    if target == requester.user_id and membership == "join":
        current = await RoomRepos.of(tx).memberships.get(room_id, target)
        if current is not None and current.membership == "invite":
            invite = await RoomRepos.of(tx).events.get(current.event_id)
            if invite is not None and await _is_admin(tx, requester, invite.pdu.sender):
                return
    raise UserSuspended()


async def _with_admins_only(tx: Tx, requester: Requester, room_id: str) -> bool:
    """Whether the room's other joined members are all (at least one) admins of the
    requester's tenant."""
    joined = await RoomRepos.of(tx).memberships.joined_members([room_id])
    if requester.user_id not in joined:
        return False
    others = joined - {requester.user_id}
    if not others:
        return False
    for user_id in others:
        if not await _is_admin(tx, requester, user_id):
            return False
    return True


async def _is_admin(tx: Tx, requester: Requester, user_id: str) -> bool:
    user = await users.get(tx, user_id)
    return (
        user is not None
        and user.is_admin
        and not user.deactivated
        and user.tenant == requester.tenant.server_name
    )
