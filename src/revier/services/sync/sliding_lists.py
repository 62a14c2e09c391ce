"""Sliding sync's room lists: which of the user's rooms each list holds, in what
order, which of them fall inside the client's windows, and the room subscriptions.

A list is the user's rooms that pass its filters, newest activity first: by
bump stamp, so that only what a person notices (a message, not a reaction or
a state change) moves a room up; an invite sorts by when it came. ``count``
is the whole list, the windows (``ranges``, inclusive) are what the client
shows. A room in several windows or subscriptions is sent with the superset
of their configs. A subscription names a room directly: served only if the
user is or was in it (a room they never saw is silently left out, like one
that doesn't exist).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from revier.events.types import JsonDict
from revier.services.core import AccountDataService, Requester
from revier.services.rooms import ListedRoom, RoomViews
from revier.services.sync.sliding_request import ListFilters, RoomConfig, SlidingSyncRequest
from revier.storage import Tx

DIRECT = "m.direct"
_NO_FILTERS = ListFilters()
TAG = "m.tag"


@dataclass(slots=True)
class Selection:
    counts: dict[str, int] = field(default_factory=dict)
    # List name -> the room IDs inside its windows, in list order.
    windows: dict[str, list[str]] = field(default_factory=dict)
    # Room ID -> what to send of it: every room in a window or subscribed.
    configs: dict[str, RoomConfig] = field(default_factory=dict)
    # Every room some list's filters let through (in a window or not).
    in_lists: set[str] = field(default_factory=set)
    # The rooms the response may speak of, with the user's membership.
    rooms: dict[str, ListedRoom] = field(default_factory=dict)
    dm_rooms: set[str] = field(default_factory=set)


class ListBuilder:
    def __init__(self, views: RoomViews, account_data: AccountDataService) -> None:
        self._views = views
        self._account_data = account_data

    async def select(
        self,
        tx: Tx,
        requester: Requester,
        request: SlidingSyncRequest,
        listed: list[ListedRoom],
        hidden: set[str],
    ) -> Selection:
        """``hidden``: rooms never to show, even when subscribed to (invites from
        ignored users)."""
        out = Selection(rooms={r.room_id: r for r in listed})
        out.dm_rooms = await self._dm_rooms(tx, requester.user_id)
        facts = _Facts(
            self._views, self._account_data, tx, requester, out.dm_rooms, list(out.rooms)
        )
        ordered = sorted(listed, key=lambda r: (-r.bump_stamp, r.room_id))
        for lst in request.lists:
            if lst.filters == _NO_FILTERS:  # Element X's room list: every room
                matching = [r.room_id for r in ordered]
            else:
                matching = [r.room_id for r in ordered if await facts.passes(r, lst.filters)]
            out.counts[lst.name] = len(matching)
            out.in_lists.update(matching)
            window = [matching[i] for i in _indices(lst.ranges, len(matching))]
            for room_id in window:
                _add(out.configs, room_id, lst.config)
            out.windows[lst.name] = window
        for room_id, config in request.subscriptions.items():
            if room_id in hidden:
                continue
            if room_id not in out.rooms:
                membership = await self._views.membership(tx, room_id, requester.user_id)
                if membership is None:
                    continue  # never in it: as if the room didn't exist
                out.rooms[room_id] = ListedRoom(membership, membership.stream_ordering)
            _add(out.configs, room_id, config)
        return out

    async def _dm_rooms(self, tx: Tx, user_id: str) -> set[str]:
        """The rooms the user's ``m.direct`` names (Element's direct chats)."""
        content = await self._account_data.content(tx, user_id, "", DIRECT) or {}
        return {
            room_id
            for rooms in content.values()
            if isinstance(rooms, list)
            for room_id in rooms
            if isinstance(room_id, str)
        }


def _indices(ranges: Iterable[tuple[int, int]], length: int) -> list[int]:
    """The list indices inside the (inclusive, maybe overlapping) ranges, in order."""
    covered: set[int] = set()
    for start, end in ranges:
        covered.update(range(max(start, 0), min(end, length - 1) + 1))
    return sorted(covered)


def _add(configs: dict[str, RoomConfig], room_id: str, config: RoomConfig) -> None:
    known = configs.get(room_id)
    configs[room_id] = config if known is None else known.combine(config)


class _Facts:
    """What the filters ask about rooms, looked up once per request and only if asked."""

    def __init__(
        self,
        views: RoomViews,
        account_data: AccountDataService,
        tx: Tx,
        requester: Requester,
        dm_rooms: set[str],
        room_ids: list[str],
    ) -> None:
        self._views = views
        self._account_data = account_data
        self._tx = tx
        self._requester = requester
        self._dm_rooms = dm_rooms
        # Facts are looked up for every listed room at once, on the first question.
        self._room_ids = room_ids
        self._encrypted: set[str] | None = None
        self._types: dict[str, str | None] | None = None
        self._tags: dict[str, set[str]] | None = None
        self._spaces: dict[frozenset[str], set[str]] = {}

    async def passes(self, room: ListedRoom, f: ListFilters) -> bool:
        room_id = room.room_id
        if f.is_invite is not None and (room.membership.membership == "invite") != f.is_invite:
            return False
        if f.is_dm is not None and (room_id in self._dm_rooms) != f.is_dm:
            return False
        if f.is_encrypted is not None and (room_id in await self._encrypted_rooms()) != (
            f.is_encrypted
        ):
            return False
        if f.room_types is not None or f.not_room_types is not None:
            kind = (await self._room_types()).get(room_id)
            if f.not_room_types is not None and kind in f.not_room_types:
                return False
            if f.room_types is not None and kind not in f.room_types:
                return False
        if f.tags is not None or f.not_tags is not None:
            tags = (await self._all_tags()).get(room_id, set())
            if f.not_tags is not None and tags & set(f.not_tags):
                return False
            if f.tags is not None and not tags & set(f.tags):
                return False
        if f.spaces is not None:
            return room_id in await self._children(f.spaces)
        return True

    async def _encrypted_rooms(self) -> set[str]:
        if self._encrypted is None:
            self._encrypted = await self._views.encrypted(self._tx, self._room_ids)
        return self._encrypted

    async def _room_types(self) -> dict[str, str | None]:
        if self._types is None:
            self._types = await self._views.room_types(self._tx, self._room_ids)
        return self._types

    async def _all_tags(self) -> dict[str, set[str]]:
        if self._tags is None:
            by_room = await self._account_data.of_type(self._tx, self._requester.user_id, TAG)
            self._tags = {room_id: _tag_names(c) for room_id, c in by_room.items()}
        return self._tags

    async def _children(self, spaces: Iterable[str]) -> set[str]:
        key = frozenset(spaces)
        if key not in self._spaces:
            user_id = self._requester.user_id
            self._spaces[key] = await self._views.space_children(self._tx, user_id, key)
        return self._spaces[key]


def _tag_names(content: JsonDict) -> set[str]:
    tags = content.get("tags")
    return set(tags) if isinstance(tags, dict) else set()
