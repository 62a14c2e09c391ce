"""Accounts through the admin API: list, create, show, deactivate (leaving every
room), reactivate, password reset, admin rights; who may do it; what the audit
log keeps (never content, never a password typed as a user name)."""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from nio import AsyncClient, JoinedMembersResponse, LoginResponse, RoomCreateResponse

from tests.integration.admin_api import Admin, entries, login
from tests.integration.conftest import PASSWORD
from tests.integration.harness import RevierProcess
from tests.integration.matrix import auth, shared_room, sync_until

USERS = "/_revier/admin/v1/users"
V3 = "/_matrix/client/v3"


@pytest.fixture
async def http(org_server: RevierProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=org_server.local_url, timeout=30) as client:
        yield client


async def create(
    http: httpx.AsyncClient, admin: Admin, prefix: str, **fields: Any
) -> tuple[str, str]:
    """A new account made through the API: (user ID, password)."""
    localpart = f"{prefix}-{secrets.token_hex(4)}"
    body = {"localpart": localpart, "password": PASSWORD, **fields}
    r = await http.post(USERS, json=body, headers=admin.headers)
    assert r.status_code == 201, r.text
    return r.json()["user_id"], r.json().get("password", PASSWORD)


async def client_for(server: RevierProcess, user_id: str, password: str = PASSWORD) -> AsyncClient:
    client = AsyncClient(server.local_url, user_id)
    assert isinstance(await client.login(password, device_name="phone"), LoginResponse)
    return client


async def test_list_search_filter_and_paging(http: httpx.AsyncClient, admin: Admin) -> None:
    tag = secrets.token_hex(3)
    made = sorted(
        [
            (await create(http, admin, f"list-{tag}-a"))[0],
            (await create(http, admin, f"list-{tag}-b", displayname=f"Bea Beispiel {tag}"))[0],
            (await create(http, admin, f"list-{tag}-c"))[0],
        ]
    )
    r = await http.get(USERS, params={"search": f"list-{tag}", "limit": 2}, headers=admin.headers)
    assert r.status_code == 200, r.text
    first = r.json()
    assert [u["user_id"] for u in first["users"]] == made[:2]
    assert set(first["users"][0]) == {
        "user_id",
        "displayname",
        "admin",
        "deactivated",
        "guest",
        "created_ts",
    }
    r = await http.get(
        USERS,
        params={"search": f"list-{tag}", "limit": 2, "from": first["next_token"]},
        headers=admin.headers,
    )
    assert r.json() == {"users": [r.json()["users"][0]]}
    assert r.json()["users"][0]["user_id"] == made[2]
    # By display name, whatever the case.
    r = await http.get(USERS, params={"search": f"BEA BEISPIEL {tag}"}, headers=admin.headers)
    assert [u["user_id"] for u in r.json()["users"]] == [made[1]]

    r = await http.post(f"{USERS}/{made[0]}/deactivate", headers=admin.headers)
    assert r.json() == {"user_id": made[0], "rooms_left": 0}
    for flag, expected in (("true", made[:1]), ("false", made[1:])):
        r = await http.get(
            USERS, params={"search": f"list-{tag}", "deactivated": flag}, headers=admin.headers
        )
        assert [u["user_id"] for u in r.json()["users"]] == expected
    for bad in ({"deactivated": "yes"}, {"from": "x"}, {"limit": "0"}, {"search": "\x00"}):
        r = await http.get(USERS, params=bad, headers=admin.headers)
        assert (r.status_code, r.json()["errcode"]) == (400, "M_INVALID_PARAM"), bad


