"""History visibility as the spec's algorithm and SyTest pin it: what a joining user
(a member or a guest) sees of the time before, in /sync and /messages."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.integration.conftest import LOOSE_LIMIT, server_fixture
from tests.integration.steps import (
    V3,
    Session,
    create_room,
    invite,
    join,
    leave,
    people,
    say,
    set_state,
)

server = server_fixture(
    "visibility",
    tenant_policy={"guest_access": True, "plaintext_in_encrypted_rooms": "allow"},
    ratelimit__login_per_address=LOOSE_LIMIT,
    ratelimit__registration_per_address=LOOSE_LIMIT,
)

# (history_visibility, seen without joining, seen from before the invite, seen after it)
EXPECTED = [
    ("world_readable", True, True, True),
    ("shared", False, True, True),
    ("invited", False, False, True),
    ("joined", False, False, False),
]


async def guest(http: httpx.AsyncClient) -> Session:
    r = await http.post(f"{V3}/register", params={"kind": "guest"}, json={})
    assert r.status_code == 200, r.text
    body = r.json()
    return Session(body["user_id"], body["device_id"], body["access_token"])


async def messages(http: httpx.AsyncClient, s: Session, room_id: str) -> set[str] | None:
    """The event IDs /messages shows ``s``, or None if it refuses."""
    r = await http.get(
        f"{V3}/rooms/{room_id}/messages", params={"dir": "b", "limit": 20}, headers=s.headers
    )
    if r.status_code != 200:
        assert 400 <= r.status_code < 500, r.text
        return None
    return {e["event_id"] for e in r.json()["chunk"]}


@pytest.mark.parametrize("kind", ["member", "guest"])
@pytest.mark.parametrize(("visibility", "without_join", "before", "after"), EXPECTED)
async def test_messages_follow_the_visibility_for_members_and_guests(
    http: httpx.AsyncClient,
    make_user: Any,
    kind: str,
    visibility: str,
    without_join: bool,
    before: bool,
    after: bool,
) -> None:
    (anna,) = await people(http, make_user, "anna")
    joiner = await guest(http) if kind == "guest" else (await people(http, make_user, "ben"))[0]
    room_id = await create_room(http, anna, preset="public_chat")
    await set_state(
        http, anna, room_id, "m.room.history_visibility", {"history_visibility": visibility}
    )
    await set_state(http, anna, room_id, "m.room.guest_access", {"guest_access": "can_join"})
    before_id = await say(http, anna, room_id, "vor der Einladung")
    seen = await messages(http, joiner, room_id)
    assert (seen is not None and before_id in seen) == without_join
    await invite(http, anna, room_id, joiner.user_id)
    after_id = await say(http, anna, room_id, "nach der Einladung")
    await join(http, joiner, room_id)
    seen = await messages(http, joiner, room_id)
    assert seen is not None
    assert (before_id in seen, after_id in seen) == (before, after)


async def test_a_rejoining_member_gets_the_current_state_in_private_history(
    http: httpx.AsyncClient, make_user: Any
) -> None:
    """SyTest 31sync/06state "Current state appears in timeline in private history"."""
    anna, ben, carl = await people(http, make_user, "anna", "ben", "carl")
    room_id = await create_room(http, anna, preset="public_chat")
    await join(http, ben, room_id)
    await set_state(
        http, anna, room_id, "m.room.history_visibility", {"history_visibility": "joined"}
    )
    await invite(http, anna, room_id, carl.user_id)
    since = (await http.get(f"{V3}/sync", params={"timeout": 0}, headers=ben.headers)).json()[
        "next_batch"
    ]
    await leave(http, ben, room_id)
    for i in range(3):
        await say(http, anna, room_id, f"ohne Ben {i}")
    await join(http, carl, room_id)  # while Ben is away: hidden history for him
    hidden = await say(http, anna, room_id, "noch ohne Ben")
    await join(http, ben, room_id)
    r = await http.get(f"{V3}/sync", params={"since": since, "timeout": 0}, headers=ben.headers)
    events = r.json()["rooms"]["join"][room_id]["timeline"]["events"]
    carl_joined = [
        e
        for e in events
        if e["type"] == "m.room.member"
        and e["state_key"] == carl.user_id
        and e["content"]["membership"] == "join"
    ]
    assert carl_joined, "Carl's join (current state) must be in Ben's timeline"
    # The messages of the time away stay hidden: history is "joined".
    assert hidden not in [e["event_id"] for e in events]
