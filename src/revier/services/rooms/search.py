"""Server-side search: POST /search, ``room_events`` (spec "Server Side Search").

Searched: the events with searchable text (``events/search.py``) of unencrypted
rooms (``search_index.py``), in the rooms the searcher is or was in and not
forgot, within what history visibility lets them see and never after they
left (``Visibility.searchable_ranges``, the rules of /messages and /context),
without the events of users they ignore. All of it is worked out in one read
snapshot for every page; only the rooms that have a match at all get their
visibility worked out.
"""

from __future__ import annotations

from revier.errors import InvalidParam
from revier.events.search import matched_words, searchable_text
from revier.events.types import JsonDict
from revier.events.visibility import PositionRange
from revier.services.core import AccountDataService, Clock, RateLimiter, Requester
from revier.services.rooms.event_format import client_events
from revier.services.rooms.search_context import SearchContext
from revier.services.rooms.search_query import Batch, SearchQuery
from revier.services.rooms.visibility import Visibility
from revier.storage import Store, Tx
from revier.storage.rooms import RoomRepos
from revier.storage.rooms.events import StoredEvent
from revier.storage.rooms.search import SearchWhere

SEARCHED_MEMBERSHIPS = ("join", "leave", "ban")


class SearchService:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        visibility: Visibility,
        account_data: AccountDataService,
        limiter: RateLimiter,
    ) -> None:
        self._store = store
        self._limiter = limiter
        self._clock = clock
        self._visibility = visibility
        self._account_data = account_data
        self._context = SearchContext(clock, visibility)

    async def search(
        self, requester: Requester, query: SearchQuery | None, next_batch: str | None
    ) -> JsonDict:
        """POST /search"""
        self._limiter.check(requester.user_id)
        batch = Batch.parse(next_batch) if next_batch is not None else None
        if query is None:
            return {"search_categories": {}}
        if batch is not None and batch.order_by != query.order_by:
            raise InvalidParam("'next_batch' belongs to a search in another order")
        async with self._store.read() as tx:
            body = await self._room_events(tx, requester, query, batch)
        return {"search_categories": {"room_events": body}}

    async def _room_events(
        self, tx: Tx, requester: Requester, query: SearchQuery, batch: Batch | None
    ) -> JsonDict:
        db = RoomRepos.of(tx)
        upto = batch.upto if batch is not None else await tx.streams.current()
        types = query.types
        if not query.words or not types:
            return {"results": [], "count": 0, "highlights": []}
        left_at = await self._rooms(tx, requester, query, batch)
        with_hits = await db.search.rooms_with_hits(query.words, sorted(left_at), types, upto)
        rooms: dict[str, list[PositionRange]] = {}
        for room_id in sorted(with_hits):
            ranges = await self._visibility.searchable_ranges(
                tx, requester.user_id, room_id, left_at[room_id]
            )
            if ranges:
                rooms[room_id] = ranges
        ignored = await self._account_data.ignored_users(tx, requester.user_id)
        senders = query.filter.senders
        if batch is not None and batch.group is not None and batch.group[0] == "sender":
            if senders is not None and batch.group[1] not in senders:
                return {"results": [], "count": 0, "highlights": []}
            senders = (batch.group[1],)
        cutoffs = await self._visibility.retention.cutoffs(tx, rooms)
        where = SearchWhere(
            words=query.words,
            rooms=rooms,
            not_before={r: cut for r, cut in cutoffs.items() if cut is not None},
            types=types,
            upto=upto,
            query={
                "senders": senders,
                # Ignored users' events are left out whatever their kind: a room's
                # name set by them is found by its state, not by their event.
                "not_senders": [*query.filter.not_senders, *ignored],
            },
        )
        after = (batch.rank, batch.stream_ordering) if batch is not None else None
        hits = await db.search.page(where, query.order_by, after, query.limit + 1)
        more = len(hits) > query.limit
        hits = hits[: query.limit]
        found = [event for event, _ in hits]
        formatted = await client_events(tx, requester, found, now_ms=self._clock.time_ms())
        results: list[JsonDict] = []
        for (event, score), result in zip(hits, formatted, strict=True):
            entry: JsonDict = {"rank": -score, "result": result}
            if query.event_context is not None:
                entry["context"] = await self._context.of(
                    tx, requester, event, query.event_context, ignored, left_at[event.pdu.room_id]
                )
            results.append(entry)
        body: JsonDict = {
            "results": results,
            "count": await db.search.count(where),
            "highlights": _highlights(found, query.words),
        }
        if more and hits:
            last_event, last_score = hits[-1]
            group = batch.group if batch is not None else None
            body["next_batch"] = Batch(
                query.order_by, upto, last_score, last_event.stream_ordering, group
            ).encode()
        if query.group_by:
            body["groups"] = _groups(query, hits, more, upto)
        if query.include_state:
            body["state"] = await self._context.room_state(
                tx, requester, {e.pdu.room_id for e in found}, left_at
            )
        return body

    async def _rooms(
        self, tx: Tx, requester: Requester, query: SearchQuery, batch: Batch | None
    ) -> dict[str, int | None]:
        """The rooms searched, each with the searcher's leave (None: still joined)."""
        memberships = await RoomRepos.of(tx).memberships.for_user(
            requester.user_id, SEARCHED_MEMBERSHIPS
        )
        rooms = {
            m.room_id: None if m.membership == "join" else m.stream_ordering for m in memberships
        }
        flt = query.filter
        if flt.rooms is not None:
            rooms = {r: at for r, at in rooms.items() if r in flt.rooms}
        if batch is not None and batch.group is not None and batch.group[0] == "room_id":
            rooms = {r: at for r, at in rooms.items() if r == batch.group[1]}
        return {r: at for r, at in rooms.items() if r not in flt.not_rooms}


def _groups(
    query: SearchQuery, hits: list[tuple[StoredEvent, float]], more: bool, upto: int
) -> JsonDict:
    """The page's results by room or sender; a group's ``next_batch`` continues it alone
    after its last result here (the page holds every result of the group before that)."""
    groups: JsonDict = {}
    for key in query.group_by:
        by_value: dict[str, JsonDict] = {}
        for event, score in hits:
            value = event.pdu.room_id if key == "room_id" else event.pdu.sender
            group = by_value.setdefault(value, {"results": [], "order": len(by_value) + 1})
            group["results"].append(event.event_id)
            if more:
                group["next_batch"] = Batch(
                    query.order_by, upto, score, event.stream_ordering, (key, value)
                ).encode()
        groups[key] = by_value
    return groups


def _highlights(found: list[StoredEvent], words: tuple[str, ...]) -> list[str]:
    """The words searched for and the longer words of the results they matched."""
    seen = set(words)
    for event in found:
        text = searchable_text(event.pdu.type, event.pdu.content)
        if text is not None:
            seen |= matched_words(text, words)
    return sorted(seen)
