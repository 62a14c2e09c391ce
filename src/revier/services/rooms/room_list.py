"""The user's room list as sliding sync reads it, kept per user between requests.

Reading every membership of a user in a thousand rooms on each request costs
as much as the rest of an incremental request together. Instead each worker
keeps, per user (a bounded LRU), the rows it last read and the stream position
``P`` they were read at, and on the next request at ``upto`` (up to
``SHORT_RANGE`` later) reads again only the rows that may differ:

- rooms with an event in ``(P, upto]``: a bump stamp moves only with an event
  in its room, written at that event's position;
- the user's memberships written after ``P`` (a membership row is written with
  its event's position, and ``forgotten`` is cleared with it);
- rooms the user left or was banned from that the list still shows: forgetting
  a room sets ``forgotten`` without any new position, and only those can be
  forgotten (one must leave first).

Nothing else changes a listed row (a purge keeps the rows), so the rows it
holds are exactly those a full read at ``upto`` gives, whichever worker wrote
the changes: positions are shared, and a read sees every change up to its
position. A request without a previous position (a fresh start), a range too
long, or a position older than the remembered one reads everything.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from revier.services.rooms.room_members import IN_ROOM
from revier.storage import Tx
from revier.storage.rooms import RoomRepos
from revier.storage.rooms.rooms import Membership
from revier.storage.streams import SHORT_RANGE

_GONE = ("leave", "ban")
# Users whose rows a worker keeps (each ~0.2 KiB a room).
_USERS = 256


@dataclass(frozen=True, slots=True)
class ListedRoom:
    """A room in the user's room list: their membership, and where it sorts."""

    membership: Membership
    # The newest event a person notices, for a joined room; else the user's
    # membership event (an invite sorts by when it came).
    bump_stamp: int

    @property
    def room_id(self) -> str:
        return self.membership.room_id


@dataclass(frozen=True, slots=True)
class _Known:
    position: int
    rooms: dict[str, ListedRoom]


class RoomList:
    def __init__(self, users: int = _USERS) -> None:
        self._size = users
        self._known: OrderedDict[str, _Known] = OrderedDict()

    async def listed_rooms(
        self, tx: Tx, user_id: str, after: int | None, upto: int
    ) -> list[ListedRoom]:
        """Rooms the user is in (joined, invited, knocking), and rooms they left or
        were banned from in ``(after, upto]`` (so the client hears of it once)."""
        rooms = await self._rooms(tx, user_id, after, upto)
        return [
            r
            for r in rooms.values()
            if r.membership.membership not in _GONE
            or (after is not None and r.membership.stream_ordering > after)
        ]

    async def _rooms(
        self, tx: Tx, user_id: str, after: int | None, upto: int
    ) -> dict[str, ListedRoom]:
        db = RoomRepos.of(tx)
        known = self._known.get(user_id)
        if after is None or known is None or not 0 <= upto - known.position <= SHORT_RANGE:
            rooms = _listed(await db.memberships.listed_for_user(user_id, upto))
        else:
            rooms = dict(known.rooms)
            touched: set[str] = set()
            if upto > known.position:
                # A room the user wasn't listed in at P changes only with a membership.
                in_range = await db.many_rooms.rooms_in_short_range(known.position, upto)
                touched = in_range.intersection(rooms)
            touched.update(
                r.room_id
                for r in rooms.values()
                if r.membership.membership not in IN_ROOM and r.membership.stream_ordering > after
            )
            for room_id in touched:
                rooms.pop(room_id, None)
            changed = await db.many_rooms.listed_changed(user_id, touched, known.position, upto)
            rooms.update(_listed(changed))
        if known is None or upto >= known.position:
            self._known[user_id] = _Known(upto, rooms)
            self._known.move_to_end(user_id)
            while len(self._known) > self._size:
                self._known.popitem(last=False)
        return rooms


def _listed(rows: list[tuple[Membership, int | None]]) -> dict[str, ListedRoom]:
    out = {}
    for membership, bump_stamp in rows:
        stamp = bump_stamp if membership.membership == "join" and bump_stamp is not None else None
        out[membership.room_id] = ListedRoom(membership, stamp or membership.stream_ordering)
    return out
