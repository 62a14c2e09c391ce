"""Helpers for driving matrix-nio clients in tests: wait on /sync, never sleep."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from nio import AsyncClient, RoomCreateResponse, SyncResponse


def auth(client: AsyncClient) -> dict[str, str]:
    """The Authorization header of a logged-in client, for raw HTTP calls."""
    return {"Authorization": f"Bearer {client.access_token}"}


async def sync_until(
    client: AsyncClient, found: Callable[[SyncResponse], Any], *, timeout_s: float = 10
) -> Any:
    """Long-poll /sync until ``found(response)`` returns something truthy."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        remaining_ms = int(max(0.0, deadline - time.monotonic()) * 1000)
        response = await client.sync(timeout=min(remaining_ms, 5000))
        assert isinstance(response, SyncResponse), response
        result = found(response)
        if result:
            return result
    raise AssertionError(f"{client.user_id} did not see it within {timeout_s}s")


async def next_timeline_event(
    client: AsyncClient,
    room_id: str,
    predicate: Callable[[Any], bool] = lambda e: True,
    *,
    timeout_s: float = 10,
) -> Any:
    def found(response: SyncResponse) -> Any:
        room = response.rooms.join.get(room_id)
        if room is None:
            return None
        for event in room.timeline.events:
            if predicate(event):
                return event
        return None

    return await sync_until(client, found, timeout_s=timeout_s)


async def shared_room(alice: AsyncClient, bob: AsyncClient, **options: Any) -> str:
    """Alice creates a room, invites Bob, Bob joins; both clients are synced past it."""
    created = await alice.room_create(invite=[bob.user_id], **options)
    assert isinstance(created, RoomCreateResponse), created
    room_id: str = created.room_id
    await sync_until(bob, lambda r: room_id in r.rooms.invite)
    joined = await bob.join(room_id)
    assert getattr(joined, "room_id", None) == room_id, joined
    await sync_until(alice, lambda r: room_id in r.rooms.join)
    return room_id
