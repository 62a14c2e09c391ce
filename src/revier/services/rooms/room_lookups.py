"""Two lookups in the rooms a user is in: the rooms shared with someone
(GET /mutual_rooms, MSC2666) and the event nearest a moment (GET
/rooms/{roomId}/timestamp_to_event, "jump to date")."""

from __future__ import annotations

import re

from revier.errors import InvalidParam, MissingParam, NotFound
from revier.events.identifiers import is_valid_user_id
from revier.events.types import JsonDict
from revier.services.core import Requester
from revier.services.rooms.visibility import Visibility
from revier.storage import Store
from revier.storage.rooms import RoomRepos

MUTUAL_PAGE = 100
# The token is the last room ID sent, prefixed: rooms both users are in, nothing
# the requester doesn't know already.
_MUTUAL_TOKEN = re.compile(r"^m1_(![\x21-\x7e]{1,255})$")
# Events read per batch while looking for one the requester may see, and the most
# batches: beyond them the nearest visible event is too far away to be "near".
_BATCH, _MAX_BATCHES = 50, 20


class RoomLookups:
    def __init__(self, store: Store, visibility: Visibility) -> None:
        self._store = store
        self._visibility = visibility

    async def mutual_rooms(
        self, requester: Requester, user_id: str | None, from_token: str | None
    ) -> JsonDict:
        """GET /mutual_rooms?user_id=: the rooms both are joined to, in room ID order."""
        if not user_id:
            raise MissingParam("'user_id' is required")
        if not is_valid_user_id(user_id):
            raise InvalidParam("'user_id' is not a user ID")
        if user_id == requester.user_id:
            raise InvalidParam("Ask for the rooms you share with someone else")
        after = ""
        if from_token is not None:
            match = _MUTUAL_TOKEN.match(from_token)
            if match is None:
                raise InvalidParam("Unknown 'from' token")
            after = match[1]
        async with self._store.read() as tx:
            db = RoomRepos.of(tx)
            mine = {m.room_id for m in await db.memberships.for_user(requester.user_id, ["join"])}
            theirs = {m.room_id for m in await db.memberships.for_user(user_id, ["join"])}
        shared = sorted(mine & theirs)
        rest = [r for r in shared if r > after]
        out: JsonDict = {"joined": rest[:MUTUAL_PAGE], "count": len(shared)}
        if len(rest) > MUTUAL_PAGE:
            out["next_batch"] = f"m1_{rest[MUTUAL_PAGE - 1]}"
        return out

    async def event_at(
        self, requester: Requester, room_id: str, ts: int, forward: bool
    ) -> JsonDict:
        """GET /rooms/{roomId}/timestamp_to_event: the nearest event from ``ts`` in
        the direction asked that the requester may see."""
        async with self._store.read() as tx:
            db = RoomRepos.of(tx)
            upto = await self._visibility.read_position(tx, requester, room_id)
            after: tuple[int, int] | None = None
            for _ in range(_MAX_BATCHES):
                batch = await db.events_by_time.nearest(
                    room_id, ts, forward=forward, limit=_BATCH, after=after
                )
                if not batch:
                    break
                ordered = sorted(batch, key=lambda e: e.stream_ordering)
                seen = await self._visibility.filter(tx, requester.user_id, room_id, ordered)
                visible = {e.event_id for e in seen}
                for event in batch:
                    if event.event_id in visible and (
                        upto is None or event.stream_ordering <= upto
                    ):
                        return {
                            "event_id": event.event_id,
                            "origin_server_ts": event.pdu.origin_server_ts,
                        }
                last = batch[-1]
                after = (last.pdu.origin_server_ts, last.stream_ordering)
        direction = "after" if forward else "before"
        raise NotFound(f"No event {direction} {ts} in this room")
