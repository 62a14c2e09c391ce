"""Wake-ups across worker processes through Redis pub/sub.

Each worker keeps its own ``LocalNotifier`` for the /sync requests it
serves. A change is applied locally at once and published; every other
worker applies what it receives to its own waiters. Redis carries only the
keys that changed (room and user IDs) and the stream positions a commit took
(for each worker's change log), never event content, and nothing is stored
there: a lost message costs at most one long-poll timeout, because the data
itself is always read from the database (and the change log, when Redis
reconnects, starts over knowing nothing).

Messages go out one at a time in the order they were made: a commit's
positions reach the other workers before the wake-up that follows them.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Coroutine, Iterable, Sequence
from typing import Any

import orjson
import structlog
from redis.asyncio import Redis

from revier.notify.changes import Change, ChangeLog
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
        self._outbox: asyncio.Queue[bytes] = asyncio.Queue()
        self._sender: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen())
        await asyncio.wait_for(self._ready.wait(), timeout=10)

    def add_listener(self, listener: Listener) -> None:
        self._local.add_listener(listener)

    @property
    def serial(self) -> int:
        return self._local.serial

    @property
    def changes(self) -> ChangeLog:
        return self._local.changes

    def notify(self, *, rooms: Iterable[str] = (), users: Iterable[str] = ()) -> None:
        rooms, users = list(rooms), list(users)
        self._local.notify(rooms=rooms, users=users)
        if rooms or users:
            self._publish({"w": self._worker, "r": rooms, "u": users})

    def announce(self, positions: Sequence[int], changes: Sequence[Change]) -> None:
        self._local.announce(positions, changes)
        self._publish({"w": self._worker, "p": list(positions), "c": list(changes)})

    def _publish(self, message: dict[str, object]) -> None:
        self._outbox.put_nowait(orjson.dumps(message))
        if self._sender is None or self._sender.done():
            self._sender = asyncio.create_task(self._send())

    async def _send(self) -> None:
        while not self._outbox.empty():
            message = self._outbox.get_nowait()
            try:
                await self._redis.publish(CHANNEL, message)
            except Exception as exc:  # the others give the gap up (changes.GAP_SECONDS)
                log.warning("redis publish failed", error=str(exc))

    def wait(
        self,
        *,
        since_serial: int,
        rooms: Iterable[str],
        users: Iterable[str],
        timeout_s: float,
        hangup: Hangup | None = None,
    ) -> Coroutine[Any, Any, bool]:
        # The local wait itself, not a coroutine around it: one frame less on
        # every parked request.
        return self._local.wait(
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
        if message.get("w") == self._worker:
            return
        if "p" in message:
            changes = [(int(p), str(s), str(k)) for p, s, k in message.get("c", ())]
            self._local.announce([int(p) for p in message["p"]], changes)
        else:
            self._local.notify(rooms=message.get("r", ()), users=message.get("u", ()))

    async def close(self) -> None:
        # Publishes still under way go out first: a short-lived process (the
        # admin CLI wiping a device) must reach the serving workers before it exits.
        if self._sender is not None:
            await asyncio.wait([self._sender], timeout=5)
        await self._local.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._redis.aclose()