async def test_create_log_in_and_show_without_content(
    org_server: RevierProcess, http: httpx.AsyncClient, admin: Admin
) -> None:
    localpart = f"neu-{secrets.token_hex(4)}"
    body = {"localpart": localpart, "generate_password": True, "displayname": "Nora Neu"}
    r = await http.post(USERS, json=body, headers=admin.headers)
    assert r.status_code == 201, r.text
    user_id, password = r.json()["user_id"], r.json()["password"]
    assert user_id == f"@{localpart}:localhost" and len(password) >= 24

    nora = await client_for(org_server, user_id, password)
    secret = f"Lagebesprechung {secrets.token_hex(4)}"
    created = await nora.room_create(name=secret, topic=secret)
    assert isinstance(created, RoomCreateResponse), created
    await nora.room_send(created.room_id, "m.room.message", {"msgtype": "m.text", "body": secret})
    await nora.close()

    r = await http.get(f"{USERS}/{user_id}", headers=admin.headers)
    assert r.status_code == 200, r.text
    shown = r.json()
    [device] = shown.pop("devices")
    assert set(device) == {"device_id", "display_name", "last_seen_ts"}
    assert shown.pop("created_ts") > 0
    assert shown == {
        "user_id": user_id,
        "displayname": "Nora Neu",
        "avatar_url": None,
        "admin": False,
        "deactivated": False,
        "deactivation_pending": False,
        "locked": False,
        "suspended": False,
        "guest": False,
        "max_devices": None,
        "device_limit": 3,
        "joined_rooms_count": 1,
    }
    assert secret not in r.text and "127.0.0.1" not in r.text

    found = await entries(org_server, admin, target=user_id)
    assert [e["action"] for e in found] == ["user.created", "login.succeeded"]
    assert (found[0]["actor"], found[0]["details"]) == (admin.user_id, {"admin": False})
    assert secret not in str(found) and password not in str(found)
    [added] = await entries(org_server, admin, target=f"{user_id}/{device['device_id']}")
    assert (added["action"], added["actor"]) == ("device.added", user_id)

    # Refused: a taken name, no password, both kinds of password, a bad name.
    for bad, errcode in (
        ({"localpart": localpart, "password": PASSWORD}, "M_USER_IN_USE"),
        ({"localpart": "x-" + localpart}, "M_MISSING_PARAM"),
        (
            {"localpart": "y-" + localpart, "password": PASSWORD, "generate_password": True},
            "M_INVALID_PARAM",
        ),
        ({"localpart": "Bad Name", "password": PASSWORD}, "M_INVALID_USERNAME"),
        ({"localpart": "z-" + localpart, "password": "short"}, "M_WEAK_PASSWORD"),
    ):
        r = await http.post(USERS, json=bad, headers=admin.headers)
        assert (r.status_code, r.json()["errcode"]) == (400, errcode), bad


async def test_who_may_manage_accounts(
    org_server: RevierProcess, http: httpx.AsyncClient, admin: Admin, other_admin: Admin
) -> None:
    tag = secrets.token_hex(3)
    target, _ = await create(http, admin, "ziel")
    plain, _ = await create(http, admin, "mitarbeiter")
    plain_token = login(org_server, plain, PASSWORD).json()["access_token"]
    calls: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", USERS, None),
        ("POST", USERS, {"localpart": f"sneaky-{tag}", "password": PASSWORD}),
        ("GET", f"{USERS}/{target}", None),
        ("POST", f"{USERS}/{target}/deactivate", {}),
        ("POST", f"{USERS}/{target}/reactivate", {"generate_password": True}),
        ("POST", f"{USERS}/{target}/password", {"generate_password": True}),
        ("PUT", f"{USERS}/{target}/admin", {"admin": True}),
    ]
    for method, path, body in calls:
        # A colleague without admin rights.
        r = await http.request(
            method, path, json=body, headers={"Authorization": f"Bearer {plain_token}"}
        )
        assert (r.status_code, r.json()["errcode"]) == (403, "M_FORBIDDEN"), path
        # No token.
        r = await http.request(method, path, json=body)
        assert r.status_code == 401, path
        # The admin of another organisation: with its own Host, a user of
        # localhost doesn't exist; with Host localhost, the token doesn't.
        r = await http.request(method, path, json=body, headers=other_admin.headers)
        if path != USERS:
            assert (r.status_code, r.json()["errcode"]) == (404, "M_NOT_FOUND"), path
        r = await http.request(
            method, path, json=body, headers={**other_admin.headers, "Host": "localhost"}
        )
        assert (r.status_code, r.json()["errcode"]) == (401, "M_UNKNOWN_TOKEN"), path

    # Nothing changed: the target still logs in, is no admin, the sneaky account
    # exists in neither tenant.
    assert login(org_server, target, PASSWORD).status_code == 200
    r = await http.get(f"{USERS}/{target}", headers=admin.headers)
    assert (r.json()["admin"], r.json()["deactivated"]) == (False, False)
    r = await http.get(USERS, params={"search": f"sneaky-{tag}"}, headers=admin.headers)
    assert r.json()["users"] == []
    # other.test's admin created its own account there (its own tenant: allowed).
    r = await http.get(USERS, params={"search": f"sneaky-{tag}"}, headers=other_admin.headers)
    assert [u["user_id"].endswith(":other.test") for u in r.json()["users"]] == [True]

    # An admin can't lock themselves out.
    r = await http.post(f"{USERS}/{admin.user_id}/deactivate", headers=admin.headers)
    assert (r.status_code, r.json()["errcode"]) == (403, "M_FORBIDDEN")
    assert "another admin" in r.json()["error"]
    r = await http.put(
        f"{USERS}/{admin.user_id}/admin", json={"admin": False}, headers=admin.headers
    )
    assert (r.status_code, r.json()["errcode"]) == (403, "M_FORBIDDEN")
    r = await http.get(f"{USERS}/@no%00body:localhost", headers=admin.headers)
    assert (r.status_code, r.json()["errcode"]) == (404, "M_NOT_FOUND")


