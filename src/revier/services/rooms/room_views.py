"""What sliding sync shows of rooms: the user's room list and each room's parts.

The sync wing composes responses (which rooms, which window, what is new for
a connection); this module answers what a room holds, in the caller's read
transaction, with history visibility applied as in /sync.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field

from revier.events.types import JsonDict, StateKey
from revier.services.core import Requester
from revier.services.rooms.event_format import client_events
from revier.services.rooms.room_list import ListedRoom, RoomList
from revier.services.rooms.room_sync import MAX_HEROES, receipt_events, stripped_state
from revier.services.rooms.typing import TypingService
from revier.services.rooms.visibility import Visibility, membership_history
from revier.storage import Tx
from revier.storage.rooms import RoomRepos
from revier.storage.rooms.events import StoredEvent
from revier.storage.rooms.many_rooms import TimelineRange
from revier.storage.rooms.rooms import Membership

NAME: StateKey = ("m.room.name", "")
AVATAR: StateKey = ("m.room.avatar", "")
ENCRYPTION: StateKey = ("m.room.encryption", "")
CREATE: StateKey = ("m.room.create", "")
MEMBER = "m.room.member"
SPACE_CHILD = "m.space.child"


@dataclass(frozen=True, slots=True)
class StateWanted:
    """Which state keys a client asked for: exact keys, every key of some types, or all."""

    keys: frozenset[StateKey] = frozenset()
    types: frozenset[str] = frozenset()
    everything: bool = False

    def __bool__(self) -> bool:
        return self.everything or bool(self.keys or self.types)

    def matches(self, key: StateKey) -> bool:
        return self.everything or key[0] in self.types or key in self.keys

    def with_keys(self, keys: Iterable[StateKey]) -> StateWanted:
        """This and the given exact keys besides."""
        return StateWanted(self.keys | frozenset(keys), self.types, self.everything)

    def without(self, other: StateWanted) -> StateWanted:
        """What this asks for that ``other`` doesn't (for a client that asks for more)."""
        if other.everything:
            return StateWanted()
        if self.everything:
            return self
        return StateWanted(
            frozenset(k for k in self.keys if not other.matches(k)),
            self.types - other.types,
        )


@dataclass(frozen=True, slots=True)
class TimelineWanted:
    """One room's timeline to read: the newest ``limit`` events in ``(after, upto]``."""

    membership: Membership
    after: int | None
    upto: int
    limit: int


@dataclass(slots=True)
class RoomMeta:
    name: str | None = None
    avatar: str | None = None
    heroes: list[JsonDict] = field(default_factory=list)
    joined_count: int = 0
    invited_count: int = 0


