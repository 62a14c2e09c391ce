"""End-to-end encryption with real crypto: matrix-nio clients (vodozemac) against revier.

Every wait is on /sync (a device appearing in the peer's device store, a
message decrypting), never a fixed sleep.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from nio import (
    AsyncClient,
    AsyncClientConfig,
    LoginResponse,
    MegolmEvent,
    RoomCreateResponse,
    RoomMessageText,
    SyncResponse,
)

from tests.integration.conftest import Account, production_defaults
from tests.integration.harness import RevierProcess

# Rooms encrypted and plaintext refused, as a new installation has it.
server = production_defaults("e2e")

ENCRYPTED = [{"type": "m.room.encryption", "content": {"algorithm": "m.megolm.v1.aes-sha2"}}]


class E2eClients:
    """Logs in matrix-nio clients with encryption, each with its own store."""

    def __init__(self, server: RevierProcess, root: Path) -> None:
        self._server = server
        self._root = root
        self.clients: list[AsyncClient] = []

    async def login(self, account: Account, device_name: str) -> AsyncClient:
        store = self._root / f"{account.localpart}-{device_name}"
        store.mkdir()
        client = AsyncClient(
            self._server.url,
            account.user_id,
            store_path=str(store),
            config=AsyncClientConfig(encryption_enabled=True, store_sync_tokens=True),
        )
        self.clients.append(client)
        response = await client.login(account.password, device_name=device_name)
        assert isinstance(response, LoginResponse), response
        if client.should_upload_keys:
            await client.keys_upload()
        await step(client, timeout_ms=0)
        return client


@pytest.fixture
async def e2e(server: RevierProcess, tmp_path: Path) -> AsyncIterator[E2eClients]:
    clients = E2eClients(server, tmp_path)
    yield clients
    for client in clients.clients:
        await client.close()


async def step(client: AsyncClient, timeout_ms: int = 1000) -> SyncResponse:
    """One /sync plus the key housekeeping a real client does after it."""
    response = await client.sync(timeout=timeout_ms)
    assert isinstance(response, SyncResponse), response
    if client.should_upload_keys:
        await client.keys_upload()
    if client.should_query_keys:
        await client.keys_query()
    if client.should_claim_keys:
        await client.keys_claim(client.get_users_for_key_claiming())
    return response


async def until(
    client: AsyncClient, found: Callable[[SyncResponse], Any], *, timeout_s: float = 20
) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = found(await step(client))
        if result:
            return result
    raise AssertionError(f"{client.user_id}/{client.device_id} did not see it in {timeout_s}s")


def knows_device(client: AsyncClient, user_id: str, device_id: str) -> bool:
    return any(d.id == device_id for d in client.device_store.active_user_devices(user_id))


async def wait_knows(client: AsyncClient, user_id: str, device_id: str) -> None:
    await until(client, lambda _: knows_device(client, user_id, device_id))


async def encrypted_room(alice: AsyncClient, bob: AsyncClient, **options: Any) -> str:
    created = await alice.room_create(invite=[bob.user_id], initial_state=ENCRYPTED, **options)
    assert isinstance(created, RoomCreateResponse), created
    room_id = created.room_id
    await until(bob, lambda r: room_id in r.rooms.invite)
    await bob.join(room_id)
    await until(alice, lambda _: bob.user_id in alice.rooms[room_id].users)
    await until(bob, lambda _: room_id in bob.rooms and bob.rooms[room_id].encrypted)
    return room_id


async def send_text(client: AsyncClient, room_id: str, body: str) -> None:
    await client.room_send(
        room_id,
        "m.room.message",
        {"msgtype": "m.text", "body": body},
        ignore_unverified_devices=True,
    )


async def receive_text(client: AsyncClient, room_id: str, body: str) -> Any:
    """The event carrying ``body``, or an undecryptable MegolmEvent that came instead."""

    def found(response: SyncResponse) -> Any:
        room = response.rooms.join.get(room_id)
        for event in room.timeline.events if room else []:
            if isinstance(event, RoomMessageText) and event.body == body:
                return event
            if isinstance(event, MegolmEvent):
                return event
        return None

    return await until(client, found)


async def test_messages_decrypt_both_ways(e2e: E2eClients, make_user) -> None:
    alice = await e2e.login(make_user("alice"), "alice-phone")
    bob = await e2e.login(make_user("bob"), "bob-laptop")
    room_id = await encrypted_room(alice, bob)
    await wait_knows(alice, bob.user_id, bob.device_id)
    await send_text(alice, room_id, "Lage 14:00")
    event = await receive_text(bob, room_id, "Lage 14:00")
    assert isinstance(event, RoomMessageText) and event.decrypted, event
    await wait_knows(bob, alice.user_id, alice.device_id)
    await send_text(bob, room_id, "Verstanden")
    event = await receive_text(alice, room_id, "Verstanden")
    assert isinstance(event, RoomMessageText) and event.decrypted, event


async def test_direct_room_is_encrypted_the_same(e2e: E2eClients, make_user) -> None:
    alice = await e2e.login(make_user("alice"), "a")
    bob = await e2e.login(make_user("bob"), "b")
    room_id = await encrypted_room(alice, bob, is_direct=True)
    await wait_knows(alice, bob.user_id, bob.device_id)
    await send_text(alice, room_id, "nur für dich")
    event = await receive_text(bob, room_id, "nur für dich")
    assert isinstance(event, RoomMessageText) and event.decrypted, event


async def test_new_device_gets_keys_and_a_deleted_one_does_not(
    e2e: E2eClients, make_user, server: RevierProcess, engine: str
) -> None:
    bob_account = make_user("bob")
    alice = await e2e.login(make_user("alice"), "alice-phone")
    bob = await e2e.login(bob_account, "bob-laptop")
    room_id = await encrypted_room(alice, bob)
    await wait_knows(alice, bob.user_id, bob.device_id)
    await send_text(alice, room_id, "before")
    await receive_text(bob, room_id, "before")

    # A second device of Bob's: Alice learns it from device_lists.changed.
    bob2 = await e2e.login(bob_account, "bob-phone")
    await wait_knows(alice, bob.user_id, bob2.device_id)
    await until(bob2, lambda _: room_id in bob2.rooms)
    await send_text(alice, room_id, "after the new phone")
    event = await receive_text(bob2, room_id, "after the new phone")
    assert isinstance(event, RoomMessageText) and event.decrypted, event

    # Bob deletes the phone: Alice's device list drops it, and nothing waits for it.
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        auth = {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": bob.user_id},
            "password": bob_account.password,
        }
        r = await http.post(
            "/_matrix/client/v3/delete_devices",
            headers={"Authorization": f"Bearer {bob.access_token}"},
            json={"devices": [bob2.device_id], "auth": auth},
        )
        assert r.status_code == 200, r.text
    await until(alice, lambda _: not knows_device(alice, bob.user_id, bob2.device_id))
    alice.invalidate_outbound_session(room_id)  # a fresh room key, as after any change
    await send_text(alice, room_id, "phone is gone")
    event = await receive_text(bob, room_id, "phone is gone")
    assert isinstance(event, RoomMessageText) and event.decrypted, event
    shared = alice.olm.outbound_group_sessions[room_id].users_shared_with
    assert (bob.user_id, bob.device_id) in shared
    assert (bob.user_id, bob2.device_id) not in shared
    if engine == "sqlite":
        import sqlite3

        db = sqlite3.connect(server.data_dir / "revier.db")
        pending = db.execute(
            "SELECT count(*) FROM to_device_messages WHERE user_id = ? AND device_id = ?",
            (bob.user_id, bob2.device_id),
        ).fetchone()[0]
        keys = db.execute(
            "SELECT count(*) FROM e2e_one_time_keys WHERE user_id = ? AND device_id = ?",
            (bob.user_id, bob2.device_id),
        ).fetchone()[0]
        db.close()
        assert pending == 0 and keys == 0
