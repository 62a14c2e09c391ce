"""A push gateway on loopback that speaks the push gateway API (``POST
/_matrix/push/v1/notify``, answering ``{"rejected": [...]}``): the phone's side of
a push, for the tests and the benchmark. It records what arrives and answers
as told — 200, a 5xx, nothing at all (hang), or a pushkey listed as rejected.

asyncio and httptools only (what the server has anyway), so a benchmark run
that receives tens of thousands of pushes measures the server, not this.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import httptools
import orjson

NOTIFY = "/_matrix/push/v1/notify"
Mode = Literal["ok", "fail", "hang"]


@dataclass(frozen=True)
class Arrival:
    at: float  # time.time() when the request was complete
    body: dict[str, Any]

    @property
    def notification(self) -> dict[str, Any]:
        n: dict[str, Any] = self.body["notification"]
        return n

    @property
    def pushkey(self) -> str:
        return str(self.notification["devices"][0]["pushkey"])


@dataclass
class PushGateway:
    mode: Mode = "ok"
    fail_status: int = 503
    rejected: set[str] = field(default_factory=set)
    # Answered with 2xx (what a phone would get) and every request, answered or not.
    received: list[Arrival] = field(default_factory=list)
    attempts: list[Arrival] = field(default_factory=list)
    port: int = 0
    _server: asyncio.Server | None = None
    _changed: asyncio.Event = field(default_factory=asyncio.Event)
    _hanging: list[asyncio.Transport] = field(default_factory=list)
    _open: set[asyncio.Transport] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{NOTIFY}"

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, port: int = 0) -> PushGateway:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Receiver(self), "127.0.0.1", port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        # Server.close() leaves accepted connections open (Python 3.11): a sender
        # would go on talking to this gateway after it "stopped".
        for transport in [*self._open, *self._hanging]:
            transport.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def release_hanging(self) -> None:
        """Close the connections left without an answer (the sender sees them fail)."""
        for transport in self._hanging:
            transport.close()
        self._hanging.clear()

    def pushes(self, pushkey: str | None = None, *, attempts: bool = False) -> list[Arrival]:
        """What arrived (answered with 2xx, or with ``attempts`` every request), for
        one pushkey or all."""
        seen = self.attempts if attempts else self.received
        return [a for a in seen if pushkey is None or a.pushkey == pushkey]

    async def wait_for_event(
        self, event_id: str, pushkey: str, *, timeout_s: float = 20
    ) -> Arrival:
        """Until the push about ``event_id`` for ``pushkey`` arrived (answered with 2xx)."""
        async with asyncio.timeout(timeout_s):
            while True:
                for arrival in self.pushes(pushkey):
                    if arrival.notification.get("event_id") == event_id:
                        return arrival
                self._changed.clear()
                await self._changed.wait()

    async def wait_for(
        self,
        count: int,
        pushkey: str | None = None,
        *,
        attempts: bool = False,
        timeout_s: float = 20,
    ) -> list[Arrival]:
        """Until ``count`` pushes (for ``pushkey``) arrived; all of them."""
        async with asyncio.timeout(timeout_s):
            while len(found := self.pushes(pushkey, attempts=attempts)) < count:
                self._changed.clear()
                await self._changed.wait()
        return found

    def answer(self, path: str, raw: bytes, transport: asyncio.Transport) -> bytes | None:
        now = time.time()
        if path != NOTIFY:
            return _response(404, b'{"errcode":"M_UNRECOGNIZED"}')
        try:
            arrival = Arrival(now, orjson.loads(raw))
        except orjson.JSONDecodeError:
            return _response(400, b'{"error":"not JSON"}')
        self.attempts.append(arrival)
        self._changed.set()
        if self.mode == "hang":
            self._hanging.append(transport)
            return None
        if self.mode == "fail":
            return _response(self.fail_status, b'{"error":"try later"}')
        self.received.append(arrival)
        keys = [d.get("pushkey") for d in arrival.notification.get("devices", [])]
        return _response(200, orjson.dumps({"rejected": [k for k in keys if k in self.rejected]}))


def _response(status: int, body: bytes) -> bytes:
    reason = {200: b"OK", 400: b"Bad Request", 404: b"Not Found"}.get(status, b"Error")
    return (
        b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
        % (status, reason, len(body))
    ) + body


class _Receiver(asyncio.Protocol):
    def __init__(self, gateway: PushGateway) -> None:
        self._gateway = gateway
        self._parser = httptools.HttpRequestParser(self)
        self._transport: asyncio.Transport | None = None
        self._url = b""
        self._body: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but behave as one.
        self._transport = cast(asyncio.Transport, transport)
        self._gateway._open.add(self._transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._transport is not None:
            self._gateway._open.discard(self._transport)

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError:
            if self._transport is not None:
                self._transport.close()

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        assert self._transport is not None
        path = self._url.decode().split("?")[0]
        reply = self._gateway.answer(path, b"".join(self._body), self._transport)
        self._url, self._body = b"", []
        if reply is not None and not self._transport.is_closing():
            self._transport.write(reply)
