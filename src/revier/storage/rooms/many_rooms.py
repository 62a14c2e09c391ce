"""Reads over many rooms at once, for room lists (sliding sync): a few statements
however many rooms a window holds, where one statement per room cost more in
building and running statements than in the reading itself."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from functools import cache

from sqlalchemy import (
    ColumnElement,
    Integer,
    bindparam,
    func,
    or_,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from revier.events.types import StateKey
from revier.storage.direct import Prepared
from revier.storage.rooms.events import COLUMNS, EventRepository, StoredEvent
from revier.storage.rooms.rooms import JOINED_OR_INVITED, LISTED, Membership, heroes_of
from revier.storage.rooms.tables import current_state, events, memberships
from revier.storage.streams import SHORT_RANGE, in_window

# Every sliding-sync request runs some of these.
_ROOMS_IN_RANGE = Prepared(
    select(events.c.room_id).where(*in_window(events.c.stream_ordering)).distinct()
)
_ROOMS_WITH_EVENTS = Prepared(
    select(events.c.room_id)
    .where(
        events.c.room_id.in_(bindparam("rooms", expanding=True)),
        *in_window(events.c.stream_ordering),
    )
    .distinct()
)

_MEMBER_COUNTS = Prepared(
    select(memberships.c.room_id, memberships.c.membership, func.count())
    .where(memberships.c.room_id.in_(bindparam("rooms", expanding=True)), JOINED_OR_INVITED)
    .group_by(memberships.c.room_id, memberships.c.membership)
)

_ONE_STATE_IN_ROOMS = Prepared(
    select(current_state.c.room_id, current_state.c.event_id).where(
        current_state.c.room_id.in_(bindparam("rooms", expanding=True)),
        current_state.c.type == bindparam("kind"),
        current_state.c.state_key == bindparam("key"),
    )
)
_AT_POSITIONS = Prepared(
    select(events.c.room_id, *COLUMNS)
    .where(events.c.stream_ordering.in_(bindparam("positions", expanding=True)))
    .order_by(events.c.stream_ordering)
)
# What a push about an event says of it.
_REFS_AT = Prepared(
    select(
        events.c.stream_ordering,
        events.c.event_id,
        events.c.room_id,
        events.c.type,
        events.c.sender,
    ).where(events.c.stream_ordering.in_(bindparam("positions", expanding=True)))
)


@cache
def _state_ids_many(keys: bool, types: bool) -> Prepared:
    """Many rooms' current state IDs: at exact ``keys``, or of some ``types``,
    either, or (neither) all of it."""
    stmt = select(
        current_state.c.room_id,
        current_state.c.type,
        current_state.c.state_key,
        current_state.c.event_id,
    ).where(current_state.c.room_id.in_(bindparam("rooms", expanding=True)))
    which = []
    if keys:
        pair = tuple_(current_state.c.type, current_state.c.state_key)
        which.append(pair.in_(bindparam("keys", expanding=True)))
    if types:
        which.append(current_state.c.type.in_(bindparam("types", expanding=True)))
    return Prepared(stmt.where(or_(*which)) if which else stmt)


# A user's listed rows that may differ from what they were at ``after``: those of
# rooms with events since (a bump stamp moves with an event), and memberships
# written since.
_LISTED_CHANGED = Prepared(
    LISTED.where(
        or_(
            memberships.c.room_id.in_(bindparam("rooms", expanding=True)),
            memberships.c.stream_ordering > bindparam("after"),
        )
    )
)


# Many rooms in one statement, a branch per room read from the room's own index
# (timelines, heroes). SQLite allows 500 branches in a compound select; fewer
# keep the statement small.
_BRANCHES_PER_QUERY = 50


@cache
def _newest_in_rooms(n: int, ignoring: bool, cutting: bool) -> Prepared:
    """``n`` rooms' newest events in ``(after_i, upto_i]`` (at most ``limit_i`` each);
    ``ignoring``: without the non-state events of the senders in ``ignored``;
    ``cutting``: without the messages sent before ``not_before_i`` (a room's
    retention; state events stay)."""
    unignored = (
        [
            or_(
                events.c.state_key.isnot(None),
                events.c.sender.not_in(bindparam("ignored", expanding=True)),
            )
        ]
        if ignoring
        else []
    )

    def unexpired(i: int) -> list[ColumnElement[bool]]:
        if not cutting:
            return []
        ts = events.c.origin_server_ts >= bindparam(f"not_before{i}")
        return [or_(events.c.state_key.isnot(None), ts)]

    branches = [
        select(
            select(events.c.room_id, *COLUMNS)
            .where(
                events.c.room_id == bindparam(f"room{i}"),
                events.c.stream_ordering > bindparam(f"after{i}"),
                events.c.stream_ordering <= bindparam(f"upto{i}"),
                *unignored,
                *unexpired(i),
            )
            .order_by(events.c.stream_ordering.desc())
            .limit(bindparam(f"limit{i}", type_=Integer))
            .subquery()
        )
        for i in range(n)
    ]
    return Prepared(branches[0] if n == 1 else union_all(*branches))


@cache
def _heroes_in_rooms(n: int) -> Prepared:
    """``n`` rooms' heroes (``rooms.heroes_of``), each branch read from the
    (room_id, user_id) key."""
    branches = [select(heroes_of(f"room{i}").subquery()) for i in range(n)]
    if n == 1:
        return Prepared(branches[0])
    # In the database's order, as one room's ``memberships.heroes`` has them.
    both = union_all(*branches)
    return Prepared(both.order_by(both.selected_columns.room_id, both.selected_columns.user_id))


@dataclass(frozen=True, slots=True)
class TimelineRange:
    """One room's part of ``newest_in_rooms``: its newest ``limit`` events in
    ``(after, upto]`` (``after`` None: from its beginning); ``not_before``: the
    room's retention cutoff, messages older are left out (None: none)."""

    room_id: str
    after: int | None
    upto: int
    limit: int
    not_before: int | None = None


