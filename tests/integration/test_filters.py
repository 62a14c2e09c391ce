"""Filters the spec defines beyond the basics: event_format, room IDs checked."""

from __future__ import annotations

import json

import httpx

from tests.integration.steps import V3, create_room, people, say


async def test_a_federation_event_format_gives_the_pdus(http: httpx.AsyncClient, make_user) -> None:
    (anna,) = await people(http, make_user, "anna")
    room_id = await create_room(http, anna)
    event_id = await say(http, anna, room_id, "roh")
    r = await http.post(
        f"{V3}/user/{anna.user_id}/filter",
        headers=anna.headers,
        json={"event_format": "federation"},
    )
    assert r.status_code == 200, r.text
    filter_id = r.json()["filter_id"]
    got = await http.get(f"{V3}/user/{anna.user_id}/filter/{filter_id}", headers=anna.headers)
    assert got.json() == {"event_format": "federation"}
    body = (await http.get(f"{V3}/sync", params={"filter": filter_id}, headers=anna.headers)).json()
    events = body["rooms"]["join"][room_id]["timeline"]["events"]
    message = next(e for e in events if e["event_id"] == event_id)
    # What servers exchange: the graph and the proofs, the room ID, plus the ID.
    assert {"auth_events", "prev_events", "depth", "hashes", "signatures"} <= set(message)
    assert message["room_id"] == room_id and message["content"]["body"] == "roh"
    # The default stays the client format.
    plain = (await http.get(f"{V3}/sync", headers=anna.headers)).json()
    shown = plain["rooms"]["join"][room_id]["timeline"]["events"]
    assert all("signatures" not in e and "room_id" not in e for e in shown)


async def test_malformed_filters_are_refused(http: httpx.AsyncClient, make_user) -> None:
    (anna,) = await people(http, make_user, "anna")
    url = f"{V3}/user/{anna.user_id}/filter"
    for bad in (
        {"event_format": "xml"},
        {"room": {"rooms": ["not-a-room-id"]}},
        {"room": {"not_rooms": ["#alias:localhost"]}},
        {"room": {"timeline": {"rooms": ["!"]}}},
    ):
        r = await http.post(url, headers=anna.headers, json=bad)
        assert (r.status_code, r.json()["errcode"]) == (400, "M_BAD_JSON"), (bad, r.text)
        inline = await http.get(
            f"{V3}/sync", params={"filter": json.dumps(bad), "timeout": 0}, headers=anna.headers
        )
        assert inline.status_code == 400, bad
    ok = {"room": {"rooms": ["!abc:localhost"], "not_rooms": ["!def:localhost"]}}
    assert (await http.post(url, headers=anna.headers, json=ok)).status_code == 200


async def test_a_stored_filter_is_its_owners_alone(http: httpx.AsyncClient, make_user) -> None:
    """Stored filters are kept parsed in memory, by user and ID: another user naming
    the ID is refused as if it did not exist, before and after its owner used it."""
    anna, ben = await people(http, make_user, "anna", "ben")
    room_id = await create_room(http, anna)
    await say(http, anna, room_id, "eins")
    await say(http, anna, room_id, "zwei")
    r = await http.post(
        f"{V3}/user/{anna.user_id}/filter",
        headers=anna.headers,
        json={"room": {"timeline": {"limit": 1}}},
    )
    filter_id = r.json()["filter_id"]
    for _ in range(2):  # read from the database, then from memory
        body = (
            await http.get(f"{V3}/sync", params={"filter": filter_id}, headers=anna.headers)
        ).json()
        timeline = body["rooms"]["join"][room_id]["timeline"]
        assert [e["content"].get("body") for e in timeline["events"]] == ["zwei"]
        assert timeline["limited"] is True
        stolen = await http.get(f"{V3}/sync", params={"filter": filter_id}, headers=ben.headers)
        assert (stolen.status_code, stolen.json()["errcode"]) == (404, "M_NOT_FOUND")
