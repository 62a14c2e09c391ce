"""matrix-js-sdk's ``SlidingSync`` (what Element Web runs on simplified sliding sync)
against revier: an encrypted conversation with a matrix-nio client on /sync, and the
room list, a message and an invite as the SDK shows them."""

from __future__ import annotations

import secrets
from pathlib import Path

import httpx
import pytest
from nio import AsyncClient

from tests.integration.conftest import LOOSE_LIMIT, Account, production_defaults, server_fixture
from tests.integration.harness import PASSWORD, RevierProcess
from tests.integration.jsclient import JsClient
from tests.integration.steps import (
    create_room,
    invite,
    join,
    log_in,
    say,
)
from tests.integration.test_js_client import SYNC_TIMEOUT_MS, js_and_nio_exchange, js_login

pytestmark = pytest.mark.one_engine

# Rooms encrypted and plaintext refused, as a new installation has it.
server = production_defaults("ssjs")
# Rooms in the clear, for what the SDK shows without crypto.
plain = server_fixture(
    "ssjs-plain",
    ratelimit__login_per_address=LOOSE_LIMIT,
    tenant_policy={"room_encryption": "optional"},
)

SLIDING = {"slidingSync": {"timeoutMs": 10_000}}


async def no_server_errors(js: JsClient) -> None:
    """The SDK starts over silently after any 400: what the server answered is checked."""
    status = await js.call("slidingSyncStatus")
    assert status["requests"] > 0 and status["errors"] == [], status


async def then_no_server_errors(
    js: JsClient, nio: AsyncClient, room_id: str, *_: Account | str
) -> None:
    await no_server_errors(js)


async def test_js_sdk_on_sliding_sync_and_nio_on_sync_talk_encrypted(
    server: RevierProcess, make_user, tmp_path: Path
) -> None:
    """Room keys travel as to-device messages: to the js-sdk through the extension."""
    encrypted = await js_and_nio_exchange(
        server,
        make_user,
        tmp_path,
        ask_encryption=True,
        start_options=SLIDING,
        then=then_no_server_errors,
    )
    assert encrypted


async def test_js_sdk_shows_the_room_list_a_message_and_an_invite(
    plain: RevierProcess, password_hash: str
) -> None:
    names = [f"{n}-{secrets.token_hex(3)}" for n in ("jsrita", "otto")]
    rita_account, otto_account = [
        Account(u, n, PASSWORD)
        for u, n in zip(plain.import_users(names, password_hash), names, strict=True)
    ]
    async with (
        httpx.AsyncClient(base_url=plain.url, timeout=30) as http,
        JsClient.start() as js,
    ):
        otto = await log_in(http, otto_account)
        rita = await log_in(http, rita_account)  # her laptop, joining by raw requests
        rooms = []
        for i in range(3):
            room_id = await create_room(http, otto, name=f"Lage {i}", invite=[rita.user_id])
            await join(http, rita, room_id)
            rooms.append(room_id)
        await js_login(js, plain, rita_account, "js on sliding sync")
        window = {"ranges": [[0, 1]], "timeline_limit": 5, "required_state": [["*", "*"]]}
        started = await js.call("startClient", slidingSync={"lists": {"all": window}})
        assert started["slidingSync"] is True
        await js.call("waitForSync", timeoutMs=SYNC_TIMEOUT_MS)
        await js.call("waitForListCount", list="all", count=3)
        for i in (2, 1):  # the two most recent, in the window [[0, 1]]
            info = await js.call("waitForRoom", roomId=rooms[i], expect={"membership": "join"})
            assert info["name"] == f"Lage {i}"
        assert await js.call("roomInfo", roomId=rooms[0]) is None
        await js.call("setListRanges", list="all", ranges=[[0, 49]])
        await js.call("waitForRoom", roomId=rooms[0], expect={"name": "Lage 0"})

        message = await say(http, otto, rooms[0], "Lagebericht 0800")
        got = await js.call("waitForEvent", roomId=rooms[0], body="Lagebericht 0800")
        assert (got["eventId"], got["sender"]) == (message, otto.user_id)
        # revier counts unread notifications; the SDK shows what the server says.
        await js.call("waitForRoom", roomId=rooms[0], expect={"notificationCount": 1})

        invited = await create_room(http, otto, name="Einladung")
        await invite(http, otto, invited, rita.user_id)
        info = await js.call("waitForRoom", roomId=invited, expect={"membership": "invite"})
        assert info["name"] == "Einladung"
        await js.call("waitForListCount", list="all", count=4)
        await js.call("joinRoom", roomIdOrAlias=invited)
        await js.call("waitForRoom", roomId=invited, expect={"membership": "join"})
        await js.call("waitForEvent", roomId=invited, type="m.room.member", sender=rita.user_id)
        await no_server_errors(js)
