"""One room's part of a sliding-sync response.

A room appears *initial* the first time a connection sends it (and when the
user newly joined it): its newest events, the state the client asked for, its
name, avatar, heroes and counts. Afterwards only what changed since the
position the client holds for it: new events, state changes it asked for,
name, avatar and counts when they changed — or nothing, and the room is left
out. A room the user left or was banned from is shown up to that moment; an
invite is its stripped state with the invite itself.

``required_state`` takes ``[type, state_key]`` pairs: ``*`` for every state
key of a type (``["*", "*"]``: all state, which ``*`` as a type also gets),
``$ME`` for the user's own key, and ``["m.room.member", "$LAZY"]`` for the
member events of those the client sees in the timeline. The connection
remembers whose member events it sent lazily, so each comes once — again only
when it changes, or after a gap in the timeline (``limited``), when clients
drop what they cached (MSC4186).
"""

from __future__ import annotations

from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from revier.events.types import JsonDict, StateKey
from revier.services.core import Clock, Requester, SyncToken
from revier.services.notifications import PushActions
from revier.services.rooms import (
    BUMP_EVENT_TYPES,
    ListedRoom,
    RoomMeta,
    RoomViews,
    StateWanted,
    StoredEvent,
    TimelineWanted,
)
from revier.services.sync.sliding_request import RoomConfig
from revier.services.sync.sliding_state import MEMBER, asked_state
from revier.storage import Tx

_NOTHING = StateWanted()
_META = {("m.room.name", ""), ("m.room.avatar", "")}


@dataclass(frozen=True, slots=True)
class RoomWindow:
    """What one response covers of a room."""

    listed: ListedRoom
    config: RoomConfig
    initial: bool
    # The position the client has the room up to (None with ``initial``).
    after: int | None
    # The position of the request's pos (None: no pos): later events are "live".
    since_pos: int | None
    upto: int
    # The client raised the timeline limit: the newest events again, up to the new limit.
    expanded_timeline: bool = False
    # State the client asks for newly (its required_state grew).
    new_state: StateWanted = _NOTHING
    # The user read the room (on some device): its unread counts changed.
    read: bool = False
    # Whose member events the connection has sent lazily already.
    known_members: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class RoomPart:
    body: JsonDict
    timeline_ids: list[str]
    # Whose member events the client now has from lazy loading.
    members: frozenset[str] = frozenset()


@dataclass(slots=True)
class _State:
    events: list[StoredEvent]
    meta_changed: bool
    members_changed: bool
    members: frozenset[str]


