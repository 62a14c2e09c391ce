"""Login, devices and logout with a real Matrix client (matrix-nio)."""

from __future__ import annotations

import httpx
from nio import (
    AsyncClient,
    DeleteDevicesAuthResponse,
    DeleteDevicesResponse,
    DevicesResponse,
    ErrorResponse,
    LoginResponse,
    RegisterResponse,
    UpdateDeviceResponse,
    WhoamiResponse,
)

from tests.integration.conftest import PASSWORD, nio_login
from tests.integration.harness import RevierProcess


async def test_login_whoami_and_a_second_device(server: RevierProcess, make_user) -> None:
    user = make_user("anna")
    phone = await nio_login(server, user, "phone")
    laptop = await nio_login(server, user, "laptop")
    try:
        whoami = await phone.whoami()
        assert isinstance(whoami, WhoamiResponse)
        assert whoami.user_id == user.user_id
        assert whoami.device_id == phone.device_id
        devices = await laptop.devices()
        assert isinstance(devices, DevicesResponse)
        names = {d.id: d.display_name for d in devices.devices}
        assert names == {phone.device_id: "phone", laptop.device_id: "laptop"}
    finally:
        await phone.close()
        await laptop.close()


async def test_rename_and_delete_a_device_behind_the_password(
    server: RevierProcess, make_user
) -> None:
    user = make_user("ben")
    keep = await nio_login(server, user, "keep")
    lost = await nio_login(server, user, "lost")
    try:
        renamed = await keep.update_device(lost.device_id, {"display_name": "lost phone"})
        assert isinstance(renamed, UpdateDeviceResponse)
        first = await keep.delete_devices([lost.device_id])
        assert isinstance(first, DeleteDevicesAuthResponse)  # 401 with the UIA flows
        assert first.flows == [{"stages": ["m.login.password"]}]
        auth = {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": user.user_id},
            "password": PASSWORD,
            "session": first.session,
        }
        done = await keep.delete_devices([lost.device_id], auth)
        assert isinstance(done, DeleteDevicesResponse)
        devices = await keep.devices()
        assert [d.id for d in devices.devices] == [keep.device_id]
        # The deleted device's token is dead for good: soft_logout false.
        async with httpx.AsyncClient(base_url=server.url) as http:
            r = await http.get(
                "/_matrix/client/v3/account/whoami",
                headers={"Authorization": f"Bearer {lost.access_token}"},
            )
        assert r.status_code == 401
        assert r.json() == {**r.json(), "errcode": "M_UNKNOWN_TOKEN", "soft_logout": False}
    finally:
        await keep.close()
        await lost.close()


async def test_wrong_password_in_uia_keeps_the_device(server: RevierProcess, make_user) -> None:
    user = make_user("carl")
    client = await nio_login(server, user)
    try:
        first = await client.delete_devices([client.device_id])
        auth = {
            "type": "m.login.password",
            "user": user.user_id,
            "password": "wrong",
            "session": first.session,
        }
        again = await client.delete_devices([client.device_id], auth)
        assert isinstance(again, DeleteDevicesAuthResponse)
        assert isinstance(await client.whoami(), WhoamiResponse)
    finally:
        await client.close()


async def test_logout_and_logout_all(server: RevierProcess, make_user) -> None:
    user = make_user("dora")
    one = await nio_login(server, user, "one")
    two = await nio_login(server, user, "two")
    three = await nio_login(server, user, "three")
    tokens = {c: c.access_token for c in (one, two, three)}

    async def whoami(client: AsyncClient) -> int:
        async with httpx.AsyncClient(base_url=server.url) as http:
            r = await http.get(
                "/_matrix/client/v3/account/whoami",
                headers={"Authorization": f"Bearer {tokens[client]}"},
            )
        assert r.status_code in (200, 401)
        if r.status_code == 401:
            assert r.json()["errcode"] == "M_UNKNOWN_TOKEN" and r.json()["soft_logout"] is False
        return r.status_code

    await one.logout()
    assert await whoami(one) == 401
    assert await whoami(two) == 200
    await two.logout(all_devices=True)
    assert await whoami(two) == 401
    assert await whoami(three) == 401
    for client in (one, two, three):
        await client.close()


async def test_login_with_a_known_device_id_reuses_the_device(
    server: RevierProcess, make_user
) -> None:
    user = make_user("emil")
    first = AsyncClient(server.url, user.user_id, device_id="EMILPHONE")
    again = AsyncClient(server.url, user.user_id, device_id="EMILPHONE")
    try:
        assert isinstance(await first.login(PASSWORD), LoginResponse)
        assert first.device_id == "EMILPHONE"
        assert isinstance(await again.login(PASSWORD), LoginResponse)
        devices = await again.devices()
        assert [d.id for d in devices.devices] == ["EMILPHONE"]
        # The earlier session of that device is replaced.
        assert isinstance(await first.whoami(), ErrorResponse)
    finally:
        await first.close()
        await again.close()