async def test_deactivation_leaves_rooms_and_reactivation_starts_afresh(
    org_server: RevierProcess, http: httpx.AsyncClient, admin: Admin
) -> None:
    anna_id, _ = await create(http, admin, "anna")
    ben_id, _ = await create(http, admin, "ben")
    leaver_id, _ = await create(http, admin, "leaver")
    anna, ben, leaver = [await client_for(org_server, u) for u in (anna_id, ben_id, leaver_id)]
    rooms = [await shared_room(anna, leaver), await shared_room(ben, leaver)]
    old_token = leaver.access_token
    r = await http.post(
        f"{V3}/room_keys/version",
        json={
            "algorithm": "m.megolm_backup.v1.curve25519-aes-sha2",
            "auth_data": {"public_key": "x"},
        },
        headers=auth(leaver),
    )
    assert r.status_code == 200, r.text

    r = await http.post(f"{USERS}/{leaver_id}/deactivate", json={}, headers=admin.headers)
    assert r.status_code == 200, r.text
    assert r.json() == {"user_id": leaver_id, "rooms_left": 2}

    for client, room_id in ((anna, rooms[0]), (ben, rooms[1])):
        members = await client.joined_members(room_id)
        assert isinstance(members, JoinedMembersResponse), members
        assert [m.user_id for m in members.members] == [client.user_id]
        r = await http.get(
            f"{V3}/rooms/{room_id}/state/m.room.member/{leaver_id}", headers=auth(client)
        )
        assert r.json() == {"membership": "leave", "reason": "Account deactivated"}
    r = login(org_server, leaver_id, PASSWORD)
    assert (r.status_code, r.json()["errcode"]) == (403, "M_USER_DEACTIVATED")
    r = await http.get(f"{V3}/account/whoami", headers={"Authorization": f"Bearer {old_token}"})
    assert (r.status_code, r.json()["errcode"]) == (401, "M_UNKNOWN_TOKEN")
    localpart = leaver_id[1:].split(":")[0]
    r = await http.post(
        f"{V3}/user_directory/search", json={"search_term": localpart}, headers=auth(anna)
    )
    assert r.json()["results"] == []
    r = await http.get(f"{USERS}/{leaver_id}", headers=admin.headers)
    assert (r.json()["deactivated"], r.json()["deactivation_pending"]) == (True, False)
    assert (r.json()["devices"], r.json()["joined_rooms_count"]) == ([], 0)
    # Again: nothing left to do, nothing new in the log.
    r = await http.post(f"{USERS}/{leaver_id}/deactivate", headers=admin.headers)
    assert r.json() == {"user_id": leaver_id, "rooms_left": 0}
    # A deactivated account gets no password: it is reactivated with one.
    r = await http.post(
        f"{USERS}/{leaver_id}/password", json={"password": PASSWORD}, headers=admin.headers
    )
    assert (r.status_code, r.json()["errcode"]) == (403, "M_FORBIDDEN")

    r = await http.post(
        f"{USERS}/{leaver_id}/reactivate", json={"generate_password": True}, headers=admin.headers
    )
    assert r.status_code == 200, r.text
    back = await client_for(org_server, leaver_id, r.json()["password"])
    response = await sync_until(back, lambda s: s)
    assert list(response.rooms.join) == [] and list(response.rooms.invite) == []
    r = await http.get(f"{V3}/room_keys/version", headers=auth(back))
    assert (r.status_code, r.json()["errcode"]) == (404, "M_NOT_FOUND")  # the backup went
    r = await http.post(
        f"{USERS}/{leaver_id}/reactivate", json={"password": PASSWORD}, headers=admin.headers
    )
    assert (r.status_code, r.json()["errcode"]) == (400, "M_BAD_STATE")

    found = await entries(org_server, admin, target=leaver_id, action="user.")
    assert [(e["action"], e["actor"], e["details"]) for e in found] == [
        ("user.created", admin.user_id, {"admin": False}),
        ("user.deactivated", admin.user_id, {"devices_removed": 1, "rooms": 2}),
        ("user.deactivation_completed", admin.user_id, {"rooms_left": 2}),
        ("user.reactivated", admin.user_id, {}),
    ]
    [refused] = await entries(org_server, admin, target=leaver_id, action="login.failed")
    assert refused["details"] == {"reason": "deactivated"}
    for client in (anna, ben, leaver, back):
        await client.close()


