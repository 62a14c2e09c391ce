"""Reading a room's history: /messages, /context, /members, /joined_members.

Who may read what: a joined user reads everything history visibility allows;
a user who left (or was kicked or banned) reads up to the moment they left,
no further; anyone else of the tenant only a ``world_readable`` room; every
other requester gets M_FORBIDDEN, whether or not the room exists, so room IDs
can't be probed.

Pagination tokens are ``SyncToken`` strings whose position is a stream
ordering and names the gap *after* that event: ``from=s<p>_0`` with ``dir=b``
returns events with stream_ordering <= p, with ``dir=f`` events > p. That is
what /sync's ``prev_batch`` means too, so clients can go from one to the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import orjson

from revier.errors import BadJson, NotFound, NotJson
from revier.events.filters import EventFilter, EventQuery, parse_filter
from revier.events.types import JsonDict, StateKey
from revier.services.core import AccountDataService, Clock, Requester, SyncToken
from revier.services.rooms.event_format import client_events
from revier.services.rooms.visibility import Visibility
from revier.storage import Store, Tx
from revier.storage.rooms import RoomRepos
from revier.storage.rooms.events import StoredEvent

MAX_LIMIT = 1000
# When history visibility hides a whole page, look this many pages further
# before answering with an empty chunk (the client may then paginate on).
_MAX_ROUNDS = 3


@dataclass(frozen=True)
class MessagesQuery:
    direction: Literal["b", "f"]
    from_token: str | None = None
    to_token: str | None = None
    limit: int = 10
    # RoomEventFilter: types, not_types, senders, not_senders, related_by_senders,
    # related_by_rel_types and lazy_load_members apply; contains_url and
    # include_redundant_members are ignored (every event is returned, and member
    # state is always included).
    filter: EventFilter = field(default_factory=EventFilter)


class RoomReader:
    def __init__(
        self, store: Store, clock: Clock, visibility: Visibility, account_data: AccountDataService
    ) -> None:
        self._store = store
        self._clock = clock
        self._visibility = visibility
        self._account_data = account_data

    async def messages(self, requester: Requester, room_id: str, query: MessagesQuery) -> JsonDict:
        """GET /rooms/{roomId}/messages"""
        backwards = query.direction == "b"
        from_pos = SyncToken.parse(query.from_token).position if query.from_token else None
        to_pos = SyncToken.parse(query.to_token).position if query.to_token else None
        limit = min(query.limit, MAX_LIMIT)
        async with self._store.read() as tx:
            cap = await self._visibility.read_position(tx, requester, room_id)
            ceiling = await tx.streams.current()
            if cap is not None:
                ceiling = min(ceiling, cap)
            if from_pos is None:
                from_pos = ceiling if backwards else 0
            start = query.from_token or SyncToken(from_pos).encode()
            ignored = await self._account_data.ignored_users(tx, requester.user_id)
            flt = query.filter.query_args(ignored)
            flt["not_before_ts"] = await self._visibility.retention.cutoff(tx, room_id)
            chunk, end = await self._page(
                tx, requester, room_id, flt, limit, backwards, from_pos, to_pos, ceiling
            )
            body: JsonDict = {
                "chunk": await self._format(tx, requester, chunk),
                "start": start,
            }
            if end is not None:
                body["end"] = SyncToken(end).encode()
            if query.filter.lazy_load_members:
                state = await self._member_state(tx, room_id, chunk, cap)
                body["state"] = await self._format(tx, requester, state)
        return body

    async def _page(
        self,
        tx: Tx,
        requester: Requester,
        room_id: str,
        flt: EventQuery,
        limit: int,
        backwards: bool,
        from_pos: int,
        to_pos: int | None,
        ceiling: int,
    ) -> tuple[list[StoredEvent], int | None]:
        """One page in the order the client wants it, and the next token (None: no more)."""
        db = RoomRepos.of(tx)
        if limit == 0:
            return [], from_pos
        position = from_pos
        for _ in range(_MAX_ROUNDS):
            if backwards:
                fetched = await db.events.room_events(
                    room_id,
                    after=to_pos,
                    upto=min(position, ceiling),
                    limit=limit,
                    **flt,
                )
            else:
                fetched = await db.events.room_events(
                    room_id,
                    after=position,
                    upto=ceiling if to_pos is None else min(to_pos, ceiling),
                    limit=limit,
                    backwards=False,
                    **flt,
                )
            more = len(fetched) == limit
            if fetched:
                position = (
                    fetched[0].stream_ordering - 1 if backwards else fetched[-1].stream_ordering
                )
            visible = await self._visibility.filter(tx, requester.user_id, room_id, fetched)
            if visible or not more:
                return (visible[::-1] if backwards else visible), (position if more else None)
        return [], position

    async def context(
        self, requester: Requester, room_id: str, event_id: str, limit: int, flt: EventFilter
    ) -> JsonDict:
        """GET /rooms/{roomId}/context/{eventId}: ``limit`` split between before and after."""
        limit = min(limit, MAX_LIMIT)
        async with self._store.read() as tx:
            db = RoomRepos.of(tx)
            cap = await self._visibility.read_position(tx, requester, room_id)
            event = await db.events.get(event_id)
            ignored = await self._account_data.ignored_users(tx, requester.user_id)
            args = flt.query_args(ignored)
            if (
                event is None
                or event.pdu.room_id != room_id
                or (cap is not None and event.stream_ordering > cap)
                or (event.pdu.sender in ignored and event.pdu.state_key is None)
                or not await self._visibility.filter(tx, requester.user_id, room_id, [event])
            ):
                raise NotFound("No such event, or you may not see it")
            ceiling = await tx.streams.current() if cap is None else cap
            position = event.stream_ordering
            before_fetched = await db.events.room_events(
                room_id, upto=position - 1, limit=limit // 2, **args
            )
            after_fetched = await db.events.room_events(
                room_id,
                after=position,
                upto=ceiling,
                limit=limit - limit // 2,
                backwards=False,
                **args,
            )
            before = await self._visibility.filter(tx, requester.user_id, room_id, before_fetched)
            after = await self._visibility.filter(tx, requester.user_id, room_id, after_fetched)
            start = before_fetched[0].stream_ordering - 1 if before_fetched else position - 1
            end = after_fetched[-1].stream_ordering if after_fetched else position
            state_ids = await db.events.state_ids_at(room_id, end)
            if flt.lazy_load_members:
                senders = {e.pdu.sender for e in [*before, event, *after]}
                state_ids = _members_of(state_ids, senders)
            loaded = await db.events.get_many(state_ids.values())
            state = sorted(loaded.values(), key=lambda e: e.stream_ordering)
            return {
                "start": SyncToken(max(start, 0)).encode(),
                "end": SyncToken(end).encode(),
                "events_before": await self._format(tx, requester, before[::-1]),
                "event": (await self._format(tx, requester, [event]))[0],
                "events_after": await self._format(tx, requester, after),
                "state": await self._format(tx, requester, state),
            }

    async def members(
        self,
        requester: Requester,
        room_id: str,
        *,
        at: str | None,
        membership: str | None,
        not_membership: str | None,
    ) -> list[JsonDict]:
        """GET /rooms/{roomId}/members: the m.room.member events, at ``at`` if given."""
        position = SyncToken.parse(at).position if at else None
        async with self._store.read() as tx:
            db = RoomRepos.of(tx)
            cap = await self._visibility.read_position(tx, requester, room_id)
            if cap is not None:
                position = cap if position is None else min(position, cap)
            if position is None:
                ids = await db.events.current_state_ids(room_id)
            else:
                ids = await db.events.state_ids_at(room_id, position)
            member_ids = [eid for key, eid in ids.items() if key[0] == "m.room.member"]
            loaded = await db.events.get_many(member_ids)
            chosen = []
            for event in sorted(loaded.values(), key=lambda e: e.stream_ordering):
                kind = event.pdu.content.get("membership")
                if membership is not None and kind != membership:
                    continue
                if not_membership is not None and kind == not_membership:
                    continue
                chosen.append(event)
            return await self._format(tx, requester, chosen)

    async def joined_members(self, requester: Requester, room_id: str) -> JsonDict:
        """GET /rooms/{roomId}/joined_members: only for those in the room now."""
        async with self._store.read() as tx:
            db = RoomRepos.of(tx)
            await self._visibility.require_joined(tx, requester.user_id, room_id)
            ids = await db.events.current_state_ids(room_id)
            loaded = await db.events.get_many(
                eid for key, eid in ids.items() if key[0] == "m.room.member"
            )
        joined: JsonDict = {}
        for event in loaded.values():
            content = event.pdu.content
            if content.get("membership") != "join" or event.pdu.state_key is None:
                continue
            member: JsonDict = {}
            # The spec's RoomMember calls it display_name, unlike the member event.
            if isinstance(content.get("displayname"), str):
                member["display_name"] = content["displayname"]
            if isinstance(content.get("avatar_url"), str):
                member["avatar_url"] = content["avatar_url"]
            joined[event.pdu.state_key] = member
        return {"joined": joined}

    async def _member_state(
        self, tx: Tx, room_id: str, chunk: list[StoredEvent], cap: int | None
    ) -> list[StoredEvent]:
        """Lazy-loading members: the member events of the chunk's senders."""
        db = RoomRepos.of(tx)
        if not chunk:
            return []
        newest = max(e.stream_ordering for e in chunk)
        ids = _members_of(
            await db.events.state_ids_at(room_id, newest if cap is None else min(newest, cap)),
            {e.pdu.sender for e in chunk},
        )
        loaded = await db.events.get_many(ids.values())
        return sorted(loaded.values(), key=lambda e: e.stream_ordering)

    async def _format(
        self, tx: Tx, requester: Requester, events: list[StoredEvent]
    ) -> list[JsonDict]:
        return await client_events(tx, requester, events, now_ms=self._clock.time_ms())


def _members_of(state: dict[StateKey, str], users: set[str]) -> dict[StateKey, str]:
    return {k: v for k, v in state.items() if k[0] == "m.room.member" and k[1] in users}


def parse_room_event_filter(param: str | None) -> EventFilter:
    """The ``filter`` query parameter: a RoomEventFilter as JSON."""
    if param is None:
        return EventFilter()
    try:
        raw = orjson.loads(param)
    except orjson.JSONDecodeError:
        raise NotJson("'filter' is not valid JSON") from None
    if not isinstance(raw, dict):
        raise BadJson("'filter' must be a JSON object")
    # A RoomEventFilter is what a sync filter's room.timeline holds.
    return parse_filter({"room": {"timeline": raw}}).timeline
