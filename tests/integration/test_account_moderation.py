"""Account moderation (spec "Account locking", "Account suspension", who-is) and
closing one's own account (POST /account/deactivate): through the spec's
endpoints, the admin API and the command line; each error code as the spec
says; who may do it (a user is no admin, another tenant is elsewhere)."""

from __future__ import annotations

import secrets

import httpx
import pytest
from nio import AsyncClient, LoginResponse, RoomSendError, SyncError

from tests.integration.admin_api import Admin, entries, new_admin
from tests.integration.conftest import server_fixture
from tests.integration.harness import PASSWORD, RevierProcess
from tests.integration.moderation import (
    ADMIN_API,
    OTHER,
    SERVER_OPTIONS,
    V1,
    V3,
    person,
    whoami_until,
)
from tests.integration.steps import Session, say, shared_room

server = server_fixture("account-moderation", **SERVER_OPTIONS)


@pytest.fixture(scope="module")
def admin(server: RevierProcess) -> Admin:
    return new_admin(server)


@pytest.fixture(scope="module")
def other_admin(server: RevierProcess) -> Admin:
    return new_admin(server, OTHER)


async def whoami(http: httpx.AsyncClient, s: Session) -> httpx.Response:
    return await http.get(f"{V3}/account/whoami", headers=s.headers)


async def login(http: httpx.AsyncClient, s: Session) -> httpx.Response:
    return await http.post(
        f"{V3}/login",
        json={"type": "m.login.password", "user": s.user_id, "password": PASSWORD},
        headers={"Host": s.host or "localhost"},
    )


# --- locking ---


async def test_a_lock_through_the_spec_endpoint_holds_every_session_until_lifted(
    http: httpx.AsyncClient, server: RevierProcess, admin: Admin
) -> None:
    bob = await person(http, admin, "bob")
    second = await login(http, bob)
    lock = f"{V1}/admin/lock/{bob.user_id}"
    r = await http.put(lock, json={"locked": True}, headers=admin.headers)
    assert (r.status_code, r.json()) == (200, {"locked": True})
    assert (await http.get(lock, headers=admin.headers)).json() == {"locked": True}

    for token in (bob.token, second.json()["access_token"]):
        r = await http.get(
            f"{V3}/sync", headers={"Authorization": f"Bearer {token}", "Host": "localhost"}
        )
        assert r.status_code == 401
        assert r.json()["errcode"] == "M_USER_LOCKED"
        assert r.json()["soft_logout"] is True
    r = await login(http, bob)
    assert (r.status_code, r.json()["errcode"]) == (401, "M_USER_LOCKED")
    # Logging out is the one thing still allowed (spec).
    out = await http.post(
        f"{V3}/logout",
        headers={"Authorization": f"Bearer {second.json()['access_token']}", "Host": "localhost"},
    )
    assert out.status_code == 200, out.text

    r = await http.put(lock, json={"locked": False}, headers=admin.headers)
    assert r.json() == {"locked": False}
    r = await whoami(http, bob)
    assert (r.status_code, r.json()["device_id"]) == (200, bob.device_id)
    assert (await login(http, bob)).status_code == 200
    audited = await entries(server, admin, target=bob.user_id, action="user.")
    assert [e["action"] for e in audited if "lock" in str(e["action"])] == [
        "user.locked",
        "user.unlocked",
    ]
    assert all(e["actor"] == admin.user_id for e in audited if "lock" in str(e["action"]))


async def test_a_waiting_nio_sync_learns_of_the_lock(
    http: httpx.AsyncClient, server: RevierProcess, admin: Admin
) -> None:
    bob = await person(http, admin, "bob")
    nio = AsyncClient(server.local_url, bob.user_id)
    try:
        assert isinstance(await nio.login(PASSWORD, device_name="nio"), LoginResponse)
        token = nio.access_token
        await nio.sync(timeout=0)
        r = await http.put(
            f"{ADMIN_API}/users/{bob.user_id}/lock", json={"locked": True}, headers=admin.headers
        )
        assert (r.status_code, r.json()) == (200, {"user_id": bob.user_id, "locked": True})
        response = await nio.sync(timeout=5000)
        assert isinstance(response, SyncError), response
        assert response.status_code == "M_USER_LOCKED"
        assert response.soft_logout is True
        r = await http.put(
            f"{ADMIN_API}/users/{bob.user_id}/lock", json={"locked": False}, headers=admin.headers
        )
        assert r.status_code == 200
        # nio drops its token on a soft logout; the session itself was kept.
        await whoami_until(http, Session(bob.user_id, "", token, "localhost"), None)
    finally:
        await nio.close()


