"""The deployment recipes under deploy/, each checked the way it can be here.

- nginx (Debian's): the example file itself, with test names, ports and a
  self-signed certificate put in, started in front of a real revier and driven
  by matrix-nio over TLS; delegation, the client address and the metrics block.
- systemd: ``systemd-analyze verify`` and its offline security score.
- the Containerfile: hadolint; built and started only where a container
  engine runs (none does on the development machines).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from nio import AsyncClient, LoginResponse, RoomSendResponse

from revier.services.sync.sync import MAX_TIMEOUT_MS
from tests.integration.harness import PASSWORD, REPO, RevierProcess
from tests.integration.matrix import next_timeline_event

DEPLOY = REPO / "deploy"
NGINX_SITE = DEPLOY / "nginx" / "revier.conf"
UNIT = DEPLOY / "systemd" / "revier.service"
CONTAINERFILE = DEPLOY / "container" / "Containerfile"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def self_signed(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def site_for_test(upstream: str, tls_port: int, http_port: int, cert: Path, key: Path) -> str:
    """deploy/nginx/revier.conf with the test's names: matrix.example.org is
    ``localhost`` (revier), example.org is ``127.0.0.1`` (the delegating domain)."""
    site = NGINX_SITE.read_text()
    site = re.sub(r"\n\s*listen \[::\]:\d+[^;]*;", "", site)  # loopback IPv4 only here
    site = site.replace("server 127.0.0.1:8008;", f"server {upstream};")
    site = site.replace("listen 443 ", f"listen 127.0.0.1:{tls_port} ")
    site = site.replace("listen 80;", f"listen 127.0.0.1:{http_port};")
    site = re.sub(r"/etc/ssl/[^;]*/fullchain\.pem", str(cert), site)
    site = re.sub(r"/etc/ssl/[^;]*/privkey\.pem", str(key), site)
    site = site.replace("https://matrix.example.org", f"https://localhost:{tls_port}")
    return site.replace("matrix.example.org", "localhost").replace("example.org", "127.0.0.1")


@pytest.fixture
def proxied(server: RevierProcess, tmp_path: Path) -> Iterator[tuple[str, int, ssl.SSLContext]]:
    """nginx with the example site in front of the shared revier: its https URL,
    its plain-HTTP port and a TLS context that trusts its certificate."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.path.exists(nginx):
        pytest.skip("nginx is not installed (scripts/test installs it from Debian's packages)")
    cert, key = self_signed(tmp_path)
    tls_port, http_port = free_port(), free_port()
    upstream = server.url.removeprefix("http://")
    (tmp_path / "site.conf").write_text(site_for_test(upstream, tls_port, http_port, cert, key))
    temp = {name: tmp_path / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    user = "user root;" if os.geteuid() == 0 else ""  # workers read the test's 0700 directory
    (tmp_path / "nginx.conf").write_text(
        f"""{user}
daemon off;
pid {tmp_path / "nginx.pid"};
error_log {tmp_path / "error.log"};
events {{}}
http {{
    access_log {tmp_path / "access.log"};
    client_body_temp_path {temp["body"]};
    proxy_temp_path {temp["proxy"]};
    fastcgi_temp_path {temp["fastcgi"]};
    uwsgi_temp_path {temp["uwsgi"]};
    scgi_temp_path {temp["scgi"]};
    include {tmp_path / "site.conf"};
}}
"""
    )
    proc = subprocess.Popen([nginx, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")])
    try:
        deadline = time.monotonic() + 20
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", tls_port)) == 0:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"nginx did not start: {(tmp_path / 'error.log').read_text()}")
            time.sleep(0.05)
        yield f"https://localhost:{tls_port}", http_port, ssl.create_default_context(cafile=cert)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.one_engine  # the proxy doesn't care where revier keeps its data
async def test_matrix_nio_through_nginx_with_tls(
    proxied: tuple[str, int, ssl.SSLContext], server: RevierProcess, make_user, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    url, http_port, tls = proxied
    alice, bob = make_user("proxied"), make_user("proxied")
    clients = []
    for account in (alice, bob):
        client = AsyncClient(url, account.user_id, ssl=tls)  # type: ignore[arg-type]  # aiohttp takes a context
        response = await client.login(PASSWORD, device_name="behind nginx")
        assert isinstance(response, LoginResponse), response
        clients.append(client)
    a, b = clients
    try:
        room = await a.room_create(invite=[bob.user_id])
        room_id = room.room_id  # type: ignore[union-attr]
        await b.join(room_id)
        await b.sync(timeout=0)
        # Bob's long-poll waits at revier, through nginx, until Alice's message arrives.
        waiting = asyncio.create_task(next_timeline_event(b, room_id, timeout_s=20))
        sent = await a.room_send(
            room_id, "m.room.message", {"msgtype": "m.text", "body": "via TLS"}
        )
        assert isinstance(sent, RoomSendResponse), sent
        event = await waiting
        assert event.source["content"]["body"] == "via TLS"
    finally:
        for client in clients:
            await client.close()

    async with httpx.AsyncClient(verify=tls) as http:
        # The organisation's domain delegates to the server's name.
        well_known = await http.get(
            f"https://127.0.0.1:{url.rsplit(':', 1)[1]}/.well-known/matrix/client"
        )
        metrics = await http.get(f"{url}/_revier/metrics")
        plain = await http.get(f"http://127.0.0.1:{http_port}/_matrix/client/versions")
    assert well_known.json() == {"m.homeserver": {"base_url": url}}
    assert metrics.status_code == 404  # kept inside
    assert plain.status_code == 301 and plain.headers["location"].startswith("https://")

    # revier sees the client's address, not the proxy's: a request from 127.0.0.2.
    transport = httpx.AsyncHTTPTransport(local_address="127.0.0.2", verify=tls)
    async with httpx.AsyncClient(transport=transport) as http:
        marker = f"/_matrix/client/v3/profile/@nobody-{os.getpid()}:localhost"
        await http.get(f"{url}{marker}")
    deadline = time.monotonic() + 10
    while marker not in (log := server.log_path.read_text()):
        assert time.monotonic() < deadline, "no access log line for the request"
        await asyncio.sleep(0.05)
    line = next(line for line in log.splitlines() if marker in line)
    assert "client=127.0.0.2" in line, line


def test_nginx_waits_longer_than_the_longest_sync() -> None:
    timeouts = re.findall(r"proxy_read_timeout (\d+)s;", NGINX_SITE.read_text())
    assert timeouts and all(int(t) > MAX_TIMEOUT_MS / 1000 for t in timeouts)


def test_systemd_unit_verifies_and_is_hardened(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    unit = UNIT.read_text()
    for directive in (
        "User=revier",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "CapabilityBoundingSet=\n",
        "UMask=0077",
        "RestartPreventExitStatus=2",
    ):
        assert directive in unit, directive
    # verify wants ExecStart's program to exist: this machine's Python stands in.
    copy = tmp_path / "revier.service"
    copy.write_text(unit.replace("/opt/revier/.venv/bin/revier", sys.executable))
    verified = subprocess.run([analyze, "verify", str(copy)], capture_output=True, text=True)
    assert verified.returncode == 0 and "revier.service" not in verified.stderr, verified.stderr
    scored = subprocess.run(
        [analyze, "security", "--offline=true", str(copy)], capture_output=True, text=True
    )
    if scored.returncode != 0 and "offline" in scored.stderr:
        return  # a systemd older than 250 has no offline score
    exposure = re.search(r"Overall exposure level for revier\.service: ([\d.]+)", scored.stdout)
    assert exposure is not None, scored.stdout[-500:]
    assert float(exposure.group(1)) <= 2.0, scored.stdout  # "OK" on systemd's scale


def test_containerfile_lints_clean() -> None:
    hadolint = Path(sys.executable).parent / "hadolint"
    result = subprocess.run(
        [str(hadolint), "--no-color", str(CONTAINERFILE)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    text = CONTAINERFILE.read_text()
    assert re.search(r"^FROM \S*python:3\.11-slim-bookworm$", text, re.MULTILINE)
    assert "--require-hashes --requirement requirements/runtime.txt" in text
    assert re.search(r"^USER 10001:10001$", text, re.MULTILINE)  # never root
    for source in re.findall(r"^COPY (.+) \S+$", text, re.MULTILINE):
        for path in source.split():
            assert (REPO / path).exists(), path


def test_container_image_builds_and_serves(tmp_path: Path) -> None:
    engine = next(
        (
            tool
            for tool in ("podman", "docker")
            if shutil.which(tool)
            and subprocess.run([tool, "info"], capture_output=True).returncode == 0
        ),
        None,
    )
    if engine is None:
        pytest.skip("no container engine runs here (podman or docker): the Containerfile is linted")
    tag = f"revier-test-{os.getpid()}"
    subprocess.run(
        [engine, "build", "-f", str(CONTAINERFILE), "-t", tag, str(REPO)],
        check=True,
        timeout=1800,
    )
    (tmp_path / "revier.toml").write_text('[[tenants]]\nserver_name = "localhost"\n')
    port = free_port()
    run = subprocess.run(
        [
            *(engine, "run", "-d", "--rm", "-p", f"127.0.0.1:{port}:8008"),
            *("-v", f"{tmp_path / 'revier.toml'}:/etc/revier/revier.toml:ro", tag),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    container = run.stdout.strip()
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
                if health.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the container never became healthy"
            time.sleep(0.5)
        assert json.loads(health.text) == {"status": "ok"}
    finally:
        stopped = subprocess.run([engine, "stop", container], capture_output=True, timeout=60)
        assert stopped.returncode == 0
