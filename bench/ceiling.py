"""The ceiling: a raw ASGI app on uvicorn (uvloop, httptools), the floor under any server.

Two measures of the HTTP stack alone, no auth and no storage:

- a send (``PUT …/send/…``) is answered at once with a fixed event ID: the send
  scenario against it is the most any Python server can do on this stack;
- a ``/sync`` with ``since`` parks on one shared ``asyncio.Event`` until a
  message arrives in an ``!idle…`` room: the idle scenario against it is what a
  waiting long-poll costs before a server adds anything (the floor issue 23 sets
  revier's memory per waiting client against).

``python -m bench.ceiling PORT``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from typing import Any
from urllib.parse import parse_qs

import uvicorn

_SENT = b'{"event_id":"$ceiling"}'
_VERSIONS = b'{"versions":["v1.11"]}'
_IDLE_ROOM = "/rooms/!idle"


class _Timeline:
    """Messages sent into idle rooms, and one event every parked /sync waits on."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []  # (room, content); the index is the position
        self.arrived = asyncio.Event()

    def add(self, room: str, content: Any) -> None:
        self.events.append((room, content))
        self.arrived.set()
        self.arrived = asyncio.Event()  # the next wait parks again

    def since(self, position: int) -> bytes:
        rooms: dict[str, Any] = {}
        for room, content in self.events[position:]:
            timeline = rooms.setdefault(room, {"timeline": {"events": []}})
            timeline["timeline"]["events"].append({"type": "m.room.message", "content": content})
        return json.dumps({"next_batch": str(len(self.events)), "rooms": {"join": rooms}}).encode()


# asyncio.Event binds to the running loop only when first waited on: made at import.
_timeline = _Timeline()


async def _body(receive: Any) -> bytes:
    chunks = []
    more = True
    while more:  # drain the request body
        message = await receive()
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    return b"".join(chunks)


async def _sync(scope: dict[str, Any]) -> bytes:
    query = parse_qs(scope["query_string"].decode())
    since = query.get("since", [""])[0]
    if not since:
        return json.dumps({"next_batch": str(len(_timeline.events)), "rooms": {}}).encode()
    if int(since) >= len(_timeline.events):
        timeout = int(query.get("timeout", ["0"])[0]) / 1000
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(_timeline.arrived.wait(), timeout)
    return _timeline.since(int(since))


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body = await _body(receive)
    path: str = scope["path"]
    if scope["method"] == "PUT":
        if _IDLE_ROOM in path:  # only the idle scenario's wake-ups are kept
            room = path.split("/rooms/", 1)[1].split("/", 1)[0]
            _timeline.add(room, json.loads(body))
        answer = _SENT
    elif path.endswith("/sync"):
        answer = await _sync(scope)
    else:
        answer = _VERSIONS
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": answer})


if __name__ == "__main__":
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(sys.argv[1]),
        loop="auto",
        http="auto",
        log_level="warning",
        access_log=False,
        server_header=False,
        lifespan="off",
    )
