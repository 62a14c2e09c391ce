"""The admin command line, against the running server's database."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

from tests.integration.conftest import PASSWORD
from tests.integration.harness import RevierProcess


async def login_status(http: httpx.AsyncClient, user: str, password: str) -> int:
    r = await http.post(
        "/_matrix/client/v3/login",
        json={
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": user},
            "password": password,
        },
    )
    return r.status_code


async def test_user_lifecycle(server: RevierProcess, http: httpx.AsyncClient) -> None:
    out = server.admin("user", "create", "hanna.cli", "--generate-password")
    password = out.split("password: ")[1].split()[0]
    assert "created @hanna.cli:localhost" in out
    assert await login_status(http, "hanna.cli", password) == 200

    assert "@hanna.cli:localhost" in server.admin("user", "list", "--search", "hanna")
    shown = server.admin("user", "show", "hanna.cli")
    assert "admin:        no" in shown and "devices:      1" in shown

    assert "is an admin" in server.admin("user", "make-admin", "@hanna.cli:localhost")
    assert "admin:        yes" in server.admin("user", "show", "hanna.cli")
    server.admin("user", "make-admin", "hanna.cli", "--revoke")
    assert "admin:        no" in server.admin("user", "show", "hanna.cli")

    server.admin(
        "user",
        "reset-password",
        "hanna.cli",
        "--password-stdin",
        input_text="a brand new passphrase\n",
    )
    assert await login_status(http, "hanna.cli", password) == 403
    assert await login_status(http, "hanna.cli", "a brand new passphrase") == 200

    server.admin("user", "deactivate", "hanna.cli")
    assert await login_status(http, "hanna.cli", "a brand new passphrase") == 403
    assert "[deactivated]" in server.admin("user", "list", "--search", "hanna.cli")


def test_create_refuses_bad_names_weak_passwords_and_duplicates(server: RevierProcess) -> None:
    out = server.admin(
        "user", "create", "Bad Name!", "--password-stdin", input_text=PASSWORD + "\n", check=False
    )
    assert "M_INVALID_USERNAME" in out
    out = server.admin(
        "user", "create", "shorty", "--password-stdin", input_text="short\n", check=False
    )
    assert "M_WEAK_PASSWORD" in out and "at least 12" in out
    out = server.admin(
        "user", "create", "ida", "--password-stdin", input_text="ida-ida-ida-ida-ida\n", check=False
    )
    assert "user name" in out
    server.create_user("jan.dup", PASSWORD)
    out = server.admin(
        "user", "create", "jan.dup", "--password-stdin", input_text=PASSWORD + "\n", check=False
    )
    assert "M_USER_IN_USE" in out


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["serve"],
        ["admin"],
        ["admin", "user"],
        ["admin", "user", "create"],
        ["admin", "user", "list"],
        ["admin", "user", "show"],
        ["admin", "user", "deactivate"],
        ["admin", "user", "reset-password"],
        ["admin", "user", "make-admin"],
    ],
)
def test_every_command_has_help(command: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "revier", *command, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0
    assert "usage: revier" in result.stdout


def test_invalid_config_stops_with_a_clear_message(tmp_path) -> None:  # type: ignore[no-untyped-def]
    config = tmp_path / "bad.toml"
    config.write_text('[server]\nport = "eighty"\nnonsense = 1\n')
    result = subprocess.run(
        [sys.executable, "-m", "revier", "serve", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "server.port" in result.stderr and "server.nonsense" in result.stderr
    assert "Traceback" not in result.stderr
