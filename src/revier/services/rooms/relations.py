"""Reading child events and threads: GET /relations and GET /threads.

Who may read: as for /messages (``Visibility.read_position``), and then only
what history visibility shows the reader — the parent itself (else 404, as
if it did not exist: the spec's only answer for /relations), and of its
children those in the stream ranges the reader may see. /threads answers a
non-member 403, as its spec says.

Pagination tokens are ``SyncToken`` strings naming a stream position, as in
/messages, so a /sync or /messages token works as ``from`` or ``to`` too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from revier.errors import Forbidden, NotFound
from revier.events.relations import MAX_DEPTH
from revier.events.types import JsonDict
from revier.services.core import Clock, Requester, SyncToken
from revier.services.rooms.event_format import client_events
from revier.services.rooms.visibility import Visibility, seen_ranges
from revier.storage import Store, Tx
from revier.storage.rooms import RoomRepos
from revier.storage.rooms.events import StoredEvent

MAX_LIMIT = 100
# When history visibility hides every thread root of a page, look this many
# pages further before answering (the client may then paginate on).
_MAX_ROUNDS = 3


@dataclass(frozen=True)
class RelationsQuery:
    rel_type: str | None = None
    event_type: str | None = None
    from_token: str | None = None
    to_token: str | None = None
    limit: int = 5
    direction: Literal["b", "f"] = "b"
    # None: the client did not say (then ``recursion_depth`` is left out).
    recurse: bool | None = None


class RelationsService:
    def __init__(self, store: Store, clock: Clock, visibility: Visibility) -> None:
        self._store = store
        self._clock = clock
        self._visibility = visibility

    async def relations(
        self, requester: Requester, room_id: str, event_id: str, query: RelationsQuery
    ) -> JsonDict:
        """GET /rooms/{roomId}/relations/{eventId}[/{relType}[/{eventType}]]"""
        backwards = query.direction == "b"
        from_pos = SyncToken.parse(query.from_token).position if query.from_token else None
        to_pos = SyncToken.parse(query.to_token).position if query.to_token else None
        limit = min(max(query.limit, 1), MAX_LIMIT)
        depth = MAX_DEPTH if query.recurse else 1
        async with self._store.read() as tx:
            ceiling = await self._readable_parent(tx, requester, room_id, event_id)
            ranges = await seen_ranges(tx, requester.user_id, room_id)
            # dir=b walks down from `from` (inclusive) to `to`; dir=f up from `from`.
            after, upto = (to_pos, from_pos) if backwards else (from_pos, to_pos)
            upto = ceiling if upto is None else min(upto, ceiling)
            rows = []
            if ranges:
                rows = await RoomRepos.of(tx).relations.children_page(
                    event_id,
                    rel_type=query.rel_type,
                    event_type=query.event_type,
                    depth=depth,
                    ranges=ranges,
                    after=None if after is None else min(after, ceiling),
                    upto=upto,
                    backwards=backwards,
                    limit=limit + 1,
                )
            page = rows[:limit]
            loaded = await RoomRepos.of(tx).events.get_many(i for i, _ in page)
            chunk = [loaded[i] for i, _ in page if i in loaded]
            body: JsonDict = {"chunk": await self._format(tx, requester, chunk)}
        if len(rows) > limit:
            last = page[-1][1]
            body["next_batch"] = SyncToken(last - 1 if backwards else last).encode()
        if query.from_token:
            body["prev_batch"] = query.from_token
        if query.recurse is not None:
            body["recursion_depth"] = depth
        return body

    async def _readable_parent(
        self, tx: Tx, requester: Requester, room_id: str, event_id: str
    ) -> int:
        """Where the reader's view of the room ends, once the parent proves readable;
        404 for a room or event they can't read."""
        try:
            cap = await self._visibility.read_position(tx, requester, room_id)
        except Forbidden:
            raise NotFound("Event not found") from None
        parent = await RoomRepos.of(tx).events.get(event_id)
        if (
            parent is None
            or parent.pdu.room_id != room_id
            or (cap is not None and parent.stream_ordering > cap)
            or not await self._visibility.filter(tx, requester.user_id, room_id, [parent])
        ):
            raise NotFound("Event not found")
        return await tx.streams.current() if cap is None else cap

    async def threads(
        self,
        requester: Requester,
        room_id: str,
        *,
        participated: bool,
        from_token: str | None,
        limit: int,
    ) -> JsonDict:
        """GET /rooms/{roomId}/threads: thread roots, the most recently active first."""
        before = SyncToken.parse(from_token).position if from_token else None
        limit = min(limit, MAX_LIMIT)
        async with self._store.read() as tx:
            cap = await self._visibility.read_position(tx, requester, room_id)
            db = RoomRepos.of(tx)
            participant = requester.user_id if participated else None
            roots: list[StoredEvent] = []
            more = False
            for _ in range(_MAX_ROUNDS):
                rows = await db.relations.threads_page(
                    room_id, before=before, limit=limit + 1, participant=participant
                )
                more = len(rows) > limit
                rows = rows[:limit]
                if rows:
                    before = rows[-1][1]
                roots = await self._visible_roots(tx, requester, room_id, rows, cap)
                if roots or not more:
                    break
            body: JsonDict = {"chunk": await self._format(tx, requester, roots)}
        if more and before is not None:
            body["next_batch"] = SyncToken(before).encode()
        return body

    async def _visible_roots(
        self,
        tx: Tx,
        requester: Requester,
        room_id: str,
        rows: list[tuple[str, int]],
        cap: int | None,
    ) -> list[StoredEvent]:
        """The roots the reader may see, in the order of ``rows`` (latest activity)."""
        loaded = await RoomRepos.of(tx).events.get_many(i for i, _ in rows)
        candidates = sorted(
            (e for e in loaded.values() if cap is None or e.stream_ordering <= cap),
            key=lambda e: e.stream_ordering,
        )
        visible = await self._visibility.filter(tx, requester.user_id, room_id, candidates)
        shown = {e.event_id: e for e in visible}
        return [shown[i] for i, _ in rows if i in shown]

    async def _format(
        self, tx: Tx, requester: Requester, events: list[StoredEvent]
    ) -> list[JsonDict]:
        return await client_events(tx, requester, events, now_ms=self._clock.time_ms())
