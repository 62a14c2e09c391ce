"""A room's new events, read once for every member a message wakes.

When a message wakes the members of a room, their /syncs ask for the same
slice of the room's timeline: the same room, the same window (they all had
the previous message, so the same ``since``; they read at the same newest
position), the same filter. The first reads it; the others take the events
it read, and each filters them by its own visibility and serialises them for
itself (``RoomSyncBuilder``).

Reusing a slice is exact because it is keyed by the snapshot's position:
everything that changes a stored event (a redaction, a relation, an edit)
commits at a later position, so two snapshots at the same ``upto`` see the
same rows. (A retention purge deletes without a position, but only events
older than the cutoff, which is part of the key.)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from typing import Any

from revier.storage.rooms.events import StoredEvent

# Slices kept: enough for every room a burst of messages touches at once.
MAX_SLICES = 512

SliceKey = tuple[Hashable, ...]


def slice_key(room_id: str, after: int, upto: int, limit: int, args: dict[str, Any]) -> SliceKey:
    frozen = tuple(
        (name, tuple(sorted(value)) if isinstance(value, set | frozenset | list) else value)
        for name, value in sorted(args.items())
    )
    return (room_id, after, upto, limit, frozen)


class TimelineSlices:
    def __init__(self, max_slices: int = MAX_SLICES) -> None:
        self._max = max_slices
        self._slices: dict[SliceKey, list[StoredEvent]] = {}

    async def get(
        self, key: SliceKey, read: Callable[[], Awaitable[list[StoredEvent]]]
    ) -> list[StoredEvent]:
        found = self._slices.get(key)
        if found is not None:
            return found
        events = await read()
        if len(self._slices) >= self._max:
            del self._slices[next(iter(self._slices))]  # the oldest
        self._slices[key] = events
        return events
