"""Media: uploads, authenticated downloads, thumbnails, limits and attacks.

Every test runs against both storage engines: files under the data
directory, and a real S3-compatible store (SeaweedFS).
"""

from __future__ import annotations

import asyncio
import io
import secrets
import struct
import zlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from nio import (
    AsyncClient,
    DownloadResponse,
    MegolmEvent,
    ResizingMethod,
    RoomEncryptedFile,
    ThumbnailResponse,
    UploadResponse,
)
from nio.crypto.attachments import decrypt_attachment
from PIL import Image

from tests.integration.conftest import (
    LOOSE_LIMIT,
    PASSWORD,
    Account,
    nio_login,
    running_server,
    server_fixture,
)
from tests.integration.harness import RevierProcess
from tests.integration.matrix import auth
from tests.integration.seaweedfs import S3Server, seaweedfs
from tests.integration.test_e2e import E2eClients, encrypted_room, until, wait_knows

MiB = 1024 * 1024
MAX_UPLOAD = 201 * MiB


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    with seaweedfs() as s3:
        yield s3


@pytest.fixture(scope="session", params=["file", "s3"])
def media_server(
    engine: str, request: pytest.FixtureRequest, tmp_root: Path
) -> Iterator[RevierProcess]:
    media: dict[str, object] = {"backend": request.param}
    if request.param == "s3":
        s3: S3Server = request.getfixturevalue("s3_server")
        media |= {
            "s3_endpoint_url": s3.endpoint_url,
            "s3_access_key": s3.access_key,
            "s3_secret_key": s3.secret_key,
            "s3_bucket": "media-" + secrets.token_hex(4),
        }
    with running_server(
        engine,
        request,
        tmp_root,
        f"media-{request.param}",
        tenant_policy={
            "max_upload_bytes": MAX_UPLOAD,
            "media_quota_bytes_per_user": 1024 * MiB,
            "url_previews": True,
        },
        media=media,
        ratelimit__login_per_address=LOOSE_LIMIT,
        ratelimit__media_upload=LOOSE_LIMIT,
    ) as srv:
        yield srv


_pools: dict[str, list[str]] = {}


@pytest.fixture
def media_user(media_server: RevierProcess, password_hash: str):  # type: ignore[no-untyped-def]
    def make(prefix: str = "m") -> Account:
        # One admin run imports the accounts of the whole module: a process
        # start per account would cost more than the tests themselves.
        pool = _pools.setdefault(media_server.url, [])
        if not pool:
            pool.extend(
                media_server.import_users(
                    [f"{prefix}-{secrets.token_hex(4)}" for _ in range(24)], password_hash
                )
            )
        user_id = pool.pop()
        return Account(user_id, user_id[1:].split(":")[0], PASSWORD)

    return make


@pytest.fixture
async def client(media_server: RevierProcess, media_user) -> AsyncIterator[AsyncClient]:  # type: ignore[no-untyped-def]
    c = await nio_login(media_server, media_user())
    yield c
    await c.close()


def png(width: int = 400, height: int = 300) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


async def upload(client: AsyncClient, data: bytes, content_type: str, name: str) -> str:
    response, _ = await client.upload(
        io.BytesIO(data), content_type=content_type, filename=name, filesize=len(data)
    )
    assert isinstance(response, UploadResponse), response
    return str(response.content_uri)


def parts(mxc: str) -> tuple[str, str]:
    server_name, media_id = mxc.removeprefix("mxc://").split("/")
    return server_name, media_id


async def test_image_upload_download_and_thumbnail(client: AsyncClient) -> None:
    image = png()
    mxc = await upload(client, image, "image/png", "lage.png")
    server_name, media_id = parts(mxc)
    got = await client.download(mxc=mxc)
    assert isinstance(got, DownloadResponse), got
    assert got.body == image
    assert got.content_type == "image/png"
    thumb = await client.thumbnail(server_name, media_id, 64, 64)
    assert isinstance(thumb, ThumbnailResponse), thumb
    with Image.open(io.BytesIO(thumb.body)) as t:
        assert t.width <= 320 and t.height <= 240  # scale: the next pre-set size, kept aspect
    cropped = await client.thumbnail(server_name, media_id, 30, 30, method=ResizingMethod.crop)
    assert isinstance(cropped, ThumbnailResponse), cropped
    with Image.open(io.BytesIO(cropped.body)) as t:
        assert t.size == (32, 32)
    again = await client.thumbnail(server_name, media_id, 30, 30, method=ResizingMethod.crop)
    assert isinstance(again, ThumbnailResponse) and again.body == cropped.body


