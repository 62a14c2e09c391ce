"""Room upgrades (POST /rooms/{roomId}/upgrade): what moves, what stays, who may.

Raw HTTP where the wire matters (the state of both rooms); matrix-nio and
matrix-js-sdk for what members see: the tombstone, then the successor they join.
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import quote

import httpx
from nio import AsyncClient

from tests.integration.conftest import PASSWORD, Account, nio_login
from tests.integration.harness import RevierProcess
from tests.integration.jsclient import JsClient
from tests.integration.matrix import auth, sync_until
from tests.integration.steps import (
    V3,
    Session,
    create_room,
    join,
    log_in,
    people,
    say,
    set_state,
)

MEGOLM = "m.megolm.v1.aes-sha2"


async def upgrade(
    http: httpx.AsyncClient, headers: dict[str, str], room_id: str, version: str = "12"
) -> httpx.Response:
    return await http.post(
        f"{V3}/rooms/{room_id}/upgrade", headers=headers, json={"new_version": version}
    )


async def state(http: httpx.AsyncClient, s: Session, room_id: str) -> dict[tuple[str, str], Any]:
    r = await http.get(f"{V3}/rooms/{room_id}/state", headers=s.headers)
    assert r.status_code == 200, r.text
    return {(e["type"], e["state_key"]): e for e in r.json()}


async def test_an_upgrade_copies_the_state_and_closes_the_old_room(
    http: httpx.AsyncClient, make_user
) -> None:
    anna, bob, carl = await people(http, make_user, "anna", "bob", "carl")
    alias_name = f"lage-{secrets.token_hex(3)}"
    old = await create_room(
        http,
        anna,
        room_version="11",
        preset="public_chat",
        name="Lage",
        topic="Lagebesprechung",
        room_alias_name=alias_name,
    )
    await join(http, bob, old)
    levels = (await state(http, anna, old))[("m.room.power_levels", "")]["content"]
    await set_state(
        http,
        anna,
        old,
        "m.room.power_levels",
        {**levels, "users": {**levels["users"], bob.user_id: 40}},
    )
    r = await http.post(
        f"{V3}/rooms/{old}/ban", headers=anna.headers, json={"user_id": carl.user_id}
    )
    assert r.status_code == 200, r.text
    # Bob's settings for the room: a favourite and a muted room.
    r = await http.put(
        f"{V3}/user/{bob.user_id}/rooms/{old}/tags/m.favourite", headers=bob.headers, json={}
    )
    assert r.status_code == 200
    r = await http.put(
        f"{V3}/pushrules/global/room/{old}", headers=bob.headers, json={"actions": []}
    )
    assert r.status_code == 200, r.text

    r = await upgrade(http, anna.headers, old)
    assert r.status_code == 200, r.text
    new = r.json()["replacement_room"]
    assert new != old

    now = await state(http, anna, new)
    create = now[("m.room.create", "")]["content"]
    assert create["room_version"] == "12"
    assert create["predecessor"]["room_id"] == old
    assert now[("m.room.name", "")]["content"] == {"name": "Lage"}
    assert now[("m.room.topic", "")]["content"]["topic"] == "Lagebesprechung"
    assert now[("m.room.join_rules", "")]["content"] == {"join_rule": "public"}
    assert now[("m.room.encryption", "")]["content"]["algorithm"] == MEGOLM
    assert now[("m.room.member", carl.user_id)]["content"]["membership"] == "ban"
    new_levels = now[("m.room.power_levels", "")]["content"]
    # v12: the upgrader is the creator, with power above any level, not in "users".
    assert new_levels["users"] == {bob.user_id: 40}
    alias = f"#{alias_name}:localhost"
    assert now[("m.room.canonical_alias", "")]["content"]["alias"] == alias
    r = await http.get(f"{V3}/directory/room/{quote(alias)}", headers=bob.headers)
    assert r.json()["room_id"] == new

    then = await state(http, anna, old)
    assert then[("m.room.tombstone", "")]["content"]["replacement_room"] == new
    restricted = then[("m.room.power_levels", "")]["content"]
    assert restricted["events_default"] >= 50 and restricted["invite"] >= 50
    r = await http.put(
        f"{V3}/rooms/{old}/send/m.room.message/{secrets.token_hex(4)}",
        headers=bob.headers,
        json={"msgtype": "m.text", "body": "noch da?"},
    )
    assert r.status_code == 403, r.text
    # A second upgrade of the same room would fork it.
    assert (await upgrade(http, anna.headers, old)).status_code == 400

    # Bob's muted room stays muted; his favourite follows him when he joins.
    r = await http.get(f"{V3}/pushrules/global/room/{new}", headers=bob.headers)
    assert (r.status_code, r.json()["actions"]) == (200, [])
    await join(http, bob, new)
    r = await http.get(f"{V3}/user/{bob.user_id}/rooms/{new}/tags", headers=bob.headers)
    assert r.json() == {"tags": {"m.favourite": {}}}
    # Carl stays banned.
    r = await http.post(f"{V3}/join/{new}", headers=carl.headers, json={})
    assert r.status_code == 403


async def test_an_upgraded_room_is_followed_by_both_clients(
    server: RevierProcess, http: httpx.AsyncClient, make_user
) -> None:
    """Anna (matrix-nio) upgrades an encrypted invite-only room and invites Bob to the
    successor, as Element's upgrade dialog does; Bob (matrix-js-sdk) sees the tombstone,
    joins the replacement, and his client knows it as the old room's successor."""
    anna_account, bob_account = make_user("anna"), make_user("bob")
    anna: AsyncClient = await nio_login(server, anna_account)
    try:
        created = await anna.room_create(name="Streife", invite=[bob_account.user_id])
        old = created.room_id  # type: ignore[union-attr]
        async with JsClient.start() as js:
            await js.call(
                "login", baseUrl=server.url, userId=bob_account.user_id, password=PASSWORD
            )
            await js.call("startClient")
            await js.call("waitForSync")
            await js.call("joinRoom", roomIdOrAlias=old)
            await anna.sync(timeout=0)

            r = await upgrade(http, auth(anna), old)
            assert r.status_code == 200, r.text
            new = r.json()["replacement_room"]
            info = await js.call("waitForRoom", roomId=old, expect={"replacementRoom": new})
            assert info["membership"] == "join"

            r = await http.post(
                f"{V3}/rooms/{new}/invite",
                headers=auth(anna),
                json={"user_id": bob_account.user_id},
            )
            assert r.status_code == 200, r.text
            await js.call("waitForRoom", roomId=new, expect={"membership": "invite"})
            await js.call("joinRoom", roomIdOrAlias=new)
            info = await js.call("waitForRoom", roomId=new, expect={"membership": "join"})
            assert info["predecessor"] == old
            assert info["name"] == "Streife"

            def tombstoned(response: Any) -> Any:
                room = response.rooms.join.get(old)
                for event in room.timeline.events if room else []:
                    if getattr(event, "source", {}).get("type") == "m.room.tombstone":
                        return event.source["content"]["replacement_room"]
                return None

            assert await sync_until(anna, tombstoned) == new
            joined = await sync_until(
                anna, lambda r: new in anna.rooms and bob_account.user_id in anna.rooms[new].users
            )
            assert joined
            # The successor of an encrypted room is encrypted.
            assert anna.rooms[new].encrypted
            r = await http.get(f"{V3}/rooms/{new}/state/m.room.join_rules", headers=auth(anna))
            assert r.json() == {"join_rule": "invite"}
    finally:
        await anna.close()


