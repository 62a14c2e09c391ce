"""Start revier as a real process on a loopback port, and drive its admin CLI."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.processes import stop_process, wait_ready

from tests.integration import forkserver

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery staple"  # of the accounts the tests make


@dataclass
class RevierProcess:
    """A running revier; ``url`` is its base URL, ``config`` its TOML file."""

    data_dir: Path
    config: Path
    env: dict[str, str]
    url: str = ""
    proc: subprocess.Popen[str] | forkserver.ForkedProcess | None = None
    log_path: Path = field(init=False)
    _log: Any = None

    def __post_init__(self) -> None:
        self.log_path = self.data_dir / "server.log"

    @property
    def local_url(self) -> str:
        """``url`` with the host name ``localhost``: on a server with several
        tenants the Host header picks one, and clients send the URL's host."""
        return self.url.replace("127.0.0.1", "localhost")

    def start(self, *extra_args: str, timeout: float = 60) -> None:
        self._log = log = self.log_path.open("a")
        self.proc = forkserver.spawn(
            ["serve", "--config", str(self.config), *extra_args],
            env=self.env,
            cwd=self.data_dir,
            stderr=log,
        )
        url = wait_ready(self.proc, timeout)
        if url is None:
            raise RuntimeError(
                f"revier did not start; its log:\n{self.log_path.read_text()[-4000:]}"
            )
        self.url = url

    def stop(self, *, kill: bool = False) -> None:
        if self.proc is None:
            return
        stop_process(self.proc, kill=kill)
        self._log.close()
        self.proc = None

    def admin(self, *args: str, input_text: str | None = None, check: bool = True) -> str:
        """Run ``revier admin …`` against this server's configuration."""
        result = forkserver.run(
            ["admin", *args, "--config", str(self.config)],
            input_text=input_text or "",
            env=self.env,
            cwd=self.data_dir,
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"revier admin {' '.join(args)} failed: {result.stderr}")
        return result.stdout + result.stderr

    def create_user(self, localpart: str, password: str, *extra: str) -> str:
        self.admin(
            "user", "create", localpart, "--password-stdin", *extra, input_text=password + "\n"
        )
        return f"@{localpart}:{self.server_name}"

    def import_users(self, localparts: list[str], password_hash: str) -> list[str]:
        """Create many accounts in one ``revier admin user import`` run."""
        lines = "".join(
            json.dumps({"localpart": lp, "password_hash": password_hash}) + "\n"
            for lp in localparts
        )
        self.admin("user", "import", "-", input_text=lines)
        return [f"@{lp}:{self.server_name}" for lp in localparts]

    @property
    def server_name(self) -> str:
        return "localhost"

    def _postgres_url(self) -> str | None:
        """The libpq URL of the server's PostgreSQL database; None: it runs on SQLite."""
        text = self.config.read_text()
        if 'url = "postgresql' not in text:
            return None
        return text.split('url = "')[1].split('"')[0].replace("+asyncpg", "")

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        """The rows of one query on the server's database, read directly: what the
        server wrote, as a stolen copy would show it (PostgreSQL's as text)."""
        url = self._postgres_url()
        if url is None:
            db = sqlite3.connect(self.data_dir / "revier.db")
            try:
                return list(db.execute(sql))
            finally:
                db.close()
        out = subprocess.run(
            ["psql", url, "-At", "-F", "\t", "-c", sql], capture_output=True, text=True, check=True
        ).stdout
        return [tuple(line.split("\t")) for line in out.splitlines() if line]

    def database_dump(self) -> str:
        """Everything the database holds, as SQL text: what a stolen copy would show."""
        url = self._postgres_url()
        if url is None:
            db = sqlite3.connect(self.data_dir / "revier.db")
            try:
                return "\n".join(db.iterdump())
            finally:
                db.close()
        return subprocess.run(
            ["pg_dump", "--data-only", url], capture_output=True, text=True, check=True
        ).stdout


def write_config(
    path: Path,
    *,
    data_dir: Path,
    database_url: str | None,
    tenant_policy: dict[str, Any] | None = None,
    extra_tenants: tuple[str | tuple[str, dict[str, Any]], ...] = (),
    tenant_sections: dict[str, dict[str, Any]] | None = None,
    **sections: Any,
) -> None:
    """A test configuration: loopback, ephemeral port, forwarded addresses trusted.
    ``tenant_sections``: further sections of the first tenant (``{"turn": {...}}``)."""
    lines = [
        "[server]",
        'bind_address = "127.0.0.1"',
        "port = 0",
        f'data_dir = "{data_dir}"',
        'trusted_proxies = ["127.0.0.1"]',
        "[logging]",
        'level = "INFO"',
    ]
    if database_url:
        lines += ["[database]", f'url = "{database_url}"']
    for section, values in sections.items():
        lines.append(f"[{section.replace('__', '.')}]")
        for key, value in values.items():
            lines.append(f"{key} = {_toml(value)}")
    if tenant_policy is not None or extra_tenants or tenant_sections:
        lines += ["[[tenants]]", 'server_name = "localhost"', "[tenants.policy]"]
        lines += [f"{key} = {_toml(value)}" for key, value in (tenant_policy or {}).items()]
        for name, values in (tenant_sections or {}).items():
            lines += [f"[tenants.{name}]", *(f"{k} = {_toml(v)}" for k, v in values.items())]
    for extra in extra_tenants:  # a name (the default policy), or (name, policy)
        name, policy = extra if isinstance(extra, tuple) else (extra, {})
        lines += ["[[tenants]]", f"server_name = {_toml(name)}"]
        if policy:
            lines += ["[tenants.policy]", *(f"{k} = {_toml(v)}" for k, v in policy.items())]
    path.write_text("\n".join(lines) + "\n")


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(k)} = {_toml(v)}" for k, v in value.items()) + "}"
    return str(value)


def _key(key: str) -> str:
    """A TOML key: bare when it can be, else quoted ("Element X")."""
    return key if key.replace("_", "").replace("-", "").isalnum() else _toml(key)


INITIAL_ADMIN_PASSWORD = "initial-password-for-tests"


def server_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REVIER_")}
    env["REVIER_ADMIN_PASSWORD"] = INITIAL_ADMIN_PASSWORD
    return env
