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
from dataclasses import dataclass

from revier.events.types import JsonDict, StateKey
from revier.services.core import Clock, Requester, SyncToken
from revier.services.notifications import PushActions
from revier.services.rooms import (
    BUMP_EVENT_TYPES,
    ListedRoom,
    RoomViews,
    StateWanted,
    StoredEvent,
)
from revier.services.sync.sliding_request import LAZY, ME, WILDCARD, RoomConfig
from revier.storage import Tx

MEMBER = "m.room.member"
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
        w: RoomWindow,
        *,
        is_dm: bool,
        ignored: frozenset[str] = frozenset(),
    ) -> RoomPart | None:
        """The room's entry, or None when nothing is new for the client; ``ignored``:
        users whose non-state events it doesn't get."""
        m = w.listed.membership
        if m.membership in ("invite", "knock"):
            return await self._invite(tx, w)
        joined = m.membership == "join"
        if not joined and not await self._views.ever_joined(tx, m.room_id, m.user_id):
            return await self._never_joined(tx, requester, w)
        end = w.upto if joined else min(w.upto, m.stream_ordering)
        at = None if joined else end
        limit = w.config.timeline_limit
        events: list[StoredEvent] = []
        limited = False
        if limit > 0:
            fresh = w.initial or w.expanded_timeline
            events, limited = await self._views.timeline(
                tx,
                requester,
                m,
                after=None if fresh else w.after,
                upto=end,
                limit=limit,
                ignored=ignored,
            )
        state = await self._state(tx, requester, w, events, limited, end, at)
        body = await self._meta(tx, w, state, at, joined)
        if not (w.initial or events or state.events or body or w.read):
            return None
        now = self._clock.time_ms()
        if state.events:
            body["required_state"] = await self._views.client_events(
                tx, requester, state.events, now
            )
        if limit > 0:
            body["timeline"] = await self._views.client_events(tx, requester, events, now)
            body["limited"] = limited
            start = events[0].stream_ordering - 1 if events else end
            body["prev_batch"] = SyncToken(max(start, 0)).encode()
            since = w.since_pos
            live = 0 if since is None else sum(e.stream_ordering > since for e in events)
            body["num_live"] = live
        if w.initial:
            body["initial"] = True
        if w.expanded_timeline:
            body["unstable_expanded_timeline"] = True
        if is_dm:
            body["is_dm"] = True
        if w.initial or not joined or limited or limit == 0 or _bumps(events):
            body["bump_stamp"] = w.listed.bump_stamp
        body["notification_count"], body["highlight_count"] = await self._unread(
            tx, requester, m.room_id, joined
        )
        return RoomPart(body, [e.event_id for e in events], state.members)

    async def _state(
        self,
        tx: Tx,
        requester: Requester,
        w: RoomWindow,
        events: Sequence[StoredEvent],
        limited: bool,
        end: int,
        at: int | None,
    ) -> _State:
        """The room's ``required_state`` part, and what changed of its meta."""
        room_id = w.listed.room_id
        lazy, wanted = _wanted(w.config, requester.user_id)
        people = _people(events) if lazy else set()
        if w.initial:
            everyone = wanted.with_keys((MEMBER, u) for u in people)
            shown = await self._views.state(tx, room_id, everyone, at)
            return _State(shown, True, True, frozenset(people))
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

    async def _meta(
        self, tx: Tx, w: RoomWindow, state: _State, at: int | None, joined: bool
    ) -> JsonDict:
        """Name and avatar when new or changed; counts and heroes when members changed."""
        body: JsonDict = {}
        if not (state.meta_changed or state.members_changed):
            return body
        meta = await self._views.meta(tx, w.listed.membership, at=at)
        if state.meta_changed:
            body.update({k: v for k, v in (("name", meta.name), ("avatar", meta.avatar)) if v})
        if state.members_changed and joined:
            body["joined_count"] = meta.joined_count
            body["invited_count"] = meta.invited_count
            if meta.heroes:
                body["heroes"] = meta.heroes
        return body

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

    async def _unread(
        self, tx: Tx, requester: Requester, room_id: str, joined: bool
    ) -> tuple[int, int]:
        if not joined:
            return 0, 0
        counts = await self._push_actions.unread(tx, requester.user_id, room_id)
        return counts.notification_count, counts.highlight_count


# Lazily sent members a connection remembers per room; past it, it forgets them
# and sends them again as they speak (the connection's state stays small).
_MAX_MEMBERS = 200


def wanted_state(config: RoomConfig, user_id: str) -> StateWanted:
    """The state keys a config asks for, lazy members aside."""
    return _wanted(config, user_id)[1]


def _wanted(config: RoomConfig, user_id: str) -> tuple[bool, StateWanted]:
    """Whether members are lazy-loaded, and the other state keys the config asks for."""
    keys: set[StateKey] = set()
    types: set[str] = set()
    everything = False
    lazy = False
    for event_type, state_key in config.required_state:
        if event_type == WILDCARD:
            everything = True  # [*, x] asks for x of every type: all state covers it
        elif state_key == WILDCARD:
            types.add(event_type)
        elif event_type == MEMBER and state_key == LAZY:
            lazy = True
        else:
            keys.add((event_type, user_id if state_key == ME else state_key))
    return lazy, StateWanted(frozenset(keys), frozenset(types), everything)


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