async def test_only_admins_lock_and_suspend_and_never_admins(
    http: httpx.AsyncClient, admin: Admin, other_admin: Admin
) -> None:
    alice = await person(http, admin, "alice")
    bob = await person(http, admin, "bob")
    unknown = f"@nobody-{secrets.token_hex(3)}:localhost"
    for what, field in (("lock", "locked"), ("suspend", "suspended")):
        # An ordinary user: 403 for anyone, existing or not (no enumeration).
        for target in (alice.user_id, unknown):
            path = f"{V1}/admin/{what}/{target}"
            r = await http.put(path, json={field: True}, headers=bob.headers)
            assert (r.status_code, r.json()["errcode"]) == (403, "M_FORBIDDEN")
            r = await http.get(path, headers=bob.headers)
            assert (r.status_code, r.json()["errcode"]) == (403, "M_FORBIDDEN")
            r = await http.get(f"{ADMIN_API}/users/{target}/{what}", headers=bob.headers)
            assert r.status_code == 403
        r = await http.put(
            f"{V1}/admin/{what}/{admin.user_id}", json={field: True}, headers=admin.headers
        )
        assert (r.status_code, r.json()["errcode"]) == (403, "M_FORBIDDEN")  # itself, an admin
        r = await http.get(f"{V1}/admin/{what}/{unknown}", headers=admin.headers)
        assert (r.status_code, r.json()["errcode"]) == (404, "M_NOT_FOUND")
        r = await http.get(f"{V1}/admin/{what}/@someone:elsewhere.example", headers=admin.headers)
        assert (r.status_code, r.json()["errcode"]) == (400, "M_INVALID_PARAM")
        # Another tenant's admin: not their user (the admin API says "not found").
        r = await http.put(
            f"{ADMIN_API}/users/{alice.user_id}/{what}",
            json={field: True},
            headers=other_admin.headers,
        )
        assert (r.status_code, r.json()["errcode"]) == (404, "M_NOT_FOUND")
        r = await http.put(f"{V1}/admin/{what}/{alice.user_id}", json={}, headers=admin.headers)
        assert (r.status_code, r.json()["errcode"]) == (400, "M_MISSING_PARAM")
    helper = await person(http, admin, "helpdesk", admin=True)
    r = await http.put(
        f"{V1}/admin/lock/{helper.user_id}", json={"locked": True}, headers=admin.headers
    )
    assert (r.status_code, r.json()["errcode"]) == (403, "M_FORBIDDEN")
    assert (await whoami(http, alice)).status_code == 200

    caps = await http.get(f"{V3}/capabilities", headers=admin.headers)
    assert caps.json()["capabilities"]["m.account_moderation"] == {"lock": True, "suspend": True}
    caps = await http.get(f"{V3}/capabilities", headers=bob.headers)
    assert "m.account_moderation" not in caps.json()["capabilities"]


# --- suspension ---


