"""Upgrades: a database made by the previous release starts under this one with
everything in it; a database from a newer release is refused.

The previous release is run from its own source (``git archive`` of its
commit) with this checkout's dependencies: it makes an installation, an
account and a message; then this release starts on the same data and must
serve them. At each release, PREVIOUS_RELEASE moves to the release just made
(docs/operations.md, "Releasing").
"""

from __future__ import annotations

import io
import subprocess
import sys
import tarfile
from pathlib import Path

import httpx
import pytest

from tests.integration.conftest import server_config
from tests.integration.harness import PASSWORD, REPO, RevierProcess, server_env

PREVIOUS_RELEASE = ("0.1.0", "a40d839551af0e496bcdca694b2ce9a0528c18ae")


def previous_release_source(into: Path) -> Path:
    """The previous release's ``src`` directory, from this repository's history."""
    version, commit = PREVIOUS_RELEASE
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", commit, "src"],
        capture_output=True,
        check=False,
    )
    if archive.returncode != 0:
        pytest.skip(
            f"revier {version} ({commit[:10]}) is not in this clone's history: "
            "fetch the full history (git fetch --unshallow) to run the upgrade test"
        )
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


async def test_previous_release_database_upgrades_and_serves(
    engine: str, request: pytest.FixtureRequest, tmp_root: Path, tmp_path: Path
) -> None:
    old_src = previous_release_source(tmp_path)
    config = server_config(engine, request, tmp_root, "upgrade")
    old_env = {**server_env(), "PYTHONPATH": str(old_src)}
    old = RevierProcess(data_dir=config.parent, config=config, env=old_env)
    old.start()
    user_id = old.create_user("veteran", PASSWORD)
    async with httpx.AsyncClient(base_url=old.url, timeout=30) as http:
        login = await http.post(
            "/_matrix/client/v3/login",
            json={"type": "m.login.password", "user": user_id, "password": PASSWORD},
        )
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        room_id = (
            await http.post("/_matrix/client/v3/createRoom", json={}, headers=headers)
        ).json()["room_id"]
        sent = await http.put(
            f"/_matrix/client/v3/rooms/{room_id}/send/m.room.message/1",
            json={"msgtype": "m.text", "body": "written by the previous release"},
            headers=headers,
        )
        event_id = sent.json()["event_id"]
    old.stop()

    new = RevierProcess(data_dir=config.parent, config=config, env=server_env())
    new.start()
    try:
        async with httpx.AsyncClient(base_url=new.url, timeout=30) as http:
            # The old session goes on: its token, its room, its message.
            event = await http.get(
                f"/_matrix/client/v3/rooms/{room_id}/event/{event_id}", headers=headers
            )
            again = await http.post(
                "/_matrix/client/v3/login",
                json={"type": "m.login.password", "user": user_id, "password": PASSWORD},
            )
    finally:
        new.stop()
    assert event.status_code == 200, event.text
    assert event.json()["content"]["body"] == "written by the previous release"
    assert again.status_code == 200


def test_database_of_a_newer_release_is_refused(
    engine: str, request: pytest.FixtureRequest, tmp_root: Path
) -> None:
    config = server_config(engine, request, tmp_root, "newer")
    srv = RevierProcess(data_dir=config.parent, config=config, env=server_env())
    srv.start()
    srv.stop()
    # What a later release's migration leaves behind: a revision this one never heard of.
    url = next(
        line.split('"')[1] for line in config.read_text().splitlines() if line.startswith("url")
    )
    subprocess.run(
        [sys.executable, "-c", SET_REVISION, url], check=True, env=server_env(), timeout=60
    )
    result = subprocess.run(
        [sys.executable, "-m", "revier", "serve", "--config", str(config)],
        capture_output=True,
        text=True,
        env=server_env(),
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "'9999'" in result.stderr and "newer revier" in result.stderr


SET_REVISION = """
import asyncio, sys
from sqlalchemy import text
from revier.storage.engine import create_engines

async def main(url):
    engines = create_engines(url)
    async with engines.writer.begin() as conn:
        await conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    await engines.dispose()

asyncio.run(main(sys.argv[1]))
"""
