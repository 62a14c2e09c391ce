"""End-to-end encryption that can't be switched off, tried as an attacker would: a raw
HTTP client putting plaintext into an encrypted room, or switching its encryption off.

The server runs with the tenant policy's defaults (rooms encrypted, plaintext in them
refused); ``lenient`` is an installation that chose ``plaintext_in_encrypted_rooms =
"allow"``. What the real clients still send (encrypted messages, edits and replies,
plaintext reactions and redactions) is tested in test_e2e and test_js_client.
"""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import pytest

from tests.integration.conftest import (
    LOOSE_LIMIT,
    PASSWORD,
    Account,
    production_defaults,
    server_fixture,
)
from tests.integration.harness import RevierProcess

V3 = "/_matrix/client/v3"
MEGOLM = "m.megolm.v1.aes-sha2"

server = production_defaults("enforce")
lenient = server_fixture(
    "lenient",
    ratelimit__login_per_address=LOOSE_LIMIT,
    tenant_policy={"plaintext_in_encrypted_rooms": "allow"},
)


async def login(http: httpx.AsyncClient, user_id: str) -> dict[str, str]:
    body = {"type": "m.login.password", "user": user_id, "password": PASSWORD}
    r = await http.post(f"{V3}/login", json=body)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def encrypted_room(http: httpx.AsyncClient, auth: dict[str, str]) -> str:
    """A room as a client creates it: revier's default policy encrypts it."""
    r = await http.post(f"{V3}/createRoom", json={"name": "Lage"}, headers=auth)
    assert r.status_code == 200, r.text
    room_id: str = r.json()["room_id"]
    state = await http.get(f"{V3}/rooms/{room_id}/state/m.room.encryption", headers=auth)
    assert state.json() == {"algorithm": MEGOLM}, state.text
    return room_id


async def send(
    http: httpx.AsyncClient, auth: dict[str, str], room_id: str, event_type: str, content: Any
) -> httpx.Response:
    txn = secrets.token_hex(8)
    return await http.put(
        f"{V3}/rooms/{room_id}/send/{event_type}/{txn}", json=content, headers=auth
    )


async def timeline_bodies(http: httpx.AsyncClient, auth: dict[str, str], room_id: str) -> str:
    r = await http.get(
        f"{V3}/rooms/{room_id}/messages", params={"dir": "b", "limit": 100}, headers=auth
    )
    assert r.status_code == 200, r.text
    return r.text


@pytest.fixture
def owner(make_user) -> Account:  # type: ignore[no-untyped-def]
    account: Account = make_user("owner")
    return account


def refused(r: httpx.Response, *words: str) -> None:
    assert r.status_code == 403, r.text
    assert r.json()["errcode"] == "M_FORBIDDEN"
    for word in words:
        assert word in r.json()["error"], r.json()["error"]


def annotation(event_id: str, key: str) -> dict[str, Any]:
    return {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}}


@pytest.mark.parametrize(
    ("event_type", "content"),
    [
        ("m.room.message", {"msgtype": "m.text", "body": "SECRET"}),
        ("m.reaction", {"body": "SECRET", **annotation("$x", "👍")}),
        ("com.example.note", {"text": "SECRET"}),
        ("m.poll.start", {"question": "SECRET"}),
        ("m.call.invite", {"call_id": "SECRET", "version": "1"}),
        ("m.sticker", {"body": "SECRET", "url": "mxc://localhost/x", "info": {}}),
    ],
)
async def test_plaintext_into_an_encrypted_room_is_refused_and_not_stored(
    server: RevierProcess,
    owner: Account,
    http: httpx.AsyncClient,
    event_type: str,
    content: dict[str, Any],
) -> None:
    auth = await login(http, owner.user_id)
    room_id = await encrypted_room(http, auth)
    secret = f"Lage {secrets.token_hex(8)}"  # unique: found nowhere if not stored
    planted = {k: secret if v == "SECRET" else v for k, v in content.items()}
    r = await send(http, auth, room_id, event_type, planted)
    refused(r, "end-to-end encrypted", "m.room.encrypted")
    assert secret not in await timeline_bodies(http, auth, room_id)
    assert secret not in server.database_dump()


async def test_a_message_sent_as_state_is_refused(owner: Account, http: httpx.AsyncClient) -> None:
    auth = await login(http, owner.user_id)
    room_id = await encrypted_room(http, auth)
    for event_type in ("m.room.message", "m.room.encrypted", "m.reaction"):
        r = await http.put(
            f"{V3}/rooms/{room_id}/state/{event_type}/x",
            json={"msgtype": "m.text", "body": "SECRET-state"},
            headers=auth,
        )
        refused(r, event_type)
    # Ordinary state stays as it is in Matrix: names and topics are never encrypted.
    r = await http.put(
        f"{V3}/rooms/{room_id}/state/m.room.topic", json={"topic": "Lage"}, headers=auth
    )
    assert r.status_code == 200, r.text


