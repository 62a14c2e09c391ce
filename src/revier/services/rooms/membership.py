"""Joining, inviting, leaving, kicking, banning, knocking, forgetting.

Each is one membership event through the room's authorization rules; the
rules decide who may do what (invite level, kick level, ban level, join
rules), and this module only adds what the rules can't know: which tenant a
room belongs to and whether the target account exists.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from revier.errors import BadJson, Forbidden, GuestAccessForbidden, NotFound
from revier.notify import Notifier
from revier.services.core import AccountDataService, Requester, Tenant, users
from revier.services.rooms import predecessor, suspension
from revier.services.rooms.closed_rooms import require_open
from revier.services.rooms.room_events import (
    NewEvent,
    RoomEventWriter,
    Written,
    require_same_tenant,
)
from revier.services.rooms.room_members import IN_ROOM
from revier.storage import Store, Tx
from revier.storage.rooms import RoomRepos

# Member event keys a client's join body can't set: the membership itself, the
# profile (the organisation's directory is the one source of names and avatars,
# no per-room impersonation), and what only servers write (restricted joins,
# third-party invites, the direct-chat flag of an invite).
_SERVER_SET = frozenset(
    {
        "membership",
        "displayname",
        "avatar_url",
        "reason",
        "join_authorised_via_users_server",
        "third_party_invite",
        "third_party_signed",
        "is_direct",
    }
)


class MembershipService:
    def __init__(
        self,
        store: Store,
        writer: RoomEventWriter,
        notifier: Notifier,
        account_data: AccountDataService,
    ) -> None:
        self._store = store
        self._writer = writer
        self._notifier = notifier
        self._account_data = account_data

    async def join(
        self,
        requester: Requester,
        room_id_or_alias: str,
        reason: str | None,
        extra: Mapping[str, Any] | None = None,
    ) -> str:
        """POST /join/{roomIdOrAlias} and /rooms/{roomId}/join; returns the room ID.

        ``extra``: the rest of the request body, which goes into the member event's
        content as the spec allows (clients put their own keys there), but for the
        keys only the server sets.
        """
        async with self._store.read() as tx:
            room_id = await resolve_room(tx, room_id_or_alias)
        kept = {k: v for k, v in (extra or {}).items() if k not in _SERVER_SET}
        await self._change(requester, room_id, requester.user_id, "join", reason, extra=kept)
        return room_id

    async def knock(self, requester: Requester, room_id_or_alias: str, reason: str | None) -> str:
        async with self._store.read() as tx:
            room_id = await resolve_room(tx, room_id_or_alias)
        await self._change(requester, room_id, requester.user_id, "knock", reason)
        return room_id

    async def leave(self, requester: Requester, room_id: str, reason: str | None) -> None:
        await self._change(requester, room_id, requester.user_id, "leave", reason)

    async def invite(
        self, requester: Requester, room_id: str, user_id: str, reason: str | None
    ) -> None:
        await self._change(requester, room_id, user_id, "invite", reason)

    async def kick(
        self, requester: Requester, room_id: str, user_id: str, reason: str | None
    ) -> None:
        await self._change(requester, room_id, user_id, "leave", reason, kick=True)

    async def ban(
        self, requester: Requester, room_id: str, user_id: str, reason: str | None
    ) -> None:
        await self._change(requester, room_id, user_id, "ban", reason)

    async def unban(
        self, requester: Requester, room_id: str, user_id: str, reason: str | None
    ) -> None:
        async with self._store.read() as tx:
            current = await RoomRepos.of(tx).memberships.get(room_id, user_id)
        if current is None or current.membership != "ban":
            raise Forbidden(f"{user_id} is not banned from this room")
        await self._change(requester, room_id, user_id, "leave", reason)

    async def forget(self, requester: Requester, room_id: str) -> None:
        """POST /rooms/{roomId}/forget: only once the user is no longer in the room."""
        async with self._store.transaction() as tx:
            db = RoomRepos.of(tx)
            current = await db.memberships.get(room_id, requester.user_id)
            if current is None:
                raise NotFound("You were never in this room")
            if current.membership in IN_ROOM:
                raise Forbidden("Leave the room before forgetting it")
            # A position of its own: the room list cached for /sync (kept while
            # the change log says the user's memberships are unchanged) drops it.
            position = await tx.streams.next_position()
            await db.memberships.forget(room_id, requester.user_id, position)

    async def leave_on_behalf(
        self, tx: Tx, tenant: Tenant, room_id: str, user_id: str, reason: str, written: Written
    ) -> bool:
        """The server takes a user out of a room in the caller's transaction (a
        deactivation); see ``leave_on_behalf``. False when the user wasn't in it."""
        return await leave_on_behalf(self._writer, tx, tenant, room_id, user_id, reason, written)

    async def _change(
        self,
        requester: Requester,
        room_id: str,
        target: str,
        membership: str,
        reason: str | None,
        *,
        kick: bool = False,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        if reason is not None and not isinstance(reason, str):
            raise BadJson("'reason' must be a string")
        written = Written()
        async with self._store.transaction() as tx:
            room = await RoomRepos.of(tx).rooms.get(room_id)
            if room is None:
                raise (
                    NotFound("No such room")
                    if membership == "join"
                    else Forbidden("You are not in this room")
                )
            require_same_tenant(requester.tenant, room.tenant)
            await suspension.check_membership(tx, requester, room_id, target, membership)
            current = await RoomRepos.of(tx).memberships.get(room_id, target)
            if kick and (current is None or current.membership not in IN_ROOM):
                # A kick is a leave by someone else, and so is an unban: kicking a
                # banned user would lift the ban; who left has nothing to leave.
                raise Forbidden(f"{target} is not in this room")
            opening = membership in IN_ROOM
            if opening:
                await require_open(tx, room_id)
            if requester.is_guest and membership == "join":
                await _require_guest_access(tx, room_id)
            content: dict[str, Any] = {**(extra or {}), "membership": membership}
            if target != requester.user_id:
                # Inviting needs an active account; kicking or banning a closed one still works.
                await users.local_user(
                    tx, requester.tenant, target, deactivated_ok=membership != "invite"
                )
            if opening:
                content.update(await users.member_profile(tx, target))
            if reason:
                content["reason"] = reason
            await self._writer.send(
                tx,
                requester.tenant,
                room_id,
                requester.user_id,
                NewEvent("m.room.member", content, target),
                written,
            )
            if opening:
                # Again, now that the event holds the stream lock: on PostgreSQL a
                # room closed while this transaction ran is only visible from here.
                await require_open(tx, room_id)
            first_join = membership == "join" and (current is None or current.membership != "join")
            if first_join and await predecessor.carry_over(tx, self._account_data, room_id, target):
                written.users.add(target)
        self._notifier.notify(rooms=written.rooms, users=written.users)


async def leave_on_behalf(
    writer: RoomEventWriter,
    tx: Tx,
    tenant: Tenant,
    room_id: str,
    user_id: str,
    reason: str,
    written: Written,
) -> bool:
    """The server takes a user out of a room (deactivation, closing a room).

    The event is the leave the user could have sent themselves: leaving (or
    rejecting an invite, or withdrawing a knock) is the one membership change
    the authorization rules allow anyone for themselves, whatever their power
    level. False when the user wasn't in the room.
    """
    current = await RoomRepos.of(tx).memberships.get(room_id, user_id)
    if current is None or current.membership not in IN_ROOM:
        return False
    await writer.send(
        tx,
        tenant,
        room_id,
        user_id,
        NewEvent("m.room.member", {"membership": "leave", "reason": reason}, user_id),
        written,
    )
    return True


async def resolve_room(tx: Tx, room_id_or_alias: str) -> str:
    if room_id_or_alias.startswith("#"):
        room_id = await RoomRepos.of(tx).aliases.room_id_for(room_id_or_alias)
        if room_id is None:
            raise NotFound(f"No room is known as {room_id_or_alias}")
        return room_id
    if not room_id_or_alias.startswith("!"):
        raise BadJson("Expected a room ID (!…) or a room alias (#…)")
    return room_id_or_alias


async def _require_guest_access(tx: Tx, room_id: str) -> None:
    """Spec (Guest access): guests join only rooms whose m.room.guest_access is can_join."""
    state = await RoomRepos.of(tx).events.current_state_events(
        room_id, [("m.room.guest_access", "")]
    )
    event = state.get(("m.room.guest_access", ""))
    if event is None or event.content.get("guest_access") != "can_join":
        raise GuestAccessForbidden("This room does not allow guests to join")
