"""The organisation's units over HTTP: a tree of units shown as spaces, rooms
attached with a rule, members joined, invited, allowed to post or not, and
taken out again when they leave — seen by real matrix-nio clients."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import httpx
from nio import SyncResponse

from tests.integration.admin_api import Admin, entries
from tests.integration.harness import RevierProcess
from tests.integration.matrix import sync_until
from tests.integration.units import (
    UNITS,
    Login,
    UnitsApi,
    fixtures,
    headers,
    own_room,
    send,
    state,
)

http, api, login = fixtures()

V1 = "/_matrix/client/v1"


def joined(*room_ids: str, invited: tuple[str, ...] = ()) -> Any:
    """Until the client has seen itself joined to (and invited to) all of the rooms,
    over one or more syncs."""
    join: set[str] = set()
    invite: set[str] = set()

    def found(response: SyncResponse) -> bool:
        join.update(response.rooms.join)
        invite.update(response.rooms.invite)
        return join >= set(room_ids) and invite >= set(invited)

    return found


def left_with_reason(room_id: str, user_id: str) -> Any:
    """The reason of the user's leave in the room, once their sync shows it."""

    def found(response: SyncResponse) -> str | None:
        room = response.rooms.leave.get(room_id)
        if room is None:
            return None
        for event in room.timeline.events:
            source = event.source
            if source.get("type") == "m.room.member" and source.get("state_key") == user_id:
                return str(source["content"].get("reason"))
        return None

    return found


async def test_rules_join_invite_and_announce(
    api: UnitsApi, http: httpx.AsyncClient, login: Login
) -> None:
    owner, member, lead = await login(), await login(), await login()
    root = await api.unit("Revier Nord")
    shift = await api.unit("Schicht A", root["unit_id"])
    tree = await api.ok("GET", UNITS)
    node = next(u for u in tree["units"] if u["unit_id"] == root["unit_id"])
    assert [c["unit_id"] for c in node["children"]] == [shift["unit_id"]]

    unit_id = shift["unit_id"]
    situation = await api.attach(unit_id, "auto_join", name="Lage Nord")
    notices = await api.attach(unit_id, "announce", name="Ansagen")
    existing = await own_room(owner, "Einsatzplanung")
    assert await api.attach(unit_id, "invite", room_id=existing) == existing
    detail = await api.ok("GET", f"{UNITS}/{unit_id}")
    assert {r["room_id"]: r["rule"] for r in detail["rooms"]} == {
        situation: "auto_join",
        notices: "announce",
        existing: "invite",
    }

    await api.add(unit_id, member.user_id)
    await api.add(unit_id, lead.user_id, "lead")
    await api.add(root["unit_id"], member.user_id)
    space = shift["space_room_id"]
    await sync_until(
        member, joined(situation, notices, space, root["space_room_id"], invited=(existing,))
    )
    await sync_until(lead, joined(situation, notices))

    refused = await send(http, member, notices, "darf ich?")
    assert refused.status_code == 403, refused.text
    assert refused.json()["errcode"] == "M_FORBIDDEN"
    allowed = await send(http, lead, notices, "Dienstbeginn 6 Uhr")
    assert allowed.status_code == 200, allowed.text
    assert (await send(http, member, situation, "Moin")).status_code == 200

    # The spaces show the tree to Element: the unit's rooms under its space,
    # the unit's space under its parent's, with m.space.parent back.
    hierarchy = await http.get(
        f"{V1}/rooms/{quote(root['space_room_id'])}/hierarchy", headers=headers(member)
    )
    assert hierarchy.status_code == 200, hierarchy.text
    listed = {room["room_id"] for room in hierarchy.json()["rooms"]}
    assert {root["space_room_id"], space, situation, notices, existing} <= listed
    parent = await state(http, member, space, "m.space.parent", root["space_room_id"])
    assert parent.status_code == 200 and parent.json()["via"] == ["localhost"]
    in_room = await state(http, member, situation, "m.space.parent", space)
    assert in_room.status_code == 200, in_room.text


