"""Room summaries, space hierarchies, mutual rooms, jumping to a date, third-party
lookups: what a member sees, what a non-member doesn't, by raw HTTP; matrix-nio
for the summary a client asks before joining."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import quote

import httpx

from tests.integration.conftest import PASSWORD, Account
from tests.integration.harness import RevierProcess
from tests.integration.steps import (
    V3,
    Session,
    create_room,
    join,
    log_in,
    people,
    say,
    set_state,
)

V1 = "/_matrix/client/v1"


async def get(http: httpx.AsyncClient, s: Session, path: str, **params: Any) -> httpx.Response:
    return await http.get(f"{V1}{path}", headers=s.headers, params=params)


def error(r: httpx.Response) -> tuple[int, str]:
    return r.status_code, r.json().get("errcode", "")


async def test_a_room_summary_for_who_may_join_and_404_for_others(
    http: httpx.AsyncClient, make_user
) -> None:
    anna, bob, mallory = await people(http, make_user, "anna", "bob", "mallory")
    alias_name = f"wache-{secrets.token_hex(3)}"
    public = await create_room(
        http,
        anna,
        preset="public_chat",
        name="Wache",
        topic="Frühdienst",
        room_alias_name=alias_name,
    )
    private = await create_room(http, anna, name="Geheim", invite=[bob.user_id])

    r = await get(http, mallory, f"/room_summary/{public}")
    assert r.status_code == 200, r.text
    summary = r.json()
    assert summary["room_id"] == public and summary["name"] == "Wache"
    assert summary["topic"] == "Frühdienst" and summary["join_rule"] == "public"
    assert summary["num_joined_members"] == 1 and summary["world_readable"] is False
    assert summary["room_version"] and summary["encryption"] == "m.megolm.v1.aes-sha2"
    assert summary["canonical_alias"] == f"#{alias_name}:localhost"
    assert "membership" not in summary
    r = await get(http, mallory, f"/room_summary/{quote(f'#{alias_name}:localhost')}")
    assert r.json()["room_id"] == public

    # An invitee sees the private room's summary with their membership; others get
    # the same 404 as for a room that doesn't exist.
    r = await get(http, bob, f"/room_summary/{private}")
    assert (r.status_code, r.json()["membership"]) == (200, "invite")
    assert r.json()["join_rule"] == "invite"
    assert error(await get(http, mallory, f"/room_summary/{private}")) == (404, "M_NOT_FOUND")
    missing = await get(http, mallory, "/room_summary/!nirgends:localhost")
    assert error(missing) == (404, "M_NOT_FOUND")
    # No token: the organisation's rooms are not public unless its policy says so.
    r = await http.get(f"{V1}/room_summary/{public}")
    assert r.status_code == 401


async def test_the_space_hierarchy_shows_what_the_reader_may_see(
    http: httpx.AsyncClient, make_user
) -> None:
    anna, bob = await people(http, make_user, "anna", "bob")
    space = await create_room(
        http, anna, preset="public_chat", name="Direktion", creation_content={"type": "m.space"}
    )
    sub = await create_room(
        http, anna, preset="public_chat", name="Revier Nord", creation_content={"type": "m.space"}
    )
    first = await create_room(http, anna, preset="public_chat", name="Allgemein")
    hidden = await create_room(http, anna, name="Leitung")  # invite-only: not for Bob
    deep = await create_room(http, anna, preset="public_chat", name="Streife Nord")
    for parent, child, extra in (
        (space, first, {"order": "a", "suggested": True}),
        (space, hidden, {"order": "b"}),
        (space, sub, {"order": "c"}),
        (sub, deep, {}),
    ):
        await set_state(http, anna, parent, "m.space.child", {"via": ["localhost"], **extra}, child)
    await join(http, bob, space)

    r = await get(http, bob, f"/rooms/{space}/hierarchy")
    assert r.status_code == 200, r.text
    rooms = r.json()["rooms"]
    assert [x["room_id"] for x in rooms] == [space, first, sub, deep]
    assert rooms[0]["room_type"] == "m.space"
    children = rooms[0]["children_state"]
    assert {c["state_key"] for c in children} == {first, hidden, sub}
    assert all(c["type"] == "m.space.child" and "origin_server_ts" in c for c in children)
    assert rooms[1]["children_state"] == []
    assert "next_batch" not in r.json()
    # Anna sees her private room, in the spec's order.
    r = await get(http, anna, f"/rooms/{space}/hierarchy")
    assert [x["room_id"] for x in r.json()["rooms"]] == [space, first, hidden, sub, deep]

    r = await get(http, bob, f"/rooms/{space}/hierarchy", max_depth=1)
    assert [x["room_id"] for x in r.json()["rooms"]] == [space, first, sub]
    r = await get(http, bob, f"/rooms/{space}/hierarchy", suggested_only="true")
    assert [x["room_id"] for x in r.json()["rooms"]] == [space, first]

    # Two at a time: the pages together are the whole walk.
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 2}
    while True:
        r = await get(http, bob, f"/rooms/{space}/hierarchy", **params)
        assert r.status_code == 200, r.text
        seen += [x["room_id"] for x in r.json()["rooms"]]
        if "next_batch" not in r.json():
            break
        params["from"] = r.json()["next_batch"]
    assert seen == [space, first, sub, deep]
    token = (await get(http, bob, f"/rooms/{space}/hierarchy", limit=1)).json()["next_batch"]
    changed = await get(http, bob, f"/rooms/{space}/hierarchy", max_depth=1, **{"from": token})
    assert error(changed) == (400, "M_INVALID_PARAM")
    bogus = await get(http, bob, f"/rooms/{space}/hierarchy", **{"from": "x"})
    assert error(bogus) == (400, "M_INVALID_PARAM")
    assert error(await get(http, bob, f"/rooms/{space}/hierarchy", limit=0))[0] == 400
    # A private space is not walked for who isn't in it.
    assert error(await get(http, bob, f"/rooms/{hidden}/hierarchy")) == (403, "M_FORBIDDEN")


async def test_mutual_rooms_are_the_rooms_both_are_joined_to(
    http: httpx.AsyncClient, make_user
) -> None:
    anna, bob, carl = await people(http, make_user, "anna", "bob", "carl")
    shared = []
    for _ in range(2):
        room = await create_room(http, anna, invite=[bob.user_id])
        await join(http, bob, room)
        shared.append(room)
    await create_room(http, anna, invite=[bob.user_id])  # bob only invited
    await create_room(http, carl, invite=[anna.user_id])

    r = await get(http, anna, "/mutual_rooms", user_id=bob.user_id)
    assert r.status_code == 200, r.text
    assert r.json() == {"joined": sorted(shared), "count": 2}
    r = await get(http, bob, "/mutual_rooms", user_id=anna.user_id)
    assert r.json()["joined"] == sorted(shared)
    assert (await get(http, anna, "/mutual_rooms", user_id=carl.user_id)).json() == {
        "joined": [],
        "count": 0,
    }
    assert error(await get(http, anna, "/mutual_rooms", user_id=anna.user_id)) == (
        400,
        "M_INVALID_PARAM",
    )
    assert error(await get(http, anna, "/mutual_rooms", user_id="bob"))[0] == 400
    assert error(await get(http, anna, "/mutual_rooms"))[0] == 400
    bad = await get(http, anna, "/mutual_rooms", user_id=bob.user_id, **{"from": "nope"})
    assert error(bad) == (400, "M_INVALID_PARAM")
    # Resuming after the first room gives the second.
    r = await get(http, anna, "/mutual_rooms", user_id=bob.user_id, **{"from": f"m1_{min(shared)}"})
    assert r.json()["joined"] == [max(shared)]


async def test_timestamp_to_event_finds_the_nearest_visible_event(
    http: httpx.AsyncClient, make_user
) -> None:
    anna, bob, mallory = await people(http, make_user, "anna", "bob", "mallory")
    room = await create_room(http, anna, invite=[bob.user_id])
    await set_state(http, anna, room, "m.room.history_visibility", {"history_visibility": "joined"})
    before = await say(http, anna, room, "vor Bob")
    await join(http, bob, room)
    after = await say(http, anna, room, "nach Bob")

    async def ts_of(event_id: str) -> int:
        r = await http.get(f"{V3}/rooms/{room}/event/{event_id}", headers=anna.headers)
        return int(r.json()["origin_server_ts"])

    t_before, t_after = await ts_of(before), await ts_of(after)
    path = f"/rooms/{room}/timestamp_to_event"
    r = await get(http, anna, path, ts=t_before, dir="f")
    assert r.status_code == 200, r.text
    assert r.json()["origin_server_ts"] >= t_before
    r = await get(http, anna, path, ts=t_after, dir="b")
    assert r.json() == {"event_id": after, "origin_server_ts": t_after}
    r = await get(http, anna, path, ts=t_after + 10_000_000, dir="b")
    assert r.json()["event_id"] == after
    assert error(await get(http, anna, path, ts=t_after + 10_000_000, dir="f")) == (
        404,
        "M_NOT_FOUND",
    )
    # Bob joined after "vor Bob" in a "joined" room: backwards from it he finds nothing
    # he may see, never the message itself.
    r = await get(http, bob, path, ts=t_before, dir="b")
    assert r.status_code == 404 or r.json()["event_id"] != before
    assert error(await get(http, mallory, path, ts=t_after, dir="b")) == (403, "M_FORBIDDEN")
    assert error(await get(http, anna, path, ts="gestern", dir="b"))[0] == 400
    assert error(await get(http, anna, path, ts=t_after, dir="x"))[0] == 400
    assert error(await get(http, anna, path, dir="f"))[0] == 400


async def test_third_party_lookups_answer_for_a_server_without_bridges(
    http: httpx.AsyncClient, make_user
) -> None:
    (anna,) = await people(http, make_user, "anna")
    r = await http.get(f"{V3}/thirdparty/protocols", headers=anna.headers)
    assert (r.status_code, r.json()) == (200, {})
    for path in ("protocol/irc", "location/irc", "user/irc"):
        r = await http.get(f"{V3}/thirdparty/{path}", headers=anna.headers)
        assert error(r) == (404, "M_NOT_FOUND"), path
    r = await http.get(f"{V3}/thirdparty/location", headers=anna.headers, params={"alias": "#a:b"})
    assert (r.status_code, r.json()) == (200, [])
    r = await http.get(f"{V3}/thirdparty/user", headers=anna.headers, params={"userid": "@a:b"})
    assert (r.status_code, r.json()) == (200, [])
    assert (await http.get(f"{V3}/thirdparty/protocols")).status_code == 401


async def test_another_tenants_rooms_are_not_found_nor_walked(
    org_server: RevierProcess, password_hash: str
) -> None:
    anna_name, otto_name = f"anna-{secrets.token_hex(3)}", f"otto-{secrets.token_hex(3)}"
    [anna_id] = org_server.import_users([anna_name], password_hash)
    org_server.create_user(otto_name, PASSWORD, "--tenant", "other.test")
    async with httpx.AsyncClient(base_url=org_server.url, timeout=30) as http:
        anna = await log_in(http, Account(anna_id, anna_name, PASSWORD), Host="localhost")
        otto_id = f"@{otto_name}:other.test"
        otto = await log_in(http, Account(otto_id, otto_name, PASSWORD), Host="other.test")
        space = await create_room(
            http, anna, preset="public_chat", name="Intern", creation_content={"type": "m.space"}
        )
        assert error(await get(http, otto, f"/room_summary/{space}")) == (404, "M_NOT_FOUND")
        assert error(await get(http, otto, f"/rooms/{space}/hierarchy")) == (403, "M_FORBIDDEN")
        path = f"/rooms/{space}/timestamp_to_event"
        assert error(await get(http, otto, path, ts=0, dir="f"))[0] == 403
        r = await get(http, otto, "/mutual_rooms", user_id=anna.user_id)
        assert r.json() == {"joined": [], "count": 0}