async def test_encrypted_attachment_round_trip(client: AsyncClient) -> None:
    secret = secrets.token_bytes(300_000)
    response, keys = await client.upload(
        io.BytesIO(secret),
        content_type="application/octet-stream",
        encrypt=True,
        filesize=len(secret),
    )
    assert isinstance(response, UploadResponse), response
    assert keys is not None
    got = await client.download(mxc=response.content_uri)
    assert isinstance(got, DownloadResponse)
    plain = decrypt_attachment(got.body, keys["key"]["k"], keys["hashes"]["sha256"], keys["iv"])
    assert plain == secret
    server_name, media_id = parts(str(response.content_uri))
    async with httpx.AsyncClient(base_url=client.homeserver) as http:
        r = await http.get(
            f"/_matrix/client/v1/media/thumbnail/{server_name}/{media_id}",
            params={"width": 32, "height": 32},
            headers=auth(client),
        )
    assert r.status_code == 400 and r.json()["errcode"] == "M_UNKNOWN"


async def test_no_token_no_media_and_legacy_endpoints_serve_nothing(client: AsyncClient) -> None:
    mxc = await upload(client, b"hello", "text/plain", "a.txt")
    server_name, media_id = parts(mxc)
    async with httpx.AsyncClient(base_url=client.homeserver) as http:
        r = await http.get(f"/_matrix/client/v1/media/download/{server_name}/{media_id}")
        assert r.status_code == 401 and r.json()["errcode"] == "M_MISSING_TOKEN"
        for path in ("download", "thumbnail"):
            r = await http.get(f"/_matrix/media/v3/{path}/{server_name}/{media_id}")
            assert r.status_code == 404 and r.json()["errcode"] == "M_NOT_FOUND"
        r = await http.get("/_matrix/client/v1/media/config", headers=auth(client))
        assert r.json() == {"m.upload.size": MAX_UPLOAD}


async def test_range_request(client: AsyncClient) -> None:
    data = secrets.token_bytes(100_000)
    mxc = await upload(client, data, "audio/ogg", "voice.ogg")
    server_name, media_id = parts(mxc)
    async with httpx.AsyncClient(base_url=client.homeserver) as http:
        url = f"/_matrix/client/v1/media/download/{server_name}/{media_id}"
        r = await http.get(url, headers={**auth(client), "Range": "bytes=1000-1999"})
        assert r.status_code == 206
        assert r.content == data[1000:2000]
        assert r.headers["content-range"] == f"bytes 1000-1999/{len(data)}"
        assert r.headers["accept-ranges"] == "bytes"
        r = await http.get(url, headers={**auth(client), "Range": "bytes=-10"})
        assert r.status_code == 206 and r.content == data[-10:]
        r = await http.get(url, headers={**auth(client), "Range": "bytes=999999-"})
        assert r.status_code == 200 and r.content == data  # unsatisfiable: the whole


async def test_quarantined_media_is_gone_for_everyone(
    media_server: RevierProcess, client: AsyncClient, media_user
) -> None:
    mxc = await upload(client, png(40, 40), "image/png", "x.png")
    other = await nio_login(media_server, media_user())
    try:
        assert isinstance(await other.download(mxc=mxc), DownloadResponse)
        media_server.admin("media", "quarantine", mxc)
        for c in (client, other):
            got = await c.download(mxc=mxc)
            assert not isinstance(got, DownloadResponse)
            assert got.status_code == "M_NOT_FOUND"
        listing = media_server.admin("media", "list-user-media", client.user_id)
        assert "[quarantined]" in listing
    finally:
        await other.close()


