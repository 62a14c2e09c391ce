"""The admin command line, against the running server's database."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.integration import forkserver
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


def shown_field(shown: str, name: str) -> str:
    """A field of ``revier admin user show``."""
    match = re.search(rf"^{name}:\s+(.*)$", shown, re.MULTILINE)
    assert match, shown
    return match.group(1).strip()


async def test_user_lifecycle(server: RevierProcess, http: httpx.AsyncClient) -> None:
    out = server.admin("user", "create", "hanna.cli", "--generate-password")
    password = out.split("password: ")[1].split()[0]
    assert "created @hanna.cli:localhost" in out
    assert await login_status(http, "hanna.cli", password) == 200

    assert "@hanna.cli:localhost" in server.admin("user", "list", "--search", "hanna")
    shown = server.admin("user", "show", "hanna.cli")
    assert shown_field(shown, "admin") == "no" and shown_field(shown, "devices") == "1"

    assert "is an admin" in server.admin("user", "make-admin", "@hanna.cli:localhost")
    assert shown_field(server.admin("user", "show", "hanna.cli"), "admin") == "yes"
    server.admin("user", "make-admin", "hanna.cli", "--revoke")
    assert shown_field(server.admin("user", "show", "hanna.cli"), "admin") == "no"

    server.admin(
        "user",
        "reset-password",
        "hanna.cli",
        "--password-stdin",
        input_text="a brand new passphrase\n",
    )
    assert await login_status(http, "hanna.cli", password) == 403
    assert await login_status(http, "hanna.cli", "a brand new passphrase") == 200

    assert "left 0 rooms" in server.admin("user", "deactivate", "hanna.cli")
    assert await login_status(http, "hanna.cli", "a brand new passphrase") == 403
    assert "[deactivated]" in server.admin("user", "list", "--search", "hanna.cli")

    server.admin(
        "user", "reactivate", "hanna.cli", "--password-stdin", input_text="back from leave\n"
    )
    assert await login_status(http, "hanna.cli", "back from leave") == 200
    assert shown_field(server.admin("user", "show", "hanna.cli"), "deactivated") == "no"


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
        ["admin", "user", "reactivate"],
        ["admin", "user", "reset-password"],
        ["admin", "user", "make-admin"],
        ["admin", "user", "import"],
        ["admin", "users", "unlock"],
        ["admin", "users", "lock-state"],
        ["admin", "users", "factors"],
        ["admin", "users", "reset-factors"],
    ],
)
def test_every_command_has_help(command: list[str]) -> None:
    result = forkserver.run([*command, "--help"])
    assert result.returncode == 0
    assert "usage: revier" in result.stdout


def test_invalid_config_stops_with_a_clear_message(tmp_path) -> None:  # type: ignore[no-untyped-def]
    config = tmp_path / "bad.toml"
    config.write_text('[server]\nport = "eighty"\nnonsense = 1\n')
    result = forkserver.run(["serve", "--config", str(config)])
    assert result.returncode == 2
    assert "server.port" in result.stderr and "server.nonsense" in result.stderr
    assert "Traceback" not in result.stderr


def _import_file(server: RevierProcess, source: Path) -> subprocess.CompletedProcess[str]:
    return forkserver.run(
        ["admin", "user", "import", str(source), "-c", str(server.config)],
        env=server.env,
        cwd=server.data_dir,
        timeout=240,
    )


async def test_bulk_import_creates_accounts_and_reports_refusals(
    server: RevierProcess, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    from argon2 import PasswordHasher

    migrated = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(
        "from the old system"
    )
    # Most lines carry a ready hash (cheap); the real hashing path is covered by imp.boss.
    lines = [json.dumps({"localpart": f"imp{i}", "password_hash": migrated}) for i in range(120)]
    lines += [
        json.dumps(
            {
                "localpart": "imp.boss",
                "password": PASSWORD,
                "admin": True,
                "displayname": "Die Chefin",
            }
        ),
        json.dumps({"localpart": "imp.migrated", "password_hash": migrated}),
        json.dumps({"localpart": "imp3", "password": PASSWORD}),  # a duplicate
        json.dumps({"localpart": "Bad Name", "password": PASSWORD}),
        json.dumps({"localpart": "imp.weak", "password": "short"}),
        json.dumps({"localpart": "imp.both", "password": PASSWORD, "password_hash": migrated}),
        "not json at all",
        "",
    ]
    source = tmp_path / "people.jsonl"
    source.write_text("\n".join(lines) + "\n")

    result = _import_file(server, source)
    assert result.returncode == 1, result.stderr  # some lines were refused
    assert "created 122 accounts, refused 5" in result.stdout
    assert "100 processed, 100 created" in result.stderr  # progress per batch
    for fragment in (
        "@imp3:localhost exists already",
        "Bad Name",
        "imp.weak",
        "imp.both",
        "line 127",
    ):
        assert fragment in result.stderr
    assert "Traceback" not in result.stderr

    assert await login_status(http, "imp0", "from the old system") == 200
    assert await login_status(http, "imp119", "from the old system") == 200
    assert await login_status(http, "imp.boss", PASSWORD) == 200
    assert await login_status(http, "imp.migrated", "from the old system") == 200
    assert await login_status(http, "imp.migrated", PASSWORD) == 403
    shown = server.admin("user", "show", "imp.boss")
    assert shown_field(shown, "admin") == "yes" and "Die Chefin" in shown

    # Standard input works too, and a clean import exits 0.
    out = server.admin(
        "user",
        "import",
        "-",
        input_text=json.dumps({"localpart": "imp.stdin", "password": PASSWORD}) + "\n",
    )
    assert "created 1 accounts, refused 0" in out
    assert await login_status(http, "imp.stdin", PASSWORD) == 200
