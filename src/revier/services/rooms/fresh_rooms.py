"""The joined rooms a /sync sends afresh, read together.

A first sync (a new phone, a cleared cache) or one with ``full_state`` sends
every joined room from scratch: its newest events, and its state as at the
start of that timeline. Read room by room, that was about ten statements per
room; a user in a hundred rooms waited for a thousand. Read together it is a
few statements for all of them: the timelines in one per 50 rooms, the state
events in one, the formatting (transaction IDs, redactions, bundled
aggregations) once.

The state at a timeline's start is the room's current state when the timeline
holds no state event after that start: every state change takes a stream
position, and the read is one snapshot ending at ``upto`` (``Store.read``), so
the current state read in it is the state at ``upto``. The timeline holds every
state event of its range — ignored senders and the retention cutoff leave
state events in — unless the filter picks events by type, sender or relation;
then, and for rooms whose timeline changes their state, the state is read as at
the start, room by room, as ``RoomSyncBuilder`` does.
"""

from __future__ import annotations

from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from revier.events.filters import SyncFilter
from revier.events.types import JsonDict, StateKey
from revier.services.core import Requester, SyncToken
from revier.services.rooms.event_format import client_events
from revier.services.rooms.visibility import Visibility
from revier.storage import Tx
from revier.storage.rooms import RoomRepos
from revier.storage.rooms.event_filters import filter_clauses
from revier.storage.rooms.events import StoredEvent
from revier.storage.rooms.many_rooms import TimelineRange
from revier.storage.rooms.rooms import Membership

# A room's timeline and state objects, as in a /sync response.
Parts = tuple[JsonDict, JsonDict]


@dataclass(slots=True)
class _Room:
    membership: Membership
    events: list[StoredEvent]
    limited: bool
    start: int
    # Whether a state event after ``start`` is in the timeline (the state at
    # the start then differs from the current state).
    state_in_timeline: bool
    state: list[StoredEvent]


def batchable(flt: SyncFilter) -> bool:
    """Whether the rooms can be read together under this filter: its timeline part
    picks no events beyond what ``newest_in_rooms`` applies itself (ignored
    senders, the retention cutoff) — asked of the clauses a room-by-room read
    would apply, so a filter field added there can't be skipped here."""
    return not filter_clauses(**flt.timeline.query_args())


async def fresh_rooms(
    tx: Tx,
    visibility: Visibility,
    requester: Requester,
    joined: Sequence[Membership],
    *,
    upto: int,
    now_ms: int,
    flt: SyncFilter,
    ignored: frozenset[str],
) -> dict[str, Parts]:
    """room_id -> the ``timeline`` and ``state`` objects of each joined room, sent
    afresh (``batchable(flt)`` must hold)."""
    rooms = await _timelines(tx, visibility, requester, joined, upto, flt, ignored)
    await _states(tx, requester, rooms, flt)
    return await _formatted(tx, requester, rooms, now_ms, flt)


async def _timelines(
    tx: Tx,
    visibility: Visibility,
    requester: Requester,
    joined: Sequence[Membership],
    upto: int,
    flt: SyncFilter,
    ignored: frozenset[str],
) -> list[_Room]:
    limit = flt.timeline_limit
    fetched: dict[str, list[StoredEvent]] = {m.room_id: [] for m in joined}
    if limit > 0:
        cutoffs = await visibility.retention.cutoffs(tx, fetched)
        ranges = [
            TimelineRange(m.room_id, None, upto, limit + 1, cutoffs[m.room_id]) for m in joined
        ]
        fetched = await RoomRepos.of(tx).many_rooms.newest_in_rooms(ranges, ignored)
    rooms = []
    for m in joined:
        room_events = fetched[m.room_id]
        newest = room_events[-limit:] if limit > 0 else []
        shown = await visibility.filter(
            tx, requester.user_id, m.room_id, newest, joined_at=m.stream_ordering
        )
        if len(shown) < len(newest):
            shown = await with_current_state(tx, m.room_id, newest, shown)
        start = shown[0].stream_ordering - 1 if shown else upto
        changes_state = any(e.pdu.is_state and e.stream_ordering > start for e in room_events)
        rooms.append(_Room(m, shown, len(room_events) > limit, start, changes_state, []))
    return rooms