async def test_async_upload_create_then_put(
    media_server: RevierProcess, client: AsyncClient, media_user
) -> None:
    mallory = await nio_login(media_server, media_user())
    async with httpx.AsyncClient(base_url=client.homeserver) as http:
        r = await http.post("/_matrix/media/v1/create", headers=auth(client))
        assert r.status_code == 200
        mxc = r.json()["content_uri"]
        assert r.json()["unused_expires_at"] > 0
        server_name, media_id = parts(mxc)
        url = f"/_matrix/client/v1/media/download/{server_name}/{media_id}"
        r = await http.get(url, params={"timeout_ms": 100}, headers=auth(client))
        assert r.status_code == 504 and r.json()["errcode"] == "M_NOT_YET_UPLOADED"
        put = f"/_matrix/media/v3/upload/{server_name}/{media_id}"
        r = await http.put(put, content=b"mine", headers=auth(mallory))
        assert r.status_code == 403 and r.json()["errcode"] == "M_FORBIDDEN"
        await mallory.close()
        r = await http.put(
            put, content=b"later", headers={**auth(client), "Content-Type": "text/plain"}
        )
        assert r.status_code == 200 and r.json() == {}
        r = await http.put(
            put, content=b"again", headers={**auth(client), "Content-Type": "text/plain"}
        )
        assert r.status_code == 409 and r.json()["errcode"] == "M_CANNOT_OVERWRITE_MEDIA"
        r = await http.get(url, headers=auth(client))
        assert r.content == b"later"
        r = await http.put(
            f"/_matrix/media/v3/upload/{server_name}/{'A' * 32}", content=b"x", headers=auth(client)
        )
        assert r.status_code == 404


async def test_dangerous_types_are_attachments_with_sandbox(client: AsyncClient) -> None:
    cases = [
        (b"<html><script>alert(1)</script></html>", "text/html", "attachment"),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>1</script></svg>',
            "image/svg+xml",
            "attachment",
        ),
        (png(8, 8), "image/png", "inline"),
    ]
    async with httpx.AsyncClient(base_url=client.homeserver) as http:
        for body, content_type, disposition in cases:
            mxc = await upload(client, body, content_type, 'evil"\r\nX-Injected: 1.html')
            server_name, media_id = parts(mxc)
            r = await http.get(
                f"/_matrix/client/v1/media/download/{server_name}/{media_id}", headers=auth(client)
            )
            assert r.status_code == 200
            assert r.headers["content-disposition"].startswith(disposition)
            assert "x-injected" not in r.headers
            assert r.headers["x-content-type-options"] == "nosniff"
            assert r.headers["content-security-policy"].startswith("sandbox")
            assert r.content == body


@pytest.mark.parametrize(
    "path",
    [
        "{server}/..%2F..%2Frevier.toml",
        "{server}/%2e%2e%2f%2e%2e%2frevier.toml",
        "{server}/..",
        "..%2F..%2F/revier.toml",
        "{server}/%2Fetc%2Fpasswd",
        "{server}/{media_id}/..%2F..%2F..%2Frevier.toml",
        "{server}/abc%00def",
    ],
)
async def test_path_traversal_serves_nothing(
    media_server: RevierProcess, client: AsyncClient, path: str
) -> None:
    mxc = await upload(client, b"x", "text/plain", "a.txt")
    server_name, media_id = parts(mxc)
    secret = (media_server.config).read_bytes()
    async with httpx.AsyncClient(base_url=client.homeserver) as http:
        target = path.format(server=server_name, media_id=media_id)
        r = await http.get(f"/_matrix/client/v1/media/download/{target}", headers=auth(client))
        if r.status_code == 200:  # only the file name part: still our own upload
            assert r.content == b"x"
        else:
            assert 400 <= r.status_code < 500
        assert secret not in r.content


async def test_forged_server_name_is_not_found(client: AsyncClient) -> None:
    mxc = await upload(client, b"x", "text/plain", "a.txt")
    _, media_id = parts(mxc)
    async with httpx.AsyncClient(base_url=client.homeserver) as http:
        for server_name in ("evil.example", "localhost:1", "127.0.0.1"):
            r = await http.get(
                f"/_matrix/client/v1/media/download/{server_name}/{media_id}", headers=auth(client)
            )
            assert r.status_code == 404 and r.json()["errcode"] == "M_NOT_FOUND"


