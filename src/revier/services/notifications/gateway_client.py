"""HTTP/1.1 to push gateways: one POST of JSON, one answer, kept-alive connections.

Why not httpx (used elsewhere for outbound HTTP): a message to a room of 200
people with phones is 200 requests, sent by the process that also answers the
clients. Measured on this kind of machine against a loopback gateway, client
CPU per request: httpx 0.29 about 0.9 ms (2.6 ms with 50 in flight), aiohttp
0.11 to 0.17 ms, a bare asyncio protocol with httptools (the C parser uvicorn
already uses) about 0.015 ms. This is the bare protocol plus what a push needs.

When more pushes are under way than there are connections, requests are
pipelined (HTTP/1.1: answered in order) and the requests of one loop
iteration go out in one write per connection: on loopback a write costs the
sender the receiving side's work too, and one per push was the biggest cost
of a message to a big room. A request on a connection that closes before its
answer began is sent again once, on a fresh connection (the gateway did not
take it, or dropped the connection on a kept-alive reuse).

What it deliberately does not do, so that a pusher reaches nothing but the
gateway the tenant allowed: no redirects, no proxies from the environment, no
cookies, no method or path but the pusher's URL. Answers are cut off at
``MAX_ANSWER_BYTES``; every request has a deadline. HTTPS verifies the
certificate and host name with the system's trust store.
"""

from __future__ import annotations

import asyncio
import collections
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast
from urllib.parse import urlsplit

import httptools

MAX_ANSWER_BYTES = 64 * 1024
MAX_PIPELINE = 8


class GatewayError(Exception):
    """No answer: the connection failed, broke, timed out, or the answer was not HTTP."""


class _NotTaken(GatewayError):
    """The connection ended before this request's answer began: safe to send again."""


