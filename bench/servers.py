"""Start revier and the bare ASGI ceiling (the reference server: bench/reference.py).

Both homeservers are equally configured: loopback, rate limits off, presence
off, no federation listener; in one of two shapes:

- ``workers == 0`` (the default): one process on SQLite in a fresh temporary directory;
- ``workers == N``: the multi-process production shape, N processes serving one
  installation on PostgreSQL with Redis (each server its own cluster and Redis,
  bench/infra.py), requests routed per user by bench/routing.py.

Users are made in bulk (revier's ``admin user import``, Synapse's shared-secret
registration) and logged in once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import psutil

from bench.client import PASSWORD, Matrix, Session, gather_limited
from bench.infra import Postgres, Redis
from bench.processes import stop_process, wait_ready
from bench.routing import Router

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tree(pid: int) -> list[psutil.Process]:
    """The process and all its children (empty if it is gone)."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def rss_bytes(pids: int | Sequence[int]) -> int:
    """RSS of the processes and all their children."""
    total = 0
    for pid in [pids] if isinstance(pids, int) else pids:
        for p in _tree(pid):
            with contextlib.suppress(psutil.NoSuchProcess):
                total += p.memory_info().rss
    return total


def cpu_seconds(pids: int | Sequence[int]) -> float:
    """CPU time (user + system) used so far by the processes and all their children,
    the children that ended included: PostgreSQL's postmaster reaps a backend that
    ends, and its time then moves to the postmaster's ``children_*`` counters (a
    sum over the living alone would shrink)."""
    total = 0.0
    for pid in [pids] if isinstance(pids, int) else pids:
        for k, p in enumerate(_tree(pid)):
            with contextlib.suppress(psutil.NoSuchProcess):
                t = p.cpu_times()
                total += t.user + t.system
                if k == 0:
                    total += t.children_user + t.children_system
    return total


@dataclass
class Server:
    name: str
    workdir: Path
    url: str = ""
    proc: subprocess.Popen[bytes] | None = None
    version: str = ""
    sessions: dict[str, Session] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)  # rooms made once, reused by runs
    # 0: one process on SQLite; N: N worker processes on PostgreSQL with Redis.
    workers: int = 0
    # The processes beyond ``proc`` (the other workers), and what routes requests to them.
    others: list[subprocess.Popen[bytes]] = field(default_factory=list)
    router: Router | None = None
    postgres: Postgres | None = None
    redis: Redis | None = None
    progress: Callable[[str], None] | None = None

    @property
    def pid(self) -> int:
        """The first (or only) process: py-spy's target."""
        assert self.proc is not None
        return self.proc.pid

    @property
    def pids(self) -> list[int]:
        """Every process of the server: CPU and memory are summed over them."""
        return [self.pid, *(p.pid for p in self.others)]

    @property
    def infra_pids(self) -> list[int]:
        """PostgreSQL's postmaster and Redis: part of the cost of the workers shape,
        reported apart from the server's own."""
        found = [
            self.postgres.pid if self.postgres else None,
            self.redis.pid if self.redis else None,
        ]
        return [pid for pid in found if pid]

    @property
    def shape(self) -> str:
        if not self.workers:
            return "1 process, SQLite"
        return f"{self.workers} worker{'s' if self.workers > 1 else ''}, PostgreSQL, Redis"

    def matrix(self, http: aiohttp.ClientSession) -> Matrix:
        return Matrix(self.url, http, self.router)

    async def long_polls_waiting(self, http: aiohttp.ClientSession) -> int | None:
        """How many long-polls the server has parked, summed over its processes;
        None where the server doesn't say (only revier does, in its metrics)."""
        return None

    def start_infra(self, database: str, *, c_collation: bool = False) -> tuple[str, str]:
        """A PostgreSQL cluster and a Redis for this server; the database's DSN and Redis's URL."""
        self.postgres, self.redis = Postgres(), Redis()
        self.postgres.start()
        self.redis.start()
        return self.postgres.create_database(database, c_collation=c_collation), self.redis.url

    def stop(self) -> None:
        for proc in [*self.others, *([self.proc] if self.proc else [])]:
            stop_process(proc)
        self.others, self.proc = [], None
        for infra in (self.redis, self.postgres):
            if infra is not None:
                infra.stop()
        self.redis = self.postgres = None

    def say(self, msg: str) -> None:
        if self.progress:
            self.progress(f"{self.name}: {msg}")

    async def create_users(self, localparts: list[str]) -> None:
        raise NotImplementedError

    async def login_all(self, localparts: list[str]) -> None:
        """One session per user (each on its worker), with progress for big counts."""
        async with aiohttp.ClientSession() as http:
            m = self.matrix(http)
            for start in range(0, len(localparts), 1000):
                batch = localparts[start : start + 1000]
                sessions = await gather_limited(16, [m.login(lp) for lp in batch])
                self.sessions.update(zip(batch, sessions, strict=True))
                if len(localparts) > 2000:
                    self.say(f"logged in {start + len(batch)}/{len(localparts)}")


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
                    *self._shared_database(),
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
        # One after the other: the first applies the database's migrations.
        urls = [self._serve(k) for k in range(max(self.workers, 1))]
        self.url = urls[0]
        if self.workers:
            # Every revier process serves every endpoint: a user's requests all go to its worker.
            self.router = Router(main=urls[0], workers=urls)

    async def long_polls_waiting(self, http: aiohttp.ClientSession) -> int | None:
        total = 0.0
        for url in self.router.workers if self.router else [self.url]:
            async with http.get(f"{url}/_revier/metrics") as r:
                text = await r.text()
            for line in text.splitlines():
                if line.startswith("revier_long_polls_waiting "):
                    total += float(line.split()[1])
        return int(total)

    def _shared_database(self) -> list[str]:
        """The workers shape's [database] and [notify]: PostgreSQL and Redis of their own."""
        if not self.workers:
            return []
        dsn, redis_url = self.start_infra("revier")
        return ["[database]", f'url = "{dsn}"', "[notify]", f'redis_url = "{redis_url}"']

    def _serve(self, k: int) -> str:
        """Start worker ``k`` (each on its own ephemeral port); its URL."""
        log_path = self.workdir / ("server.log" if k == 0 else f"server-{k}.log")
        proc = subprocess.Popen(
            [sys.executable, "-m", "revier", "serve", "--config", str(self.config)],
            stdout=subprocess.PIPE,
            stderr=log_path.open("ab"),
            env=self.env,
            cwd=self.workdir,
        )
        if k == 0:
            self.proc = proc
        else:
            self.others.append(proc)
        url = wait_ready(proc, 120)
        if url is None:
            raise RuntimeError(f"revier did not start; see {log_path}")
        return url

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
        self.say(f"imported {len(localparts)} users")
        await self.login_all(localparts)


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
