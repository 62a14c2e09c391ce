"""revier with a second real client stack: matrix-js-sdk (Node) through tests/js/driver.mjs."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from nio import (
    AsyncClient,
    AsyncClientConfig,
    Event,
    JoinResponse,
    LoginResponse,
    MatrixRoom,
    MegolmEvent,
    ReactionEvent,
    RedactionEvent,
    RoomMessageText,
    RoomRedactResponse,
    RoomSendResponse,
    SyncResponse,
)

from tests.integration.conftest import Account, production_defaults
from tests.integration.harness import RevierProcess
from tests.integration.jsclient import JS_DIR, JsClient, JsClientError, node_binary

# Protocol behaviour, not storage: once, on SQLite, even with --db=both.
pytestmark = pytest.mark.one_engine

# Rooms encrypted and plaintext refused, as a new installation has it.
server = production_defaults("js")

SYNC_TIMEOUT_MS = 20_000


async def js_login(js: JsClient, server: RevierProcess, user: Account, device: str) -> dict:
    return await js.call(  # type: ignore[no-any-return]
        "login",
        baseUrl=server.url,
        userId=user.user_id,
        password=user.password,
        deviceName=device,
    )


async def test_js_sdk_logs_in_whoami_and_logs_out(
    server: RevierProcess, make_user, http: httpx.AsyncClient
) -> None:
    user = make_user("jsanna")
    async with JsClient.start() as js:
        if node_binary().startswith(str(JS_DIR)):
            assert js.node_version.startswith("v22."), js.node_version  # the pinned Node
        session = await js_login(js, server, user, "js-sdk laptop")
        assert session["userId"] == user.user_id
        assert session["deviceId"]

        me = await js.call("whoami")
        assert me == {"userId": user.user_id, "deviceId": session["deviceId"], "isGuest": False}

        # The device name the SDK sent is the one the server keeps.
        auth = {"Authorization": f"Bearer {session['accessToken']}"}
        device = await http.get(f"/_matrix/client/v3/devices/{session['deviceId']}", headers=auth)
        assert device.status_code == 200, device.text
        assert device.json()["display_name"] == "js-sdk laptop"

        await js.call("logout")
        gone = await http.get("/_matrix/client/v3/account/whoami", headers=auth)
        assert gone.status_code == 401
        assert gone.json()["errcode"] == "M_UNKNOWN_TOKEN"


async def test_js_sdk_wrong_password_is_a_clear_error(server: RevierProcess, make_user) -> None:
    user = make_user("jsben")
    async with JsClient.start() as js:
        with pytest.raises(JsClientError, match="M_FORBIDDEN"):
            await js.call(
                "login", baseUrl=server.url, userId=user.user_id, password="not the password"
            )
        # The driver is still usable after a failed command.
        session = await js_login(js, server, user, "second try")
        assert session["userId"] == user.user_id


async def test_js_sdk_rust_crypto_loads(server: RevierProcess, make_user) -> None:
    """The WASM crypto stack comes up under the driver's Node (no server round trip needed)."""
    user = make_user("jscrypto")
    async with JsClient.start() as js:
        await js_login(js, server, user, "crypto")
        assert await js.call("initCrypto") == {"crypto": True}
        keys = await js.call("ownDeviceKeys")
        assert len(keys["ed25519"]) == 43 and len(keys["curve25519"]) == 43  # unpadded base64


@pytest.mark.parametrize("crypto", [False, True], ids=["plain", "rust-crypto"])
async def test_js_sdk_initial_sync(server: RevierProcess, make_user, crypto: bool) -> None:
    user = make_user("jssync")
    async with JsClient.start() as js:
        await js_login(js, server, user, "syncing")
        started = await js.call("startClient", crypto=crypto)
        assert started == {"crypto": crypto, "slidingSync": False}  # /sync v2 here
        synced = await js.call("waitForSync", timeoutMs=SYNC_TIMEOUT_MS)
        assert synced["state"] in {"PREPARED", "SYNCING"}
        if crypto:
            keys = await js.call("ownDeviceKeys")
            assert keys["ed25519"] and keys["curve25519"]


# --- a js-sdk user and a matrix-nio user in one room -------------------------------

