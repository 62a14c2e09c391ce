"""What a search result comes with: the events around it and their senders'
profiles then (``event_context``), and its room's state (``include_state``).

The same rules as /context: only events the searcher may see, none of users
they ignore, nothing after they left the room.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping

from revier.events.filters import EventQuery
from revier.events.types import JsonDict
from revier.services.core import Clock, Requester, SyncToken
from revier.services.rooms.event_format import client_events
from revier.services.rooms.search_query import EventContext
from revier.services.rooms.visibility import Visibility
from revier.storage import Tx
from revier.storage.rooms import RoomRepos
from revier.storage.rooms.events import StoredEvent


class SearchContext:
    def __init__(self, clock: Clock, visibility: Visibility) -> None:
        self._clock = clock
        self._visibility = visibility

    async def of(
        self,
        tx: Tx,
        requester: Requester,
        event: StoredEvent,
        wanted: EventContext,
        ignored: Collection[str],
        left_at: int | None,
    ) -> JsonDict:
        db = RoomRepos.of(tx)
        room_id, position = event.pdu.room_id, event.stream_ordering
        args: EventQuery = {"ignored": ignored}
        before_fetched = (
            await db.events.room_events(
                room_id, upto=position - 1, limit=wanted.before_limit, **args
            )
            if wanted.before_limit
            else []
        )
        ceiling = await tx.streams.current() if left_at is None else left_at
        after_fetched = (
            await db.events.room_events(
                room_id,
                after=position,
                upto=ceiling,
                limit=wanted.after_limit,
                backwards=False,
                **args,
            )
            if wanted.after_limit
            else []
        )
        user_id = requester.user_id
        before = await self._visibility.filter(tx, user_id, room_id, before_fetched)
        after = await self._visibility.filter(tx, user_id, room_id, after_fetched)
        start = before_fetched[0].stream_ordering - 1 if before_fetched else position - 1
        end = after_fetched[-1].stream_ordering if after_fetched else position
        context: JsonDict = {
            "start": SyncToken(max(start, 0)).encode(),
            "end": SyncToken(end).encode(),
            "events_before": await self._format(tx, requester, before[::-1]),
            "events_after": await self._format(tx, requester, after),
        }
        if wanted.include_profile:
            senders = {e.pdu.sender for e in (*before, event, *after)}
            context["profile_info"] = await _profiles(tx, room_id, senders, position)
        return context

    async def room_state(
        self,
        tx: Tx,
        requester: Requester,
        room_ids: Iterable[str],
        left_at: Mapping[str, int | None],
    ) -> JsonDict:
        """Each room's current state, or as it was when the searcher left it."""
        db = RoomRepos.of(tx)
        state: JsonDict = {}
        for room_id in sorted(room_ids):
            upto = left_at.get(room_id)
            if upto is None:
                ids = await db.events.current_state_ids(room_id)
            else:
                ids = await db.events.state_ids_at(room_id, upto)
            loaded = await db.events.get_many(ids.values())
            events = sorted(loaded.values(), key=lambda e: e.stream_ordering)
            state[room_id] = await self._format(tx, requester, events)
        return state

    async def _format(
        self, tx: Tx, requester: Requester, events: list[StoredEvent]
    ) -> list[JsonDict]:
        return await client_events(tx, requester, events, now_ms=self._clock.time_ms())


async def _profiles(tx: Tx, room_id: str, senders: set[str], position: int) -> JsonDict:
    """The senders' display names and avatars in the room at the result: "historic"."""
    db = RoomRepos.of(tx)
    profiles: JsonDict = {}
    for sender in sorted(senders):
        member = await db.events.state_event_at(room_id, ("m.room.member", sender), position)
        if member is None:
            continue
        content = member.pdu.content
        profile: JsonDict = {}
        if isinstance(content.get("displayname"), str):
            profile["displayname"] = content["displayname"]
        avatar = content.get("avatar_url")
        if isinstance(avatar, str) and avatar.startswith("mxc://"):
            profile["avatar_url"] = avatar
        profiles[sender] = profile
    return profiles
