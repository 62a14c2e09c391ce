"""The device-list stream: who must re-fetch whose keys.

Spec: "Tracking the device list for a user".

A change (new or changed device keys, a removed device, new cross-signing
keys) takes a stream position and is recorded for the user. A client learns
of it through ``device_lists.changed`` in /sync and ``/keys/changes``: the
users sharing a joined room with it whose devices changed in the window, and
the users who newly share a room with it (their devices are news to it).
``left`` names the users it no longer shares any room with, so it can stop
tracking them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from revier.services.rooms import room_members
from revier.storage import Tx
from revier.storage.e2e import E2eRepos

_GONE = ("leave", "ban")


async def record_device_list_change(
    tx: Tx, user_id: str, *, tell_room_mates: bool = True
) -> set[str]:
    """Record a change of ``user_id``'s devices; returns whom to wake after the commit.

    Without ``tell_room_mates`` (a device without keys came, was renamed or went:
    nothing anyone encrypts for changed) only the user's own devices are woken;
    room mates see the change at their next sync anyway.
    Takes a stream position: call it last in the write transaction.
    """
    audience = await device_list_audience(tx, user_id) if tell_room_mates else {user_id}
    position = await tx.streams.next_position()
    await E2eRepos.of(tx).device_lists.record(user_id, position)
    return audience


async def device_list_audience(tx: Tx, user_id: str) -> set[str]:
    """Everyone whose /sync must wake for a change of ``user_id``'s devices.

    The user is always in it: their other devices must learn of the change,
    and every worker drops cached access tokens of users it is told about.
    """
    return await room_members.users_sharing_a_room(tx, user_id) | {user_id}


@dataclass
class DeviceListChanges:
    changed: set[str] = field(default_factory=set)
    left: set[str] = field(default_factory=set)

    def to_json(self) -> dict[str, list[str]]:
        return {"changed": sorted(self.changed), "left": sorted(self.left)}

    def __bool__(self) -> bool:
        return bool(self.changed or self.left)


async def device_list_changes(
    tx: Tx, user_id: str, after: int, upto: int, joined_rooms: list[str] | None = None
) -> DeviceListChanges:
    """``device_lists`` for ``user_id`` over the window (after, upto] of one read snapshot
    (``joined_rooms``: the user's rooms in that snapshot, if the caller has them).

    Starts from what changed in the window (usually nothing, /sync windows are
    short) and only then asks who of those shares a room with the user, so a
    member of big rooms doesn't load every room-mate on every sync.
    """
    changed = await E2eRepos.of(tx).device_lists.changed_in_window(after, upto)
    left_candidates: set[str] = set()
    # My own joins and leaves: a room joined brings its members' devices, a
    # room left may take the last room I shared with some of them.
    for m in await room_members.changed_for_user(tx, user_id, after, upto):
        if m.membership == "join":
            changed |= await room_members.joined_members(tx, [m.room_id])
        elif m.membership in _GONE:
            left_candidates |= await room_members.joined_members(tx, [m.room_id])
    # Others joining or leaving the rooms I'm in.
    if joined_rooms is None:
        joined_rooms = await room_members.joined_room_ids(tx, user_id)
    for other, membership in await room_members.changes_in_rooms(tx, joined_rooms, after, upto):
        if membership == "join":
            changed.add(other)
        elif membership in _GONE:
            left_candidates.add(other)
    if not changed and not left_candidates:
        return DeviceListChanges()
    sharing = await room_members.sharing_a_room_among(tx, user_id, changed | left_candidates)
    sharing.add(user_id)
    return DeviceListChanges(changed=changed & sharing, left=left_candidates - sharing)