ENCRYPTION_STATE = {
    "type": "m.room.encryption",
    "state_key": "",
    "content": {"algorithm": "m.megolm.v1.aes-sha2"},
}


async def nio_e2e_login(server: RevierProcess, user: Account, store: Path) -> AsyncClient:
    """A nio client with its E2E store: revier encrypts new rooms by default."""
    client = AsyncClient(
        server.url,
        user.user_id,
        store_path=str(store),
        config=AsyncClientConfig(encryption_enabled=True, store_sync_tokens=False),
    )
    response = await client.login(user.password, device_name="nio")
    assert isinstance(response, LoginResponse), response
    return client


async def nio_sync_until(
    client: AsyncClient, done: Callable[[], bool], what: str, seconds: float = 30
) -> None:
    """Sync (with the key traffic nio's sync_forever would do) until ``done()`` holds."""
    deadline = time.monotonic() + seconds
    while True:
        response = await client.sync(timeout=1000)
        assert isinstance(response, SyncResponse), response
        if client.should_upload_keys:
            await client.keys_upload()
        if client.should_query_keys:
            await client.keys_query()
        if client.should_claim_keys:
            await client.keys_claim(client.get_users_for_key_claiming())
        await client.send_to_device_messages()
        if done():
            return
        if time.monotonic() > deadline:
            pytest.fail(f"nio: no {what} after {seconds} s")


# Further steps inside the exchange's session: (js, nio, room_id, js_user, nio_user,
# the event ID of nio's message, the event ID of js's message).
MoreSteps = Callable[[JsClient, AsyncClient, str, Account, Account, str, str], Awaitable[None]]


async def js_and_nio_exchange(
    server: RevierProcess,
    make_user: Callable[[str], Account],
    store: Path,
    *,
    ask_encryption: bool,
    then: MoreSteps | None = None,
    start_options: dict[str, Any] | None = None,
) -> bool:
    """js creates a room and invites nio; nio joins; each sends, each receives by sync.

    Both clients run their crypto, so this works whether the room ends up
    encrypted (the client asked, or the server's policy did it) or not.
    ``start_options`` go to the js client's ``startClient`` (e.g. ``slidingSync``).
    Returns whether the room was encrypted.
    """
    js_user, nio_user = make_user("jscarla"), make_user("niodan")
    nio = await nio_e2e_login(server, nio_user, store)
    received: list[RoomMessageText] = []
    undecryptable: list[MegolmEvent] = []

    async def on_text(room: MatrixRoom, event: RoomMessageText) -> None:
        received.append(event)

    async def on_megolm(room: MatrixRoom, event: MegolmEvent) -> None:
        undecryptable.append(event)

    nio.add_event_callback(on_text, RoomMessageText)  # type: ignore[arg-type]
    nio.add_event_callback(on_megolm, MegolmEvent)  # type: ignore[arg-type]
    try:
        async with JsClient.start() as js:
            session = await js_login(js, server, js_user, "js")
            await js.call("startClient", crypto=True, **(start_options or {}))
            await js.call("waitForSync", timeoutMs=SYNC_TIMEOUT_MS)
            await nio_sync_until(nio, lambda: True, "first sync")  # uploads nio's keys

            options: dict[str, object] = {"name": "js and nio"}
            if ask_encryption:
                options["initial_state"] = [ENCRYPTION_STATE]
            room = await js.call("createRoom", options=options, timeoutMs=SYNC_TIMEOUT_MS)
            room_id, encrypted = room["roomId"], room["encrypted"]
            await js.call("invite", roomId=room_id, userId=nio_user.user_id)
            await nio_sync_until(nio, lambda: room_id in nio.invited_rooms, "invite")
            joined = await nio.join(room_id)
            assert isinstance(joined, JoinResponse), joined
            await nio_sync_until(nio, lambda: room_id in nio.rooms, "joined room")
            await js.call(
                "waitForEvent",
                roomId=room_id,
                type="m.room.member",
                sender=nio_user.user_id,
                timeoutMs=SYNC_TIMEOUT_MS,
            )

            if encrypted:
                # Each side must know the other's device before it encrypts for
                # it: a test of device-list tracking (device_lists.changed, /keys/query).
                await js.call(
                    "waitForDevice",
                    userId=nio_user.user_id,
                    deviceId=nio.device_id,
                    timeoutMs=SYNC_TIMEOUT_MS,
                )
                await nio_sync_until(
                    nio,
                    lambda: session["deviceId"] in nio.device_store[js_user.user_id],
                    "js device keys",
                )

            # nio → js
            sent = await nio.room_send(
                room_id,
                "m.room.message",
                {"msgtype": "m.text", "body": "hello from nio"},
                ignore_unverified_devices=True,
            )
            assert isinstance(sent, RoomSendResponse), sent
            got = await js.call(
                "waitForEvent",
                roomId=room_id,
                body="hello from nio",
                sender=nio_user.user_id,
                timeoutMs=SYNC_TIMEOUT_MS,
            )
            assert got["eventId"] == sent.event_id
            assert got["encrypted"] is encrypted
            assert got["content"] == {"msgtype": "m.text", "body": "hello from nio"}

            # js → nio
            mine = await js.call("sendText", roomId=room_id, body="hello from js")
            assert mine["encrypted"] is encrypted
            await nio_sync_until(
                nio,
                lambda: any(e.event_id == mine["eventId"] for e in received + undecryptable),
                "message from js",
            )
            assert not undecryptable, [e.event_id for e in undecryptable]
            [text] = [e for e in received if e.event_id == mine["eventId"]]
            assert (text.sender, text.body, text.decrypted) == (
                js_user.user_id,
                "hello from js",
                encrypted,
            )

            # …and js sees its own message come back through sync.
            echo = await js.call(
                "waitForEvent", roomId=room_id, eventId=mine["eventId"], timeoutMs=SYNC_TIMEOUT_MS
            )
            assert (echo["sender"], echo["content"]["body"]) == (js_user.user_id, "hello from js")
            if then is not None:
                await then(js, nio, room_id, js_user, nio_user, sent.event_id, mine["eventId"])
            return bool(encrypted)
    finally:
        await nio.close()


