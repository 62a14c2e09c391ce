"""PostgreSQL and Redis for the multi-process shape (``--shape workers``), from Debian's binaries.

Each server gets a throw-away cluster and Redis of its own on loopback, so that
what they cost (CPU, memory) is counted against that server alone. PostgreSQL is
tuned as the tests tune it (no fsync): the bench measures the homeservers, not
the disk. The bench's own starters, on purpose: the benchmark never imports the tests.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psutil

from bench.processes import stop_process


class InfraUnavailable(RuntimeError):
    pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pg_bin(name: str) -> str:
    for d in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (d / name).exists():
            return str(d / name)
    found = shutil.which(name)
    if not found:
        raise InfraUnavailable(f"{name} not found: apt-get install postgresql")
    return found


def _as_postgres(cmd: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root.
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


class Postgres:
    """A private cluster; ``dsn`` is a superuser's on 127.0.0.1."""

    def __init__(self) -> None:
        # Its own directory: the bench's work directory (0700, root's) is closed to postgres.
        self.root = Path(tempfile.mkdtemp(prefix="revier-bench-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.dsn = f"postgresql://revier@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        initdb = [_pg_bin("initdb"), "-D", str(self.data), "-U", "revier", "--auth=trust"]
        subprocess.run(
            _as_postgres([*initdb, "-E", "UTF8", "--locale=C.UTF-8"]),
            check=True,
            capture_output=True,
        )
        options = (
            f"-h 127.0.0.1 -p {self.port} -k {self.root} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=400"
        )
        pg_ctl = [_pg_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.root / "log")]
        subprocess.run(
            _as_postgres([*pg_ctl, "-w", "-o", options, "start"]),
            check=True,
            capture_output=True,
        )

    def create_database(self, name: str, *, c_collation: bool = False) -> str:
        """A fresh database; its DSN. ``c_collation``: the C locale Synapse insists on."""
        sql = f'CREATE DATABASE "{name}"'
        if c_collation:
            sql += " ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0"
        subprocess.run(
            [_pg_bin("psql"), self.dsn, "-q", "-c", sql], check=True, capture_output=True
        )
        return self.dsn.rpartition("/")[0] + f"/{name}"

    @property
    def pid(self) -> int | None:
        """The postmaster's; its children are the backends and background workers."""
        with contextlib.suppress(OSError, ValueError):
            return int((self.data / "postmaster.pid").read_text().split("\n", 1)[0])
        return None

    def stop(self) -> None:
        subprocess.run(
            _as_postgres([_pg_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(self.root, ignore_errors=True)


class Redis:
    """Loopback, no persistence."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None
        self.dir = tempfile.mkdtemp(prefix="revier-bench-redis-")

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise InfraUnavailable("redis-server not found: apt-get install redis-server")
        listen = ["--port", str(self.port), "--bind", "127.0.0.1"]
        self.proc = subprocess.Popen(
            [binary, *listen, "--save", "", "--appendonly", "no", "--dir", self.dir],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise InfraUnavailable(f"redis-server exited with {self.proc.returncode}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=1),
            ):
                return
            time.sleep(0.05)
        raise InfraUnavailable(f"redis-server did not listen on {self.port}")

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, timeout=10)
            self.proc = None
        shutil.rmtree(self.dir, ignore_errors=True)


def pss_bytes(pids: list[int]) -> int:
    """Proportional set size of the processes and their children: PostgreSQL's backends
    share its buffers, and summing their RSS would count those pages once per backend."""
    total = 0
    for pid in pids:
        try:
            root = psutil.Process(pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
        for p in procs:
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                total += p.memory_full_info().pss
    return total
