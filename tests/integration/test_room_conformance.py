"""Room behaviour the spec (and SyTest) pin down: canonical aliases, kicks, redactions
across rooms, idempotent state and joins, what a join body may carry, capabilities."""

from __future__ import annotations

import secrets
from urllib.parse import quote

import httpx

from tests.integration.steps import (
    V3,
    Session,
    create_room,
    join,
    people,
    say,
    set_state,
    shared_room,
)


async def add_alias(http: httpx.AsyncClient, s: Session, room_id: str) -> str:
    alias = f"#conf-{secrets.token_hex(4)}:localhost"
    r = await http.put(
        f"{V3}/directory/room/{quote(alias)}", headers=s.headers, json={"room_id": room_id}
    )
    assert r.status_code == 200, r.text
    return alias


async def test_a_canonical_alias_must_point_to_the_room(http: httpx.AsyncClient, make_user) -> None:
    (anna,) = await people(http, make_user, "anna")
    room_id = await create_room(http, anna)
    other = await create_room(http, anna)
    own = await add_alias(http, anna, room_id)
    foreign = await add_alias(http, anna, other)
    url = f"{V3}/rooms/{room_id}/state/m.room.canonical_alias/"
    for content, errcode in [
        ({"alias": foreign}, "M_BAD_ALIAS"),
        ({"alias": "#nowhere-at-all:localhost"}, "M_BAD_ALIAS"),
        ({"alias": own, "alt_aliases": [foreign]}, "M_BAD_ALIAS"),
        ({"alias": "not an alias"}, "M_INVALID_PARAM"),
        ({"alt_aliases": [own, 7]}, "M_INVALID_PARAM"),
        ({"alt_aliases": own}, "M_BAD_JSON"),
    ]:
        r = await http.put(url, headers=anna.headers, json=content)
        assert (r.status_code, r.json()["errcode"]) == (400, errcode), (content, r.text)
    r = await http.put(url, headers=anna.headers, json={"alias": own, "alt_aliases": [own]})
    assert r.status_code == 200, r.text
    # Removing the canonical alias (an empty content) is always allowed.
    assert (await http.put(url, headers=anna.headers, json={})).status_code == 200


async def test_kicking_who_is_banned_or_gone_is_refused(http: httpx.AsyncClient, make_user) -> None:
    anna, bernd, carla = await people(http, make_user, "anna", "bernd", "carla")
    room_id = await shared_room(http, anna, bernd, carla)
    r = await http.post(
        f"{V3}/rooms/{room_id}/ban", headers=anna.headers, json={"user_id": bernd.user_id}
    )
    assert r.status_code == 200
    r = await http.post(f"{V3}/rooms/{room_id}/leave", headers=carla.headers, json={})
    assert r.status_code == 200
    for target in (bernd, carla):
        r = await http.post(
            f"{V3}/rooms/{room_id}/kick", headers=anna.headers, json={"user_id": target.user_id}
        )
        assert (r.status_code, r.json()["errcode"]) == (403, "M_FORBIDDEN"), r.text
    member = await http.get(
        f"{V3}/rooms/{room_id}/state/m.room.member/{bernd.user_id}", headers=anna.headers
    )
    assert member.json()["membership"] == "ban"  # the ban stands
    # Kicking someone who is in the room still works.
    r = await http.post(
        f"{V3}/rooms/{room_id}/invite", headers=anna.headers, json={"user_id": carla.user_id}
    )
    assert r.status_code == 200
    r = await http.post(
        f"{V3}/rooms/{room_id}/kick", headers=anna.headers, json={"user_id": carla.user_id}
    )
    assert r.status_code == 200


async def test_a_redaction_cannot_name_an_event_of_another_room(
    http: httpx.AsyncClient, make_user
) -> None:
    (anna,) = await people(http, make_user, "anna")
    here = await create_room(http, anna)
    there = await create_room(http, anna)
    target = await say(http, anna, there, "bleibt")
    r = await http.put(
        f"{V3}/rooms/{here}/redact/{target}/{secrets.token_hex(4)}", headers=anna.headers, json={}
    )
    assert (r.status_code, r.json()["errcode"]) == (400, "M_INVALID_PARAM"), r.text
    r = await http.put(
        f"{V3}/rooms/{here}/send/m.room.redaction/{secrets.token_hex(4)}",
        headers=anna.headers,
        json={"redacts": target},
    )
    assert r.status_code == 400
    event = await http.get(f"{V3}/rooms/{there}/event/{target}", headers=anna.headers)
    assert event.json()["content"]["body"] == "bleibt"


async def test_the_same_state_twice_and_a_second_join_write_nothing(
    http: httpx.AsyncClient, make_user
) -> None:
    anna, bernd = await people(http, make_user, "anna", "bernd")
    room_id = await shared_room(http, anna, bernd)
    first = await set_state(http, anna, room_id, "m.room.topic", {"topic": "Lage"})
    since = (await http.get(f"{V3}/sync", headers=bernd.headers)).json()["next_batch"]
    again = await set_state(http, anna, room_id, "m.room.topic", {"topic": "Lage"})
    assert again == first
    joined = await http.get(
        f"{V3}/rooms/{room_id}/state/m.room.member/{bernd.user_id}", headers=bernd.headers
    )
    await join(http, bernd, room_id)
    after = await http.get(
        f"{V3}/rooms/{room_id}/state/m.room.member/{bernd.user_id}", headers=bernd.headers
    )
    assert after.json() == joined.json()
    r = await http.get(f"{V3}/sync", params={"since": since, "timeout": 0}, headers=bernd.headers)
    assert room_id not in r.json().get("rooms", {}).get("join", {})  # nothing new
    # A different content, or the same content from someone else, is a new event.
    changed = await set_state(http, anna, room_id, "m.room.topic", {"topic": "Lage 2"})
    assert changed != first


async def test_a_join_keeps_the_clients_own_keys_but_not_a_forged_profile(
    http: httpx.AsyncClient, make_user
) -> None:
    anna, bernd = await people(http, make_user, "anna", "bernd")
    room_id = await create_room(http, anna, invite=[bernd.user_id])
    r = await http.post(
        f"{V3}/rooms/{room_id}/join",
        headers=bernd.headers,
        json={
            "reason": "Schichtbeginn",
            "org.example.shift": {"unit": "Nord"},
            "displayname": "Der Präsident",
            "membership": "ban",
        },
    )
    assert r.status_code == 200, r.text
    member = await http.get(
        f"{V3}/rooms/{room_id}/state/m.room.member/{bernd.user_id}", headers=bernd.headers
    )
    content = member.json()
    assert content["membership"] == "join"
    assert content["reason"] == "Schichtbeginn"
    assert content["org.example.shift"] == {"unit": "Nord"}
    assert content.get("displayname") != "Der Präsident"
    r = await http.post(f"{V3}/join/{room_id}", headers=bernd.headers, json={"reason": 5})
    assert r.status_code == 400


async def test_capabilities_name_the_room_versions(http: httpx.AsyncClient, make_user) -> None:
    (anna,) = await people(http, make_user, "anna")
    caps = (await http.get(f"{V3}/capabilities", headers=anna.headers)).json()["capabilities"]
    versions = caps["m.room_versions"]
    assert versions["default"] == "12"
    assert versions["available"] == {"10": "stable", "11": "stable", "12": "stable"}