async def test_leaving_a_unit_takes_its_rooms_but_not_ones_own_or_another_units(
    api: UnitsApi, http: httpx.AsyncClient, login: Login
) -> None:
    leaver, staying, speaker = await login(), await login(), await login()
    unit = await api.unit("Kriminaldauerdienst")
    other = await api.unit("Lagezentrum")
    shared = await api.attach(unit["unit_id"], "auto_join", name="KDD intern")
    await api.attach(other["unit_id"], "auto_join", room_id=shared)
    mine = await own_room(leaver, "Meine Notizen")
    await api.attach(unit["unit_id"], "auto_join", room_id=mine)
    for who in (leaver, staying, speaker):
        await api.add(unit["unit_id"], who.user_id)
    await api.add(other["unit_id"], staying.user_id)
    await api.add(other["unit_id"], speaker.user_id)
    await sync_until(leaver, joined(shared, mine, unit["space_room_id"]))

    await api.remove(unit["unit_id"], leaver.user_id)
    await api.remove(unit["unit_id"], staying.user_id)
    reason = await sync_until(leaver, left_with_reason(shared, leaver.user_id))
    assert reason == "You left the unit Kriminaldauerdienst"
    # Their own room stays theirs; the colleague keeps the room through the other unit.
    members = await http.get(f"{V3_ROOMS}/{quote(mine)}/joined_members", headers=headers(leaver))
    assert leaver.user_id in members.json()["joined"]
    still = await http.get(f"{V3_ROOMS}/{quote(shared)}/joined_members", headers=headers(staying))
    assert staying.user_id in still.json()["joined"]

    # The leaver's client gets nothing of the room any more.
    assert (await send(http, speaker, shared, "nach dem Austritt")).status_code == 200
    await sync_until(
        staying, lambda r: shared in r.rooms.join and r.rooms.join[shared].timeline.events
    )
    after = await leaver.sync(timeout=500)
    assert isinstance(after, SyncResponse)
    assert shared not in after.rooms.join
    assert not after.rooms.leave.get(shared) or not any(
        e.source.get("type") == "m.room.message" for e in after.rooms.leave[shared].timeline.events
    )
    kept = await send(http, leaver, mine, "noch da")
    assert kept.status_code == 200, kept.text


V3_ROOMS = "/_matrix/client/v3/rooms"


async def test_moving_a_unit_and_a_member(
    api: UnitsApi, http: httpx.AsyncClient, login: Login
) -> None:
    watcher, mover = await login(), await login()
    first, second = await api.unit("Direktion 1"), await api.unit("Direktion 2")
    child = await api.unit("Wache 12", first["unit_id"])
    await api.add(first["unit_id"], watcher.user_id)
    await api.add(second["unit_id"], watcher.user_id)
    await sync_until(watcher, joined(first["space_room_id"], second["space_room_id"]))

    moved = await api.ok("PATCH", f"{UNITS}/{child['unit_id']}", {"parent_id": second["unit_id"]})
    assert moved["parent_id"] == second["unit_id"]
    old = await state(
        http, watcher, first["space_room_id"], "m.space.child", child["space_room_id"]
    )
    assert old.status_code == 200 and old.json() == {}
    new = await state(
        http, watcher, second["space_room_id"], "m.space.child", child["space_room_id"]
    )
    assert new.status_code == 200 and new.json()["via"] == ["localhost"]

    # Cycles are refused: under itself, under its own sub-unit.
    for parent in (child["unit_id"],):
        response = await api.call("PATCH", f"{UNITS}/{child['unit_id']}", {"parent_id": parent})
        assert response.status_code == 400 and response.json()["errcode"] == "M_INVALID_PARAM"
    response = await api.call(
        "PATCH", f"{UNITS}/{second['unit_id']}", {"parent_id": child["unit_id"]}
    )
    assert response.status_code == 400 and response.json()["errcode"] == "M_INVALID_PARAM"
    renamed = await api.ok("PATCH", f"{UNITS}/{child['unit_id']}", {"name": "Wache 13"})
    assert renamed["name"] == "Wache 13"

    # A member moving from one unit to another: leave + join.
    from_room = await api.attach(first["unit_id"], "auto_join", name="D1 Lage")
    to_room = await api.attach(second["unit_id"], "auto_join", name="D2 Lage")
    await api.add(first["unit_id"], mover.user_id)
    await sync_until(mover, joined(from_room))
    await api.add(second["unit_id"], mover.user_id)
    await api.remove(first["unit_id"], mover.user_id)
    await sync_until(mover, lambda r: to_room in r.rooms.join and from_room in r.rooms.leave)