async def test_oversized_upload_is_refused_and_nothing_stored(
    media_server: RevierProcess, client: AsyncClient
) -> None:
    async def body(total: int) -> AsyncIterator[bytes]:
        chunk = b"\0" * MiB
        for _ in range(total // MiB):
            yield chunk

    async with httpx.AsyncClient(base_url=client.homeserver, timeout=60) as http:
        # Streamed without a length: cut off once the limit is passed.
        try:
            r = await http.post(
                "/_matrix/media/v3/upload", content=body(MAX_UPLOAD + MiB), headers=auth(client)
            )
            assert r.status_code == 413 and r.json()["errcode"] == "M_TOO_LARGE"
        except httpx.TransportError:
            pass  # the 413 came while the client was still sending: the server hung up
    # Declared too large: refused before a byte of the body is read.
    host, port = client.homeserver.removeprefix("http://").rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        b"POST /_matrix/media/v3/upload HTTP/1.1\r\nHost: localhost\r\n"
        + f"Authorization: Bearer {client.access_token}\r\n".encode()
        + f"Content-Length: {MAX_UPLOAD + 1}\r\n\r\n".encode()
    )
    await writer.drain()
    head = b""
    while b"}" not in head:  # the JSON error body may come in a later packet
        part = await asyncio.wait_for(reader.read(4096), timeout=10)
        if not part:
            break
        head += part
    writer.close()
    assert head.startswith(b"HTTP/1.1 413") and b"M_TOO_LARGE" in head
    assert "0 items" in media_server.admin("media", "list-user-media", client.user_id)


def _rss(pid: int) -> int:
    return int(psutil.Process(pid).memory_info().rss)


def _peak(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


async def test_a_200_mib_upload_streams(media_server: RevierProcess, client: AsyncClient) -> None:
    assert media_server.proc is not None
    pid = media_server.proc.pid
    await asyncio.to_thread(Path(f"/proc/{pid}/clear_refs").write_text, "5")  # reset VmHWM
    before = _rss(pid)

    async def body() -> AsyncIterator[bytes]:
        chunk = secrets.token_bytes(MiB)
        for _ in range(200):
            yield chunk

    async with httpx.AsyncClient(base_url=client.homeserver, timeout=120) as http:
        r = await http.post(
            "/_matrix/media/v3/upload",
            content=body(),
            headers={**auth(client), "Content-Type": "video/mp4"},
        )
        assert r.status_code == 200, r.text
        server_name, media_id = parts(r.json()["content_uri"])
        url = f"/_matrix/client/v1/media/download/{server_name}/{media_id}"
        size = 0
        async with http.stream("GET", url, headers=auth(client)) as response:
            async for chunk in response.aiter_bytes():
                size += len(chunk)
    assert size == 200 * MiB
    grown = _peak(pid) - before
    assert grown < 50 * MiB, f"peak RSS grew by {grown // MiB} MiB"
    media_server.admin("media", "delete-user-media", client.user_id)
    assert "0 items" in media_server.admin("media", "list-user-media", client.user_id)


async def test_url_previews_are_off_by_default(server: RevierProcess, make_user) -> None:
    alice = await nio_login(server, make_user("preview"))
    try:
        async with httpx.AsyncClient(base_url=server.url) as http:
            r = await http.get(
                "/_matrix/client/v1/media/preview_url",
                params={"url": "https://matrix.org/"},
                headers=auth(alice),
            )
        assert r.status_code == 403 and r.json()["errcode"] == "M_FORBIDDEN"
    finally:
        await alice.close()


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("http://127.0.0.1:{port}/_matrix/client/versions", 403),
        ("http://localhost:{port}/", 403),
        ("http://[::1]:{port}/", 403),
        ("http://169.254.169.254/latest/meta-data/", 403),
        ("http://10.0.0.1/", 403),
        ("http://0x7f000001/", 403),
        ("file:///etc/passwd", 400),
        ("gopher://127.0.0.1/", 400),
    ],
)
async def test_url_previews_never_reach_private_addresses(
    client: AsyncClient, url: str, status: int
) -> None:
    port = client.homeserver.rsplit(":", 1)[1]
    async with httpx.AsyncClient(base_url=client.homeserver) as http:
        r = await http.get(
            "/_matrix/client/v1/media/preview_url",
            params={"url": url.format(port=port)},
            headers=auth(client),
        )
    assert r.status_code == status, r.text