async def test_js_sdk_and_nio_talk_in_one_room(
    server: RevierProcess, make_user, tmp_path: Path
) -> None:
    """No encryption asked for: revier's default policy encrypts the room anyway."""
    await js_and_nio_exchange(server, make_user, tmp_path, ask_encryption=False)


async def test_js_sdk_and_nio_talk_encrypted(
    server: RevierProcess, make_user, tmp_path: Path
) -> None:
    assert await js_and_nio_exchange(server, make_user, tmp_path, ask_encryption=True)


async def react_edit_reply_redact(
    js: JsClient,
    nio: AsyncClient,
    room_id: str,
    js_user: Account,
    nio_user: Account,
    nio_message: str,
    js_message: str,
) -> None:
    """What Element and matrix-nio send around a message in a room where plaintext is
    refused: reactions (both SDKs send them in the clear, as bare annotations: the
    server would refuse anything else unencrypted), an edit and a reply (encrypted),
    redactions (never encrypted)."""
    seen: list[Event] = []

    async def collect(room: MatrixRoom, event: Event) -> None:
        seen.append(event)

    nio.add_event_callback(collect, (ReactionEvent, RoomMessageText, RedactionEvent))  # type: ignore[arg-type]

    def annotation(event_id: str, key: str) -> dict[str, object]:
        return {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}}

    reaction = await js.call(
        "sendEvent", roomId=room_id, type="m.reaction", content=annotation(nio_message, "👍")
    )
    theirs = await nio.room_send(
        room_id, "m.reaction", annotation(js_message, "✅"), ignore_unverified_devices=True
    )
    assert isinstance(theirs, RoomSendResponse), theirs
    got = await js.call("waitForEvent", roomId=room_id, eventId=theirs.event_id, type="m.reaction")
    assert got["content"]["m.relates_to"]["key"] == "✅"

    edit = {
        "msgtype": "m.text",
        "body": "* hello again",
        "m.new_content": {"msgtype": "m.text", "body": "hello again"},
        "m.relates_to": {"rel_type": "m.replace", "event_id": js_message},
    }
    edited = await js.call("sendEvent", roomId=room_id, type="m.room.message", content=edit)
    reply = await nio.room_send(
        room_id,
        "m.room.message",
        {
            "msgtype": "m.text",
            "body": "ja",
            "m.relates_to": {"m.in_reply_to": {"event_id": js_message}},
        },
        ignore_unverified_devices=True,
    )
    assert isinstance(reply, RoomSendResponse), reply
    got = await js.call("waitForEvent", roomId=room_id, eventId=reply.event_id)
    assert got["encrypted"] is True
    assert got["content"]["m.relates_to"] == {"m.in_reply_to": {"event_id": js_message}}

    def arrived(*event_ids: str) -> Callable[[], bool]:
        return lambda: set(event_ids) <= {e.event_id for e in seen}

    await nio_sync_until(nio, arrived(reaction["eventId"], edited["eventId"]), "reaction, edit")
    by_id = {e.event_id: e for e in seen}
    assert isinstance(by_id[reaction["eventId"]], ReactionEvent)
    edited_event = by_id[edited["eventId"]]
    assert isinstance(edited_event, RoomMessageText) and edited_event.decrypted
    assert edited_event.body == "* hello again"

    redaction = await js.call("redactEvent", roomId=room_id, eventId=reaction["eventId"])
    redacted = await nio.room_redact(room_id, reply.event_id, reason="wrong room")
    assert isinstance(redacted, RoomRedactResponse), redacted
    await nio_sync_until(nio, arrived(redaction["eventId"]), "js's redaction")
    removal = next(e for e in seen if e.event_id == redaction["eventId"])
    assert isinstance(removal, RedactionEvent) and removal.redacts == reaction["eventId"]


