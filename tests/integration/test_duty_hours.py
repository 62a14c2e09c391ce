"""Duty hours: off duty nothing is pushed and nothing is lost; when duty begins each
phone gets one push with what is waiting; urgent rooms break through, audited.

The server's clock is moved, not waited for: in conformance mode ``[testing]
clock_file`` holds milliseconds the server adds to the wall clock.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from bench.push_gateway import PushGateway

from tests.integration.admin_api import Admin, entries
from tests.integration.conftest import running_server
from tests.integration.harness import RevierProcess
from tests.integration.push import (
    ADMIN,
    V3,
    People,
    Person,
    answering,
    client_fixtures,
    gateway_fixture,
    only,
    push_options,
    room_with,
    send,
    set_pusher,
)

BERLIN = ZoneInfo("Europe/Berlin")
ON_WEEKDAYS = {day: ["07:00-16:00"] for day in ("mon", "tue", "wed", "thu", "fri")}

gateway = gateway_fixture()


@pytest.fixture(scope="module")
def clock_file(tmp_root: Path, engine: str) -> Path:
    return tmp_root / f"clock-{engine}"


def set_clock(clock_file: Path, local: str) -> None:
    """Make the server's time the Berlin wall time ``local`` ("2026-03-02 22:00")."""
    target = datetime.fromisoformat(local).replace(tzinfo=BERLIN).timestamp() * 1000
    clock_file.write_text(str(int(target - time.time() * 1000)))


@pytest.fixture(scope="module")
def push_server(
    engine: str,
    request: pytest.FixtureRequest,
    tmp_root: Path,
    gateway: PushGateway,
    clock_file: Path,
) -> Iterator[RevierProcess]:
    set_clock(clock_file, "2026-03-02 22:00")  # a Monday night
    options = push_options(
        gateway,
        time_zone="Europe/Berlin",
        duty_urgent_rooms=["#alarm:localhost"],
        duty_user_adjust="switches",
    )
    testing = {"conformance": True, "clock_file": str(clock_file)}
    with running_server(
        engine, request, tmp_root, "duty", "--conformance-mode", testing=testing, **options
    ) as server:
        yield server


people, api, admin = client_fixtures()


@pytest.fixture
def gw(gateway: PushGateway, clock_file: Path) -> PushGateway:
    set_clock(clock_file, "2026-03-02 22:00")
    return answering(gateway)


async def _not_pushed(
    api: httpx.AsyncClient, gw: PushGateway, sender: Person, room: str, control: str
) -> None:
    """Return once a later event reached ``control`` (someone always on duty): by
    then a push of anything sent before would have gone out too."""
    event = await send(api, sender, room)
    await gw.wait_for_event(event, control)


