"""What the server does in rooms on the organisation's behalf: a service account
creates rooms and spaces, sets their state, invites, kicks, grants power; and
the server joins a user who was invited (a unit's ``auto_join`` rooms).

Every method works in the caller's transaction (the org wing commits a batch
of them at once) and goes through the one write path, ``RoomEventWriter``, so
the authorization rules decide as for any client: the service account can do
only what its power level allows, and a join into an invite-only room needs
the invite first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from revier.events.power_levels import (
    action_power_level,
    required_power_level,
    user_power_level,
)
from revier.services.core import Tenant, users
from revier.services.rooms.closed_rooms import require_open
from revier.services.rooms.room_creation import create_room_events
from revier.services.rooms.room_events import (
    CREATE,
    POWER_LEVELS,
    NewEvent,
    RoomEventWriter,
    Written,
)
from revier.storage import Tx
from revier.storage.rooms import RoomRepos
from revier.storage.rooms.rooms import Room

SPACE_PARENT = "m.space.parent"


@dataclass(frozen=True)
class Standing:
    """A user's place in a room, and the levels the org wing's work needs."""

    room_id: str
    tenant: str
    creator: str
    membership: str | None
    level: float  # infinite for a v12 room's creators
    invite: int
    kick: int
    power_levels: int  # to send m.room.power_levels
    space_parent: int  # to send m.space.parent
    closed: bool

    def may_manage(self, *, power: bool) -> bool:
        """Joined with the power to invite and kick (and, ``power``, to change
        power levels and state)."""
        if self.membership != "join" or self.closed:
            return False
        needed = max(self.invite, self.kick)
        if power:
            needed = max(needed, self.power_levels, self.space_parent)
        return self.level >= needed


class RoomSteward:
    def __init__(self, writer: RoomEventWriter, *, default_room_version: str) -> None:
        self._writer = writer
        self._version = default_room_version

    async def create_room(
        self,
        tx: Tx,
        tenant: Tenant,
        creator: str,
        *,
        name: str,
        space: bool,
        now: int,
        written: Written,
    ) -> str:
        """A private room (or an ``m.space``) with ``creator`` at power 100.
        A chat room is end-to-end encrypted unless the tenant allows plaintext
        rooms; a space holds no messages."""
        request: dict[str, Any] = {"name": name, "preset": "private_chat"}
        if space:
            request["creation_content"] = {"type": "m.space"}
            # Only the service account arranges a space; members just see it.
            request["power_level_content_override"] = {"events_default": 100}
        encrypt = not space and tenant.policy.room_encryption != "optional"
        profile = await users.member_profile(tx, creator)
        return await create_room_events(
            tx,
            self._writer,
            tenant,
            creator,
            profile,
            request,
            version=self._version,
            encrypt=encrypt,
            alias=None,
            invitees=[],
            now=now,
            written=written,
        )

    async def standing(self, tx: Tx, room_id: str, user_id: str) -> Standing | None:
        db = RoomRepos.of(tx)
        room = await db.rooms.get(room_id)
        if room is None:
            return None
        state = await db.events.current_state_events(room_id, [CREATE, POWER_LEVELS])
        create = state.get(CREATE)
        if create is None:
            return None
        power = state.get(POWER_LEVELS)
        content = dict(power.content) if power else None
        member = await db.memberships.get(room_id, user_id)
        return Standing(
            room_id=room_id,
            tenant=room.tenant,
            creator=room.creator,
            membership=member.membership if member else None,
            level=user_power_level(user_id, content, create, room.room_version),
            invite=action_power_level("invite", content),
            kick=action_power_level("kick", content),
            power_levels=required_power_level("m.room.power_levels", True, content),
            space_parent=required_power_level(SPACE_PARENT, True, content),
            closed=await db.room_closures.get(room_id) is not None,
        )

    async def room(self, tx: Tx, room_id: str) -> Room | None:
        return await RoomRepos.of(tx).rooms.get(room_id)

    async def membership(self, tx: Tx, room_id: str, user_id: str) -> str | None:
        member = await RoomRepos.of(tx).memberships.get(room_id, user_id)
        return member.membership if member else None

    async def send_state(
        self,
        tx: Tx,
        tenant: Tenant,
        room_id: str,
        sender: str,
        event_type: str,
        state_key: str,
        content: dict[str, Any],
        written: Written,
    ) -> None:
        await self._writer.send(
            tx, tenant, room_id, sender, NewEvent(event_type, content, state_key), written
        )

    async def invite(
        self, tx: Tx, tenant: Tenant, room_id: str, sender: str, user_id: str, written: Written
    ) -> bool:
        """Invite unless the user is in the room already (or banned: the ban stands)."""
        membership = await self.membership(tx, room_id, user_id)
        if membership in ("join", "invite", "ban"):
            return False
        await self.bring_in(
            tx, tenant, room_id, sender, user_id, membership, join=False, written=written
        )
        return True

    async def join_on_behalf(
        self, tx: Tx, tenant: Tenant, room_id: str, user_id: str, written: Written
    ) -> bool:
        """Join the user as if they had accepted (the auth rules still want an
        invite or an open room). False when joined already."""
        if await self.membership(tx, room_id, user_id) == "join":
            return False
        await require_open(tx, room_id)
        profile = await users.member_profile(tx, user_id)
        await self._member(tx, tenant, room_id, user_id, user_id, "join", profile, written)
        return True

    async def bring_in(
        self,
        tx: Tx,
        tenant: Tenant,
        room_id: str,
        sender: str,
        user_id: str,
        membership: str | None,
        *,
        join: bool,
        written: Written,
    ) -> None:
        """``invite`` and then (``join``) ``join_on_behalf``, for a caller that
        read the user's ``membership`` in this transaction already: the org
        wing's jobs make thousands of these, and the two calls each read the
        membership again, the room's closure and the user's row. Nothing when
        the user is banned or already where they should be."""
        if membership == "ban" or membership == "join" or (membership == "invite" and not join):
            return
        await require_open(tx, room_id)
        if membership == "invite":
            profile = users.profile_of(await users.get(tx, user_id))
        else:
            profile = users.profile_of(await users.local_user(tx, tenant, user_id))
            await self._member(tx, tenant, room_id, sender, user_id, "invite", profile, written)
        if join:
            await self._member(tx, tenant, room_id, user_id, user_id, "join", profile, written)

    async def _member(
        self,
        tx: Tx,
        tenant: Tenant,
        room_id: str,
        sender: str,
        user_id: str,
        membership: str,
        extra: dict[str, str],
        written: Written,
    ) -> None:
        """``sender`` sets ``user_id``'s membership (with ``extra`` content: the
        profile, a reason)."""
        content = {"membership": membership, **extra}
        event = NewEvent("m.room.member", content, user_id)
        await self._writer.send(tx, tenant, room_id, sender, event, written)

    async def kick(
        self,
        tx: Tx,
        tenant: Tenant,
        room_id: str,
        sender: str,
        user_id: str,
        reason: str,
        written: Written,
    ) -> bool:
        """Take the user out (a joined member, or withdraw an invite) with a reason
        their client shows. False when they weren't in the room."""
        if await self.membership(tx, room_id, user_id) not in ("join", "invite", "knock"):
            return False
        reasoned = {"reason": reason}
        await self._member(tx, tenant, room_id, sender, user_id, "leave", reasoned, written)
        return True

    async def change_power_levels(
        self,
        tx: Tx,
        tenant: Tenant,
        room_id: str,
        sender: str,
        change: Callable[[dict[str, Any]], dict[str, Any]],
        written: Written,
    ) -> bool:
        """Send the room's power levels as ``change`` makes them from the current
        ones; nothing when it changes nothing."""
        state = await RoomRepos.of(tx).events.current_state_events(room_id, [POWER_LEVELS])
        power = state.get(POWER_LEVELS)
        current = _copy(dict(power.content)) if power else {}
        new = change(_copy(current))
        if new == current:
            return False
        await self.send_state(tx, tenant, room_id, sender, "m.room.power_levels", "", new, written)
        return True


def _copy(content: dict[str, Any]) -> dict[str, Any]:
    return {k: dict(v) if isinstance(v, dict) else v for k, v in content.items()}
