"""Profiles and the room directory without logging in: only where the tenant said so."""

from __future__ import annotations

import secrets

import httpx

from tests.integration.conftest import LOOSE_LIMIT, server_fixture
from tests.integration.harness import RevierProcess
from tests.integration.steps import V3, create_room, people

# One tenant that publishes both, one (the default) that publishes neither.
public_server = server_fixture(
    "public",
    ratelimit__login_per_address=LOOSE_LIMIT,
    tenant_policy={"public_profiles": True, "public_room_directory": True},
    extra_tenants=("closed.test",),
)


async def test_a_tenant_that_allows_it_answers_without_a_token(
    public_server: RevierProcess,
) -> None:
    # Two tenants: the Host header says which one a request is for.
    host = {"Host": "localhost"}
    async with httpx.AsyncClient(base_url=public_server.url, timeout=30, headers=host) as http:
        anna = public_server.create_user(f"anna-{secrets.token_hex(3)}", "a long password 123")
        session = await _login(http, anna)
        await http.put(
            f"{V3}/profile/{anna}/displayname",
            headers=session,
            json={"displayname": "Anna A."},
        )
        r = await http.post(
            f"{V3}/createRoom", headers=session, json={"visibility": "public", "name": "Offen"}
        )
        room_id = r.json()["room_id"]

        profile = await http.get(f"{V3}/profile/{anna}")
        assert (profile.status_code, profile.json()) == (200, {"displayname": "Anna A."})
        field = await http.get(f"{V3}/profile/{anna}/displayname")
        assert field.json() == {"displayname": "Anna A."}
        for r in (
            await http.get(f"{V3}/publicRooms"),
            await http.post(f"{V3}/publicRooms", json={}),
        ):
            assert r.status_code == 200, r.text
            assert room_id in [room["room_id"] for room in r.json()["chunk"]]
        # A token that is sent is still checked.
        bad = {"Authorization": "Bearer rvat_not_a_token"}
        r = await http.get(f"{V3}/profile/{anna}", headers=bad)
        assert (r.status_code, r.json()["errcode"]) == (401, "M_UNKNOWN_TOKEN")

        # The other tenant on the same server keeps the default: a login first.
        closed = {"Host": "closed.test"}
        carl = f"carl-{secrets.token_hex(3)}"
        public_server.create_user(carl, "a long password 123", "--tenant", "closed.test")
        other = f"@{carl}:closed.test"
        for r in (
            await http.get(f"{V3}/profile/{other}", headers=closed),
            await http.get(f"{V3}/publicRooms", headers=closed),
            await http.post(f"{V3}/publicRooms", headers=closed, json={}),
        ):
            assert (r.status_code, r.json()["errcode"]) == (401, "M_MISSING_TOKEN"), r.text
        # And one tenant's public profiles are no window into the other's.
        r = await http.get(f"{V3}/profile/{other}")
        assert r.status_code in (403, 404), r.text


async def test_by_default_profiles_and_the_directory_need_a_login(
    http: httpx.AsyncClient, make_user
) -> None:
    (anna,) = await people(http, make_user, "anna")
    await create_room(http, anna, visibility="public")
    for r in (
        await http.get(f"{V3}/profile/{anna.user_id}"),
        await http.get(f"{V3}/profile/{anna.user_id}/displayname"),
        await http.get(f"{V3}/publicRooms"),
        await http.post(f"{V3}/publicRooms", json={}),
    ):
        assert (r.status_code, r.json()["errcode"]) == (401, "M_MISSING_TOKEN")
    assert (await http.get(f"{V3}/publicRooms", headers=anna.headers)).status_code == 200


async def _login(http: httpx.AsyncClient, user_id: str) -> dict[str, str]:
    r = await http.post(
        f"{V3}/login",
        json={
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": user_id},
            "password": "a long password 123",
        },
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}