async def test_encrypted_events_redactions_and_bare_reactions_go_through(
    owner: Account, http: httpx.AsyncClient
) -> None:
    auth = await login(http, owner.user_id)
    room_id = await encrypted_room(http, auth)
    ciphertext = {
        "algorithm": MEGOLM,
        "sender_key": "c2VuZGVy",
        "ciphertext": "AwgAEnAC",
        "session_id": "c2Vzc2lvbg",
        "device_id": "DEVICE",
    }
    message = await send(http, auth, room_id, "m.room.encrypted", ciphertext)
    assert message.status_code == 200, message.text
    event_id = message.json()["event_id"]
    # As Element Web (matrix-js-sdk) and matrix-nio send reactions: in the clear,
    # nothing but the annotation.
    reaction = await send(http, auth, room_id, "m.reaction", annotation(event_id, "👍"))
    assert reaction.status_code == 200, reaction.text
    # A "reaction" that is really a message is not one.
    long_key = await send(http, auth, room_id, "m.reaction", annotation(event_id, "x" * 33))
    refused(long_key, "encrypt")
    redaction = await http.put(
        f"{V3}/rooms/{room_id}/redact/{reaction.json()['event_id']}/r1", json={}, headers=auth
    )
    assert redaction.status_code == 200, redaction.text


@pytest.mark.parametrize(
    "content",
    [{}, {"algorithm": "m.olm.v1.curve25519-aes-sha2"}, {"rotation_period_ms": 1000}],
    ids=["empty", "other-algorithm", "no-algorithm"],
)
async def test_encryption_cannot_be_switched_off_or_changed(
    owner: Account, http: httpx.AsyncClient, content: dict[str, Any]
) -> None:
    auth = await login(http, owner.user_id)
    room_id = await encrypted_room(http, auth)
    r = await http.put(f"{V3}/rooms/{room_id}/state/m.room.encryption", json=content, headers=auth)
    refused(r, "can't be switched off")
    state = await http.get(f"{V3}/rooms/{room_id}/state/m.room.encryption", headers=auth)
    assert state.json() == {"algorithm": MEGOLM}
    # Keeping the algorithm (a new rotation period) is no downgrade.
    same = {"algorithm": MEGOLM, "rotation_period_ms": 3_600_000}
    r = await http.put(f"{V3}/rooms/{room_id}/state/m.room.encryption", json=same, headers=auth)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    "content", [{}, {"algorithm": "m.olm.v1.curve25519-aes-sha2"}], ids=["empty", "other"]
)
async def test_create_room_refuses_a_hollow_encryption_and_writes_nothing(
    owner: Account, http: httpx.AsyncClient, content: dict[str, Any]
) -> None:
    auth = await login(http, owner.user_id)
    before = (await http.get(f"{V3}/joined_rooms", headers=auth)).json()["joined_rooms"]
    initial_state = [{"type": "m.room.encryption", "state_key": "", "content": content}]
    r = await http.post(f"{V3}/createRoom", json={"initial_state": initial_state}, headers=auth)
    refused(r, MEGOLM)
    after = (await http.get(f"{V3}/joined_rooms", headers=auth)).json()["joined_rooms"]
    assert after == before


async def test_refusals_are_counted_per_tenant_without_user_ids(
    server: RevierProcess, owner: Account, http: httpx.AsyncClient
) -> None:
    auth = await login(http, owner.user_id)
    room_id = await encrypted_room(http, auth)
    refused(await send(http, auth, room_id, "m.room.message", {"body": "x", "msgtype": "m.text"}))
    refused(await http.put(f"{V3}/rooms/{room_id}/state/m.room.encryption", json={}, headers=auth))
    metrics = (await http.get("/_revier/metrics")).text
    lines = [line for line in metrics.splitlines() if "revier_encryption_refusals_total{" in line]
    kinds = {line.split('reason="')[1].split('"')[0] for line in lines}
    assert kinds == {"plaintext", "downgrade"}, lines
    assert all('tenant="localhost"' in line for line in lines)
    assert not any("@" in line or "!" in line for line in lines)


@pytest.fixture
def lenient_user(lenient: RevierProcess, password_hash: str) -> str:
    [user_id] = lenient.import_users([f"lax-{secrets.token_hex(4)}"], password_hash)
    return user_id


async def test_allow_stores_plaintext_but_never_lets_encryption_go(
    lenient: RevierProcess, lenient_user: str
) -> None:
    async with httpx.AsyncClient(base_url=lenient.url, timeout=30) as http:
        auth = await login(http, lenient_user)
        room_id = await encrypted_room(http, auth)
        body = {"msgtype": "m.text", "body": "in the clear, as this installation chose"}
        r = await send(http, auth, room_id, "m.room.message", body)
        assert r.status_code == 200, r.text
        assert "in the clear, as this installation chose" in await timeline_bodies(
            http, auth, room_id
        )
        r = await http.put(f"{V3}/rooms/{room_id}/state/m.room.encryption", json={}, headers=auth)
        refused(r, "can't be switched off")
