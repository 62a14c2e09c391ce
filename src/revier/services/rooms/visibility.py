"""Applying history visibility, membership and retention to what a user reads."""

from __future__ import annotations

from collections.abc import Sequence

from revier.errors import Forbidden
from revier.events.visibility import PositionRange, is_visible, visibility_at, visible_ranges
from revier.services.core import Requester
from revier.services.rooms.retention import RoomRetention
from revier.storage import Tx
from revier.storage.rooms import RoomRepos
from revier.storage.rooms.events import StoredEvent

HISTORY_VISIBILITY = ("m.room.history_visibility", "")


class Visibility:
    def __init__(self, retention: RoomRetention) -> None:
        self.retention = retention

    async def filter(
        self,
        tx: Tx,
        user_id: str,
        room_id: str,
        events: Sequence[StoredEvent],
        *,
        joined_at: int | None = None,
    ) -> list[StoredEvent]:
        """The subset of ``events`` (one room, oldest first) the user may see.

        ``joined_at``: the position since which the caller knows the user has
        been joined without a break. Events after it are visible whatever the
        history visibility (the user was joined at each of them), which spares
        the two history queries on the hot path of /sync.

        Messages older than the room's retention are dropped, whoever asks
        (``retention.py``); state events stay.
        """
        if not events:
            return []
        events = await self.unexpired(tx, room_id, events)
        if not events:
            return []
        if joined_at is not None and events[0].stream_ordering >= joined_at:
            return list(events)
        history = await membership_history(tx, room_id, user_id)
        visibilities = await visibility_history(tx, room_id)
        out = []
        for event in events:
            visibility = visibility_at(visibilities, event.stream_ordering)
            own = event.pdu.type == "m.room.member" and event.pdu.state_key == user_id
            if is_visible(visibility, history, event.stream_ordering, is_own_member=own):
                out.append(event)
        return out

    async def unexpired(
        self, tx: Tx, room_id: str, events: Sequence[StoredEvent]
    ) -> Sequence[StoredEvent]:
        """``events`` without the room's expired messages (one cached look-up)."""
        cut = await self.retention.cutoff(tx, room_id)
        if cut is None or all(e.pdu.origin_server_ts >= cut for e in events):
            return events
        return [e for e in events if e.pdu.is_state or e.pdu.origin_server_ts >= cut]

    async def read_position(self, tx: Tx, requester: Requester, room_id: str) -> int | None:
        """Where the requester's view of the room ends: None for "now", else their leave.

        Members read up to now; who left (or was kicked or banned) reads up to
        that moment; anyone of the room's tenant may read a world_readable
        room; everyone else nothing — an unknown room looks the same.
        """
        db = RoomRepos.of(tx)
        if await db.events.room_tenant(room_id) != requester.tenant.server_name:
            raise Forbidden("You are not in this room")
        membership = await db.memberships.get(room_id, requester.user_id)
        if membership is not None and membership.membership == "join":
            return None
        if membership is not None and membership.membership in ("leave", "ban"):
            history = await membership_history(tx, room_id, requester.user_id)
            if any(m == "join" for _, m in history):
                return membership.stream_ordering
        if await is_world_readable(tx, room_id):
            return None
        raise Forbidden("You are not in this room")

    async def searchable_ranges(
        self, tx: Tx, user_id: str, room_id: str, left_at: int | None
    ) -> list[PositionRange]:
        """Where in a room's stream a user may find events by searching.

        Spec, "Server Side Search": rooms the user is or was in, only what they
        may see, and nothing after they left (``left_at``: their leave, or None
        while joined) even in a ``world_readable`` room. A room they never
        joined (an invite they declined) gives nothing.
        """
        history = await membership_history(tx, room_id, user_id)
        if not any(membership == "join" for _, membership in history):
            return []
        ranges = visible_ranges(await visibility_history(tx, room_id), history)
        if left_at is None:
            return ranges
        return [
            (low, left_at if high is None else min(high, left_at))
            for low, high in ranges
            if low is None or low <= left_at
        ]

    async def require_joined(self, tx: Tx, user_id: str, room_id: str) -> None:
        membership = await RoomRepos.of(tx).memberships.get(room_id, user_id)
        if membership is None or membership.membership != "join":
            raise Forbidden("You are not in this room")


async def membership_history(tx: Tx, room_id: str, user_id: str) -> list[tuple[int, str]]:
    """The user's memberships in the room over time: (stream_ordering, membership)."""
    return [
        (position, str(content.get("membership", "leave")))
        for position, content in await RoomRepos.of(tx).events.state_history(
            room_id, ("m.room.member", user_id)
        )
    ]


async def visibility_history(tx: Tx, room_id: str) -> list[tuple[int, str]]:
    """The room's history visibility over time: (stream_ordering, value)."""
    return [
        (position, str(content.get("history_visibility")))
        for position, content in await RoomRepos.of(tx).events.state_history(
            room_id, HISTORY_VISIBILITY
        )
    ]


async def seen_ranges(tx: Tx, user_id: str, room_id: str) -> list[PositionRange]:
    """The stream ranges of the room whose events the user may see (two queries)."""
    history = await membership_history(tx, room_id, user_id)
    return visible_ranges(await visibility_history(tx, room_id), history)


async def is_world_readable(tx: Tx, room_id: str) -> bool:
    state = await RoomRepos.of(tx).events.current_state_events(room_id, [HISTORY_VISIBILITY])
    event = state.get(HISTORY_VISIBILITY)
    return event is not None and event.content.get("history_visibility") == "world_readable"