async def test_off_duty_nothing_is_pushed_and_at_duty_start_one_push_per_phone(
    api: httpx.AsyncClient,
    push_server: RevierProcess,
    people: People,
    gw: PushGateway,
    admin: Admin,
    clock_file: Path,
) -> None:
    alice, bob, carol = await people.new(), await people.new(), await people.new()
    r = await api.put(
        f"{ADMIN}/users/{bob.user_id}/duty_hours",
        json={"schedule": ON_WEEKDAYS},
        headers=admin.headers,
    )
    assert r.status_code == 200, r.text
    assert (r.json()["on_duty"], r.json()["time_zone"]) == (False, "Europe/Berlin")
    phone = await set_pusher(api, bob, gw)
    tablet = await set_pusher(api, bob, gw, app_id="org.revier.test.tablet")
    control = await set_pusher(api, carol, gw)
    room = await room_with(api, alice, bob, carol)

    at_2200 = await send(api, alice, room)
    latest = await send(api, alice, room)
    await _not_pushed(api, gw, alice, room, control)
    assert gw.pushes(phone, attempts=True) == gw.pushes(tablet, attempts=True) == []

    # Everything still arrives when Bob's app syncs, and the counts are right.
    sync = (await api.get(f"{V3}/sync", headers=bob.headers)).json()["rooms"]["join"][room]
    timeline = [e["event_id"] for e in sync["timeline"]["events"]]
    assert at_2200 in timeline and latest in timeline
    assert sync["unread_notifications"]["notification_count"] == 3

    set_clock(clock_file, "2026-03-03 07:00")  # Tuesday, duty begins
    for key in (phone, tablet):
        [push] = await gw.wait_for(1, key)
        n = push.notification
        assert (n["event_id"], n["room_id"], n["counts"], n["prio"]) == (
            await _newest(api, bob, room),
            room,
            {"unread": 1},
            "high",
        )

    # Once only, across a restart too; then pushing goes on as usual.
    push_server.stop()
    push_server.start("--conformance-mode")
    async with httpx.AsyncClient(base_url=push_server.url, timeout=30) as http:
        on_duty = await send(http, alice, room)
        for key in (phone, tablet):
            arrivals = await gw.wait_for(2, key)
            assert arrivals[1].notification["event_id"] == on_duty
        last = await send(http, alice, room)
        for key in (phone, tablet, control):
            await gw.wait_for_event(last, key)
    assert len(gw.pushes(phone)) == len(gw.pushes(tablet)) == 3
    set_by = await entries(push_server, admin, action="duty.schedule_set", target=bob.user_id)
    assert [e["details"] for e in set_by] == [{"schedule": ON_WEEKDAYS}]


async def _newest(api: httpx.AsyncClient, person: Person, room: str) -> str:
    """The person's newest unread notification in ``room``."""
    r = await api.get(f"{V3}/notifications", params={"limit": 1}, headers=person.headers)
    [newest] = r.json()["notifications"]
    assert newest["room_id"] == room
    return str(newest["event"]["event_id"])


async def test_an_urgent_room_breaks_through_and_is_audited(
    api: httpx.AsyncClient,
    push_server: RevierProcess,
    people: People,
    gw: PushGateway,
    admin: Admin,
) -> None:
    alice, bob, carol = await people.new(), await people.new(), await people.new()
    push_server.admin("duty", "set", bob.user_id, "--hours", "mon-fri 07:00-16:00")
    assert "off duty now" in push_server.admin("duty", "show", bob.user_id)
    key = await set_pusher(api, bob, gw)
    control = await set_pusher(api, carol, gw)
    alarm = await room_with(api, alice, bob, carol, room_alias_name="alarm")
    chatter = await room_with(api, alice, bob, carol)

    await _not_pushed(api, gw, alice, chatter, control)
    assert gw.pushes(key, attempts=True) == []
    event = await send(api, alice, alarm, {"msgtype": "m.text", "body": "Alarm"})
    push = only(await gw.wait_for(1, key), event)
    assert push.notification["room_id"] == alarm
    audited = await entries(push_server, admin, action="push.breakthrough", target=bob.user_id)
    assert [e["details"] for e in audited] == [
        {"room_id": alarm, "event_id": event, "urgent": "room"}
    ]
    assert "Alarm" not in str(audited)