async def test_a_suspended_user_reads_but_does_not_act(
    http: httpx.AsyncClient, server: RevierProcess, admin: Admin
) -> None:
    alice = await person(http, admin, "alice")
    bob = await person(http, admin, "bob")
    room_id = await shared_room(http, alice, bob)
    own = await say(http, bob, room_id, "before")
    other_room = await shared_room(http, alice)
    r = await http.post(
        f"{V3}/rooms/{other_room}/invite", json={"user_id": bob.user_id}, headers=alice.headers
    )
    assert r.status_code == 200

    r = await http.put(
        f"{V1}/admin/suspend/{bob.user_id}", json={"suspended": True}, headers=admin.headers
    )
    assert (r.status_code, r.json()) == (200, {"suspended": True})
    suspended = [
        ("PUT", f"{V3}/rooms/{room_id}/send/m.room.message/t1", {"msgtype": "m.text", "body": "x"}),
        ("PUT", f"{V3}/rooms/{room_id}/state/m.room.topic/", {"topic": "x"}),
        ("POST", f"{V3}/createRoom", {}),
        ("POST", f"{V3}/join/{other_room}", {}),
        ("POST", f"{V3}/rooms/{room_id}/invite", {"user_id": admin.user_id}),
        ("PUT", f"{V3}/profile/{bob.user_id}/displayname", {"displayname": "Bobby"}),
    ]
    for method, path, body in suspended:
        r = await http.request(method, path, json=body, headers=bob.headers)
        assert (r.status_code, r.json()["errcode"]) == (403, "M_USER_SUSPENDED"), path
    # Reading, redacting one's own, rejecting an invite: still allowed (spec).
    r = await http.get(f"{V3}/rooms/{room_id}/messages", params={"dir": "b"}, headers=bob.headers)
    assert r.status_code == 200
    assert (await http.get(f"{V3}/sync", headers=bob.headers)).status_code == 200
    r = await http.put(f"{V3}/rooms/{room_id}/redact/{own}/r1", json={}, headers=bob.headers)
    assert r.status_code == 200, r.text
    r = await http.post(f"{V3}/rooms/{other_room}/leave", json={}, headers=bob.headers)
    assert r.status_code == 200, r.text

    # The help desk opens a room with the user: an admin's invite may be accepted,
    # and there the user may write.
    desk = await person(http, admin, "desk", admin=True)
    talk = await shared_room(http, desk)
    r = await http.post(
        f"{V3}/rooms/{talk}/invite", json={"user_id": bob.user_id}, headers=desk.headers
    )
    assert r.status_code == 200
    r = await http.post(f"{V3}/join/{talk}", json={}, headers=bob.headers)
    assert r.status_code == 200, r.text
    await say(http, bob, talk, "why was I suspended?")

    r = await http.get(f"{ADMIN_API}/users/{bob.user_id}", headers=admin.headers)
    assert (r.json()["suspended"], r.json()["locked"]) == (True, False)
    r = await http.put(
        f"{ADMIN_API}/users/{bob.user_id}/suspend", json={"suspended": False}, headers=admin.headers
    )
    assert r.json() == {"user_id": bob.user_id, "suspended": False}
    await say(http, bob, room_id, "after")
    audited = await entries(server, admin, target=bob.user_id, action="user.")
    actions = [e["action"] for e in audited]
    assert actions[-2:] == ["user.suspended", "user.unsuspended"]


async def test_matrix_nio_sees_m_user_suspended(
    http: httpx.AsyncClient, server: RevierProcess, admin: Admin
) -> None:
    alice = await person(http, admin, "alice")
    bob = await person(http, admin, "bob")
    room_id = await shared_room(http, alice, bob)
    server.admin("user", "suspend", bob.user_id)
    nio = AsyncClient(server.local_url, bob.user_id)
    try:
        assert isinstance(await nio.login(PASSWORD, device_name="nio"), LoginResponse)
        sent = await nio.room_send(room_id, "m.room.message", {"msgtype": "m.text", "body": "x"})
        assert isinstance(sent, RoomSendError), sent
        assert sent.status_code == "M_USER_SUSPENDED"
    finally:
        await nio.close()
    out = server.admin("user", "unsuspend", bob.user_id)
    assert "no longer suspended" in out
    await whoami_until(http, bob, None)
    server.admin("user", "lock", bob.user_id)
    await whoami_until(http, bob, "M_USER_LOCKED")
    server.admin("user", "unlock", bob.user_id)
    await whoami_until(http, bob, None)
    audited = await entries(server, admin, target=bob.user_id, action="user.")
    assert {str(e["actor"]).split(":")[0] for e in audited if e["action"] != "user.created"} == {
        "cli"
    }