async def test_dissolving_a_unit(api: UnitsApi, http: httpx.AsyncClient, login: Login) -> None:
    member = await login()
    parent = await api.unit("Inspektion")
    unit = await api.unit("Zug 3", parent["unit_id"])
    sub = await api.unit("Gruppe 3.1", unit["unit_id"])
    room = await api.attach(unit["unit_id"], "auto_join", name="Zug 3 Lage")
    await api.add(unit["unit_id"], member.user_id)
    await sync_until(member, joined(room, unit["space_room_id"]))

    assert await api.ok("DELETE", f"{UNITS}/{unit['unit_id']}") == {}
    reason = await sync_until(member, left_with_reason(room, member.user_id))
    assert reason == "The unit Zug 3 was dissolved"
    gone = await api.call("GET", f"{UNITS}/{unit['unit_id']}")
    assert gone.status_code == 404 and gone.json()["errcode"] == "M_NOT_FOUND"
    moved_up = await api.ok("GET", f"{UNITS}/{sub['unit_id']}")
    assert moved_up["parent_id"] == parent["unit_id"]


async def test_every_change_is_audited_without_content(
    org_server: RevierProcess, api: UnitsApi, admin: Admin, login: Login
) -> None:
    member = await login()
    unit = await api.unit("Verkehrsdienst")
    room = await api.attach(unit["unit_id"], "invite", name="VD intern")
    await api.add(unit["unit_id"], member.user_id, "lead")
    await api.remove(unit["unit_id"], member.user_id)
    found = await entries(org_server, admin, target=unit["unit_id"])
    actions = {e["action"] for e in found}
    assert {"unit.created", "unit.room_attached"} <= actions
    assert all(e["actor"] == admin.user_id for e in found if e["action"] != "unit.rooms_updated")
    about_member = await entries(org_server, admin, target=member.user_id, action="unit.")
    assert [e["action"] for e in about_member] == ["unit.member_added", "unit.member_removed"]
    assert about_member[0]["details"] == {"unit_id": unit["unit_id"], "role": "lead"}
    assert room in str(found)


async def test_the_command_line(org_server: RevierProcess, api: UnitsApi, login: Login) -> None:
    member = await login()
    created = json.loads(org_server.admin("units", "create", "Wasserschutz").split("\n}")[0] + "}")
    unit_id = created["unit_id"]
    child = json.loads(
        org_server.admin("units", "create", "Boot 1", "--parent", unit_id).split("\n}")[0] + "}"
    )
    attached = org_server.admin("units", "attach", unit_id, "auto_join", "--new", "WSP Lage")
    room = json.loads(attached.split("\n}")[0] + "}")["room_id"]
    org_server.admin("units", "add-member", unit_id, member.user_id, "--role", "lead")
    await sync_until(member, joined(room, created["space_room_id"]))
    assert member.user_id + "\tlead" in org_server.admin("units", "members", unit_id)
    tree = org_server.admin("units", "list")
    assert f"Wasserschutz  [{unit_id}]" in tree and f"  Boot 1  [{child['unit_id']}]" in tree
    org_server.admin("units", "move", child["unit_id"])
    assert (await api.ok("GET", f"{UNITS}/{child['unit_id']}"))["parent_id"] is None
    cycle = org_server.admin("units", "move", unit_id, "--parent", unit_id, check=False)
    assert "under itself" in cycle
    org_server.admin("units", "remove-member", unit_id, member.user_id)
    assert await sync_until(member, left_with_reason(room, member.user_id))
    help_text = org_server.admin("units", "--help")
    assert "add-member" in help_text and "announce" in help_text
