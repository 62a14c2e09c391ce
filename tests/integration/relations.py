"""Child events as clients send and read them: thread replies, edits, reactions,
references, and the endpoints that list them. Each step asserts the server took it."""

from __future__ import annotations

import secrets
from typing import Any

import httpx

from tests.integration.steps import JsonDict, Session, send

V1 = "/_matrix/client/v1"
V3 = "/_matrix/client/v3"


def relates(rel_type: str, event_id: str, **extra: Any) -> JsonDict:
    return {"m.relates_to": {"rel_type": rel_type, "event_id": event_id, **extra}}


async def thread_reply(
    http: httpx.AsyncClient, s: Session, room_id: str, root: str, body: str
) -> str:
    """A reply in the thread of ``root``, with the rich-reply fallback Element adds."""
    content = {
        "msgtype": "m.text",
        "body": body,
        "m.relates_to": {
            "rel_type": "m.thread",
            "event_id": root,
            "is_falling_back": True,
            "m.in_reply_to": {"event_id": root},
        },
    }
    return await send(http, s, room_id, "m.room.message", content)


async def edit(http: httpx.AsyncClient, s: Session, room_id: str, original: str, body: str) -> str:
    content = {
        "msgtype": "m.text",
        "body": f"* {body}",
        "m.new_content": {"msgtype": "m.text", "body": body},
        **relates("m.replace", original),
    }
    return await send(http, s, room_id, "m.room.message", content)


async def react(http: httpx.AsyncClient, s: Session, room_id: str, target: str, key: str) -> str:
    return await send(http, s, room_id, "m.reaction", relates("m.annotation", target, key=key))


async def redact(http: httpx.AsyncClient, s: Session, room_id: str, event_id: str) -> str:
    r = await http.put(
        f"{V3}/rooms/{room_id}/redact/{event_id}/{secrets.token_hex(8)}",
        headers=s.headers,
        json={},
    )
    assert r.status_code == 200, r.text
    return str(r.json()["event_id"])


async def get_event(http: httpx.AsyncClient, s: Session, room_id: str, event_id: str) -> JsonDict:
    r = await http.get(f"{V3}/rooms/{room_id}/event/{event_id}", headers=s.headers)
    assert r.status_code == 200, r.text
    body: JsonDict = r.json()
    return body


def bundle(event: JsonDict) -> JsonDict:
    """The event's ``m.relations`` (empty if it has none)."""
    relations: JsonDict = event.get("unsigned", {}).get("m.relations", {})
    return relations


async def relations_of(
    http: httpx.AsyncClient, s: Session, room_id: str, event_id: str, *path: str, **params: Any
) -> httpx.Response:
    """GET /relations/{eventId}[/{relType}[/{eventType}]] (the raw answer)."""
    url = "/".join([f"{V1}/rooms/{room_id}/relations/{event_id}", *path])
    return await http.get(url, params=params, headers=s.headers)


async def relation_ids(
    http: httpx.AsyncClient, s: Session, room_id: str, event_id: str, *path: str, **params: Any
) -> list[str]:
    """Every child's event ID, following ``next_batch`` to the end."""
    ids: list[str] = []
    token = None
    while True:
        page = {**params, "from": token} if token else params
        r = await relations_of(http, s, room_id, event_id, *path, **page)
        assert r.status_code == 200, r.text
        ids += [e["event_id"] for e in r.json()["chunk"]]
        token = r.json().get("next_batch")
        if token is None:
            return ids


async def threads(
    http: httpx.AsyncClient, s: Session, room_id: str, **params: Any
) -> httpx.Response:
    return await http.get(f"{V1}/rooms/{room_id}/threads", params=params, headers=s.headers)
