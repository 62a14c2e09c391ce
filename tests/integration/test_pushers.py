"""Pushers (GET /pushers, POST /pushers/set) and GET /notifications: what the spec asks,
what an attacker can't do, pushers going with their device, and the admins' view."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from bench.push_gateway import PushGateway

from tests.integration.admin_api import Admin, entries
from tests.integration.harness import PASSWORD, RevierProcess
from tests.integration.push import (
    ADMIN,
    V3,
    People,
    Person,
    answering,
    client_fixtures,
    gateway_fixture,
    log_in,
    only,
    push_server_fixture,
    pusher,
    pushkeys,
    room_with,
    send,
    set_pusher,
)

gateway = gateway_fixture()
push_server = push_server_fixture("pushers")
people, api, admin = client_fixtures()


@pytest.fixture
def gw(gateway: PushGateway) -> PushGateway:
    return answering(gateway)


async def test_a_pusher_is_listed_as_set(
    api: httpx.AsyncClient, people: People, gw: PushGateway
) -> None:
    anna = await people.new()
    data = {"url": gw.url, "format": "id_event_only", "default_payload": {"aps": {"badge": 1}}}
    body = pusher(gw, data=data)
    assert (await api.post(f"{V3}/pushers/set", json=body, headers=anna.headers)).json() == {}
    listed = (await api.get(f"{V3}/pushers", headers=anna.headers)).json()["pushers"]
    expected = {k: v for k, v in body.items() if k != "append"}
    assert listed == [expected]  # data with url and unknown format, as sent (sytest)

    body.pop("profile_tag")
    body["lang"] = "de"
    assert (await api.post(f"{V3}/pushers/set", json=body, headers=anna.headers)).json() == {}
    listed = (await api.get(f"{V3}/pushers", headers=anna.headers)).json()["pushers"]
    assert [(p["lang"], "profile_tag" in p) for p in listed] == [("de", False)]

    await api.post(
        f"{V3}/pushers/set",
        json={"app_id": body["app_id"], "pushkey": body["pushkey"], "kind": None},
        headers=anna.headers,
    )
    assert await pushkeys(api, anna) == []


async def test_one_phone_one_account_unless_append(
    api: httpx.AsyncClient, people: People, gw: PushGateway
) -> None:
    anna, ben, carl = await people.new(), await people.new(), await people.new()
    key = await set_pusher(api, anna, gw)
    await set_pusher(api, ben, gw, pushkey=key, append=True)
    assert await pushkeys(api, anna) == [key] and await pushkeys(api, ben) == [key]
    await set_pusher(api, carl, gw, pushkey=key)  # append false: the pair moves to Carl
    assert (await pushkeys(api, anna), await pushkeys(api, ben)) == ([], [])
    assert await pushkeys(api, carl) == [key]


@pytest.mark.one_engine  # no storage involved: once is enough
@pytest.mark.parametrize(
    "url",
    [
        "https://push.example.org/_matrix/push/v1/notify",
        "http://127.0.0.1:1/_matrix/push/v1/notify",
        "http://169.254.169.254/_matrix/push/v1/notify",
        "http://[::1]:80/_matrix/push/v1/notify",
        "http://localhost.evil.example/_matrix/push/v1/notify",
        "http://127.0.0.1@evil.example/_matrix/push/v1/notify",
        "gopher://127.0.0.1/_matrix/push/v1/notify",
    ],
)
async def test_a_gateway_not_allowed_is_refused_and_nothing_is_contacted(
    api: httpx.AsyncClient, people: People, gw: PushGateway, url: str
) -> None:
    anna = await people.new()
    r = await api.post(
        f"{V3}/pushers/set", json=pusher(gw, data={"url": url}), headers=anna.headers
    )
    assert (r.status_code, r.json()["errcode"]) == (400, "M_INVALID_PARAM")
    assert await pushkeys(api, anna) == []


async def test_the_allowed_gateway_on_another_path_or_port_is_refused(
    api: httpx.AsyncClient, people: People, gw: PushGateway
) -> None:
    anna = await people.new()
    for url in (
        f"{gw.origin}/other/path",
        f"http://127.0.0.1:{gw.port + 1}/_matrix/push/v1/notify",
        f"{gw.url}?redirect=http://evil.example",
    ):
        r = await api.post(
            f"{V3}/pushers/set", json=pusher(gw, data={"url": url}), headers=anna.headers
        )
        assert r.status_code == 400, url


@pytest.mark.parametrize(
    ("changes", "errcode"),
    [
        ({"data": {"url": "x", "default_payload": "x" * 5000}}, "M_INVALID_PARAM"),
        ({"data": "not an object"}, "M_BAD_JSON"),
        ({"data": {}}, "M_MISSING_PARAM"),
        ({"data": {"url": ["x"]}}, "M_BAD_JSON"),
        ({"pushkey": "k" * 513}, "M_INVALID_PARAM"),
        ({"app_id": "a" * 65}, "M_INVALID_PARAM"),
        ({"kind": "email"}, "M_INVALID_PARAM"),
        ({"lang": None}, "M_BAD_JSON"),
        ({"append": "no"}, "M_BAD_JSON"),
    ],
)
async def test_malformed_or_oversized_pushers_get_400_and_change_nothing(
    api: httpx.AsyncClient, people: People, gw: PushGateway, changes: dict[str, Any], errcode: str
) -> None:
    anna, ben = await people.new(), await people.new()
    key = await set_pusher(api, anna, gw)
    body = pusher(gw, **{"pushkey": key, **changes})
    r = await api.post(f"{V3}/pushers/set", json=body, headers=ben.headers)
    assert (r.status_code, r.json()["errcode"]) == (400, errcode)
    assert await pushkeys(api, anna) == [key]  # not taken over by a refused request
    assert await pushkeys(api, ben) == []
    bad_json = await api.post(f"{V3}/pushers/set", content=b"{", headers=ben.headers)
    assert (bad_json.status_code, bad_json.json()["errcode"]) == (400, "M_NOT_JSON")


async def test_nobody_reads_or_deletes_another_users_pusher(
    api: httpx.AsyncClient, people: People, gw: PushGateway
) -> None:
    anna, mallory = await people.new(), await people.new()
    key = await set_pusher(api, anna, gw)
    assert await pushkeys(api, mallory) == []
    r = await api.post(
        f"{V3}/pushers/set",
        json={"app_id": pusher(gw)["app_id"], "pushkey": key, "kind": None},
        headers=mallory.headers,
    )
    assert r.status_code == 200  # deleting a pusher one doesn't have is no error (spec)
    assert await pushkeys(api, anna) == [key]
    unauthenticated = await api.get(f"{V3}/pushers")
    assert unauthenticated.status_code == 401


async def _pushed_after(
    api: httpx.AsyncClient, gw: PushGateway, sender: Person, room: str, control: str
) -> str:
    """Send into ``room``; return the event once ``control`` (another pusher of the
    recipient) got its push — by then any push of the same event has been sent."""
    event = await send(api, sender, room)
    await gw.wait_for_event(event, control)
    return event


async def test_a_wiped_or_logged_out_device_takes_its_pushers_along(
    api: httpx.AsyncClient,
    push_server: RevierProcess,
    people: People,
    gw: PushGateway,
    admin: Admin,
) -> None:
    alice, bob = await people.new(), await people.new()
    phone = await log_in(push_server, bob.user_id, device="PHONE")
    tablet = await log_in(push_server, bob.user_id, device="TABLET")
    control = await set_pusher(api, bob, gw)
    on_phone = await set_pusher(api, phone, gw, app_id="org.revier.test.phone")
    on_tablet = await set_pusher(api, tablet, gw, app_id="org.revier.test.tablet")
    room = await room_with(api, alice, bob)
    event = await _pushed_after(api, gw, alice, room, control)
    only(await gw.wait_for(1, on_phone), event)

    wiped = await api.delete(f"{ADMIN}/users/{bob.user_id}/devices/PHONE", headers=admin.headers)
    assert wiped.status_code == 200, wiped.text
    logout = await api.post(f"{V3}/logout", json={}, headers=tablet.headers)
    assert logout.status_code == 200
    assert await pushkeys(api, bob) == [control]
    await _pushed_after(api, gw, alice, room, control)
    assert len(gw.pushes(on_phone, attempts=True)) == 1
    assert len(gw.pushes(on_tablet, attempts=True)) == 1


async def test_a_password_change_ends_the_pushers_of_the_other_sessions(
    api: httpx.AsyncClient, push_server: RevierProcess, people: People, gw: PushGateway
) -> None:
    anna = await people.new()
    other = await log_in(push_server, anna.user_id)
    mine = await set_pusher(api, anna, gw)
    await set_pusher(api, other, gw, app_id="org.revier.test.other")
    r = await api.post(
        f"{V3}/account/password",
        headers=anna.headers,
        json={
            "new_password": "another long passphrase",
            "auth": {
                "type": "m.login.password",
                "password": PASSWORD,
                "identifier": {"type": "m.id.user", "user": anna.user_id},
            },
        },
    )
    assert r.status_code == 200, r.text
    assert await pushkeys(api, anna) == [mine]


async def test_notifications_lists_the_unread_newest_first_in_pages(
    api: httpx.AsyncClient, people: People
) -> None:
    alice, bob = await people.new(), await people.new()
    room = await room_with(api, alice, bob)
    plain = [await send(api, alice, room) for _ in range(3)]
    mentions = {"msgtype": "m.text", "body": "Bob?", "m.mentions": {"user_ids": [bob.user_id]}}
    mention = await send(api, alice, room, mentions)
    page = (await api.get(f"{V3}/notifications", params={"limit": 2}, headers=bob.headers)).json()
    first = page["notifications"]
    assert [n["event"]["event_id"] for n in first] == [mention, plain[2]]
    assert first[0]["actions"] == ["notify", {"set_tweak": "highlight", "value": True}]
    assert first[1] == {
        "actions": ["notify"],
        "event": first[1]["event"],
        "read": False,
        "room_id": room,
        "ts": first[1]["event"]["origin_server_ts"],
    }
    assert "room_id" not in first[1]["event"]
    rest = await api.get(
        f"{V3}/notifications", params={"from": page["next_token"]}, headers=bob.headers
    )
    assert [n["event"]["event_id"] for n in rest.json()["notifications"]] == plain[1::-1]
    assert "next_token" not in rest.json()
    highlights = await api.get(
        f"{V3}/notifications", params={"only": "highlight"}, headers=bob.headers
    )
    assert [n["event"]["event_id"] for n in highlights.json()["notifications"]] == [mention]
    for bad in ({"from": "osborne"}, {"limit": "-1"}, {"limit": "x"}):
        r = await api.get(f"{V3}/notifications", params=bad, headers=bob.headers)
        assert (r.status_code, r.json()["errcode"]) == (400, "M_INVALID_PARAM"), bad
    receipt = await api.post(
        f"{V3}/rooms/{room}/receipt/m.read/{mention}", json={}, headers=bob.headers
    )
    assert receipt.status_code == 200
    after = await api.get(f"{V3}/notifications", headers=bob.headers)
    assert after.json() == {"notifications": []}


async def test_admins_see_pushers_without_their_pushkeys_and_remove_them(
    api: httpx.AsyncClient,
    push_server: RevierProcess,
    people: People,
    gw: PushGateway,
    admin: Admin,
) -> None:
    anna = await people.new()
    key = await set_pusher(api, anna, gw)
    r = await api.get(f"{ADMIN}/users/{anna.user_id}/pushers", headers=admin.headers)
    assert r.status_code == 200, r.text
    [listed] = r.json()["pushers"]
    assert key not in json.dumps(r.json())
    assert (listed["pushkey_end"], listed["gateway"], listed["device_id"]) == (
        key[-4:],
        "127.0.0.1",
        anna.device_id,
    )
    assert (
        await api.get(f"{ADMIN}/users/{anna.user_id}/pushers", headers=anna.headers)
    ).status_code == 403

    out = push_server.admin("pusher", "list", anna.user_id)
    assert f"{listed['pusher_id']}  " in out and "127.0.0.1" in out and key not in out

    path = f"{ADMIN}/users/{anna.user_id}/pushers/{listed['pusher_id']}"
    assert (await api.delete(path, headers=admin.headers)).status_code == 200
    assert await pushkeys(api, anna) == []
    assert (await api.delete(path, headers=admin.headers)).status_code == 404
    removed = await entries(
        push_server, admin, action="pusher.removed", target=f"{anna.user_id}/{anna.device_id}"
    )
    assert [e["actor"] for e in removed] == [admin.user_id]
