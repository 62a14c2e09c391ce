"""Lazy-loading room members in /sync (SyTest 31sync/15lazy-members): the member events
of whoever speaks, once per device; the gap's changes; include_redundant_members."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.integration.steps import V3, Session, create_room, join, leave, people, say

LIMIT = 5


def lazy(*, redundant: bool = False, limit: int = LIMIT) -> str:
    state: dict[str, Any] = {"lazy_load_members": True}
    if redundant:
        state["include_redundant_members"] = True
    return json.dumps({"room": {"state": state, "timeline": {"limit": limit}}})


async def sync(
    http: httpx.AsyncClient, s: Session, flt: str, since: str | None = None
) -> dict[str, Any]:
    params: dict[str, Any] = {"filter": flt, "timeout": 0}
    if since:
        params["since"] = since
    r = await http.get(f"{V3}/sync", params=params, headers=s.headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def members(body: dict[str, Any], room_id: str) -> dict[str, str]:
    """user -> membership of the member events in the room's ``state``."""
    room = body.get("rooms", {}).get("join", {}).get(room_id, {})
    return {
        e["state_key"]: e["content"]["membership"]
        for e in room.get("state", {}).get("events", [])
        if e["type"] == "m.room.member"
    }


async def room_of(http: httpx.AsyncClient, owner: Session, *others: Session) -> str:
    room_id = await create_room(http, owner, invite=[o.user_id for o in others])
    for other in others:
        await join(http, other, room_id)
    return room_id


async def talk(http: httpx.AsyncClient, s: Session, room_id: str, n: int) -> None:
    for i in range(n):
        await say(http, s, room_id, f"{s.user_id} {i}")


async def test_a_speaker_is_sent_once_and_again_only_if_asked(
    http: httpx.AsyncClient, make_user
) -> None:
    anna, bernd, carla = await people(http, make_user, "anna", "bernd", "carla")
    room_id = await room_of(http, anna, bernd, carla)
    await talk(http, bernd, room_id, LIMIT)
    first = await sync(http, anna, lazy())
    assert members(first, room_id) == {anna.user_id: "join", bernd.user_id: "join"}

    # Not gapped: Carla speaks for the first time, so her member event comes now …
    await say(http, carla, room_id, "hallo")
    second = await sync(http, anna, lazy(), first["next_batch"])
    assert members(second, room_id) == {carla.user_id: "join"}
    # … and not again, nor Bernd's, which Anna's device has.
    await say(http, carla, room_id, "noch da")
    await say(http, bernd, room_id, "ich auch")
    third = await sync(http, anna, lazy(), second["next_batch"])
    assert members(third, room_id) == {}
    # A response the client never got doesn't count: from the older token, Carla
    # again (Bernd came in the first response, which this token proves it has).
    again = await sync(http, anna, lazy(), first["next_batch"])
    assert members(again, room_id) == {carla.user_id: "join"}

    # include_redundant_members: the speakers' member events every time.
    flt = lazy(redundant=True)
    base = await sync(http, anna, flt)
    await say(http, carla, room_id, "redundant")
    await say(http, bernd, room_id, "redundant")
    body = await sync(http, anna, flt, base["next_batch"])
    assert members(body, room_id) == {carla.user_id: "join", bernd.user_id: "join"}


async def test_a_gapped_sync_brings_the_gaps_members_and_new_speakers(
    http: httpx.AsyncClient, make_user
) -> None:
    anna, bernd, carla, dora = await people(http, make_user, "anna", "bernd", "carla", "dora")
    room_id = await room_of(http, anna, bernd, carla)
    await talk(http, bernd, room_id, LIMIT)
    first = await sync(http, anna, lazy())
    assert set(members(first, room_id)) == {anna.user_id, bernd.user_id}

    # Dora joins in the gap (silent); Carla, never sent before, fills the timeline.
    await join_by_invite(http, anna, dora, room_id)
    await talk(http, carla, room_id, LIMIT + 3)
    second = await sync(http, anna, lazy(), first["next_batch"])
    room = second["rooms"]["join"][room_id]
    assert room["timeline"]["limited"] is True
    assert members(second, room_id) == {carla.user_id: "join", dora.user_id: "join"}

    # Dora leaves in the next gap; Carla, known by now, is not sent again.
    await leave(http, dora, room_id)
    await talk(http, carla, room_id, LIMIT + 3)
    third = await sync(http, anna, lazy(), second["next_batch"])
    assert members(third, room_id) == {dora.user_id: "leave"}


async def test_a_gap_without_lazy_loading_still_brings_every_change(
    http: httpx.AsyncClient, make_user
) -> None:
    anna, bernd, carla = await people(http, make_user, "anna", "bernd", "carla")
    room_id = await room_of(http, anna, bernd)
    flt = json.dumps({"room": {"timeline": {"limit": LIMIT}}})
    first = await sync(http, anna, flt)
    await join_by_invite(http, anna, carla, room_id)
    await talk(http, bernd, room_id, LIMIT + 2)
    body = await sync(http, anna, flt, first["next_batch"])
    assert members(body, room_id) == {carla.user_id: "join"}


async def join_by_invite(
    http: httpx.AsyncClient, inviter: Session, joiner: Session, room_id: str
) -> None:
    r = await http.post(
        f"{V3}/rooms/{room_id}/invite", headers=inviter.headers, json={"user_id": joiner.user_id}
    )
    assert r.status_code == 200, r.text
    await join(http, joiner, room_id)