async def _states(tx: Tx, requester: Requester, rooms: list[_Room], flt: SyncFilter) -> None:
    """Each room's state at its timeline's start that the timeline doesn't hold:
    with lazy loading, of the members only the timeline's senders and the user."""
    db = RoomRepos.of(tx)
    current = [r.membership.room_id for r in rooms if not r.state_in_timeline]
    at_start = await db.many_rooms.current_state_ids_many(current, everything=True)
    for r in rooms:
        if r.state_in_timeline:
            room_id = r.membership.room_id
            at_start[room_id] = await db.events.state_ids_at(room_id, r.start)
    wanted: dict[str, list[str]] = {}
    for r in rooms:
        state = at_start[r.membership.room_id]
        if flt.state.lazy_load_members:
            state = lazy_members(state, r.events, requester)
        in_timeline = {e.event_id for e in r.events}
        wanted[r.membership.room_id] = [
            event_id
            for key, event_id in state.items()
            if event_id not in in_timeline and flt.state.allows_type(key[0])
        ]
    loaded = await db.events.get_many(i for ids in wanted.values() for i in ids)
    for r in rooms:
        found = (loaded[i] for i in wanted[r.membership.room_id] if i in loaded)
        r.state = sorted(found, key=lambda e: e.stream_ordering)


async def _formatted(
    tx: Tx, requester: Requester, rooms: list[_Room], now_ms: int, flt: SyncFilter
) -> dict[str, Parts]:
    """Every room's events formatted in one pass; the timelines with their bundled
    aggregations (the client has none of the children yet)."""
    every = [e for r in rooms for e in (*r.state, *r.events)]
    bundled = {e.event_id for r in rooms for e in r.events}
    shown = await serialised(tx, requester, every, now_ms, flt, bundle=bundled)
    out: dict[str, Parts] = {}
    at = 0
    for r in rooms:
        state = shown[at : at + len(r.state)]
        at += len(r.state)
        timeline = shown[at : at + len(r.events)]
        at += len(r.events)
        out[r.membership.room_id] = (
            {
                "events": timeline,
                "limited": r.limited,
                "prev_batch": SyncToken(r.start).encode(),
            },
            {"events": state},
        )
    return out


async def serialised(
    tx: Tx,
    requester: Requester,
    events: Sequence[StoredEvent],
    now_ms: int,
    flt: SyncFilter,
    *,
    bundle: bool | AbstractSet[str],
) -> list[JsonDict]:
    """The events in the filter's ``event_format``: ClientEvents, or (``federation``)
    the PDUs as servers exchange them, with their ID and ``unsigned``; ``bundle``:
    with bundled aggregations (all, or those of the events named)."""
    shown = await client_events(
        tx, requester, events, now_ms=now_ms, with_room_id=False, bundle=bundle
    )
    if flt.event_format != "federation":
        return shown
    return [
        {**e.pdu.to_dict(), "event_id": e.event_id, "unsigned": body.get("unsigned", {})}
        for e, body in zip(events, shown, strict=True)
    ]


async def with_current_state(
    tx: Tx, room_id: str, fetched: Sequence[StoredEvent], visible: list[StoredEvent]
) -> list[StoredEvent]:
    """The visible events, and the hidden ones that are the room's current state.

    A member who (re)joins a room whose history is hidden from them still gets,
    in the timeline, the state events that make the room what it is now — who
    joined while they were away, the name — as the reference server does
    (SyTest: "Current state appears in timeline in private history"): without
    them the client's room state would be wrong, and that state is theirs to see.
    """
    shown = {e.event_id for e in visible}
    hidden = [e for e in fetched if e.event_id not in shown and e.pdu.state_key is not None]
    if not hidden:
        return visible
    keys = [(e.pdu.type, e.pdu.state_key) for e in hidden if e.pdu.state_key is not None]
    current = set((await RoomRepos.of(tx).events.current_state_ids(room_id, keys)).values())
    keep = shown | {e.event_id for e in hidden if e.event_id in current}
    return [e for e in fetched if e.event_id in keep]


def lazy_members(
    state: dict[StateKey, str], timeline: Sequence[StoredEvent], requester: Requester
) -> dict[StateKey, str]:
    """Lazy-loading members: only the member events of the timeline's senders (and mine)."""
    senders = {e.pdu.sender for e in timeline} | {requester.user_id}
    return {
        key: eid for key, eid in state.items() if key[0] != "m.room.member" or key[1] in senders
    }
