"""Reporting content (spec module "Reporting content"): events, rooms and users
reported by users reach their tenant's admins — admin API, command line, audit
log — and never carry the reported content. Who may report what, another
tenant's admin, an oversized reason, a flood of reports."""

from __future__ import annotations

import json
import secrets
from typing import Any

import httpx
import pytest
from nio import AsyncClient, LoginResponse, RoomSendResponse

from tests.integration.admin_api import Admin, entries, new_admin
from tests.integration.conftest import server_fixture
from tests.integration.harness import PASSWORD, RevierProcess
from tests.integration.matrix import next_timeline_event
from tests.integration.moderation import (
    ADMIN_API,
    OTHER,
    REPORT_BURST,
    SERVER_OPTIONS,
    V3,
    person,
)
from tests.integration.steps import Session, say, shared_room

server = server_fixture("reports", **SERVER_OPTIONS)
REPORTS = f"{ADMIN_API}/reports"


@pytest.fixture(scope="module")
def admin(server: RevierProcess) -> Admin:
    return new_admin(server)


@pytest.fixture(scope="module")
def other_admin(server: RevierProcess) -> Admin:
    return new_admin(server, OTHER)


async def report_event(
    http: httpx.AsyncClient, s: Session, room_id: str, event_id: str, **body: Any
) -> httpx.Response:
    return await http.post(f"{V3}/rooms/{room_id}/report/{event_id}", json=body, headers=s.headers)


async def reports_of(http: httpx.AsyncClient, admin: Admin, **params: Any) -> list[dict[str, Any]]:
    r = await http.get(REPORTS, params=params, headers=admin.headers)
    assert r.status_code == 200, r.text
    found: list[dict[str, Any]] = r.json()["reports"]
    return found


async def test_an_event_report_reaches_the_admins_without_its_content(
    http: httpx.AsyncClient, server: RevierProcess, admin: Admin
) -> None:
    alice = await person(http, admin, "alice")
    bob = await person(http, admin, "bob")
    room_id = await shared_room(http, alice, bob)
    secret = f"Lagebericht {secrets.token_hex(8)}"
    event_id = await say(http, bob, room_id, secret)

    r = await report_event(http, alice, room_id, event_id, reason="threatening", score=-100)
    assert (r.status_code, r.json()) == (200, {})

    (report,) = await reports_of(http, admin, reporter=alice.user_id)
    assert report["kind"] == "event"
    assert (report["room_id"], report["event_id"]) == (room_id, event_id)
    assert report["target_user_id"] == bob.user_id
    assert (report["reason"], report["resolved"]) == ("threatening", False)
    one = await http.get(f"{REPORTS}/{report['report_id']}", headers=admin.headers)
    assert one.json() == report
    audited = await entries(server, admin, action="report.received", actor=alice.user_id)
    assert len(audited) == 1
    assert audited[0]["target"] == bob.user_id
    assert audited[0]["details"] == {
        "report_id": report["report_id"],
        "kind": "event",
        "room_id": room_id,
        "event_id": event_id,
    }

    done = await http.post(f"{REPORTS}/{report['report_id']}/resolve", headers=admin.headers)
    assert done.status_code == 200, done.text
    assert (done.json()["resolved"], done.json()["resolved_by"]) == (True, admin.user_id)
    assert await reports_of(http, admin, reporter=alice.user_id, resolved="false") == []
    again = await http.post(f"{REPORTS}/{report['report_id']}/resolve", headers=admin.headers)
    assert again.status_code == 200
    resolved = await entries(server, admin, action="report.resolved", actor=admin.user_id)
    assert [e["target"] for e in resolved] == [report["report_id"]]

    cli = server.admin("report", "show", report["report_id"], "--json")
    assert json.loads(cli)["event_id"] == event_id
    listed = server.admin("report", "list", "--all", "--reporter", alice.user_id)
    assert event_id in listed
    # The message itself is nowhere an admin looks.
    everything = await http.get(f"{ADMIN_API}/audit/export", headers=admin.headers)
    for seen in (json.dumps(report), done.text, everything.text, cli, listed):
        assert secret not in seen
        assert "Lagebericht" not in seen