async def test_password_reset_change_and_admin_rights(
    org_server: RevierProcess, http: httpx.AsyncClient, admin: Admin
) -> None:
    user_id, _ = await create(http, admin, "vergesslich")
    token = login(org_server, user_id, PASSWORD).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}

    new = "a completely new passphrase"
    r = await http.post(
        f"{USERS}/{user_id}/password",
        json={"password": new, "logout_devices": False},
        headers=admin.headers,
    )
    assert r.json() == {"user_id": user_id, "devices_removed": 0}
    assert (await http.get(f"{V3}/account/whoami", headers=headers)).status_code == 200
    r = await http.post(
        f"{USERS}/{user_id}/password", json={"generate_password": True}, headers=admin.headers
    )
    assert r.json()["devices_removed"] == 1
    generated = r.json()["password"]
    assert (await http.get(f"{V3}/account/whoami", headers=headers)).status_code == 401
    assert login(org_server, user_id, new).status_code == 403
    token = login(org_server, user_id, generated).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}

    # The user's own change (behind the current password).
    r = await http.post(
        f"{V3}/account/password",
        headers=headers,
        json={
            "new_password": PASSWORD,
            "auth": {
                "type": "m.login.password",
                "password": generated,
                "identifier": {"type": "m.id.user", "user": user_id},
            },
        },
    )
    assert r.status_code == 200, r.text

    r = await http.put(f"{USERS}/{user_id}/admin", json={"admin": True}, headers=admin.headers)
    assert r.json() == {"user_id": user_id, "admin": True}
    assert (await http.get(USERS, params={"limit": 1}, headers=headers)).status_code == 200
    r = await http.put(f"{USERS}/{user_id}/admin", json={"admin": False}, headers=admin.headers)
    assert (await http.get(USERS, params={"limit": 1}, headers=headers)).status_code == 403
    r = await http.put(f"{USERS}/{user_id}/admin", json={"admin": "no"}, headers=admin.headers)
    assert (r.status_code, r.json()["errcode"]) == (400, "M_BAD_JSON")

    found = await entries(org_server, admin, target=user_id)
    actions = [
        (e["action"], e["actor"], e["details"]) for e in found if e["action"] != "login.succeeded"
    ]
    assert actions == [
        ("user.created", admin.user_id, {"admin": False}),
        ("password.reset", admin.user_id, {"logout_devices": False, "devices_removed": 0}),
        ("password.reset", admin.user_id, {"logout_devices": True, "devices_removed": 1}),
        ("login.failed", None, {"reason": "wrong_password"}),
        ("password.changed", user_id, {"logout_devices": True, "devices_removed": 0}),
        ("user.admin_granted", admin.user_id, {}),
        ("user.admin_revoked", admin.user_id, {}),
    ]
    assert generated not in str(found) and new not in str(found)


async def test_a_password_typed_as_the_user_name_is_not_kept(
    org_server: RevierProcess, admin: Admin
) -> None:
    typed = f"Geheim{secrets.token_hex(4)}"
    since_ts = int(time.time() * 1000) - 1000
    address = f"198.18.{secrets.randbelow(250)}.{secrets.randbelow(250) + 1}"
    for user in (typed, f"@{typed}:localhost"):
        r = login(org_server, user, "anything", **{"X-Forwarded-For": address})
        assert r.status_code == 403
    failed = await entries(org_server, admin, action="login.failed", since_ts=since_ts)
    mine = [e for e in failed if e["source"] == address]
    assert [(e["target"], e["details"]) for e in mine] == [(None, {"unknown_user": True})] * 2
    assert typed.lower() not in str(failed).lower()