async def test_reactions_edits_replies_and_redactions_flow_where_plaintext_is_refused(
    server: RevierProcess, make_user, tmp_path: Path
) -> None:
    assert await js_and_nio_exchange(
        server, make_user, tmp_path, ask_encryption=True, then=react_edit_reply_redact
    )


async def test_driver_answers_bad_commands_and_bounds_its_waits(
    server: RevierProcess, make_user
) -> None:
    async with JsClient.start() as js:
        with pytest.raises(JsClientError, match="unknown command"):
            await js.call("noSuchThing")
        with pytest.raises(JsClientError, match="not logged in"):
            await js.call("whoami")
        await js_login(js, server, make_user("jseve"), "waits")
        # A wait that can't be met answers with an error, in its own time.
        started = time.monotonic()
        with pytest.raises(JsClientError, match=r"timed out after 500 ms.*room not known"):
            await js.call("waitForEvent", roomId="!nowhere:localhost", timeoutMs=500)
        assert time.monotonic() - started < 10
        assert (await js.call("whoami"))["userId"].startswith("@jseve-")


async def test_js_sdk_cross_signing_and_key_backup_restore(
    server: RevierProcess, make_user
) -> None:
    user = make_user("jshanna")
    async with JsClient.start(name="old") as old, JsClient.start(name="new") as new:
        await js_login(old, server, user, "old device")
        await old.call("startClient", crypto=True)
        await old.call("waitForSync", timeoutMs=SYNC_TIMEOUT_MS)
        signing = await old.call("crossSigningBootstrap", password=user.password)
        assert signing["ready"] is True
        backup = await old.call("keyBackupBootstrap")
        assert backup["version"] and backup["privateKey"]

        room = await old.call(
            "createRoom",
            options={"initial_state": [ENCRYPTION_STATE]},
            timeoutMs=SYNC_TIMEOUT_MS,
        )
        assert room["encrypted"] is True
        sent = await old.call("sendText", roomId=room["roomId"], body="kept in the backup")
        assert sent["encrypted"] is True
        await old.call("waitForKeyBackup", minSessions=1, timeoutMs=SYNC_TIMEOUT_MS)

        # A device that logs in later can read the old message only through the backup.
        await js_login(new, server, user, "new device")
        await new.call("startClient", crypto=True)
        await new.call("waitForSync", timeoutMs=SYNC_TIMEOUT_MS)
        restored = await new.call(
            "restoreKeyBackup", privateKey=backup["privateKey"], version=backup["version"]
        )
        assert restored["imported"] >= 1
        got = await new.call(
            "waitForEvent",
            roomId=room["roomId"],
            body="kept in the backup",
            timeoutMs=SYNC_TIMEOUT_MS,
        )
        assert got["eventId"] == sent["eventId"]
        assert got["encrypted"] is True
