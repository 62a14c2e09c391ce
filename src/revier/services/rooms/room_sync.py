"""One room's part of a /sync response: timeline, state, ephemeral, account data, counts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from revier.events.filters import SyncFilter
from revier.events.types import JsonDict, StateKey
from revier.services.core import Requester, SyncToken
from revier.services.rooms.event_format import STRIPPED_STATE_TYPES, client_events, stripped
from revier.services.rooms.fresh_rooms import (
    Parts,
    batchable,
    fresh_rooms,
    lazy_members,
    serialised,
    with_current_state,
)
from revier.services.rooms.lazy_members import SentMembers
from revier.services.rooms.timeline_slices import TimelineSlices, slice_key
from revier.services.rooms.visibility import Visibility, membership_history
from revier.storage import Tx
from revier.storage.rooms import RoomRepos
from revier.storage.rooms.events import StoredEvent
from revier.storage.rooms.rooms import Membership

MEMBER = "m.room.member"
# A room summary's heroes (spec: "m.heroes": up to five members).
MAX_HEROES = 5


@dataclass(frozen=True)
class Window:
    """What one sync covers: after ``since`` (None: from the start) up to ``upto``."""

    since: SyncToken | None
    upto: int
    now_ms: int
    full_state: bool

    @property
    def after(self) -> int | None:
        return self.since.position if self.since else None


class RoomSyncBuilder:
    def __init__(self, visibility: Visibility) -> None:
        self._visibility = visibility
        self._sent = SentMembers()
        self._slices = TimelineSlices()

    async def is_fresh(self, tx: Tx, membership: Membership, window: Window) -> bool:
        """Whether the client gets the room from scratch: a first sync, ``full_state``,
        or a join in the window. A display-name change or a leave of a member who
        was already joined is an ordinary change, sent as such."""
        after = window.after
        if after is None or window.full_state:
            return True
        if membership.stream_ordering <= after:
            return False
        key = (MEMBER, membership.user_id)
        before = await RoomRepos.of(tx).events.state_event_at(membership.room_id, key, after)
        return before is None or before.pdu.content.get("membership") != "join"

    async def timeline_and_state(
        self,
        tx: Tx,
        requester: Requester,
        membership: Membership,
        window: Window,
        flt: SyncFilter,
        *,
        upto: int,
        fresh: bool,
        ignored: frozenset[str] = frozenset(),
    ) -> tuple[JsonDict, JsonDict] | None:
        """The ``timeline`` and ``state`` objects of a room, or None if nothing changed.

        ``upto`` is where this room's view ends: the sync's end for joined
        rooms, the leave event for left ones; ``fresh``: see ``is_fresh``;
        ``ignored``: users whose non-state events the requester doesn't get.
        """
        room_id = membership.room_id
        after = window.after
        if membership.membership in ("leave", "ban") and not any(
            m == "join" for _, m in await membership_history(tx, room_id, requester.user_id)
        ):
            return await self._never_joined(tx, requester, membership, window)
        limit = flt.timeline_limit
        events: list[StoredEvent] = []
        limited = False
        if limit > 0:
            args = flt.timeline.query_args(ignored)
            cutoff = await self._visibility.retention.cutoff(tx, room_id)

            async def read(not_before_ts: int | None) -> list[StoredEvent]:
                query = args.copy()
                query["not_before_ts"] = not_before_ts
                return await RoomRepos.of(tx).events.room_events(
                    room_id, after=None if fresh else after, upto=upto, limit=limit + 1, **query
                )

            if fresh or after is None:
                fetched = await read(cutoff)
            else:
                # The same slice every member a message woke asks for. Read
                # without the retention cutoff (it moves every millisecond);
                # when all of it is newer, the cutoff would have read the same.
                key = slice_key(room_id, after, upto, limit + 1, dict(args))
                fetched = await self._slices.get(key, lambda: read(None))
                if cutoff is not None and any(_expired(e, cutoff) for e in fetched):
                    fetched = await read(cutoff)
            limited = len(fetched) > limit
            joined_at = membership.stream_ordering if membership.membership == "join" else None
            events = await self._visibility.filter(
                tx, requester.user_id, room_id, fetched[-limit:], joined_at=joined_at
            )
            if joined_at is not None and len(events) < len(fetched[-limit:]):
                events = await with_current_state(tx, room_id, fetched[-limit:], events)
        if not fresh and not events:
            return None
        start = events[0].stream_ordering - 1 if events else upto
        state = await self._state(
            tx, requester, room_id, events, window, flt, fresh=fresh, limited=limited, start=start
        )
        timeline = {
            # Bundled aggregations when the client can't have seen the children
            # (spec: "/sync when the relevant section has a limited value of true");
            # a room new to the client is one too.
            "events": await serialised(
                tx, requester, events, window.now_ms, flt, bundle=limited or fresh
            ),
            "limited": limited,
            "prev_batch": SyncToken(start).encode(),
        }
        state_events = await serialised(tx, requester, state, window.now_ms, flt, bundle=False)
        parts = timeline, {"events": state_events}
        self.note_sent(requester, room_id, parts, flt, window.upto)
        return parts

    async def fresh_rooms(
        self,
        tx: Tx,
        requester: Requester,
        joined: Sequence[Membership],
        window: Window,
        flt: SyncFilter,
        ignored: frozenset[str],
    ) -> dict[str, Parts]:
        """``timeline_and_state`` of joined rooms sent afresh, read together where
        the filter allows (``fresh_rooms``)."""
        if not joined:
            return {}
        if not batchable(flt):
            out: dict[str, Parts] = {}
            for m in joined:
                parts = await self.timeline_and_state(
                    tx, requester, m, window, flt, upto=window.upto, fresh=True, ignored=ignored
                )
                assert parts is not None  # a fresh room always has its parts
                out[m.room_id] = parts
            return out
        found = await fresh_rooms(
            tx,
            self._visibility,
            requester,
            joined,
            upto=window.upto,
            now_ms=window.now_ms,
            flt=flt,
            ignored=ignored,
        )
        for room_id, parts in found.items():
            self.note_sent(requester, room_id, parts, flt, window.upto)
        return found

    async def _never_joined(
        self, tx: Tx, requester: Requester, membership: Membership, window: Window
    ) -> tuple[JsonDict, JsonDict] | None:
        """A room left (or banned from) without ever joining it — an invite declined
        or withdrawn: the leave alone, nothing of the room the user never saw."""
        if window.after is not None and membership.stream_ordering <= window.after:
            return None
        own = await RoomRepos.of(tx).events.get(membership.event_id)
        events = [own] if own is not None else []
        shown = await client_events(tx, requester, events, now_ms=window.now_ms, with_room_id=False)
        start = membership.stream_ordering - 1
        timeline = {"events": shown, "limited": False, "prev_batch": SyncToken(start).encode()}
        return timeline, {"events": []}

    async def _state(
        self,
        tx: Tx,
        requester: Requester,
        room_id: str,
        timeline: Sequence[StoredEvent],
        window: Window,
        flt: SyncFilter,
        *,
        fresh: bool,
        limited: bool,
        start: int,
    ) -> list[StoredEvent]:
        """State up to the start of the timeline that the client doesn't have yet.

        Afresh: all of it (with lazy loading, of the members only the timeline's
        senders and the user). Incrementally: every change in a gap — members who
        joined or left in it too — and, lazily loading, the member events of the
        timeline's senders the device wasn't sent before (``SentMembers``).
        """
        db = RoomRepos.of(tx)
        lazy = flt.state.lazy_load_members
        if not fresh and not limited and not lazy:
            return []  # every state change since `since` is in the timeline itself
        wanted: dict[StateKey, str] = {}
        at_start: dict[StateKey, str] | None = None
        if fresh or limited:
            at_start = await db.events.state_ids_at(room_id, start)
        if fresh:
            assert at_start is not None
            wanted = lazy_members(at_start, timeline, requester) if lazy else at_start
        elif limited and window.after is not None:
            assert at_start is not None
            before = await db.events.state_ids_at(room_id, window.after)
            wanted = {k: v for k, v in at_start.items() if before.get(k) != v}
        if lazy and not fresh and window.after is not None:
            wanted.update(
                await self._unsent_members(
                    tx, requester, room_id, timeline, window.after, flt, start, at_start
                )
            )
        in_timeline = {e.event_id for e in timeline}
        ids = [
            eid
            for key, eid in wanted.items()
            if eid not in in_timeline and flt.state.allows_type(key[0])
        ]
        loaded = await db.events.get_many(ids)
        return sorted((loaded[i] for i in ids if i in loaded), key=lambda e: e.stream_ordering)

    async def _unsent_members(
        self,
        tx: Tx,
        requester: Requester,
        room_id: str,
        timeline: Sequence[StoredEvent],
        after: int,
        flt: SyncFilter,
        start: int,
        at_start: dict[StateKey, str] | None,
    ) -> dict[StateKey, str]:
        """The member events (as at the timeline's start) of the timeline's senders
        that the device doesn't have; all of them with include_redundant_members."""
        senders = {e.pdu.sender for e in timeline}
        if not flt.state.include_redundant_members:
            senders -= self._sent.known((requester.user_id, requester.device_id), room_id, after)
        out: dict[StateKey, str] = {}
        for sender in sorted(senders):
            key = (MEMBER, sender)
            if at_start is not None:
                if key in at_start:
                    out[key] = at_start[key]
                continue
            event = await RoomRepos.of(tx).events.state_event_at(room_id, key, start)
            if event is not None:
                out[key] = event.event_id
        return out

    def note_sent(
        self,
        requester: Requester,
        room_id: str,
        parts: tuple[JsonDict, JsonDict],
        flt: SyncFilter,
        upto: int,
    ) -> None:
        """Remember the member events a lazy-loading sync sent (see ``SentMembers``)."""
        if not flt.state.lazy_load_members:
            return
        members = [
            (e["state_key"], e["event_id"])
            for part in parts
            for e in part["events"]
            if e.get("type") == MEMBER and isinstance(e.get("state_key"), str)
        ]
        if members:
            device = (requester.user_id, requester.device_id)
            self._sent.record(device, room_id, members, upto)

    async def rooms_with_events(
        self, tx: Tx, room_ids: list[str], after: int, upto: int
    ) -> set[str]:
        """Which of the rooms have events in (after, upto]: one query for all of them."""
        return await RoomRepos.of(tx).many_rooms.rooms_with_events(room_ids, after, upto)

    async def receipts(
        self, tx: Tx, room_ids: list[str], after: int | None, upto: int, user_id: str
    ) -> dict[str, JsonDict]:
        """room_id -> the ``m.receipt`` event of the receipts changed in the window."""
        changed = await RoomRepos.of(tx).receipts.changed(room_ids, after, upto)
        return receipt_events(changed, user_id)

    async def invite_state(self, tx: Tx, membership: Membership) -> JsonDict:
        return {"events": await stripped_state(tx, membership)}

    async def summaries(self, tx: Tx, room_ids: Sequence[str], user_id: str) -> dict[str, JsonDict]:
        """room_id -> the room's ``summary``: member counts and up to five heroes,
        without loading the member list; all the rooms in two statements."""
        db = RoomRepos.of(tx)
        counts = await db.many_rooms.member_counts(room_ids)
        heroes = await db.many_rooms.heroes_in_rooms(room_ids, user_id, MAX_HEROES)
        return {
            room_id: {
                "m.heroes": heroes[room_id],
                "m.joined_member_count": counts[room_id][0],
                "m.invited_member_count": counts[room_id][1],
            }
            for room_id in room_ids
        }


async def stripped_state(tx: Tx, membership: Membership) -> list[JsonDict]:
    """What an invitee (or a knocker) sees of a room: its stripped state, then the
    invite (or knock) itself."""
    db = RoomRepos.of(tx)
    ids = await db.events.current_state_ids(membership.room_id, STRIPPED_STATE_TYPES)
    loaded = await db.events.get_many([*ids.values(), membership.event_id])
    events = [stripped(loaded[i]) for i in ids.values() if i in loaded]
    if membership.event_id in loaded:
        invite = loaded[membership.event_id]
        events.append(
            {
                **stripped(invite),
                "event_id": invite.event_id,
                "origin_server_ts": invite.pdu.origin_server_ts,
            }
        )
    return events


def receipt_events(receipts: Sequence[Any], user_id: str) -> dict[str, JsonDict]:
    """room_id -> the m.receipt event; private receipts only for their owner."""
    by_room: dict[str, dict[str, Any]] = {}
    for r in receipts:
        if r.receipt_type == "m.read.private" and r.user_id != user_id:
            continue
        content = by_room.setdefault(r.room_id, {})
        entry: dict[str, Any] = {"ts": r.ts}
        if r.thread_id:
            entry["thread_id"] = r.thread_id
        content.setdefault(r.event_id, {}).setdefault(r.receipt_type, {})[r.user_id] = entry
    return {room: {"type": "m.receipt", "content": c} for room, c in by_room.items()}


def _expired(event: StoredEvent, cutoff: int) -> bool:
    """What the retention cutoff takes out of a timeline (state events stay)."""
    return not event.pdu.is_state and event.pdu.origin_server_ts < cutoff
