"""Link previews (GET /media/preview_url): off unless the tenant turns them on.

Fetching URLs on a user's behalf makes the server a proxy into the
organisation's network. Every address a name resolves to must be public
(no loopback, private, link-local, multicast or reserved ranges), the
connection goes to exactly the address that was checked (no second DNS
answer can swap it), each redirect is checked again, and size and time are
capped.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import anyio
import httpx

from revier.errors import Forbidden, InvalidParam, Unknown
from revier.policy.url_preview import is_public_address, parse_open_graph
from revier.services.core import Requester
from revier.services.media import MediaService, Upload

MAX_PAGE_BYTES = 1024 * 1024
MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_REDIRECTS = 5
TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Fetched:
    url: str
    content_type: str
    body: bytes


class UrlPreviewService:
    def __init__(self, media: MediaService) -> None:
        self._media = media

    async def preview(self, requester: Requester, url: str) -> dict[str, Any]:
        if not requester.tenant.policy.url_previews:
            raise Forbidden("URL previews are disabled on this server")
        try:
            with anyio.fail_after(TIMEOUT_S):
                page = await fetch(url, MAX_PAGE_BYTES)
        except TimeoutError:
            raise Unknown("Fetching the URL took too long") from None
        if not page.content_type.startswith("text/html"):
            return {}
        og = parse_open_graph(page.body.decode("utf-8", "replace"))
        image = og.pop("og:image", None)
        if image:
            og.update(await self._image(requester, urljoin(page.url, image)))
        return og

    async def _image(self, requester: Requester, url: str) -> dict[str, Any]:
        try:
            with anyio.fail_after(TIMEOUT_S):
                image = await fetch(url, MAX_IMAGE_BYTES)
        except (TimeoutError, Forbidden, Unknown, InvalidParam):
            return {}
        if not image.content_type.startswith("image/"):
            return {}

        async def chunks() -> Any:
            yield image.body

        uri = await self._media.upload(
            requester, Upload(chunks(), image.content_type, None, len(image.body))
        )
        return {
            "og:image": uri,
            "og:image:type": image.content_type,
            "matrix:image:size": len(image.body),
        }


async def fetch(url: str, limit: int) -> Fetched:
    """GET ``url`` to at most ``limit`` bytes, refusing any non-public address."""
    for _ in range(MAX_REDIRECTS + 1):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidParam("Only http and https URLs can be previewed")
        address = await _public_address(parts.hostname, parts.port)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        host = f"[{address}]" if ":" in address else address
        target = parts._replace(netloc=f"{host}:{port}").geturl()
        async with (
            httpx.AsyncClient(timeout=TIMEOUT_S, trust_env=False) as client,
            client.stream(
                "GET",
                target,
                headers={"Host": parts.netloc.rsplit("@", 1)[-1], "User-Agent": "revier"},
                extensions={"sni_hostname": parts.hostname},
            ) as response,
        ):
            if response.is_redirect and "location" in response.headers:
                url = urljoin(url, response.headers["location"])
                continue
            if response.status_code != 200:
                raise Unknown(f"The URL answered {response.status_code}")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > limit:
                    break
            return Fetched(url, response.headers.get("content-type", ""), bytes(body[:limit]))
    raise Unknown("Too many redirects")


async def _public_address(hostname: str, port: int | None) -> str:
    try:
        infos = await anyio.getaddrinfo(hostname, port or 80, type=socket.SOCK_STREAM)
    except OSError:
        raise Unknown("The URL's host does not resolve") from None
    addresses = {str(info[4][0]) for info in infos}
    if not all(is_public_address(a) for a in addresses):
        raise Forbidden("The URL points into a private network")
    if not addresses:
        raise Unknown("The URL's host does not resolve")
    return sorted(addresses)[0]