async def test_only_members_who_can_see_an_event_may_report_it(
    http: httpx.AsyncClient, admin: Admin
) -> None:
    alice = await person(http, admin, "alice")
    bob = await person(http, admin, "bob")
    eve = await person(http, admin, "eve")
    room_id = await shared_room(http, alice, bob)
    event_id = await say(http, bob, room_id, "for members only")

    for who, room, event in (
        (eve, room_id, event_id),  # not in the room
        (alice, room_id, "$unknown-event"),
        (alice, room_id, "not an event id"),
        (alice, "!nosuchroom:localhost", event_id),
    ):
        r = await report_event(http, who, room, event, reason="x")
        assert r.status_code == 404, r.text
        assert r.json()["errcode"] == "M_NOT_FOUND"
    assert await reports_of(http, admin, reporter=eve.user_id) == []
    assert await reports_of(http, admin, reporter=alice.user_id) == []

    # One who joined after it was sent, in a room whose history starts at joining.
    later = await person(http, admin, "later")
    private = await shared_room(http, alice, bob, initial_state=[_history("joined")])
    early = await say(http, alice, private, "before carol came")
    r = await http.post(
        f"{V3}/rooms/{private}/invite", json={"user_id": later.user_id}, headers=alice.headers
    )
    assert r.status_code == 200, r.text
    r = await http.post(f"{V3}/join/{private}", json={}, headers=later.headers)
    assert r.status_code == 200, r.text
    assert (await report_event(http, later, private, early, reason="x")).status_code == 404


def _history(visibility: str) -> dict[str, Any]:
    return {
        "type": "m.room.history_visibility",
        "state_key": "",
        "content": {"history_visibility": visibility},
    }


async def test_rooms_and_users_are_reported_by_anyone_of_the_tenant(
    http: httpx.AsyncClient, admin: Admin, other_admin: Admin
) -> None:
    alice = await person(http, admin, "alice")
    bob = await person(http, admin, "bob")
    eve = await person(http, admin, "eve")
    room_id = await shared_room(http, alice, bob)

    # Spec: neither needs membership or a shared room.
    r = await http.post(f"{V3}/rooms/{room_id}/report", json={"reason": ""}, headers=eve.headers)
    assert (r.status_code, r.json()) == (200, {})
    r = await http.post(
        f"{V3}/users/{bob.user_id}/report", json={"reason": "spam"}, headers=eve.headers
    )
    assert (r.status_code, r.json()) == (200, {})
    kinds = {
        (x["kind"], x["room_id"], x["target_user_id"])
        for x in await reports_of(http, admin, reporter=eve.user_id)
    }
    assert kinds == {("room", room_id, None), ("user", None, bob.user_id)}

    outsider = await person(http, other_admin, "outsider")
    prober = await person(http, admin, "prober")  # each report counts against the limit
    for path in (
        f"{V3}/users/@nobody-{secrets.token_hex(3)}:localhost/report",
        f"{V3}/users/{outsider.user_id}/report",  # another tenant's: as unknown
        f"{V3}/users/not-a-user-id/report",
        f"{V3}/rooms/!nosuchroom:localhost/report",
    ):
        r = await http.post(path, json={"reason": "x"}, headers=prober.headers)
        assert (r.status_code, r.json()["errcode"]) == (404, "M_NOT_FOUND"), path
    # ... and the other tenant's user can't reach this tenant's room either.
    r = await http.post(
        f"{V3}/rooms/{room_id}/report", json={"reason": "x"}, headers=outsider.headers
    )
    assert (r.status_code, r.json()["errcode"]) == (404, "M_NOT_FOUND")
    r = await http.post(f"{V3}/users/{bob.user_id}/report", json={}, headers=eve.headers)
    assert (r.status_code, r.json()["errcode"]) == (400, "M_MISSING_PARAM")
    r = await http.post(f"{V3}/rooms/{room_id}/report", json={"reason": 7}, headers=eve.headers)
    assert (r.status_code, r.json()["errcode"]) == (400, "M_BAD_JSON")


