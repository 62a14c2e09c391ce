"""Backup under load, restore into a new directory, start: nothing acknowledged is lost.

On SQLite, where the backup holds the database (PostgreSQL is pg_dump's job:
docs/operations.md). A client keeps sending while ``revier admin backup``
runs; every message acknowledged before the backup began, every account,
device key and media file must be there after the restore, and what else came
along must be a gap-free prefix of what was sent: one consistent moment.
"""

from __future__ import annotations

import asyncio
import io
import json
import subprocess
from pathlib import Path

import httpx
import pytest
from nio import AsyncClient, AsyncClientConfig, LoginResponse, UploadResponse

from tests.integration import forkserver
from tests.integration.conftest import server_config
from tests.integration.harness import PASSWORD, RevierProcess, server_env, write_config

MEDIA = bytes(range(256)) * 300  # 75 KiB that survive byte for byte, or not
ONLY_MESSAGES = {"types": ["m.room.message"]}


def admin_command(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return forkserver.run(["admin", *args, "--config", str(config)], env=server_env())


async def e2e_login(srv: RevierProcess, user_id: str, store: Path) -> AsyncClient:
    client = AsyncClient(
        srv.url, user_id, store_path=str(store), config=AsyncClientConfig(encryption_enabled=True)
    )
    response = await client.login(PASSWORD, device_name="backup")
    assert isinstance(response, LoginResponse), response
    await client.keys_upload()  # the device keys the restore must keep
    return client


class Sender:
    """Sends numbered messages one after another and remembers which were acknowledged."""

    def __init__(self, http: httpx.AsyncClient, room_id: str, headers: dict[str, str]) -> None:
        self._http, self._room_id, self._headers = http, room_id, headers
        self.acknowledged: list[str] = []  # bodies, in order
        self.under_way = asyncio.Event()  # set after the first 20
        self.stop = asyncio.Event()

    async def run(self) -> None:
        n = 0
        while not self.stop.is_set() and n < 5000:  # bounded, whatever happens
            body = f"message {n}"
            r = await self._http.put(
                f"/_matrix/client/v3/rooms/{self._room_id}/send/m.room.message/t{n}",
                json={"msgtype": "m.text", "body": body},
                headers=self._headers,
            )
            assert r.status_code == 200, r.text
            self.acknowledged.append(body)
            if n == 20:
                self.under_way.set()
            n += 1


async def test_backup_under_load_restores_everything_acknowledged(
    tmp_root: Path, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    # The load is plain-text messages (a database's rows, not encryption, are the point).
    allow = {"plaintext_in_encrypted_rooms": "allow"}
    config = server_config("sqlite", request, tmp_root, "backup", tenant_policy=allow)
    srv = RevierProcess(data_dir=config.parent, config=config, env=server_env())
    srv.start()
    alice_id = srv.create_user("alice", PASSWORD)
    bob_id = srv.create_user("bob", PASSWORD)
    (tmp_path / "alice").mkdir()
    alice = await e2e_login(srv, alice_id, tmp_path / "alice")
    device_key = alice.olm.account.identity_keys["ed25519"] if alice.olm else None
    assert device_key
    uploaded, _ = await alice.upload(
        io.BytesIO(MEDIA), content_type="application/octet-stream", filesize=len(MEDIA)
    )
    assert isinstance(uploaded, UploadResponse), uploaded
    mxc = uploaded.content_uri
    headers = {"Authorization": f"Bearer {alice.access_token}"}
    backup = tmp_path / "backup"
    async with httpx.AsyncClient(base_url=srv.url, timeout=30) as http:
        room = await http.post("/_matrix/client/v3/createRoom", json={}, headers=headers)
        room_id = room.json()["room_id"]
        sender = Sender(http, room_id, headers)
        sending = asyncio.create_task(sender.run())
        await asyncio.wait_for(sender.under_way.wait(), 30)
        before = len(sender.acknowledged)
        made = await asyncio.to_thread(admin_command, config, "backup", str(backup))
        during = len(sender.acknowledged) - before
        sender.stop.set()
        await sending
    await alice.close()
    srv.stop()
    assert made.returncode == 0, made.stderr
    assert "database: done" in made.stdout and "backup complete" in made.stdout
    assert during > 0, "the backup ran while nothing was sent"
    # A second backup never lands on the first.
    assert admin_command(config, "backup", str(backup)).returncode == 2

    # A new machine: the same tenants, a new, empty data directory.
    data_dir = tmp_path / "restored"
    new_config = tmp_path / "restored.toml"
    write_config(new_config, data_dir=data_dir, database_url=None)
    restored = admin_command(new_config, "restore", str(backup))
    assert restored.returncode == 0, restored.stderr
    assert admin_command(new_config, "restore", str(backup)).returncode == 2  # not over it

    srv2 = RevierProcess(data_dir=data_dir, config=new_config, env=server_env())
    srv2.start()
    try:
        async with httpx.AsyncClient(base_url=srv2.url, timeout=30) as http:
            bob = await http.post(
                "/_matrix/client/v3/login",
                json={"type": "m.login.password", "user": bob_id, "password": PASSWORD},
            )
            assert bob.status_code == 200, bob.text  # the account, with its password
            login = await http.post(
                "/_matrix/client/v3/login",
                json={"type": "m.login.password", "user": alice_id, "password": PASSWORD},
            )
            assert login.status_code == 200, login.text
            auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
            messages = await http.get(
                f"/_matrix/client/v3/rooms/{room_id}/messages",
                params={
                    "dir": "f",
                    "limit": 1000,
                    "filter": json.dumps({"types": ["m.room.message"]}),
                },
                headers=auth,
            )
            bodies = [e["content"]["body"] for e in messages.json()["chunk"]]
            keys = await http.post(
                "/_matrix/client/v3/keys/query",
                json={"device_keys": {alice_id: []}},
                headers=auth,
            )
            server_name, media_id = mxc.removeprefix("mxc://").split("/")
            media = await http.get(
                f"/_matrix/client/v1/media/download/{server_name}/{media_id}", headers=auth
            )
    finally:
        srv2.stop()
    assert len(bodies) >= before, (before, during, len(bodies))
    assert bodies == sender.acknowledged[: len(bodies)]  # a gap-free prefix: one moment
    devices = keys.json()["device_keys"][alice_id]
    assert any(d["keys"].get(f"ed25519:{d['device_id']}") == device_key for d in devices.values())
    assert media.status_code == 200 and media.content == MEDIA