class RoomResults:
    def __init__(self, views: RoomViews, push_actions: PushActions, clock: Clock) -> None:
        self._views = views
        self._push_actions = push_actions
        self._clock = clock

    async def build(
        self,
        tx: Tx,
        requester: Requester,
        windows: Sequence[RoomWindow],
        dm_rooms: AbstractSet[str],
        ignored: frozenset[str] = frozenset(),
    ) -> dict[str, RoomPart]:
        """Each window's room entry; a room with nothing new for the client is left out.
        ``ignored``: users whose non-state events the client doesn't get.

        The rooms are read together, a few statements for all of them: a window of
        a hundred rooms costs about what one room did.
        """
        parts: dict[str, RoomPart | None] = {}
        rooms: list[RoomWindow] = []
        for w in windows:
            m = w.listed.membership
            if m.membership in ("invite", "knock"):
                parts[m.room_id] = await self._invite(tx, w)
            elif m.membership != "join" and not await self._views.ever_joined(
                tx, m.room_id, m.user_id
            ):
                parts[m.room_id] = await self._never_joined(tx, requester, w)
            else:
                rooms.append(w)
        if rooms:
            parts.update(await self._rooms(tx, requester, rooms, dm_rooms, ignored))
        return {room_id: part for room_id, part in parts.items() if part is not None}

    async def _rooms(
        self,
        tx: Tx,
        requester: Requester,
        windows: Sequence[RoomWindow],
        dm_rooms: AbstractSet[str],
        ignored: frozenset[str],
    ) -> dict[str, RoomPart | None]:
        """Rooms the user is in or was in: timeline, state, meta and counts."""
        wanted = [
            TimelineWanted(
                w.listed.membership,
                None if w.initial or w.expanded_timeline else w.after,
                _end(w),
                w.config.timeline_limit,
            )
            for w in windows
            if w.config.timeline_limit > 0
        ]
        timelines = await self._views.timelines(tx, requester, wanted, ignored)
        states = await self._states(tx, requester, windows, timelines)
        metas = await self._metas(tx, windows, states)
        joined = [w.listed.room_id for w in windows if _joined(w)]
        unread = await self._push_actions.unread_in_rooms(tx, requester.user_id, joined)
        parts: dict[str, RoomPart | None] = {}
        shown: dict[str, tuple[list[StoredEvent], list[StoredEvent]]] = {}
        bundled: set[str] = set()  # as /sync: where the client may lack the children
        for w in windows:
            room_id = w.listed.room_id
            events, limited = timelines.get(room_id, ([], False))
            if limited or w.initial or w.expanded_timeline:
                bundled.update(e.event_id for e in events)
            state = states[room_id]
            body = _meta_body(state, metas.get(room_id), _joined(w))
            if not (w.initial or events or state.events or body or w.read):
                parts[room_id] = None
                continue
            _describe(body, w, events, limited, is_dm=room_id in dm_rooms)
            counts = unread.get(room_id)
            body["notification_count"] = counts.notification_count if counts else 0
            body["highlight_count"] = counts.highlight_count if counts else 0
            parts[room_id] = RoomPart(body, [e.event_id for e in events], state.members)
            shown[room_id] = (state.events, events)
        await self._format(tx, requester, parts, shown, bundled)
        return parts

    async def _format(
        self,
        tx: Tx,
        requester: Requester,
        parts: dict[str, RoomPart | None],
        shown: dict[str, tuple[list[StoredEvent], list[StoredEvent]]],
        bundled: AbstractSet[str],
    ) -> None:
        """Every room's events in the client's format, formatted together; ``bundled``
        with their bundled aggregations."""
        unique = {e.event_id: e for pair in shown.values() for events in pair for e in events}
        formatted = await self._views.client_events(
            tx, requester, list(unique.values()), self._clock.time_ms(), bundle=bundled
        )
        by_id = dict(zip(unique, formatted, strict=True))
        for room_id, (state, timeline) in shown.items():
            part = parts[room_id]
            assert part is not None
            if state:
                part.body["required_state"] = [by_id[e.event_id] for e in state]
            if "timeline" in part.body:
                part.body["timeline"] = [by_id[e.event_id] for e in timeline]

    async def _states(
        self,
        tx: Tx,
        requester: Requester,
        windows: Sequence[RoomWindow],
        timelines: dict[str, tuple[list[StoredEvent], bool]],
    ) -> dict[str, _State]:
        """Each room's ``required_state`` part, and what changed of its meta; the
        state of rooms sent afresh is read for all of them at once."""
        out: dict[str, _State] = {}
        now: dict[str, StateWanted] = {}
        for w in windows:
            room_id = w.listed.room_id
            events, limited = timelines.get(room_id, ([], False))
            lazy, wanted = asked_state(w.config, requester.user_id)
            people = _people(events) if lazy else set()
            if not w.initial:
                out[room_id] = await self._changes(tx, w, wanted, lazy, people, limited)
                continue
            everyone = wanted.with_keys((MEMBER, u) for u in people)
            out[room_id] = _State([], True, True, frozenset(people))
            if _joined(w):
                now[room_id] = everyone
            else:
                out[room_id].events = await self._views.state(tx, room_id, everyone, _end(w))
        for room_id, events in (await self._views.current_states(tx, now)).items():
            out[room_id].events = events
        return out

    async def _changes(
        self,
        tx: Tx,
        w: RoomWindow,
        wanted: StateWanted,
        lazy: bool,
        people: set[str],
        limited: bool,
    ) -> _State:
        """What changed of a room's state since the client's position in it."""
        room_id, end = w.listed.room_id, _end(w)
        at = None if _joined(w) else end
        assert w.after is not None
        every = await self._views.state_changes(
            tx, room_id, StateWanted(everything=True), w.after, end
        )
        changed = {_key(e) for e in every}
        # With lazy members, every membership change in the window: a client that
        # keeps the member list keeps it current (MSC4186).
        shown = [e for e in every if wanted.matches(_key(e)) or (lazy and _key(e)[0] == MEMBER)]
        if w.new_state:
            shown += await self._views.state(tx, room_id, w.new_state, at)
        # After a gap the client drops the members it had (MSC4186): all of them again.
        known = frozenset() if limited else w.known_members
        moved = {k[1] for k in changed if k[0] == MEMBER} if lazy else set()
        missing = people - known - moved - {k[1] for k in wanted.keys if k[0] == MEMBER}
        if missing:
            keys = StateWanted(keys=frozenset((MEMBER, u) for u in missing))
            shown += await self._views.state(tx, room_id, keys, at)
        members = known | people | moved
        return _State(
            _unique(shown),
            bool(changed & _META),
            any(k[0] == MEMBER for k in changed),
            members if len(members) <= _MAX_MEMBERS else frozenset(people),
        )

    async def _metas(
        self, tx: Tx, windows: Sequence[RoomWindow], states: dict[str, _State]
    ) -> dict[str, RoomMeta]:
        """Name, avatar, heroes and counts of the rooms where any of them may have
        changed (all joined rooms at once; a room the user left as it was then)."""
        changed = [
            w for w in windows if states[w.listed.room_id].meta_changed or _members(w, states)
        ]
        joined = [w.listed.membership for w in changed if _joined(w)]
        metas = await self._views.current_metas(tx, joined)
        for w in changed:
            if not _joined(w):
                metas[w.listed.room_id] = await self._views.meta(
                    tx, w.listed.membership, at=_end(w)
                )
        return metas

    async def _invite(self, tx: Tx, w: RoomWindow) -> RoomPart | None:
        if not w.initial:
            return None  # an invite doesn't change until the user answers it
        body: JsonDict = {
            "initial": True,
            "invite_state": await self._views.invite_state(tx, w.listed.membership),
            "bump_stamp": w.listed.bump_stamp,
            "notification_count": 0,
            "highlight_count": 0,
        }
        return RoomPart(body, [])

    async def _never_joined(self, tx: Tx, requester: Requester, w: RoomWindow) -> RoomPart | None:
        """A room the user left (or was banned from) without ever joining it — an
        invite declined or withdrawn: only that it is over, nothing of the room."""
        own = await self._views.own_event(tx, w.listed.membership)
        if own is None:
            return None
        shown = await self._views.client_events(tx, requester, [own], self._clock.time_ms())
        body: JsonDict = {
            "required_state": shown,
            "bump_stamp": w.listed.bump_stamp,
            "notification_count": 0,
            "highlight_count": 0,
        }
        if w.config.timeline_limit > 0:
            body.update({"timeline": shown, "limited": False, "num_live": 0})
            body["prev_batch"] = SyncToken(max(own.stream_ordering - 1, 0)).encode()
        if w.initial:
            body["initial"] = True
        return RoomPart(body, [own.event_id])


