"""The one client both servers are driven with: the standard client-server API over aiohttp."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import aiohttp

from bench.routing import Router

PASSWORD = "bench-password-1234"
SLIDING_SYNC = "/_matrix/client/unstable/org.matrix.simplified_msc3575/sync"
_txn = itertools.count()


class BenchError(RuntimeError):
    """A request the server answered wrongly; ``status``: its HTTP status, if any."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def busy(e: BaseException) -> bool:
    """Worth trying again as a client would: a dropped connection, a timeout, or
    the server's 503 (too busy)."""
    if isinstance(e, BenchError):
        return e.status == 503
    return isinstance(e, aiohttp.ClientError | TimeoutError)


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """The harness's own cyclic garbage collector held for a measured run.

    A full pass over the harness's heap (the sessions, the responses and results
    kept for the report, growing scenario by scenario) stopped its event loop
    for up to half a second: a message stamped as sent and not sent yet, every
    arrival stamped late — counted as the server's latency. In the 500-receiver
    fan-out against revier, a client pause was the whole max (500-700 ms in the
    later runs, ~170 ms with the collector held). Reference counting frees
    nearly everything; the cycles are collected when the run ends.
    """
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()


@dataclass
class Session:
    user_id: str
    access_token: str
    device_id: str = ""


def connector(limit: int = 0) -> aiohttp.TCPConnector:
    """No pool limit: scenarios bound their own concurrency. An idle connection is
    dropped after 4 s, before any server's keep-alive ends (uvicorn's default,
    which the bare app uses, is 5 s; revier's 75 s): reusing one the server is
    closing at that moment failed a 500-receiver run with "Server disconnected"."""
    return aiohttp.TCPConnector(
        limit=limit, force_close=False, enable_cleanup_closed=True, keepalive_timeout=4
    )


class Matrix:
    """A thin async wrapper: one HTTP session shared by many logged-in users. With a
    ``router`` (a server of several processes) each request goes where it says."""

    def __init__(
        self, base_url: str, http: aiohttp.ClientSession, router: Router | None = None
    ) -> None:
        self.base = base_url.rstrip("/")
        self.http = http
        self.router = router

    def url(self, path: str, token: str | None) -> str:
        base = self.router.base_for(path, token) if self.router else self.base
        return base + path

    async def call(
        self,
        method: str,
        path: str,
        token: str | None = None,
        body: Any = None,
        params: dict[str, str] | None = None,
        timeout: float = 120,  # noqa: ASYNC109  # per request, passed to aiohttp
        ok: tuple[int, ...] = (200,),
    ) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.http.request(
            method,
            self.url(path, token),
            json=body,
            params=params,
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=timeout),
        ) as r:
            data = await r.json(content_type=None)
            if r.status not in ok:
                raise BenchError(f"{method} {path} -> {r.status}: {str(data)[:300]}", r.status)
            return data

    async def status(self, method: str, path: str, token: str, body: Any = None) -> int:
        async with self.http.request(
            method, self.url(path, token), json=body, headers={"Authorization": f"Bearer {token}"}
        ) as r:
            await r.read()
            return r.status

    async def login(self, localpart: str, password: str = PASSWORD) -> Session:
        data = await self.call(
            "POST",
            "/_matrix/client/v3/login",
            body={
                "type": "m.login.password",
                "identifier": {"type": "m.id.user", "user": localpart},
                "password": password,
                "initial_device_display_name": "bench",
            },
        )
        if self.router:
            self.router.remember(data["user_id"], data["access_token"])
        return Session(data["user_id"], data["access_token"], data["device_id"])

    async def create_room(self, s: Session, name: str) -> str:
        data = await self.call(
            "POST",
            "/_matrix/client/v3/createRoom",
            s.access_token,
            # Public and unencrypted on both servers: anyone may join, content is plain.
            {"preset": "public_chat", "name": name, "visibility": "private"},
        )
        return str(data["room_id"])

    async def join(self, s: Session, room_id: str) -> None:
        await self.call("POST", f"/_matrix/client/v3/join/{room_id}", s.access_token, {})

    async def send(self, s: Session, room_id: str, content: dict[str, Any]) -> str:
        txn = f"b{time.time_ns()}.{next(_txn)}"
        data = await self.call(
            "PUT",
            f"/_matrix/client/v3/rooms/{room_id}/send/m.room.message/{txn}",
            s.access_token,
            content,
        )
        return str(data["event_id"])

    async def sync(
        self,
        s: Session,
        since: str | None = None,
        timeout_ms: int = 0,
        http_timeout: float = 600,
        filter_json: str | None = None,
    ) -> dict[str, Any]:
        params = {"timeout": str(timeout_ms)}
        if since:
            params["since"] = since
        if filter_json:
            params["filter"] = filter_json
        data: dict[str, Any] = await self.call(
            "GET", "/_matrix/client/v3/sync", s.access_token, params=params, timeout=http_timeout
        )
        return data

    async def sliding_sync(
        self,
        s: Session,
        body: dict[str, Any],
        pos: str | None = None,
        timeout_ms: int = 0,
        http_timeout: float = 120,
    ) -> tuple[dict[str, Any], int]:
        """One simplified sliding sync request (MSC4186); the response and its size in bytes."""
        params = {"timeout": str(timeout_ms)}
        if pos is not None:
            params["pos"] = pos
        async with self.http.post(
            self.url(SLIDING_SYNC, s.access_token),
            json=body,
            params=params,
            headers={"Authorization": f"Bearer {s.access_token}"},
            timeout=aiohttp.ClientTimeout(total=http_timeout),
        ) as r:
            raw = await r.read()
            if r.status != 200:
                raise BenchError(
                    f"POST {SLIDING_SYNC}?{'&'.join(f'{k}={v}' for k, v in params.items())} "
                    f"{json.dumps(body)[:300]} -> {r.status}: {raw[:300]!r}",
                    r.status,
                )
            data: dict[str, Any] = json.loads(raw)
            return data, len(raw)


def timeline(sync: dict[str, Any], room_id: str) -> list[dict[str, Any]]:
    room = sync.get("rooms", {}).get("join", {}).get(room_id, {})
    events: list[dict[str, Any]] = room.get("timeline", {}).get("events", [])
    return events


async def gather_limited(n: int, coros: list[Any]) -> list[Any]:
    """Run coroutines with at most ``n`` in flight; results in order."""
    sem = asyncio.Semaphore(n)

    async def one(c: Any) -> Any:
        async with sem:
            return await c

    return await asyncio.gather(*(one(c) for c in coros))
