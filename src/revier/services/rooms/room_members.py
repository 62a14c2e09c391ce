"""Who is in which room: the membership look-ups other wings make.

The e2e wing needs them for the device-list stream (whose devices must a
client track), presence for whom to wake, accounts for the rooms a leaver
must leave, /sync for the rooms to report. Each runs in the caller's
transaction, so it sees the same snapshot as the rest of the caller's work.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from revier.storage import Tx
from revier.storage.rooms import RoomRepos
from revier.storage.rooms.rooms import Membership

# Memberships that put a user in a room (or at its door): what leaving ends.
IN_ROOM = ("join", "invite", "knock")


async def rooms_of(tx: Tx, user_id: str, kinds: Sequence[str] | None = None) -> list[Membership]:
    """The user's memberships (all kinds unless ``kinds``), forgotten rooms left out."""
    return await RoomRepos.of(tx).memberships.for_user(user_id, kinds)


async def joined_room_ids(tx: Tx, user_id: str) -> list[str]:
    return [m.room_id for m in await RoomRepos.of(tx).memberships.for_user(user_id, ("join",))]


async def changed_for_user(tx: Tx, user_id: str, after: int, upto: int) -> list[Membership]:
    """The user's own membership changes in the window (after, upto]."""
    return await RoomRepos.of(tx).memberships.changed_for_user(user_id, after, upto)


async def users_sharing_a_room(tx: Tx, user_id: str) -> set[str]:
    """Everyone joined to a room the user is joined to (the user too, if joined anywhere)."""
    return await RoomRepos.of(tx).memberships.users_sharing_a_room(user_id)


async def sharing_a_room_among(tx: Tx, user_id: str, candidates: Iterable[str]) -> set[str]:
    """Those of ``candidates`` who share a joined room with ``user_id``."""
    return await RoomRepos.of(tx).memberships.sharing_a_room_among(user_id, candidates)


async def joined_members(tx: Tx, room_ids: Sequence[str]) -> set[str]:
    """Everyone joined to one of the rooms."""
    return await RoomRepos.of(tx).memberships.joined_members(room_ids)


async def changes_in_rooms(
    tx: Tx, room_ids: Sequence[str], after: int, upto: int
) -> list[tuple[str, str]]:
    """(user_id, membership) of everyone whose membership in these rooms changed in
    the window (after, upto]."""
    return await RoomRepos.of(tx).memberships.changes_in_rooms(room_ids, after, upto)


async def invites_from(
    tx: Tx, memberships: Iterable[Membership], senders: frozenset[str]
) -> set[str]:
    """The rooms among ``memberships`` whose pending invite one of ``senders`` sent
    (an ignorer's ignored users: their invites must not reach the ignorer)."""
    invites = [m for m in memberships if m.membership == "invite"]
    if not senders or not invites:
        return set()
    loaded = await RoomRepos.of(tx).events.get_many(m.event_id for m in invites)
    return {
        m.room_id
        for m in invites
        if (event := loaded.get(m.event_id)) is not None and event.pdu.sender in senders
    }