# --- who-is ---


async def test_whois_is_for_the_user_and_admins_and_shows_admins_no_addresses(
    http: httpx.AsyncClient, admin: Admin, other_admin: Admin
) -> None:
    alice = await person(http, admin, "alice")
    bob = await person(http, admin, "bob")
    await whoami(http, bob)
    own = await http.get(f"{V3}/admin/whois/{bob.user_id}", headers=bob.headers)
    assert own.status_code == 200, own.text
    (connection,) = own.json()["devices"][bob.device_id]["sessions"][0]["connections"]
    assert connection["ip"] == "127.0.0.1"
    seen = await http.get(f"{V3}/admin/whois/{bob.user_id}", headers=admin.headers)
    assert seen.status_code == 200
    assert set(seen.json()["devices"]) == {bob.device_id}
    assert "127.0.0.1" not in seen.text
    r = await http.get(f"{V3}/admin/whois/{bob.user_id}", headers=alice.headers)
    assert (r.status_code, r.json()["errcode"]) == (403, "M_FORBIDDEN")
    r = await http.get(f"{V3}/admin/whois/{bob.user_id}", headers=other_admin.headers)
    assert (r.status_code, r.json()["errcode"]) == (404, "M_NOT_FOUND")


# --- deactivation by the user ---


async def test_closing_ones_own_account_is_refused_unless_the_tenant_allows_it(
    http: httpx.AsyncClient, server: RevierProcess, admin: Admin
) -> None:
    bob = await person(http, admin, "bob")
    r = await http.post(
        f"{V3}/account/deactivate",
        json={"auth": {"type": "m.login.password", "user": bob.user_id, "password": PASSWORD}},
        headers=bob.headers,
    )
    assert (r.status_code, r.json()["errcode"]) == (403, "M_FORBIDDEN")
    assert "help desk" in r.json()["error"]
    assert (await whoami(http, bob)).status_code == 200


async def test_where_allowed_the_user_closes_their_account_behind_their_password(
    http: httpx.AsyncClient, server: RevierProcess, other_admin: Admin
) -> None:
    carol = await person(http, other_admin, "carol", displayname="Carol Beispiel")
    dave = await person(http, other_admin, "dave")
    room_id = await shared_room(http, dave, carol)
    path = f"{V3}/account/deactivate"
    r = await http.post(path, json={"erase": True}, headers=carol.headers)
    assert r.status_code == 401
    assert r.json()["flows"] == [{"stages": ["m.login.password"]}]
    session = r.json()["session"]
    wrong = {
        "type": "m.login.password",
        "session": session,
        "password": "wrong guess here",
        "identifier": {"type": "m.id.user", "user": carol.user_id},
    }
    r = await http.post(path, json={"erase": True, "auth": wrong}, headers=carol.headers)
    assert (r.status_code, r.json()["errcode"]) == (401, "M_FORBIDDEN")
    assert (await whoami(http, carol)).status_code == 200
    right = {**wrong, "password": PASSWORD}
    r = await http.post(path, json={"erase": True, "auth": right}, headers=carol.headers)
    assert (r.status_code, r.json()) == (200, {"id_server_unbind_result": "success"})

    r = await whoami(http, carol)
    assert (r.status_code, r.json()["errcode"]) == (401, "M_UNKNOWN_TOKEN")
    r = await login(http, carol)
    assert (r.status_code, r.json()["errcode"]) == (403, "M_USER_DEACTIVATED")
    r = await http.get(f"{ADMIN_API}/users/{carol.user_id}", headers=other_admin.headers)
    assert (r.json()["deactivated"], r.json()["displayname"]) == (True, None)
    members = await http.get(f"{V3}/rooms/{room_id}/joined_members", headers=dave.headers)
    assert carol.user_id not in members.json()["joined"]
    (entry,) = await entries(server, other_admin, target=carol.user_id, action="user.deactivated")
    assert entry["actor"] == carol.user_id
    assert entry["details"]["by_self"] is True
    assert entry["details"]["erase"] is True