async def test_who_may_not_upgrade_is_refused_and_nothing_changes(
    http: httpx.AsyncClient, make_user
) -> None:
    anna, bob, mallory = await people(http, make_user, "anna", "bob", "mallory")
    room = await create_room(http, anna, invite=[bob.user_id])
    await join(http, bob, room)
    await say(http, anna, room, "Lage ruhig")

    r = await upgrade(http, bob.headers, room)  # a member at power 0
    assert (r.status_code, r.json()["errcode"]) == (403, "M_FORBIDDEN")
    r = await upgrade(http, mallory.headers, room)  # not a member
    assert (r.status_code, r.json()["errcode"]) == (403, "M_FORBIDDEN")
    r = await upgrade(http, anna.headers, "!nirgends:localhost")
    assert (r.status_code, r.json()["errcode"]) == (403, "M_FORBIDDEN")
    r = await upgrade(http, anna.headers, room, "9999")
    assert (r.status_code, r.json()["errcode"]) == (400, "M_UNSUPPORTED_ROOM_VERSION")
    r = await http.post(f"{V3}/rooms/{room}/upgrade", headers=anna.headers, json={})
    assert (r.status_code, r.json()["errcode"]) == (400, "M_BAD_JSON")
    r = await http.post(
        f"{V3}/rooms/{room}/upgrade",
        headers={"Authorization": "Bearer nope"},
        json={"new_version": "12"},
    )
    assert r.status_code == 401
    assert ("m.room.tombstone", "") not in await state(http, anna, room)


async def test_a_creator_keeps_their_power_in_an_earlier_room_version(
    http: httpx.AsyncClient, make_user
) -> None:
    """A v12 creator's power is not in "users"; in a v10 successor it must be."""
    (anna,) = await people(http, make_user, "anna")
    old = await create_room(http, anna, name="Alt")
    r = await upgrade(http, anna.headers, old, "10")
    assert r.status_code == 200, r.text
    now = await state(http, anna, r.json()["replacement_room"])
    assert now[("m.room.create", "")]["content"]["creator"] == anna.user_id
    assert now[("m.room.power_levels", "")]["content"]["users"] == {anna.user_id: 100}
    await say(http, anna, r.json()["replacement_room"], "geht")


async def test_another_tenants_user_cannot_upgrade(
    org_server: RevierProcess, password_hash: str
) -> None:
    anna_name, otto_name = f"anna-{secrets.token_hex(3)}", f"otto-{secrets.token_hex(3)}"
    [anna_id] = org_server.import_users([anna_name], password_hash)
    org_server.create_user(otto_name, PASSWORD, "--tenant", "other.test")
    async with httpx.AsyncClient(base_url=org_server.url, timeout=30) as http:
        anna = await log_in(http, Account(anna_id, anna_name, PASSWORD), Host="localhost")
        otto_id = f"@{otto_name}:other.test"
        otto = await log_in(http, Account(otto_id, otto_name, PASSWORD), Host="other.test")
        room = await create_room(http, anna, preset="public_chat")
        r = await upgrade(http, otto.headers, room)
        assert (r.status_code, r.json()["errcode"]) == (403, "M_FORBIDDEN")
        # Nor invite themselves in to do it: the room is another organisation's.
        r = await http.post(f"{V3}/join/{room}", headers=otto.headers, json={})
        assert r.status_code == 403
        assert ("m.room.tombstone", "") not in await state(http, anna, room)
