"""Room aliases, the public room directory, profiles and the user directory."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from nio import (
    AsyncClient,
    ProfileGetResponse,
    RoomCreateResponse,
    RoomGetVisibilityResponse,
    RoomPutAliasResponse,
    RoomResolveAliasResponse,
    RoomVisibility,
    SyncResponse,
)

from tests.integration.conftest import PASSWORD, nio_login, running_server
from tests.integration.harness import RevierProcess
from tests.integration.matrix import auth, shared_room, sync_until

V3 = "/_matrix/client/v3"


def alias_path(alias: str) -> str:
    return f"{V3}/directory/room/{quote(alias)}"


async def test_alias_lifecycle_and_who_may_touch_it(
    alice: AsyncClient, bob: AsyncClient, eve: AsyncClient, http: httpx.AsyncClient
) -> None:
    room_id = await shared_room(alice, bob)
    alias = f"#ops-{secrets.token_hex(4)}:localhost"
    put = await alice.room_put_alias(alias, room_id)
    assert isinstance(put, RoomPutAliasResponse), put
    resolved = await eve.room_resolve_alias(alias)
    assert isinstance(resolved, RoomResolveAliasResponse), resolved
    assert (resolved.room_id, resolved.servers) == (room_id, ["localhost"])
    # Taken: 409 M_UNKNOWN, as the spec says.
    r = await http.put(alias_path(alias), json={"room_id": room_id}, headers=auth(bob))
    assert (r.status_code, r.json()["errcode"]) == (409, "M_UNKNOWN")
    # A non-member can't name someone else's room.
    other = f"#eve-{secrets.token_hex(4)}:localhost"
    r = await http.put(alias_path(other), json={"room_id": room_id}, headers=auth(eve))
    assert (r.status_code, r.json()["errcode"]) == (403, "M_FORBIDDEN")
    # Aliases live under this server's name only.
    r = await http.put(
        alias_path("#hijack:matrix.org"), json={"room_id": room_id}, headers=auth(alice)
    )
    assert (r.status_code, r.json()["errcode"]) == (400, "M_INVALID_PARAM")
    r = await http.put(alias_path("no-sigil"), json={"room_id": room_id}, headers=auth(alice))
    assert r.status_code == 400
    # Members list the local aliases; outsiders get 403.
    r = await http.get(f"{V3}/rooms/{room_id}/aliases", headers=auth(bob))
    assert r.json() == {"aliases": [alias]}
    r = await http.get(f"{V3}/rooms/{room_id}/aliases", headers=auth(eve))
    assert (r.status_code, r.json()["errcode"]) == (403, "M_FORBIDDEN")
    # Bob is a member but neither the creator nor allowed to change canonical_alias.
    r = await http.delete(alias_path(alias), headers=auth(bob))
    assert (r.status_code, r.json()["errcode"]) == (403, "M_FORBIDDEN")
    r = await http.delete(alias_path(alias), headers=auth(alice))
    assert r.status_code == 200
    r = await http.get(alias_path(alias), headers=auth(alice))
    assert (r.status_code, r.json()["errcode"]) == (404, "M_NOT_FOUND")
    r = await http.delete(alias_path(alias), headers=auth(alice))
    assert r.status_code == 404


async def test_public_room_directory(
    alice: AsyncClient, bob: AsyncClient, eve: AsyncClient, http: httpx.AsyncClient
) -> None:
    tag = secrets.token_hex(4)
    created = await alice.room_create(
        visibility=RoomVisibility.public,
        alias=f"leitstelle-{tag}",
        name=f"Leitstelle {tag}",
        topic="Einsatzkoordination",
    )
    assert isinstance(created, RoomCreateResponse), created
    room_id = created.room_id
    hidden = await alice.room_create(name=f"Geheim {tag}")
    assert isinstance(hidden, RoomCreateResponse)

    async def search(term: str) -> list[dict]:  # type: ignore[type-arg]
        r = await http.post(
            f"{V3}/publicRooms",
            json={"filter": {"generic_search_term": term}, "limit": 5},
            headers=auth(eve),
        )
        assert r.status_code == 200, r.text
        return list(r.json()["chunk"])

    (entry,) = await search(tag.upper())
    assert entry == {
        "room_id": room_id,
        "name": f"Leitstelle {tag}",
        "topic": "Einsatzkoordination",
        "canonical_alias": f"#leitstelle-{tag}:localhost",
        "num_joined_members": 1,
        "world_readable": False,
        "guest_can_join": False,
        "join_rule": "public",
    }
    r = await http.get(f"{V3}/publicRooms", params={"limit": 1000}, headers=auth(eve))
    listed = {room["room_id"] for room in r.json()["chunk"]}
    assert room_id in listed and hidden.room_id not in listed
    r = await http.get(f"{V3}/publicRooms", params={"since": "bogus"}, headers=auth(eve))
    assert r.status_code == 400
    # Paging: one at a time, next_batch leads on, without repeats.
    r = await http.get(f"{V3}/publicRooms", params={"limit": 1}, headers=auth(eve))
    first = r.json()
    if "next_batch" in first:
        r = await http.get(
            f"{V3}/publicRooms",
            params={"limit": 1, "since": first["next_batch"]},
            headers=auth(eve),
        )
        assert r.json()["chunk"][0]["room_id"] != first["chunk"][0]["room_id"]
        assert r.json()["prev_batch"]

    visibility = await eve.room_get_visibility(room_id)
    assert isinstance(visibility, RoomGetVisibilityResponse)
    assert visibility.visibility == "public"
    await bob.join(room_id)
    r = await http.put(
        f"{V3}/directory/list/room/{room_id}", json={"visibility": "private"}, headers=auth(bob)
    )
    assert (r.status_code, r.json()["errcode"]) == (403, "M_FORBIDDEN")
    r = await http.put(
        f"{V3}/directory/list/room/{room_id}", json={"visibility": "private"}, headers=auth(alice)
    )
    assert r.status_code == 200
    assert await search(tag) == []
    r = await http.get(f"{V3}/directory/list/room/!nope:localhost", headers=auth(eve))
    assert (r.status_code, r.json()["errcode"]) == (404, "M_NOT_FOUND")


async def test_profile_changes_reach_every_joined_room(
    alice: AsyncClient, bob: AsyncClient, http: httpx.AsyncClient
) -> None:
    first = await shared_room(alice, bob)
    second = await shared_room(alice, bob)
    assert (await alice.set_displayname("Alice Einsatzleitung")).__class__.__name__.endswith(
        "Response"
    )
    await alice.set_avatar("mxc://localhost/abc123")
    profile = await bob.get_profile(alice.user_id)
    assert isinstance(profile, ProfileGetResponse), profile
    assert (profile.displayname, profile.avatar_url) == (
        "Alice Einsatzleitung",
        "mxc://localhost/abc123",
    )
    avatar = "mxc://localhost/abc123"
    updated: dict[str, Any] = {}

    def collect(response: SyncResponse) -> bool:
        for room_id in (first, second):
            room = response.rooms.join.get(room_id)
            for event in room.timeline.events if room else []:
                if getattr(event, "content", {}).get("avatar_url") == avatar:
                    updated[room_id] = event
        return len(updated) == 2

    await sync_until(bob, collect)
    for room_id, event in updated.items():
        assert event.membership == "join" and event.state_key == alice.user_id
        assert event.content["displayname"] == "Alice Einsatzleitung"
        r = await http.get(f"{V3}/rooms/{room_id}/joined_members", headers=auth(bob))
        assert r.json()["joined"][alice.user_id] == {
            "display_name": "Alice Einsatzleitung",
            "avatar_url": "mxc://localhost/abc123",
        }
    # Only your own profile; names of sane length; avatars are mxc URIs.
    path = f"{V3}/profile/{quote(alice.user_id)}/displayname"
    r = await http.put(path, json={"displayname": "Mallory"}, headers=auth(bob))
    assert (r.status_code, r.json()["errcode"]) == (403, "M_FORBIDDEN")
    r = await http.put(path, json={"displayname": "x" * 257}, headers=auth(alice))
    assert r.status_code == 400
    # A NUL can't be stored in PostgreSQL text: a 400, not a 500.
    r = await http.put(path, json={"displayname": "a\u0000b"}, headers=auth(alice))
    assert (r.status_code, r.json()["errcode"]) == (400, "M_INVALID_PARAM")
    r = await http.put(path, json={"displayname": 42}, headers=auth(alice))
    assert (r.status_code, r.json()["errcode"]) == (400, "M_BAD_JSON")
    r = await http.put(
        f"{V3}/profile/{quote(alice.user_id)}/avatar_url",
        json={"avatar_url": "https://evil.example/x.png"},
        headers=auth(alice),
    )
    assert r.status_code == 400
    r = await http.get(path, headers=auth(bob))
    assert r.json() == {"displayname": "Alice Einsatzleitung"}
    r = await http.get(f"{V3}/profile/@nobody-{secrets.token_hex(3)}:localhost", headers=auth(bob))
    assert (r.status_code, r.json()["errcode"]) == (404, "M_NOT_FOUND")


async def test_user_directory_finds_colleagues_by_name(
    server: RevierProcess, make_user, alice: AsyncClient, http: httpx.AsyncClient
) -> None:  # type: ignore[no-untyped-def]
    tag = secrets.token_hex(3)
    found = make_user(f"kommissar-{tag}", solo=True)
    gone = make_user(f"ehemalig-{tag}", solo=True)
    server.admin("user", "deactivate", gone.user_id)
    client = await nio_login(server, found)
    try:
        await client.set_displayname(f"Kim Kommissarin {tag}")
    finally:
        await client.close()
    for term in (tag, f"KIM KOMMISSARIN {tag}", f"@kommissar-{tag}"):
        r = await http.post(
            f"{V3}/user_directory/search", json={"search_term": term}, headers=auth(alice)
        )
        assert r.status_code == 200, r.text
        assert r.json() == {
            "results": [{"user_id": found.user_id, "display_name": f"Kim Kommissarin {tag}"}],
            "limited": False,
        }, term
    r = await http.post(
        f"{V3}/user_directory/search", json={"search_term": "-", "limit": 1}, headers=auth(alice)
    )
    assert len(r.json()["results"]) == 1 and r.json()["limited"] is True
    r = await http.post(f"{V3}/user_directory/search", json={"limit": 3}, headers=auth(alice))
    assert (r.status_code, r.json()["errcode"]) == (400, "M_MISSING_PARAM")


# --- a strict organisation next to a second one on the same installation --------------


@pytest.fixture(scope="module")
def strict(engine: str, request: pytest.FixtureRequest, tmp_root: Path) -> Iterator[RevierProcess]:
    with running_server(
        engine,
        request,
        tmp_root,
        "strict",
        tenant_policy={"public_rooms_require_admin": True, "user_directory": "shared_rooms"},
    ) as srv:
        srv.stop()
        srv.config.write_text(srv.config.read_text() + '[[tenants]]\nserver_name = "other.test"\n')
        srv.start()
        yield srv


async def login(http: httpx.AsyncClient, user: str, host: str) -> dict[str, str]:
    r = await http.post(
        f"{V3}/login",
        json={"type": "m.login.password", "user": user, "password": PASSWORD},
        headers={"Host": host},
    )
    assert r.status_code == 200, r.text
    return {"Host": host, "Authorization": f"Bearer {r.json()['access_token']}"}


async def test_tenants_and_policies(strict: RevierProcess) -> None:
    tag = secrets.token_hex(3)
    strict.admin("user", "create", f"chef-{tag}", "--password-stdin", "--admin",
                 input_text=PASSWORD + "\n")  # fmt: skip
    for name in (f"anna-{tag}", f"bert-{tag}"):
        strict.create_user(name, PASSWORD)
    strict.admin("user", "create", f"otto-{tag}", "--password-stdin", "--tenant", "other.test",
                 input_text=PASSWORD + "\n")  # fmt: skip
    async with httpx.AsyncClient(base_url=strict.url, timeout=30) as http:
        chef = await login(http, f"chef-{tag}", "localhost")
        anna = await login(http, f"anna-{tag}", "localhost")
        otto = await login(http, f"otto-{tag}", "other.test")

        # Only admins publish here: createRoom and the directory switch alike.
        r = await http.post(f"{V3}/createRoom", json={"visibility": "public"}, headers=anna)
        assert (r.status_code, r.json()["errcode"]) == (403, "M_FORBIDDEN")
        r = await http.post(f"{V3}/createRoom", json={}, headers=anna)
        room_id = r.json()["room_id"]
        r = await http.put(
            f"{V3}/directory/list/room/{room_id}", json={"visibility": "public"}, headers=anna
        )
        assert (r.status_code, r.json()["errcode"]) == (403, "M_FORBIDDEN")
        r = await http.put(
            f"{V3}/directory/list/room/{room_id}", json={"visibility": "public"}, headers=chef
        )
        assert r.status_code == 200
        r = await http.get(f"{V3}/publicRooms", headers=anna)
        assert room_id in {room["room_id"] for room in r.json()["chunk"]}

        # The other organisation sees neither the room, nor its directory entry, nor people.
        r = await http.get(f"{V3}/publicRooms", headers=otto)
        assert r.json()["chunk"] == []
        r = await http.get(f"{V3}/directory/list/room/{room_id}", headers=otto)
        assert r.status_code == 404
        r = await http.get(f"{V3}/rooms/{room_id}/messages?dir=b", headers=otto)
        assert (r.status_code, r.json()["errcode"]) == (403, "M_FORBIDDEN")
        r = await http.get(f"{V3}/profile/@anna-{tag}:localhost", headers=otto)
        assert (r.status_code, r.json()["errcode"]) == (404, "M_NOT_FOUND")
        r = await http.post(f"{V3}/user_directory/search", json={"search_term": tag}, headers=otto)
        assert [u["user_id"] for u in r.json()["results"]] == [f"@otto-{tag}:other.test"]
        r = await http.put(
            alias_path(f"#x-{tag}:localhost"), json={"room_id": room_id}, headers=otto
        )
        assert r.status_code == 400

        # shared_rooms: anna finds only people she shares a room with (herself included).
        async def found(headers: dict[str, str]) -> set[str]:
            r = await http.post(
                f"{V3}/user_directory/search", json={"search_term": tag}, headers=headers
            )
            return {u["user_id"] for u in r.json()["results"]}

        assert await found(anna) == {f"@anna-{tag}:localhost"}
        bert = await login(http, f"bert-{tag}", "localhost")
        r = await http.post(f"{V3}/rooms/{room_id}/join", json={}, headers=bert)
        assert r.status_code in (200, 403)
        r = await http.post(
            f"{V3}/rooms/{room_id}/invite", json={"user_id": f"@bert-{tag}:localhost"}, headers=anna
        )
        r = await http.post(f"{V3}/rooms/{room_id}/join", json={}, headers=bert)
        assert r.status_code == 200, r.text
        assert await found(anna) == {f"@anna-{tag}:localhost", f"@bert-{tag}:localhost"}
