"""Wake-ups across worker processes through Redis pub/sub.

Each worker keeps its own ``LocalNotifier`` for the /sync requests it
serves. A change is applied locally at once and published; every other
worker applies what it receives to its own waiters. Redis carries only the
keys that changed (room and user IDs), never event content, and nothing is
stored there: a lost message costs at most one long-poll timeout, because
the data itself is always read from the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Iterable

import orjson
import structlog
from redis.asyncio import Redis

from revier.notify.local import Hangup, Listener, LocalNotifier

CHANNEL = "revier:notify"
log = structlog.get_logger("revier.notify")


class RedisNotifier:
    def __init__(self, url: str) -> None:
        self._local = LocalNotifier()
        self._redis: Redis = Redis.from_url(url)
        self._worker = secrets.token_hex(8)
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._pending: set[asyncio.Task[object]] = set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen())
        await asyncio.wait_for(self._ready.wait(), timeout=10)

    def add_listener(self, listener: Listener) -> None:
        self._local.add_listener(listener)

    @property
    def serial(self) -> int:
        return self._local.serial

    def notify(self, *, rooms: Iterable[str] = (), users: Iterable[str] = ()) -> None:
        rooms, users = list(rooms), list(users)
        self._local.notify(rooms=rooms, users=users)
        if rooms or users:
            message = orjson.dumps({"w": self._worker, "r": rooms, "u": users})
            task = asyncio.ensure_future(self._redis.publish(CHANNEL, message))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def wait(
        self,
        *,
        since_serial: int,
        rooms: Iterable[str],
        users: Iterable[str],
        timeout_s: float,
        hangup: Hangup | None = None,
    ) -> bool:
        return await self._local.wait(
            since_serial=since_serial, rooms=rooms, users=users, timeout_s=timeout_s, hangup=hangup
        )

    @property
    def stopping(self) -> bool:
        return self._local.stopping

    def stop_waiting(self) -> None:
        self._local.stop_waiting()

    async def _listen(self) -> None:
        while True:
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.subscribe(CHANNEL)
                    self._ready.set()
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            self._apply(message["data"])
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis went away: wake everyone, retry shortly
                log.warning("redis notifier disconnected; retrying", error=str(exc))
                self._local.notify_all()
                await asyncio.sleep(1)

    def _apply(self, data: bytes) -> None:
        try:
            message = orjson.loads(data)
        except orjson.JSONDecodeError:
            return
        if message.get("w") != self._worker:
            self._local.notify(rooms=message.get("r", ()), users=message.get("u", ()))

    async def close(self) -> None:
        # Publishes still under way go out first: a short-lived process (the
        # admin CLI wiping a device) must reach the serving workers before it exits.
        if self._pending:
            await asyncio.wait(self._pending, timeout=5)
        await self._local.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._redis.aclose()