async def test_users_switch_themselves_off_duty_where_the_policy_lets_them(
    api: httpx.AsyncClient,
    push_server: RevierProcess,
    people: People,
    gw: PushGateway,
    admin: Admin,
) -> None:
    alice, bob, carol = await people.new(), await people.new(), await people.new()
    key, control = await set_pusher(api, bob, gw), await set_pusher(api, carol, gw)
    room = await room_with(api, alice, bob, carol)
    own = f"{V3}/user/{bob.user_id}/account_data/org.revier.duty_hours"

    weekly = await api.put(own, json={"weekly": ON_WEEKDAYS}, headers=bob.headers)
    assert (weekly.status_code, weekly.json()["errcode"]) == (403, "M_FORBIDDEN")
    bad = await api.put(own, json={"switch": {"state": "asleep"}}, headers=bob.headers)
    assert (bad.status_code, bad.json()["errcode"]) == (400, "M_BAD_JSON")
    off = await api.put(own, json={"switch": {"state": "off"}}, headers=bob.headers)
    assert off.status_code == 200, off.text

    held = await send(api, alice, room)
    await _not_pushed(api, gw, alice, room, control)
    assert gw.pushes(key, attempts=True) == []
    view = await api.get(f"{ADMIN}/users/{bob.user_id}/duty_hours", headers=admin.headers)
    assert (view.json()["on_duty"], view.json()["own"]["switch"]["state"]) == (False, "off")

    back = await api.put(own, json={}, headers=bob.headers)  # on duty again: what waits
    assert back.status_code == 200
    [push] = await gw.wait_for(1, key)
    assert push.notification["event_id"] != held  # the newest: the control message
    assert push.notification["counts"] == {"unread": 1}
    audited = await entries(push_server, admin, action="duty.own_set", target=bob.user_id)
    assert [e["details"]["duty_hours"].get("switch", {}).get("state") for e in audited] == [
        "off",
        None,
    ]


async def test_the_tenants_default_hours_apply_to_everyone_without_their_own(
    api: httpx.AsyncClient, push_server: RevierProcess, people: People, admin: Admin
) -> None:
    carl = await people.new()
    r = await api.put(f"{ADMIN}/duty_hours", json={"schedule": ON_WEEKDAYS}, headers=admin.headers)
    assert r.status_code == 200, r.text
    try:
        view = await api.get(f"{ADMIN}/users/{carl.user_id}/duty_hours", headers=admin.headers)
        assert (view.json()["schedule"], view.json()["default_schedule"]) == (None, ON_WEEKDAYS)
        assert view.json()["on_duty"] is False
        tuesday = datetime.fromisoformat("2026-03-03 07:00").replace(tzinfo=BERLIN)
        assert view.json()["next_change_ts"] == int(tuesday.timestamp() * 1000)
        bad = await api.put(
            f"{ADMIN}/duty_hours", json={"schedule": {"mon": ["7-16"]}}, headers=admin.headers
        )
        assert (bad.status_code, bad.json()["errcode"]) == (400, "M_INVALID_PARAM")
        mine = await api.get(f"{ADMIN}/duty_hours", headers=carl.headers)
        assert mine.status_code == 403
    finally:
        cleared = await api.delete(f"{ADMIN}/duty_hours", headers=admin.headers)
        assert cleared.status_code == 200
    audited = await entries(push_server, admin, target="tenant:localhost", action="duty.")
    assert [e["action"] for e in audited] == ["duty.schedule_set", "duty.schedule_cleared"]


async def test_after_a_day_of_failing_what_is_owed_is_dropped(
    api: httpx.AsyncClient, people: People, gw: PushGateway, clock_file: Path, admin: Admin
) -> None:
    alice, bob = await people.new(), await people.new()
    room = await room_with(api, alice, bob)
    key = await set_pusher(api, bob, gw)
    gw.mode = "fail"
    await send(api, alice, room)
    # The sender has taken the first failure in (the admins see since when).
    deadline = time.monotonic() + 10
    while True:
        r = await api.get(f"{ADMIN}/users/{bob.user_id}/pushers", headers=admin.headers)
        if r.json()["pushers"][0]["failing_since"] is not None:
            break
        assert time.monotonic() < deadline, "the failure was never recorded"
    set_clock(clock_file, "2026-03-03 23:00")  # the gateway has been failing for 25 hours
    tried = len(gw.pushes(key, attempts=True))
    await gw.wait_for(tried + 1, key, attempts=True)  # this failure drops what is owed
    gw.mode = "ok"
    fresh = await send(api, alice, room)
    await gw.wait_for_event(fresh, key)
    assert [a.notification["event_id"] for a in gw.pushes(key)] == [fresh]
