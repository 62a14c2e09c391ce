"""A tenant's policy at start-up: an invalid one stops ``revier serve`` before
anything starts, a changed one is recorded in the audit log."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.admin_api import Admin, entries, login
from tests.integration.conftest import start_server
from tests.integration.harness import INITIAL_ADMIN_PASSWORD, server_env, write_config


def test_an_invalid_policy_stops_the_server_before_it_starts(tmp_path: Path) -> None:
    config = tmp_path / "revier.toml"
    write_config(
        config,
        data_dir=tmp_path,
        database_url=None,
        tenant_policy={"max_devices_per_user": 0},
        extra_tenants=("other.test",),
    )
    result = subprocess.run(
        [sys.executable, "-m", "revier", "serve", "--config", str(config)],
        capture_output=True,
        text=True,
        env=server_env(),
        timeout=60,
    )
    assert result.returncode == 2
    assert "tenant 'localhost': policy.max_devices_per_user" in result.stderr
    assert "revier ready" not in result.stdout
    assert not (tmp_path / "revier.db").exists()  # nothing was started or created


async def test_a_changed_policy_is_audited_at_the_next_start(
    engine: str, request: pytest.FixtureRequest, tmp_root: Path
) -> None:
    srv = start_server(
        engine, request, tmp_root, "policy", tenant_policy={"public_rooms_require_admin": False}
    )
    try:
        srv.stop()
        text = srv.config.read_text()
        srv.config.write_text(
            text.replace("public_rooms_require_admin = false", "public_rooms_require_admin = true")
        )
        srv.start()
        response = login(srv, "admin", INITIAL_ADMIN_PASSWORD)
        admin = Admin("@admin:localhost", "localhost", response.json()["access_token"])
        first, changed = await entries(srv, admin, action="policy.changed")
    finally:
        srv.stop()
    assert first["details"]["first_start"] is True  # type: ignore[index]
    assert first["details"]["policy"]["public_rooms_require_admin"] is False  # type: ignore[index]
    assert changed["actor"] is None  # the server itself, reading its configuration
    assert changed["details"] == {
        "changed": {"public_rooms_require_admin": {"from": False, "to": True}}
    }
