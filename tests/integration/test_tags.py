"""Room tags: the tag endpoints, m.tag in /sync and sliding sync, two real clients."""

from __future__ import annotations

import httpx
import pytest
from nio import SyncResponse, TagEvent

from tests.integration.conftest import nio_login
from tests.integration.harness import RevierProcess
from tests.integration.jsclient import JsClient
from tests.integration.matrix import auth, sync_until
from tests.integration.sliding import Connection, fresh, one_list
from tests.integration.steps import V3, create_room, people

FAVOURITE = "m.favourite"


def tags_url(user_id: str, room_id: str, tag: str | None = None) -> str:
    return f"{V3}/user/{user_id}/rooms/{room_id}/tags" + (f"/{tag}" if tag else "")


def synced_tags(response: SyncResponse, room_id: str) -> dict[str, object] | None:
    """The room's tags from the m.tag account data of one /sync response, if it came."""
    room = response.rooms.join.get(room_id)
    for event in room.account_data if room else []:
        if isinstance(event, TagEvent):
            return dict(event.tags)
    return None


async def test_set_list_and_delete_tags(http: httpx.AsyncClient, make_user) -> None:
    (anna,) = await people(http, make_user, "anna")
    room_id = await create_room(http, anna)
    url = tags_url(anna.user_id, room_id)
    assert (await http.get(url, headers=anna.headers)).json() == {"tags": {}}

    r = await http.put(f"{url}/{FAVOURITE}", headers=anna.headers, json={"order": 0.25})
    assert (r.status_code, r.json()) == (200, {})
    r = await http.put(f"{url}/u.Einsatz", headers=anna.headers, json={})
    assert r.status_code == 200
    got = (await http.get(url, headers=anna.headers)).json()
    assert got == {"tags": {FAVOURITE: {"order": 0.25}, "u.Einsatz": {}}}

    # A second PUT replaces the tag's object; a DELETE of an absent tag is no error
    # (Element clears favourite and low priority together).
    await http.put(f"{url}/{FAVOURITE}", headers=anna.headers, json={"order": 0.5})
    assert (await http.delete(f"{url}/m.lowpriority", headers=anna.headers)).status_code == 200
    assert (await http.delete(f"{url}/u.Einsatz", headers=anna.headers)).json() == {}
    got = (await http.get(url, headers=anna.headers)).json()
    assert got == {"tags": {FAVOURITE: {"order": 0.5}}}

    # The same data is the room's m.tag account data.
    r = await http.get(
        f"{V3}/user/{anna.user_id}/rooms/{room_id}/account_data/m.tag", headers=anna.headers
    )
    assert r.json() == {"tags": {FAVOURITE: {"order": 0.5}}}


@pytest.mark.parametrize(
    ("tag", "body", "errcode"),
    [
        ("u." + "x" * 254, {}, "M_INVALID_PARAM"),  # more than 255 bytes
        ("u.ok", {"order": "first"}, "M_BAD_JSON"),
        ("u.ok", {"order": True}, "M_BAD_JSON"),
    ],
)
async def test_bad_tags_are_refused(
    http: httpx.AsyncClient, make_user, tag: str, body: dict[str, object], errcode: str
) -> None:
    (anna,) = await people(http, make_user, "anna")
    room_id = await create_room(http, anna)
    r = await http.put(tags_url(anna.user_id, room_id, tag), headers=anna.headers, json=body)
    assert (r.status_code, r.json()["errcode"]) == (400, errcode)
    r = await http.put(tags_url(anna.user_id, room_id, "u.ok"), headers=anna.headers, content=b"[")
    assert r.status_code == 400
    r = await http.get(tags_url(anna.user_id, "not-a-room"), headers=anna.headers)
    assert (r.status_code, r.json()["errcode"]) == (400, "M_INVALID_PARAM")