def bomb_png(width: int, height: int) -> bytes:
    """A valid PNG header announcing a huge image, with almost no pixel data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 1000))
        + chunk(b"IEND", b"")
    )


async def test_decompression_bomb_gets_no_thumbnail(client: AsyncClient) -> None:
    mxc = await upload(client, bomb_png(60_000, 60_000), "image/png", "bomb.png")
    server_name, media_id = parts(mxc)
    async with httpx.AsyncClient(base_url=client.homeserver) as http:
        r = await http.get(
            f"/_matrix/client/v1/media/thumbnail/{server_name}/{media_id}",
            params={"width": 96, "height": 96, "method": "crop"},
            headers=auth(client),
        )
    assert r.status_code == 413 and r.json()["errcode"] == "M_TOO_LARGE"


async def test_encrypted_file_in_an_encrypted_room(
    media_server: RevierProcess, media_user, tmp_path: Path
) -> None:
    clients = E2eClients(media_server, tmp_path)
    try:
        alice = await clients.login(media_user("alice"), "alice-phone")
        bob = await clients.login(media_user("bob"), "bob-laptop")
        room_id = await encrypted_room(alice, bob)
        await wait_knows(alice, bob.user_id, str(bob.device_id))
        secret = secrets.token_bytes(50_000)
        response, keys = await alice.upload(
            io.BytesIO(secret), content_type="application/pdf", encrypt=True, filesize=len(secret)
        )
        assert isinstance(response, UploadResponse) and keys is not None
        await alice.room_send(
            room_id,
            "m.room.message",
            {
                "msgtype": "m.file",
                "body": "einsatzplan.pdf",
                "file": {"url": response.content_uri, **keys},
            },
            ignore_unverified_devices=True,
        )

        def found(sync: Any) -> Any:
            room = sync.rooms.join.get(room_id)
            for event in room.timeline.events if room else []:
                if isinstance(event, (RoomEncryptedFile, MegolmEvent)):
                    return event
            return None

        event = await until(bob, found)
        assert isinstance(event, RoomEncryptedFile), event
        got = await bob.download(mxc=event.url)
        assert isinstance(got, DownloadResponse)
        plain = decrypt_attachment(got.body, event.key["k"], event.hashes["sha256"], event.iv)
        assert plain == secret
    finally:
        for c in clients.clients:
            await c.close()


# Tiny quota, media IDs that expire after a second.
strict_server = server_fixture(
    "media-strict",
    scope="session",
    tenant_policy={"media_quota_bytes_per_user": 4096},
    media={"unused_expires_seconds": 1},
    ratelimit__login_per_address=LOOSE_LIMIT,
)


async def test_quota_and_expiry_of_unused_media_ids(
    strict_server: RevierProcess, password_hash: str
) -> None:
    (user_id,) = strict_server.import_users([f"q-{secrets.token_hex(4)}"], password_hash)
    alice = await nio_login(strict_server, Account(user_id, user_id[1:].split(":")[0], PASSWORD))
    try:
        await upload(alice, b"x" * 3000, "text/plain", "a.txt")
        async with httpx.AsyncClient(base_url=strict_server.url) as http:
            r = await http.post(
                "/_matrix/media/v3/upload", content=b"y" * 2000, headers=auth(alice)
            )
            assert r.status_code == 403 and r.json()["errcode"] == "M_FORBIDDEN"
            r = await http.post("/_matrix/media/v1/create", headers=auth(alice))
            server_name, media_id = parts(r.json()["content_uri"])
            # Waiting for the content outlives the ID's one second.
            r = await http.get(
                f"/_matrix/client/v1/media/download/{server_name}/{media_id}",
                params={"timeout_ms": 1500},
                headers=auth(alice),
            )
            assert r.status_code == 504
            r = await http.put(
                f"/_matrix/media/v3/upload/{server_name}/{media_id}",
                content=b"late",
                headers=auth(alice),
            )
            assert r.status_code == 404 and r.json()["errcode"] == "M_NOT_FOUND"
    finally:
        await alice.close()
