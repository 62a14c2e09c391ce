"""A real coturn (Debian's ``coturn``, binary ``turnserver``) on a loopback port,
and a small STUN/TURN client (RFC 5389, RFC 8656) that performs an Allocate
with the credentials revier hands out."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import secrets
import shutil
import socket
import struct
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

MAGIC_COOKIE = 0x2112A442
BINDING = 0x0001
ALLOCATE = 0x0003
SUCCESS, ERROR = 0x0100, 0x0110  # class bits added to a method
USERNAME, MESSAGE_INTEGRITY, ERROR_CODE = 0x0006, 0x0008, 0x0009
REALM, NONCE, REQUESTED_TRANSPORT = 0x0014, 0x0015, 0x0019
XOR_RELAYED_ADDRESS = 0x0016
UDP = 17


def missing_reason() -> str | None:
    """Why the TURN tests can't run here, or None."""
    if shutil.which("turnserver") is None:
        return "coturn's turnserver is not installed (scripts/test installs it: apt coturn)"
    return None


@dataclass
class Coturn:
    port: int
    realm: str
    log: Path


def _free_port() -> int:
    # Free for both UDP and TCP (coturn listens on both).
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.bind(("127.0.0.1", 0))
            port = int(u.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                try:
                    t.bind(("127.0.0.1", port))
                except OSError:
                    continue
        return port


@contextmanager
def coturn(secret: str, workdir: Path) -> Iterator[Coturn]:
    """turnserver with ``use-auth-secret`` on 127.0.0.1, no TLS, relaying on loopback."""
    port = _free_port()
    realm = "turn.test"
    log = workdir / "turnserver.log"
    relay_min = 49152 + secrets.randbelow(10000)
    args = [
        "turnserver",
        "-n",  # no configuration file
        "--listening-ip=127.0.0.1",
        f"--listening-port={port}",
        "--relay-ip=127.0.0.1",
        f"--min-port={relay_min}",
        f"--max-port={relay_min + 100}",
        "--use-auth-secret",
        f"--static-auth-secret={secret}",
        f"--realm={realm}",
        "--no-tls",
        "--no-dtls",
        "--no-cli",
        "--allow-loopback-peers",
        f"--userdb={workdir / 'turndb'}",
        f"--pidfile={workdir / 'turnserver.pid'}",
        f"--log-file={log}",
        "--simple-log",
        "--no-stdout-log",
    ]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while not _answers_binding(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"turnserver did not start: {log.read_text() if log.exists() else ''}"
                )
            time.sleep(0.1)
        yield Coturn(port, realm, log)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _answers_binding(port: int) -> bool:
    try:
        kind, _ = _exchange(port, _message(BINDING, os.urandom(12), []), timeout=0.3)
    except OSError:
        return False
    return kind == BINDING | SUCCESS


def _attr(kind: int, value: bytes) -> bytes:
    pad = (4 - len(value) % 4) % 4
    return struct.pack("!HH", kind, len(value)) + value + b"\0" * pad


def _message(method: int, txn: bytes, attrs: list[bytes], key: bytes | None = None) -> bytes:
    body = b"".join(attrs)
    if key is None:
        return struct.pack("!HHI", method, len(body), MAGIC_COOKIE) + txn + body
    # MESSAGE-INTEGRITY covers the message up to itself, with the length field
    # already counting it (RFC 5389 15.4).
    header = struct.pack("!HHI", method, len(body) + 24, MAGIC_COOKIE) + txn
    mac = hmac.new(key, header + body, hashlib.sha1).digest()
    return header + body + _attr(MESSAGE_INTEGRITY, mac)


def _parse(data: bytes) -> tuple[int, dict[int, bytes]]:
    kind, length, cookie = struct.unpack("!HHI", data[:8])
    assert cookie == MAGIC_COOKIE
    attrs: dict[int, bytes] = {}
    at = 20
    while at < 20 + length:
        a_kind, a_len = struct.unpack("!HH", data[at : at + 4])
        attrs.setdefault(a_kind, data[at + 4 : at + 4 + a_len])
        at += 4 + a_len + (4 - a_len % 4) % 4
    return kind, attrs


def _exchange(port: int, message: bytes, timeout: float = 5) -> tuple[int, dict[int, bytes]]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        return _ask(s, port, message, timeout)


def _ask(
    s: socket.socket, port: int, message: bytes, timeout: float = 5
) -> tuple[int, dict[int, bytes]]:
    s.settimeout(timeout)
    s.sendto(message, ("127.0.0.1", port))
    data, _ = s.recvfrom(65536)
    return _parse(data)


@dataclass
class AllocateResult:
    ok: bool
    error_code: int | None = None
    relayed: tuple[str, int] | None = None


def allocate(port: int, username: str, password: str) -> AllocateResult:
    """A TURN Allocate (UDP relay) with long-term credentials: the unauthenticated
    request earns a 401 with realm and nonce, the signed one the relayed address."""
    transport = _attr(REQUESTED_TRANSPORT, bytes([UDP, 0, 0, 0]))
    # One socket: the nonce belongs to this client's address and port.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        kind, attrs = _ask(s, port, _message(ALLOCATE, os.urandom(12), [transport]))
        assert kind == ALLOCATE | ERROR and _error_code(attrs) == 401, (kind, attrs)
        realm, nonce = attrs[REALM], attrs[NONCE]
        key = hashlib.md5(f"{username}:{realm.decode()}:{password}".encode()).digest()
        signed = [
            transport,
            _attr(USERNAME, username.encode()),
            _attr(REALM, realm),
            _attr(NONCE, nonce),
        ]
        kind, attrs = _ask(s, port, _message(ALLOCATE, os.urandom(12), signed, key))
    if kind != ALLOCATE | SUCCESS:
        return AllocateResult(False, _error_code(attrs))
    return AllocateResult(True, relayed=_xor_address(attrs[XOR_RELAYED_ADDRESS]))


def _error_code(attrs: dict[int, bytes]) -> int:
    value = attrs[ERROR_CODE]
    return (value[2] & 0x07) * 100 + value[3]


def _xor_address(value: bytes) -> tuple[str, int]:
    family, xport = value[1], struct.unpack("!H", value[2:4])[0]
    assert family == 0x01, "IPv4"
    address = struct.unpack("!I", value[4:8])[0] ^ MAGIC_COOKIE
    return str(ipaddress.IPv4Address(address)), xport ^ (MAGIC_COOKIE >> 16)