async def test_nobody_reads_or_sets_another_users_tags(http: httpx.AsyncClient, make_user) -> None:
    anna, mallory = await people(http, make_user, "anna", "mallory")
    room_id = await create_room(http, anna, invite=[mallory.user_id])
    await http.put(tags_url(anna.user_id, room_id, FAVOURITE), headers=anna.headers, json={})
    for r in (
        await http.get(tags_url(anna.user_id, room_id), headers=mallory.headers),
        await http.put(tags_url(anna.user_id, room_id, "u.x"), headers=mallory.headers, json={}),
        await http.delete(tags_url(anna.user_id, room_id, FAVOURITE), headers=mallory.headers),
    ):
        assert (r.status_code, r.json()["errcode"]) == (403, "M_FORBIDDEN")
    r = await http.get(tags_url(anna.user_id, room_id), headers=anna.headers)
    assert r.json() == {"tags": {FAVOURITE: {}}}
    # Anna's tags never reach Mallory's sync, not even as a room's account data.
    r = await http.get(f"{V3}/sync", headers=mallory.headers)
    for room in r.json().get("rooms", {}).get("invite", {}).values():
        assert "account_data" not in room


async def test_a_tag_set_in_one_client_appears_in_the_other(
    server: RevierProcess, http: httpx.AsyncClient, make_user
) -> None:
    """matrix-nio (by the endpoint) and matrix-js-sdk, two devices of one user."""
    user = make_user("tagger")
    nio = await nio_login(server, user, "laptop")
    try:
        created = await nio.room_create(name="Lage")
        room_id = created.room_id  # type: ignore[union-attr]
        await nio.sync(timeout=0)
        async with JsClient.start() as js:
            await js.call("login", baseUrl=server.url, userId=user.user_id, password=user.password)
            await js.call("startClient")
            await js.call("waitForSync")

            r = await http.put(
                tags_url(user.user_id, room_id, FAVOURITE), headers=auth(nio), json={"order": 0.1}
            )
            assert r.status_code == 200
            got = await js.call("waitForTags", roomId=room_id, tags=[FAVOURITE])
            assert got["tags"] == {FAVOURITE: {"order": 0.1}}

            await js.call("setRoomTag", roomId=room_id, tag="u.Streife", order=0.7)
            await js.call("deleteRoomTag", roomId=room_id, tag=FAVOURITE)
            tags = await sync_until(
                nio, lambda r: (t := synced_tags(r, room_id)) and FAVOURITE not in t and t
            )
            assert tags == {"u.Streife": {"order": 0.7}}
            await js.call("waitForTags", roomId=room_id, tags=["u.Streife"])
    finally:
        await nio.close()


async def test_sliding_sync_sees_tags_and_filters_by_them(
    http: httpx.AsyncClient, make_user
) -> None:
    (fritz,) = await people(http, make_user, "fritz")
    tagged = await create_room(http, fritz, name="Favorit")
    plain = await create_room(http, fritz, name="Sonst")
    body = one_list([[0, 9]], timeline_limit=1)
    body["extensions"] = {"account_data": {"enabled": True}}
    conn = Connection(http, fritz, body)
    await conn.sync()

    r = await http.put(tags_url(fritz.user_id, tagged, FAVOURITE), headers=fritz.headers, json={})
    assert r.status_code == 200
    data = await conn.sync(timeout_ms=5000)
    room_data = data["extensions"]["account_data"]["rooms"]
    assert room_data == {tagged: [{"type": "m.tag", "content": {"tags": {FAVOURITE: {}}}}]}

    async def matching(**filters: object) -> set[str]:
        found = await fresh(http, fritz, one_list([[0, 9]], filters=filters))
        return set(found["rooms"])

    assert await matching(tags=[FAVOURITE]) == {tagged}
    assert await matching(not_tags=[FAVOURITE]) == {plain}
    await http.delete(tags_url(fritz.user_id, tagged, FAVOURITE), headers=fritz.headers)
    assert await matching(tags=[FAVOURITE]) == set()
