"""Conformance mode: two keys (config section and command-line flag) or no start."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.integration.conftest import server_fixture
from tests.integration.harness import RevierProcess, server_env, write_config

# Protocol behaviour, not storage: once, on SQLite, even with --db=both.
pytestmark = pytest.mark.one_engine

V3 = "/_matrix/client/v3"
TESTING = {"conformance": True, "default_room_version": "10"}


conformance_server = server_fixture("conformance", "--conformance-mode", testing=TESTING)


async def test_open_registration_guests_and_default_room_version(
    conformance_server: RevierProcess,
) -> None:
    async with httpx.AsyncClient(base_url=conformance_server.url, timeout=60) as http:
        # SyTest's first probe: an empty body is answered with the flows, not a 400.
        empty = await http.post(f"{V3}/register", json={})
        assert empty.status_code == 401, empty.text
        assert empty.json()["flows"] == [{"stages": ["m.login.dummy"]}]
        body = {"username": "sytest-alice", "password": "a password that is long"}
        first = await http.post(f"{V3}/register", json=body)
        assert first.status_code == 401
        assert first.json()["flows"] == [{"stages": ["m.login.dummy"]}]
        # SyTest sends the dummy stage straight away, without a session.
        r = await http.post(f"{V3}/register", json={**body, "auth": {"type": "m.login.dummy"}})
        assert r.status_code == 200, r.text
        alice = {"Authorization": f"Bearer {r.json()['access_token']}"}

        guest = await http.post(f"{V3}/register", params={"kind": "guest"}, json={})
        assert guest.status_code == 200, guest.text

        room = await http.post(f"{V3}/createRoom", json={}, headers=alice)
        room_id = room.json()["room_id"]
        create = await http.get(f"{V3}/rooms/{room_id}/state/m.room.create", headers=alice)
        assert create.json()["room_version"] == "10"

        # No rate limits: many failed logins in a row stay 403.
        codes = {
            (
                await http.post(
                    f"{V3}/login",
                    json={"type": "m.login.password", "user": "nobody", "password": "x"},
                )
            ).status_code
            for _ in range(15)
        }
        assert codes == {403}

        # The admin sees the mode; others don't see the endpoint at all.
        r = await http.get("/_revier/admin/v1/server_info", headers=alice)
        assert (r.status_code, r.json()["errcode"]) == (403, "M_FORBIDDEN")
        login = await http.post(
            f"{V3}/login",
            json={
                "type": "m.login.password",
                "user": "admin",
                "password": "initial-password-for-tests",
            },
        )
        admin = {"Authorization": f"Bearer {login.json()['access_token']}"}
        info = (await http.get("/_revier/admin/v1/server_info", headers=admin)).json()
        assert info["conformance_mode"] is True and info["tenants"] == ["localhost"]
        # The spec's deprecated ?access_token= works here, and only here.
        token = alice["Authorization"].removeprefix("Bearer ")
        r = await http.get(f"{V3}/account/whoami", params={"access_token": token})
        assert r.status_code == 200 and r.json()["user_id"].startswith("@sytest-alice:")
        r = await http.get(f"{V3}/account/whoami", params={"access_token": "nonsense"})
        assert (r.status_code, r.json()["errcode"]) == (401, "M_UNKNOWN_TOKEN")
        both = await http.get(f"{V3}/account/whoami", params={"access_token": token}, headers=alice)
        assert (both.status_code, both.json()["errcode"]) == (401, "M_MISSING_TOKEN")
    log = conformance_server.log_path.read_text()
    assert token not in log  # the query string is never logged
    assert "CONFORMANCE MODE" in log


async def test_production_refuses_a_url_token(http: httpx.AsyncClient, make_user) -> None:  # type: ignore[no-untyped-def]
    user = make_user("anna")
    login = await http.post(
        f"{V3}/login",
        json={"type": "m.login.password", "user": user.user_id, "password": user.password},
    )
    token = login.json()["access_token"]
    r = await http.get(f"{V3}/account/whoami", params={"access_token": token})
    assert (r.status_code, r.json()["errcode"]) == (401, "M_MISSING_TOKEN")


def _serve(
    tmp_path: Path, *args: str, **sections: dict[str, object]
) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "revier.toml"
    write_config(config, data_dir=tmp_path, database_url=None, **sections)
    return subprocess.run(
        [sys.executable, "-m", "revier", "serve", "--config", str(config), *args],
        capture_output=True,
        text=True,
        env=server_env(),
        cwd=tmp_path,
        timeout=60,
    )


def test_the_flag_alone_refuses_to_start(tmp_path: Path) -> None:
    result = _serve(tmp_path, "--conformance-mode")
    assert result.returncode == 2
    assert "[testing]" in result.stderr and "refusing to start" in result.stderr
    assert "revier ready" not in result.stdout


def test_the_section_alone_refuses_to_start(tmp_path: Path) -> None:
    result = _serve(tmp_path, testing=TESTING)
    assert result.returncode == 2
    assert "--conformance-mode" in result.stderr
    assert "revier ready" not in result.stdout


def test_an_unsupported_default_room_version_refuses_to_start(tmp_path: Path) -> None:
    result = _serve(
        tmp_path, "--conformance-mode", testing={"conformance": True, "default_room_version": "9"}
    )
    assert result.returncode == 2 and "default_room_version" in result.stderr


def test_every_harness_setting_comes_from_the_environment() -> None:
    from revier.config_file import load_settings

    env = {
        "REVIER_TENANTS__0__SERVER_NAME": "hs1.test",
        "REVIER_TENANTS__0__SIGNING_KEY_PATH": "/keys/hs1.key",
        "REVIER_SERVER__BIND_ADDRESS": "0.0.0.0",
        "REVIER_SERVER__PORT": "8448",
        "REVIER_DATABASE__URL": "sqlite:////tmp/hs1.db",
        "REVIER_MEDIA__PATH": "/tmp/media",
        "REVIER_LOGGING__FILE": "/tmp/hs1.log",
        "REVIER_TESTING__CONFORMANCE": "true",
        "REVIER_TESTING__DEFAULT_ROOM_VERSION": "11",
    }
    s = load_settings(environ=env)
    assert s.tenants[0].server_name == "hs1.test"
    assert str(s.tenants[0].signing_key_path) == "/keys/hs1.key"
    assert (s.server.bind_address, s.server.port) == ("0.0.0.0", 8448)
    assert s.database_url == "sqlite:////tmp/hs1.db"
    assert str(s.logging.file) == "/tmp/hs1.log"
    assert s.testing is not None and s.testing.default_room_version == "11"