@dataclass(frozen=True, slots=True)
class GatewayUrl:
    """A pusher's ``data.url``, parsed once, with its request head up to the length."""

    scheme: str
    host: str
    port: int
    path: str
    head: bytes

    @classmethod
    def parse(cls, url: str) -> GatewayUrl:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not a gateway URL: {url!r}")
        default = 443 if parts.scheme == "https" else 80
        port = parts.port or default
        try:
            name = parts.hostname.encode("idna").decode("ascii")
            path = (parts.path or "/").encode("ascii")
        except UnicodeError:
            raise ValueError(f"not a gateway URL: {url!r}") from None
        host = f"[{name}]" if ":" in name else name
        host_header = host if port == default else f"{host}:{port}"
        head = b"POST %s HTTP/1.1\r\nHost: %s\r\n" % (path, host_header.encode())
        head += (
            b"User-Agent: revier\r\nContent-Type: application/json\r\n"
            b"Accept: application/json\r\nContent-Length: "
        )
        return cls(parts.scheme, parts.hostname, port, parts.path or "/", head)

    @property
    def origin(self) -> tuple[str, str, int]:
        return (self.scheme, self.host, self.port)

    @property
    def origin_text(self) -> str:
        """As the tenant's ``push_gateways`` list it (``config.gateway_origin``)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host.lower()}:{self.port}"


@dataclass(slots=True)
class Answer:
    status: int
    body: bytes


class _Connection(asyncio.Protocol):
    """One kept-alive connection; requests on it are answered in order."""

    def __init__(self, on_free: Callable[[_Connection], None]) -> None:
        self._on_free = on_free  # nothing asked of it any more: the pool takes it back
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.waiting: collections.deque[asyncio.Future[Answer]] = collections.deque()
        self._parser = httptools.HttpResponseParser(self)
        self._out: list[bytes] = []
        self._flush: asyncio.Handle | None = None
        self._body: list[bytes] = []
        self._size = 0
        self._begun = False  # the answer of ``waiting[0]`` has begun

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but behave as one.
        self.transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail_all()

    def data_received(self, data: bytes) -> None:
        if not self.waiting:  # nothing was asked: not a gateway we understand
            self.close()
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as e:
            self._fail_head(GatewayError(f"not an HTTP answer: {e}"))
            self.close()

    def request(self, data: bytes) -> asyncio.Future[Answer]:
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Answer] = loop.create_future()
        if self.closed:
            waiter.set_exception(_NotTaken("the connection closed"))
            return waiter
        self.waiting.append(waiter)
        self._out.append(data)
        if self._flush is None:
            self._flush = loop.call_soon(self._write)
        return waiter

    def _write(self) -> None:
        self._flush = None
        if self.transport is not None and not self.closed:
            self.transport.writelines(self._out)
        self._out = []

    # httptools callbacks
    def on_message_begin(self) -> None:
        self._begun = True

    def on_body(self, body: bytes) -> None:
        self._size += len(body)
        if self._size > MAX_ANSWER_BYTES:
            self._fail_head(GatewayError(f"answer over {MAX_ANSWER_BYTES} bytes"))
            self.close()
            return
        self._body.append(body)

    def on_message_complete(self) -> None:
        answer = Answer(self._parser.get_status_code(), b"".join(self._body))
        self._body, self._size, self._begun = [], 0, False
        if self.waiting:
            waiter = self.waiting.popleft()
            if not waiter.done():
                waiter.set_result(answer)
        if not self._parser.should_keep_alive():
            self.close()
        elif not self.waiting:
            self._on_free(self)

    def _fail_head(self, error: GatewayError) -> None:
        if self.waiting:
            waiter = self.waiting.popleft()
            if not waiter.done():
                waiter.set_exception(error)
        self._begun = False

    def _fail_all(self) -> None:
        begun = self._begun
        while self.waiting:
            waiter = self.waiting.popleft()
            if not waiter.done():
                waiter.set_exception(
                    GatewayError("the gateway closed the connection")
                    if begun
                    else _NotTaken("the connection closed before an answer")
                )
            begun = False

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            if self.transport is not None:
                self.transport.close()
            self._fail_all()


@dataclass
class _Pool:
    """The connections to one gateway: at most ``limit`` open."""

    limit: int
    conns: list[_Connection] = field(default_factory=list)
    free: list[_Connection] = field(default_factory=list)  # open, nothing asked of them
    connecting: int = 0
    turn: int = 0  # where the last look for a connection to pipeline on ended
    waiters: collections.deque[asyncio.Future[None]] = field(default_factory=collections.deque)


class GatewayClient:
    def __init__(self, *, timeout_s: float, max_connections: int) -> None:
        self._timeout_s = timeout_s
        self._limit = max_connections
        self._pools: dict[tuple[str, str, int], _Pool] = {}
        self._tls: ssl.SSLContext | None = None

    async def post(self, url: GatewayUrl, body: bytes) -> Answer:
        """POST ``body`` (JSON) to the gateway; ``GatewayError`` if there is no answer
        within the timeout."""
        data = b"%s%d\r\n\r\n%s" % (url.head, len(body), body)
        pool = self._pools.get(url.origin)
        if pool is None:
            pool = self._pools[url.origin] = _Pool(self._limit)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout_s
        for attempt in (1, 2):
            conn = await self._connection(pool, url, deadline)
            waiter = conn.request(data)
            timer = loop.call_at(deadline, _expire, conn, waiter)
            try:
                return await waiter
            except _NotTaken:
                if attempt == 2:
                    raise
            except asyncio.CancelledError:
                conn.close()  # the sender is stopping; the answer can't be matched any more
                raise
            finally:
                timer.cancel()
                self._wake_one(pool)
        raise AssertionError("unreachable")

    async def _connection(self, pool: _Pool, url: GatewayUrl, deadline: float) -> _Connection:
        """A free open connection; else a new one while fewer than the limit are
        open; else one to pipeline on (in turn), or wait for room."""
        loop = asyncio.get_running_loop()
        while True:
            while pool.free:
                conn = pool.free.pop()
                if not conn.closed and not conn.waiting:
                    return conn
            pool.conns = [c for c in pool.conns if not c.closed]
            if len(pool.conns) + pool.connecting < pool.limit:
                pool.connecting += 1
                try:
                    conn = await self._connect(pool, url, deadline - loop.time())
                finally:
                    pool.connecting -= 1
                pool.conns.append(conn)
                return conn
            for _ in range(len(pool.conns)):
                pool.turn = (pool.turn + 1) % len(pool.conns)
                conn = pool.conns[pool.turn]
                if len(conn.waiting) < MAX_PIPELINE:
                    return conn
            waiter = loop.create_future()
            pool.waiters.append(waiter)
            try:
                async with asyncio.timeout_at(deadline):
                    await waiter
            except TimeoutError:
                raise GatewayError(f"no connection within {self._timeout_s:g} s") from None
            finally:
                if waiter in pool.waiters:
                    pool.waiters.remove(waiter)

    async def _connect(self, pool: _Pool, url: GatewayUrl, timeout_s: float) -> _Connection:
        loop = asyncio.get_running_loop()
        tls = None
        if url.scheme == "https":
            if self._tls is None:
                self._tls = ssl.create_default_context()
            tls = self._tls
        try:
            async with asyncio.timeout(max(timeout_s, 0.001)):
                _, conn = await loop.create_connection(
                    lambda: _Connection(pool.free.append),
                    url.host,
                    url.port,
                    ssl=tls,
                    server_hostname=url.host if tls else None,
                )
        except TimeoutError:
            raise GatewayError(f"cannot connect to {url.host}:{url.port} in time") from None
        except (OSError, ssl.SSLError) as e:
            raise GatewayError(f"cannot connect to {url.host}:{url.port}: {e}") from None
        return conn

    @staticmethod
    def _wake_one(pool: _Pool) -> None:
        while pool.waiters:
            waiter = pool.waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def close(self) -> None:
        for pool in self._pools.values():
            for conn in pool.conns:
                conn.close()
            pool.conns.clear()


def _expire(conn: _Connection, waiter: asyncio.Future[Answer]) -> None:
    """A request's deadline passed: its connection can't be trusted with more."""
    if not waiter.done():
        waiter.set_exception(GatewayError("no answer in time"))
        conn.close()
