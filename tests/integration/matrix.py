"""Helpers for driving matrix-nio clients in tests: wait on /sync, never sleep."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import httpx
from aiohttp import TraceConfig
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


# Whether a long-poll is waiting at the server can't be seen from outside. What can:
# that its request has been written out (``sent``), and the answer to the same request
# without a timeout (``probe``), sent after it. The server takes both through the same
# steps and the long-poll came first, so once the probe is answered the long-poll has
# reached its wait. That is an inference from order, not a promise of the server; it
# replaces a fixed sleep that guessed the same, and adapts to a slow machine.


def sent_extensions(sent: asyncio.Event) -> dict[str, Any]:
    """httpx ``extensions`` for a request: ``sent`` is set once it has been written out."""

    async def trace(name: str, info: dict[str, Any]) -> None:
        if name == "http11.send_request_body.complete":
            sent.set()

    return {"trace": trace}


def next_request_sent(client: AsyncClient) -> asyncio.Event:
    """Set once the matrix-nio ``client`` has handed its next request's headers to its
    connection (a request without a body goes out with them)."""
    sent = asyncio.Event()

    async def headers_sent(*_: Any) -> None:
        sent.set()

    trace = TraceConfig()
    trace.on_request_headers_sent.append(headers_sent)
    trace.freeze()
    assert client.client_session is not None, "log the client in first"
    client.client_session.trace_configs.append(trace)
    return sent


async def until_waiting(
    sent: asyncio.Event, probe: Callable[[], Awaitable[object]], *, timeout_s: float = 10
) -> None:
    """Return once the long-poll whose request sets ``sent`` waits at the server: see above."""
    await asyncio.wait_for(sent.wait(), timeout_s)
    answer = await asyncio.wait_for(probe(), timeout_s)
    if isinstance(answer, httpx.Response):
        answer.raise_for_status()  # a refused probe did not take the long-poll's steps


async def waiting_sync(
    http: httpx.AsyncClient, since: str, timeout_ms: int, headers: dict[str, str]
) -> asyncio.Task[httpx.Response]:
    """GET /sync as a long-poll in the background: its task, once it waits at the server."""
    path = "/_matrix/client/v3/sync"
    sent = asyncio.Event()
    task = asyncio.create_task(
        http.get(
            path,
            params={"since": since, "timeout": timeout_ms},
            headers=headers,
            extensions=sent_extensions(sent),
        )
    )
    await until_waiting(sent, partial(http.get, path, params={"since": since}, headers=headers))
    return task