async def test_another_tenants_admin_sees_none_of_the_reports(
    http: httpx.AsyncClient, admin: Admin, other_admin: Admin
) -> None:
    alice = await person(http, admin, "alice")
    bob = await person(http, admin, "bob")
    r = await http.post(
        f"{V3}/users/{bob.user_id}/report", json={"reason": "x"}, headers=alice.headers
    )
    assert r.status_code == 200
    (report,) = await reports_of(http, admin, reporter=alice.user_id)
    assert await reports_of(http, other_admin, reporter=alice.user_id) == []
    assert all(x["reporter"].endswith(":" + OTHER) for x in await reports_of(http, other_admin))
    for method, path in (
        ("GET", f"{REPORTS}/{report['report_id']}"),
        ("POST", f"{REPORTS}/{report['report_id']}/resolve"),
    ):
        r = await http.request(method, path, headers=other_admin.headers)
        assert (r.status_code, r.json()["errcode"]) == (404, "M_NOT_FOUND")
    # A user who is no admin sees nothing either.
    r = await http.get(REPORTS, headers=alice.headers)
    assert (r.status_code, r.json()["errcode"]) == (403, "M_FORBIDDEN")
    assert (await reports_of(http, admin, reporter=alice.user_id))[0]["resolved"] is False


async def test_an_oversized_reason_is_cut(http: httpx.AsyncClient, admin: Admin) -> None:
    alice = await person(http, admin, "alice")
    bob = await person(http, admin, "bob")
    r = await http.post(
        f"{V3}/users/{bob.user_id}/report",
        json={"reason": "ä" * 50_000 + "\u0000"},
        headers=alice.headers,
    )
    assert r.status_code == 200, r.text
    (report,) = await reports_of(http, admin, reporter=alice.user_id)
    assert len(report["reason"]) == 1000
    assert report["reason"].endswith("…")


async def test_a_flood_of_reports_is_rate_limited(http: httpx.AsyncClient, admin: Admin) -> None:
    alice = await person(http, admin, "alice")
    bob = await person(http, admin, "bob")
    codes = []
    for _ in range(REPORT_BURST + 3):
        r = await http.post(
            f"{V3}/users/{bob.user_id}/report", json={"reason": "again"}, headers=alice.headers
        )
        codes.append(r.status_code)
    assert codes == [200] * REPORT_BURST + [429] * 3
    assert r.json()["errcode"] == "M_LIMIT_EXCEEDED"
    assert r.json()["retry_after_ms"] > 0
    assert int(r.headers["Retry-After"]) >= 1
    assert len(await reports_of(http, admin, reporter=alice.user_id)) == REPORT_BURST
    # Someone else is not held up by it.
    carol = await person(http, admin, "carol")
    r = await http.post(
        f"{V3}/users/{bob.user_id}/report", json={"reason": "x"}, headers=carol.headers
    )
    assert r.status_code == 200


async def test_a_message_sent_by_matrix_nio_is_reported_and_listed(
    http: httpx.AsyncClient, server: RevierProcess, admin: Admin
) -> None:
    alice = await person(http, admin, "alice")
    bob = await person(http, admin, "bob")
    room_id = await shared_room(http, alice, bob)
    nio = AsyncClient(server.local_url, bob.user_id)
    try:
        assert isinstance(await nio.login(PASSWORD, device_name="nio"), LoginResponse)
        secret = f"Einsatz {secrets.token_hex(6)}"
        sent = await nio.room_send(room_id, "m.room.message", {"msgtype": "m.text", "body": secret})
        assert isinstance(sent, RoomSendResponse), sent
        await next_timeline_event(nio, room_id, lambda e: e.event_id == sent.event_id)
    finally:
        await nio.close()
    r = await report_event(http, alice, room_id, sent.event_id, reason="rude")
    assert r.status_code == 200
    (report,) = await reports_of(http, admin, kind="event", reporter=alice.user_id)
    assert report["event_id"] == sent.event_id
    assert secret not in json.dumps(report)


async def test_bad_admin_queries_are_refused(http: httpx.AsyncClient, admin: Admin) -> None:
    for params in (
        {"kind": "message"},
        {"resolved": "maybe"},
        {"from": "x"},
        {"reporter": "a\u0000b"},
    ):
        r = await http.get(REPORTS, params=params, headers=admin.headers)
        assert (r.status_code, r.json()["errcode"]) == (400, "M_INVALID_PARAM"), params
    r = await http.get(f"{REPORTS}/not-a-number", headers=admin.headers)
    assert r.status_code == 404


@pytest.mark.one_engine
def test_the_report_commands_explain_themselves(server: RevierProcess) -> None:
    for command in ("list", "show", "resolve"):
        out = server.admin("report", command, "--help")
        assert "never" in server.admin("report", "--help")
        assert "usage: revier admin report " + command in out