# What a room without a cutoff binds when others in the same statement have one.
_NO_CUTOFF = -(2**63)


class ManyRoomsRepository:
    def __init__(self, conn: AsyncConnection, events: EventRepository) -> None:
        self._conn = conn
        self._events = events  # which parses the rows into events

    async def newest_in_rooms(
        self, ranges: Sequence[TimelineRange], ignored: Collection[str] = ()
    ) -> dict[str, list[StoredEvent]]:
        """Several rooms' timelines (each oldest first) in a few statements, without
        the non-state events ``ignored`` senders sent."""
        out: dict[str, list[StoredEvent]] = {r.room_id: [] for r in ranges}
        for start in range(0, len(ranges), _BRANCHES_PER_QUERY):
            chunk = ranges[start : start + _BRANCHES_PER_QUERY]
            params: dict[str, object] = {"ignored": sorted(ignored)} if ignored else {}
            cutting = any(r.not_before is not None for r in chunk)
            for i, r in enumerate(chunk):
                params[f"room{i}"], params[f"upto{i}"], params[f"limit{i}"] = (
                    r.room_id,
                    r.upto,
                    r.limit,
                )
                params[f"after{i}"] = -1 if r.after is None else r.after
                if cutting:
                    params[f"not_before{i}"] = _NO_CUTOFF if r.not_before is None else r.not_before
            stmt = _newest_in_rooms(len(chunk), bool(ignored), cutting)
            for row in await stmt.rows(self._conn, params):
                out[row.room_id].append(await self._events.parse(row))
        for timeline in out.values():
            timeline.sort(key=_position)
        return out

    async def current_state_ids_many(
        self,
        room_ids: Sequence[str],
        keys: Iterable[StateKey] = (),
        types: Iterable[str] = (),
        *,
        everything: bool = False,
    ) -> dict[str, dict[StateKey, str]]:
        """room_id -> some of its current state (exact keys, every key of some types,
        or all), for many rooms in one query per 500."""
        out: dict[str, dict[StateKey, str]] = {r: {} for r in room_ids}
        wanted_keys, wanted_types = sorted(set(keys)), sorted(set(types))
        if not (everything or wanted_keys or wanted_types):
            return out
        # The lists the statement filters by (none: all of the rooms' state).
        lists = {} if everything else {"keys": wanted_keys, "types": wanted_types}
        lists = {name: values for name, values in lists.items() if values}
        stmt = _state_ids_many("keys" in lists, "types" in lists)
        for start in range(0, len(room_ids), 500):
            params = {"rooms": list(room_ids[start : start + 500]), **lists}
            for r in await stmt.rows(self._conn, params):
                out[r.room_id][(r.type, r.state_key)] = r.event_id
        return out

    async def current_state_ids_in_rooms(
        self, room_ids: Sequence[str], key: StateKey
    ) -> dict[str, str]:
        """room_id -> event ID of one current state key, for many rooms in one query."""
        out: dict[str, str] = {}
        for start in range(0, len(room_ids), 500):
            params = {"rooms": list(room_ids[start : start + 500]), "kind": key[0], "key": key[1]}
            out.update(
                {r.room_id: r.event_id for r in await _ONE_STATE_IN_ROOMS.rows(self._conn, params)}
            )
        return out

    async def joined_since(self, user_id: str, room_ids: Sequence[str]) -> dict[str, int]:
        """room_id -> where the user's membership became "join", for those of the
        rooms the user is joined to now (joined without a break since then)."""
        out: dict[str, int] = {}
        for start in range(0, len(room_ids), 500):
            stmt = select(memberships.c.room_id, memberships.c.stream_ordering).where(
                memberships.c.user_id == user_id,
                memberships.c.room_id.in_(room_ids[start : start + 500]),
                memberships.c.membership == "join",
            )
            out.update({r.room_id: int(r.stream_ordering) for r in await self._conn.execute(stmt)})
        return out

    async def rooms_with_events(self, room_ids: Sequence[str], after: int, upto: int) -> set[str]:
        """Which of ``room_ids`` have any event in ``(after, upto]``."""
        if not room_ids:
            return set()
        if upto - after <= SHORT_RANGE:
            window = {"after": after, "upto": upto}
            found = {row[0] for row in await _ROOMS_IN_RANGE.rows(self._conn, window)}
            return found.intersection(room_ids)
        params = {"rooms": list(room_ids), "after": after, "upto": upto}
        return {row.room_id for row in await _ROOMS_WITH_EVENTS.rows(self._conn, params)}

    async def rooms_in_short_range(self, after: int, upto: int) -> set[str]:
        """Every room with an event in ``(after, upto]``, a range of at most
        ``SHORT_RANGE`` positions (read whole from the stream index)."""
        assert upto - after <= SHORT_RANGE
        window = {"after": after, "upto": upto}
        return {row[0] for row in await _ROOMS_IN_RANGE.rows(self._conn, window)}

    async def listed_changed(
        self, user_id: str, room_ids: Collection[str], after: int, upto: int
    ) -> list[tuple[Membership, int | None]]:
        """``memberships.listed_for_user`` for the rooms named and those where the
        user's membership was written after ``after``."""
        params = {"user": user_id, "upto": upto, "rooms": list(room_ids), "after": after}
        rows = await _LISTED_CHANGED.rows(self._conn, params)
        return [(Membership(r[0], r[1], r[2], r[3], r[4], bool(r[5]), r[6]), r[7]) for r in rows]

    async def member_counts(self, room_ids: Sequence[str]) -> dict[str, tuple[int, int]]:
        """room_id -> (joined, invited) member counts, for many rooms."""
        counted: dict[str, dict[str, int]] = {r: {} for r in room_ids}
        for start in range(0, len(room_ids), 500):
            params = {"rooms": list(room_ids[start : start + 500])}
            for row in await _MEMBER_COUNTS.rows(self._conn, params):
                counted[row[0]][row[1]] = int(row[2])
        return {r: (c.get("join", 0), c.get("invite", 0)) for r, c in counted.items()}

    async def heroes_in_rooms(
        self, room_ids: Sequence[str], user_id: str, limit: int
    ) -> dict[str, list[str]]:
        """room_id -> ``memberships.heroes`` of the room, for many rooms."""
        out: dict[str, list[str]] = {r: [] for r in room_ids}
        for start in range(0, len(room_ids), _BRANCHES_PER_QUERY):
            chunk = room_ids[start : start + _BRANCHES_PER_QUERY]
            params: dict[str, object] = {"user": user_id, "limit": limit}
            params.update({f"room{i}": room_id for i, room_id in enumerate(chunk)})
            for row in await _heroes_in_rooms(len(chunk)).rows(self._conn, params):
                out[row.room_id].append(row.user_id)
        return out

    async def at_positions(self, positions: Iterable[int]) -> list[StoredEvent]:
        """The events at these stream positions (those that exist), in stream order."""
        wanted = sorted(set(positions))
        if not wanted:
            return []
        rows = await _AT_POSITIONS.rows(self._conn, {"positions": wanted})
        return [await self._events.parse(row) for row in rows]

    async def refs_at(self, positions: Iterable[int]) -> list[tuple[int, str, str, str, str]]:
        """(stream position, event ID, room ID, type, sender) of the events there,
        without parsing them: all a push about them needs to say."""
        wanted = sorted(set(positions))
        if not wanted:
            return []
        rows = await _REFS_AT.rows(self._conn, {"positions": wanted})
        return [(int(r[0]), r[1], r[2], r[3], r[4]) for r in rows]


def _position(event: StoredEvent) -> int:
    return event.stream_ordering