class RoomViews:
    def __init__(self, visibility: Visibility, typing: TypingService) -> None:
        self._visibility = visibility
        self._typing = typing
        self._room_list = RoomList()

    # --- the room list -----------------------------------------------------

    async def listed_rooms(
        self, tx: Tx, user_id: str, after: int | None, upto: int
    ) -> list[ListedRoom]:
        """Rooms the user is in (joined, invited, knocking), and rooms they left or
        were banned from in ``(after, upto]`` (so the client hears of it once)."""
        return await self._room_list.listed_rooms(tx, user_id, after, upto)

    async def rooms_with_events(
        self, tx: Tx, room_ids: Sequence[str], after: int, upto: int
    ) -> set[str]:
        """Which of the rooms have any event in ``(after, upto]`` (one query for all)."""
        return await RoomRepos.of(tx).many_rooms.rooms_with_events(room_ids, after, upto)

    async def read_in(
        self, tx: Tx, user_id: str, room_ids: Sequence[str], after: int, upto: int
    ) -> set[str]:
        """Which of the rooms the user marked read (a receipt of theirs) in the window:
        their unread counts changed, on whichever device they read."""
        changed = await RoomRepos.of(tx).receipts.changed(room_ids, after, upto)
        return {r.room_id for r in changed if r.user_id == user_id}

    async def membership(self, tx: Tx, room_id: str, user_id: str) -> Membership | None:
        """The user's membership in a room (any kind, forgotten ones left out)."""
        found = await RoomRepos.of(tx).memberships.get(room_id, user_id)
        return None if found is None or found.forgotten else found

    async def ever_joined(self, tx: Tx, room_id: str, user_id: str) -> bool:
        """Whether the user was ever a member (not only invited, or knocking)."""
        return any(m == "join" for _, m in await membership_history(tx, room_id, user_id))

    async def own_event(self, tx: Tx, membership: Membership) -> StoredEvent | None:
        """The user's membership event itself."""
        return await RoomRepos.of(tx).events.get(membership.event_id)

    async def encrypted(self, tx: Tx, room_ids: Sequence[str]) -> set[str]:
        ids = await RoomRepos.of(tx).many_rooms.current_state_ids_in_rooms(room_ids, ENCRYPTION)
        return set(ids)

    async def room_types(self, tx: Tx, room_ids: Sequence[str]) -> dict[str, str | None]:
        """room_id -> the ``type`` of its m.room.create event (None: no type)."""
        db = RoomRepos.of(tx)
        ids = await db.many_rooms.current_state_ids_in_rooms(room_ids, CREATE)
        loaded = await db.events.get_many(ids.values())
        out: dict[str, str | None] = {}
        for room_id, event_id in ids.items():
            value = loaded[event_id].pdu.content.get("type") if event_id in loaded else None
            out[room_id] = value if isinstance(value, str) else None
        return out

    async def space_children(self, tx: Tx, user_id: str, space_ids: Iterable[str]) -> set[str]:
        """The rooms the spaces the user has joined list as children (one level)."""
        db = RoomRepos.of(tx)
        out: set[str] = set()
        for space_id in set(space_ids):
            membership = await db.memberships.get(space_id, user_id)
            if membership is None or membership.membership != "join":
                continue
            ids = await db.events.current_state_ids_of_types(space_id, [SPACE_CHILD])
            loaded = await db.events.get_many(ids.values())
            out |= {
                key[1]
                for key, event_id in ids.items()
                if event_id in loaded and loaded[event_id].pdu.content.get("via")
            }
        return out

    # --- a room's parts ----------------------------------------------------

    async def timelines(
        self,
        tx: Tx,
        requester: Requester,
        wanted: Sequence[TimelineWanted],
        ignored: frozenset[str] = frozenset(),
    ) -> dict[str, tuple[list[StoredEvent], bool]]:
        """``timeline`` for many rooms, read in a few statements; none but state
        from ``ignored`` senders."""
        ranges = [TimelineRange(w.membership.room_id, w.after, w.upto, w.limit + 1) for w in wanted]
        fetched = await RoomRepos.of(tx).many_rooms.newest_in_rooms(ranges, ignored)
        out: dict[str, tuple[list[StoredEvent], bool]] = {}
        for w in wanted:
            m = w.membership
            events = fetched[m.room_id]
            joined_at = m.stream_ordering if m.membership == "join" else None
            shown = await self._visibility.filter(
                tx, requester.user_id, m.room_id, events[-w.limit :], joined_at=joined_at
            )
            out[m.room_id] = (shown, len(events) > w.limit)
        return out

    async def current_states(
        self, tx: Tx, wanted: dict[str, StateWanted]
    ) -> dict[str, list[StoredEvent]]:
        """``state`` now, for many rooms, read in a few statements."""
        db = RoomRepos.of(tx)
        every = [r for r, w in wanted.items() if w.everything]
        some = [r for r, w in wanted.items() if w and not w.everything]
        keys = {k for r in some for k in wanted[r].keys}
        types = {t for r in some for t in wanted[r].types}
        ids = await db.many_rooms.current_state_ids_many(every, everything=True)
        ids.update(await db.many_rooms.current_state_ids_many(some, keys, types))
        loaded = await db.events.get_many(
            i
            for room_id, found in ids.items()
            for k, i in found.items()
            if wanted[room_id].matches(k)
        )
        out: dict[str, list[StoredEvent]] = {}
        for room_id, w in wanted.items():
            found = ids.get(room_id, {})
            events = (loaded[i] for k, i in found.items() if w.matches(k) and i in loaded)
            out[room_id] = sorted(events, key=_position)
        return out

    async def state(
        self, tx: Tx, room_id: str, wanted: StateWanted, at: int | None
    ) -> list[StoredEvent]:
        """The wanted part of the room's state: now (``at`` None) or after ``at``."""
        if not wanted:
            return []
        db = RoomRepos.of(tx)
        if at is not None:
            every = await db.events.state_ids_at(room_id, at)
            ids = {k: v for k, v in every.items() if wanted.matches(k)}
        elif wanted.everything:
            ids = await db.events.current_state_ids(room_id)
        else:
            ids = await db.events.current_state_ids(room_id, wanted.keys)
            ids.update(await db.events.current_state_ids_of_types(room_id, wanted.types))
        loaded = await db.events.get_many(ids.values())
        return sorted((loaded[i] for i in ids.values() if i in loaded), key=_position)

    async def state_changes(
        self, tx: Tx, room_id: str, wanted: StateWanted, after: int, upto: int
    ) -> list[StoredEvent]:
        """How the wanted part of the room's state changed in ``(after, upto]``."""
        if not wanted:
            return []
        changes = await RoomRepos.of(tx).events.state_changes(room_id, after, upto)
        return [e for e in changes if e.pdu.state_key is not None and wanted.matches(_key(e))]

    async def meta(self, tx: Tx, membership: Membership, *, at: int | None) -> RoomMeta:
        """Name, avatar, heroes and member counts (the counts for joined rooms only)."""
        db = RoomRepos.of(tx)
        room_id, user_id = membership.room_id, membership.user_id
        if at is None:
            state = await db.events.current_state_events(room_id, [NAME, AVATAR])
        else:
            state = {}
            for key in (NAME, AVATAR):
                event = await db.events.state_event_at(room_id, key, at)
                if event is not None:
                    state[key] = event.pdu
        meta = RoomMeta()
        name = state[NAME].content.get("name") if NAME in state else None
        meta.name = name if isinstance(name, str) and name else None
        url = state[AVATAR].content.get("url") if AVATAR in state else None
        meta.avatar = url if isinstance(url, str) and url else None
        if membership.membership == "join":
            meta.joined_count, meta.invited_count = await db.memberships.counts(room_id)
            if meta.name is None:
                meta.heroes = await self._heroes(tx, room_id, user_id)
        return meta

    async def current_metas(self, tx: Tx, joined: Sequence[Membership]) -> dict[str, RoomMeta]:
        """``meta`` now, for many rooms the user has joined, read in a few statements."""
        db = RoomRepos.of(tx)
        room_ids = [m.room_id for m in joined]
        ids = await db.many_rooms.current_state_ids_many(room_ids, [NAME, AVATAR])
        loaded = await db.events.get_many(i for found in ids.values() for i in found.values())
        counts = await db.many_rooms.member_counts(room_ids)
        out: dict[str, RoomMeta] = {}
        for m in joined:
            meta = out[m.room_id] = RoomMeta()
            found = ids[m.room_id]
            named, pictured = loaded.get(found.get(NAME, "")), loaded.get(found.get(AVATAR, ""))
            name = named.pdu.content.get("name") if named else None
            meta.name = name if isinstance(name, str) and name else None
            url = pictured.pdu.content.get("url") if pictured else None
            meta.avatar = url if isinstance(url, str) and url else None
            meta.joined_count, meta.invited_count = counts[m.room_id]
            if meta.name is None:
                meta.heroes = await self._heroes(tx, m.room_id, m.user_id)
        return out

    async def _heroes(self, tx: Tx, room_id: str, user_id: str) -> list[JsonDict]:
        db = RoomRepos.of(tx)
        hero_ids = await db.memberships.heroes(room_id, user_id, MAX_HEROES)
        ids = await db.events.current_state_ids(room_id, [(MEMBER, u) for u in hero_ids])
        loaded = await db.events.get_many(ids.values())
        heroes = []
        for hero in hero_ids:
            entry: JsonDict = {"user_id": hero}
            event = loaded.get(ids.get((MEMBER, hero), ""))
            content = event.pdu.content if event is not None else {}
            for field_name in ("displayname", "avatar_url"):
                if isinstance(content.get(field_name), str):
                    entry[field_name] = content[field_name]
            heroes.append(entry)
        return heroes

    async def invite_state(self, tx: Tx, membership: Membership) -> list[JsonDict]:
        """Stripped state of a room the user is invited to (or knocks at), with the
        invite (knock) itself: Element X reads the membership from it."""
        return await stripped_state(tx, membership)

    async def client_events(
        self,
        tx: Tx,
        requester: Requester,
        events: Sequence[StoredEvent],
        now_ms: int,
        *,
        bundle: bool | AbstractSet[str] = False,
    ) -> list[JsonDict]:
        """The events as a client sees them; ``bundle``: with their bundled
        aggregations (all, or those of the events named), for a timeline the client
        may not have the children of."""
        return await client_events(
            tx, requester, events, now_ms=now_ms, with_room_id=False, bundle=bundle
        )

    # --- ephemeral parts -----------------------------------------------------

    async def receipts_on_many(
        self, tx: Tx, timelines: Mapping[str, Sequence[str]], user_id: str
    ) -> dict[str, JsonDict]:
        """The m.receipt events clients need on rooms' first appearance (room_id -> the
        event IDs it is shown): receipts on those events, and the user's own."""
        room_ids = sorted(timelines)
        shown = {e for ids in timelines.values() for e in ids}
        found = await RoomRepos.of(tx).receipts.on_events_or_by_in_rooms(
            sorted(shown), room_ids, user_id
        )
        wanted = [r for r in found if r.user_id == user_id or r.event_id in timelines[r.room_id]]
        return receipt_events(wanted, user_id)

    async def receipts_changed(
        self, tx: Tx, room_ids: Sequence[str], after: int, upto: int, user_id: str
    ) -> dict[str, JsonDict]:
        changed = await RoomRepos.of(tx).receipts.changed(room_ids, after, upto)
        return receipt_events(changed, user_id)

    @property
    def typing_serial(self) -> int:
        return self._typing.serial

    def typing_rooms(self) -> set[str]:
        """The only rooms ``typing`` may answer for."""
        return self._typing.rooms()

    def typing(self, room_id: str, since_serial: int | None) -> JsonDict | None:
        """The m.typing event of a room, if it changed since ``since_serial`` (None:
        whatever it is now, when someone types)."""
        if since_serial is not None and not self._typing.changed_since(room_id, since_serial):
            return None
        users = self._typing.typing_users(room_id)
        if since_serial is None and not users:
            return None
        return {"type": "m.typing", "content": {"user_ids": users}}


def _position(event: StoredEvent) -> int:
    return event.stream_ordering


def _key(event: StoredEvent) -> StateKey:
    assert event.pdu.state_key is not None
    return (event.pdu.type, event.pdu.state_key)