# Lazily sent members a connection remembers per room; past it, it forgets them
# and sends them again as they speak (the connection's state stays small).
_MAX_MEMBERS = 200


def _joined(w: RoomWindow) -> bool:
    return w.listed.membership.membership == "join"


def _end(w: RoomWindow) -> int:
    """Where the room ends for the user: now, or at their leave (or ban)."""
    return w.upto if _joined(w) else min(w.upto, w.listed.membership.stream_ordering)


def _members(w: RoomWindow, states: dict[str, _State]) -> bool:
    return states[w.listed.room_id].members_changed and _joined(w)


def _meta_body(state: _State, meta: RoomMeta | None, joined: bool) -> JsonDict:
    """Name and avatar when new or changed; counts and heroes when members changed."""
    body: JsonDict = {}
    if meta is None:
        return body
    if state.meta_changed:
        body.update({k: v for k, v in (("name", meta.name), ("avatar", meta.avatar)) if v})
    if state.members_changed and joined:
        body["joined_count"] = meta.joined_count
        body["invited_count"] = meta.invited_count
        if meta.heroes:
            body["heroes"] = meta.heroes
    return body


def _describe(
    body: JsonDict, w: RoomWindow, events: list[StoredEvent], limited: bool, *, is_dm: bool
) -> None:
    """The room entry's fields besides its events (which are formatted later)."""
    end = _end(w)
    if w.config.timeline_limit > 0:
        body["timeline"] = []
        body["limited"] = limited
        start = events[0].stream_ordering - 1 if events else end
        body["prev_batch"] = SyncToken(max(start, 0)).encode()
        since = w.since_pos
        body["num_live"] = 0 if since is None else sum(e.stream_ordering > since for e in events)
    if w.initial:
        body["initial"] = True
    if w.expanded_timeline:
        body["unstable_expanded_timeline"] = True
    if is_dm:
        body["is_dm"] = True
    limit = w.config.timeline_limit
    if w.initial or not _joined(w) or limited or limit == 0 or _bumps(events):
        body["bump_stamp"] = w.listed.bump_stamp


def _people(timeline: Sequence[StoredEvent]) -> set[str]:
    """Who the client sees in a timeline: senders, and members whose event it holds."""
    people = {e.pdu.sender for e in timeline}
    people |= {e.pdu.state_key for e in timeline if e.pdu.type == MEMBER and e.pdu.state_key}
    return people


def _key(event: StoredEvent) -> StateKey:
    assert event.pdu.state_key is not None
    return (event.pdu.type, event.pdu.state_key)


def _unique(events: list[StoredEvent]) -> list[StoredEvent]:
    seen: dict[str, StoredEvent] = {e.event_id: e for e in events}
    return sorted(seen.values(), key=lambda e: e.stream_ordering)


def _bumps(events: Sequence[StoredEvent]) -> bool:
    return any(e.pdu.type in BUMP_EVENT_TYPES for e in events)
