"""Start revier, the reference server (Synapse) and the bare ASGI ceiling, equally configured.

Both homeservers: loopback, SQLite in a fresh temporary directory, rate limits
off, presence off, no federation listener. Users are made in bulk (revier's
``admin user import``, Synapse's shared-secret registration) and logged in once.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import psutil

from bench.client import PASSWORD, Matrix, Session, gather_limited
from bench.processes import stop_process, wait_ready
from bench.synapse_env import synapse_python

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tree_total(pid: int, measure: Callable[[psutil.Process], float]) -> float:
    """``measure`` summed over the process and all its children (psutil)."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            total += measure(p)
    return total


def rss_bytes(pid: int) -> int:
    """RSS of the process and all its children."""
    return int(_tree_total(pid, lambda p: p.memory_info().rss))


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by the process and all its children."""

    def used(p: psutil.Process) -> float:
        t = p.cpu_times()
        return float(t.user + t.system)

    return _tree_total(pid, used)


@dataclass
class Server:
    name: str
    workdir: Path
    url: str = ""
    proc: subprocess.Popen[bytes] | None = None
    version: str = ""
    sessions: dict[str, Session] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)  # rooms made once, reused by runs

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def stop(self) -> None:
        if self.proc is None:
            return
        stop_process(self.proc)
        self.proc = None

    async def create_users(self, localparts: list[str]) -> None:
        raise NotImplementedError


@dataclass
class Revier(Server):
    # retention_default_days of the tenant (None: no retention, the default).
    retention_days: int | None = None
    # Further TOML for the tenant (its [tenants.directory], for bench/org.py).
    extra_toml: str = ""

    def start(self) -> None:
        from revier import __version__

        self.version = __version__
        data = self.workdir / "data"
        data.mkdir(parents=True)
        self.config = self.workdir / "revier.toml"
        # The push scenario's gateway listens here (bench/push.py starts it).
        self.push_port = free_port()
        self.config.write_text(
            "\n".join(
                [
                    "[server]",
                    'bind_address = "127.0.0.1"',
                    "port = 0",
                    f'data_dir = "{data}"',
                    "[logging]",
                    'level = "WARNING"',
                    "access_log = false",
                    "[ratelimit]",
                    "enabled = false",
                    "[[tenants]]",
                    'server_name = "localhost"',
                    "[tenants.policy]",
                    'room_encryption = "optional"',
                    "presence_enabled = false",
                    "max_devices_per_user = 100",
                    f'push_gateways = ["http://127.0.0.1:{self.push_port}"]',
                    *(
                        [f"retention_default_days = {self.retention_days}"]
                        if self.retention_days is not None
                        else []
                    ),
                ]
            )
            + "\n"
            + self.extra_toml
        )
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("REVIER_")}
        self.env["REVIER_ADMIN_PASSWORD"] = secrets.token_urlsafe(18)
        log = (self.workdir / "server.log").open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "revier", "serve", "--config", str(self.config)],
            stdout=subprocess.PIPE,
            stderr=log,
            env=self.env,
            cwd=self.workdir,
        )
        url = wait_ready(self.proc, 60)
        if url is None:
            raise RuntimeError(f"revier did not start; see {self.workdir / 'server.log'}")
        self.url = url

    async def create_users(self, localparts: list[str]) -> None:
        from argon2 import PasswordHasher

        # One cheap Argon2id hash for every bench account: setting up thousands of
        # users must not take hours, and the login's cost is not what we measure.
        cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(PASSWORD)
        lines = "".join(
            json.dumps({"localpart": lp, "password_hash": cheap}) + "\n" for lp in localparts
        )
        result = await asyncio.to_thread(
            subprocess.run,
            [
                sys.executable,
                "-m",
                "revier",
                "admin",
                "user",
                "import",
                "-",
                "-c",
                str(self.config),
            ],
            input=lines,
            capture_output=True,
            text=True,
            env=self.env,
            cwd=self.workdir,
        )
        if result.returncode != 0:
            raise RuntimeError(f"revier admin user import failed: {result.stderr[-2000:]}")
        async with aiohttp.ClientSession() as http:
            m = Matrix(self.url, http)
            sessions = await gather_limited(16, [m.login(lp) for lp in localparts])
        self.sessions.update(zip(localparts, sessions, strict=True))


class Synapse(Server):
    def start(self) -> None:
        python = synapse_python()
        self.version = subprocess.run(
            [str(python), "-c", "import synapse; print(synapse.__version__.split()[0])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        port = free_port()
        self.secret = secrets.token_hex(16)
        cfg = self.workdir / "homeserver.yaml"
        logcfg = self.workdir / "log.yaml"
        logcfg.write_text(
            "version: 1\n"
            "formatters: {plain: {format: '%(asctime)s %(levelname)s %(name)s %(message)s'}}\n"
            "handlers: {file: {class: logging.FileHandler, formatter: plain, "
            f"filename: {self.workdir / 'server.log'}}}}}\n"
            "root: {level: WARNING, handlers: [file]}\n"
            "disable_existing_loggers: false\n"
        )
        unlimited = {"per_second": 1_000_000, "burst_count": 1_000_000}
        config = {
            "server_name": "localhost",
            "pid_file": str(self.workdir / "homeserver.pid"),
            "listeners": [
                {
                    "port": port,
                    "bind_addresses": ["127.0.0.1"],
                    "type": "http",
                    "tls": False,
                    "x_forwarded": False,
                    "resources": [{"names": ["client"], "compress": False}],
                }
            ],
            "database": {"name": "sqlite3", "args": {"database": str(self.workdir / "hs.db")}},
            "log_config": str(logcfg),
            "media_store_path": str(self.workdir / "media"),
            "signing_key_path": str(self.workdir / "signing.key"),
            "registration_shared_secret": self.secret,
            "macaroon_secret_key": secrets.token_hex(16),
            "form_secret": secrets.token_hex(16),
            "report_stats": False,
            "enable_metrics": False,
            "trusted_key_servers": [],
            "suppress_key_server_warning": True,
            "presence": {"enabled": False},
            # Setup speed only (registration hashes); login is not measured.
            "bcrypt_rounds": 4,
            "rc_message": unlimited,
            "rc_registration": unlimited,
            "rc_registration_token_validity": unlimited,
            "rc_login": {k: unlimited for k in ("address", "account", "failed_attempts")},
            "rc_joins": {"local": unlimited, "remote": unlimited},
            "rc_joins_per_room": unlimited,
            "rc_invites": {k: unlimited for k in ("per_room", "per_user", "per_issuer")},
            "rc_room_creation": unlimited,
            "rc_3pid_validation": unlimited,
            "rc_admin_redaction": unlimited,
            "rc_key_requests": unlimited,
            "rc_presence": {"per_user": unlimited},
        }
        # JSON is YAML: no PyYAML needed here.
        cfg.write_text(json.dumps(config, indent=1))
        subprocess.run(
            [str(python), "-m", "synapse.app.homeserver", "-c", str(cfg), "--generate-keys"],
            check=True,
            capture_output=True,
            cwd=self.workdir,
        )
        log = (self.workdir / "stdout.log").open("ab")
        self.proc = subprocess.Popen(
            [str(python), "-m", "synapse.app.homeserver", "-c", str(cfg)],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.workdir,
        )
        self.url = f"http://127.0.0.1:{port}"
        wait_http(self.url + "/_matrix/client/versions", self.proc, 120)

    async def create_users(self, localparts: list[str]) -> None:
        async with aiohttp.ClientSession() as http:
            m = Matrix(self.url, http)
            sessions = await gather_limited(8, [self._register(m, lp) for lp in localparts])
        self.sessions.update(zip(localparts, sessions, strict=True))

    async def _register(self, m: Matrix, localpart: str) -> Session:
        """Synapse's shared-secret registration: it answers with an access token."""
        path = "/_synapse/admin/v1/register"
        nonce = (await m.call("GET", path))["nonce"]
        mac = hmac.new(self.secret.encode(), digestmod=hashlib.sha1)
        mac.update(f"{nonce}\0{localpart}\0{PASSWORD}\0notadmin".encode())
        data = await m.call(
            "POST",
            path,
            body={
                "nonce": nonce,
                "username": localpart,
                "password": PASSWORD,
                "admin": False,
                "mac": mac.hexdigest(),
            },
        )
        return Session(data["user_id"], data["access_token"], data.get("device_id", ""))


class Ceiling(Server):
    """The bare ASGI app on uvicorn: what any Python server could do at most."""

    def start(self) -> None:
        port = free_port()
        log = (self.workdir / "ceiling.log").open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.ceiling", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )
        self.url = f"http://127.0.0.1:{port}"
        wait_http(self.url + "/_matrix/client/versions", self.proc, 30)


def wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {timeout} s")