async def test_device_limit_refuses_a_fourth_device(server: RevierProcess, make_user) -> None:
    user = make_user("fritz")
    clients = [await nio_login(server, user, f"dev{i}") for i in range(3)]
    fourth = AsyncClient(server.url, user.user_id)
    try:
        r = await fourth.login(PASSWORD, device_name="dev3")
        assert isinstance(r, ErrorResponse)
        assert r.status_code == "M_FORBIDDEN"
        assert "at most 3 devices" in r.message and "help desk" in r.message
    finally:
        for c in [*clients, fourth]:
            await c.close()


async def test_registration_is_closed(server: RevierProcess) -> None:
    client = AsyncClient(server.url)
    try:
        r = await client.register("mallory", "a password that is long")
        assert not isinstance(r, RegisterResponse)
        assert isinstance(r, ErrorResponse) and r.status_code == "M_FORBIDDEN"
    finally:
        await client.close()
    async with httpx.AsyncClient(base_url=server.url) as http:
        for body in (
            {},
            {"auth": {"type": "m.login.dummy"}, "username": "x", "password": "y" * 20},
            {"kind": "guest"},
        ):
            r = await http.post("/_matrix/client/v3/register", json=body)
            assert r.status_code == 403 and r.json()["errcode"] == "M_FORBIDDEN"


async def test_change_password(server: RevierProcess, make_user, http: httpx.AsyncClient) -> None:
    user = make_user("gina")
    main = await nio_login(server, user, "main")
    other = await nio_login(server, user, "other")
    headers = {"Authorization": f"Bearer {main.access_token}"}
    new = "a much better passphrase"
    r = await http.post(
        "/_matrix/client/v3/account/password", headers=headers, json={"new_password": new}
    )
    assert r.status_code == 401 and "session" in r.json()
    r = await http.post(
        "/_matrix/client/v3/account/password",
        headers=headers,
        json={
            "new_password": "short",
            "auth": {
                "type": "m.login.password",
                "password": PASSWORD,
                "identifier": {"type": "m.id.user", "user": user.user_id},
                "session": r.json()["session"],
            },
        },
    )
    assert r.status_code == 400 and r.json()["errcode"] == "M_WEAK_PASSWORD"
    r = await http.post(
        "/_matrix/client/v3/account/password",
        headers=headers,
        json={
            "new_password": new,
            "auth": {
                "type": "m.login.password",
                "password": PASSWORD,
                "identifier": {"type": "m.id.user", "user": user.user_id},
            },
        },
    )
    assert r.status_code == 200, r.text
    assert isinstance(await main.whoami(), WhoamiResponse)
    assert isinstance(await other.whoami(), ErrorResponse)  # logout_devices defaults to true
    fresh = AsyncClient(server.url, user.user_id)
    assert isinstance(await fresh.login(new), LoginResponse)
    for c in (main, other, fresh):
        await c.close()


async def test_discovery_documents(http: httpx.AsyncClient, server: RevierProcess) -> None:
    versions = (await http.get("/_matrix/client/versions")).json()
    assert "v1.11" in versions["versions"]
    wk = (await http.get("/.well-known/matrix/client")).json()
    assert wk["m.homeserver"]["base_url"].startswith("http")
    flows = (await http.get("/_matrix/client/v3/login")).json()
    # Login tokens (linking a device by QR code) are on by default.
    assert flows == {
        "flows": [{"type": "m.login.password"}, {"type": "m.login.token", "get_login_token": True}]
    }
    r = await http.options("/_matrix/client/v3/login")
    assert r.headers["access-control-allow-origin"] == "*"


async def test_an_account_has_no_third_party_ids(
    server: RevierProcess, make_user, http: httpx.AsyncClient
) -> None:
    """Element's settings page lists them: revier keeps none, and says so."""
    user = make_user("hanna")
    client = await nio_login(server, user, "settings")
    path = "/_matrix/client/v3/account/3pid"
    r = await http.get(path, headers={"Authorization": f"Bearer {client.access_token}"})
    assert r.status_code == 200 and r.json() == {"threepids": []}
    r = await http.get(path)
    assert r.status_code == 401 and r.json()["errcode"] == "M_MISSING_TOKEN"
    await client.close()
