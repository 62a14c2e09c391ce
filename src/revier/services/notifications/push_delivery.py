"""Delivering one pusher's pushes: in order, one at a time, retried, given up.

Each pusher has at most one delivery running; it sends its pushes strictly in
stream order and advances the pusher's position after each answered one, so
a restart resumes after the last push the gateway took. A failure (no answer,
a timeout, 5xx, an answer that isn't the spec's JSON) stops the delivery and
retries the same push after 1 s, 2 s, 4 s … at most an hour apart (the spec:
"retry for a reasonable amount of time using exponential backoff"). After a
day of failing, what is still owed is dropped — a phone is not woken for
yesterday — and the pusher goes on with what comes next. A 4xx other than 408
and 429 will not succeed for the same body: that one push is dropped after
three tries, so one bad push can't hold up the queue. A pushkey the gateway
lists as ``rejected`` is dead: its pusher is deleted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog

from revier.push.gateway import PushDevice, rejected_pushkeys
from revier.services.core import Clock
from revier.services.notifications.gateway_client import GatewayClient, GatewayError, GatewayUrl
from revier.storage import Store
from revier.storage.notifications import NotificationRepos
from revier.storage.notifications.pushers import Progress, Pusher

log = structlog.get_logger("revier.push")

FIRST_BACKOFF_S = 1.0
MAX_BACKOFF_S = 3600.0
GIVE_UP_MS = 24 * 3600 * 1000
_CLIENT_ERROR_TRIES = 3
_GATHER_S = 0.05


@dataclass(eq=False)
class LivePusher:
    """A pusher as the sender keeps it: what a push to it needs, and how it is doing."""

    id: int
    user_id: str
    pushkey: str
    url: GatewayUrl
    device: PushDevice
    position: int
    duty_push_for: int | None
    last_success_ts: int | None = None
    last_failure_ts: int | None = None
    failing_since: int | None = None
    backoff_s: float = FIRST_BACKOFF_S
    retry_at: float | None = None  # event-loop time of the next try after a failure
    busy: bool = False  # a delivery is running
    missed: bool = False  # work came while busy: look again when it ends
    gone: bool = False  # deleted (its device went, or the gateway rejected it)
    client_errors: int = 0
    # Since the last write of its progress: a push went out; the failure state changed.
    succeeded: bool = False
    failure_changed: bool = False

    @classmethod
    def of(cls, p: Pusher) -> LivePusher:
        return cls(
            p.id,
            p.user_id,
            p.pushkey,
            GatewayUrl.parse(str(p.data["url"])),
            PushDevice.of(p.app_id, p.pushkey, p.pushkey_ts, p.data),
            p.last_stream_ordering,
            p.duty_push_for,
            p.last_success_ts,
            p.last_failure_ts,
            p.failing_since,
        )

    @property
    def ready(self) -> bool:
        return not (self.busy or self.gone or self.retry_at is not None)


@dataclass(frozen=True, slots=True)
class Push:
    """One step of a delivery: send ``body`` (None: send nothing, it is held back
    off duty), then the pusher has handled everything up to ``position``."""

    position: int
    body: bytes | None
    on_sent: Callable[[], None] | None = None


@dataclass
class Deliveries:
    store: Store
    clock: Clock
    client: GatewayClient
    done: Callable[[LivePusher], None]  # a delivery ended (the sender looks again)
    removed: Callable[[LivePusher], None]  # the gateway rejected the pushkey
    _progress: dict[int, LivePusher] = field(default_factory=dict)
    _flushed: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    sent: int = 0  # pushes answered with 2xx, for logs and tests of the bench

    def start(self, pusher: LivePusher, pushes: list[Push]) -> None:
        pusher.busy = True
        task = asyncio.create_task(self._deliver(pusher, pushes))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, pusher: LivePusher, pushes: list[Push]) -> None:
        try:
            for push in pushes:
                if pusher.gone:
                    return
                if push.body is not None and not await self._send(pusher, push, pushes[-1]):
                    return
                pusher.position = max(pusher.position, push.position)
                self._note(pusher)
        except Exception:
            log.exception("push delivery failed", pusher=pusher.id)
        finally:
            pusher.busy = False
            self.done(pusher)

    async def _send(self, pusher: LivePusher, push: Push, last: Push) -> bool:
        """True when the delivery may go on past ``push`` (sent, or dropped)."""
        assert push.body is not None
        try:
            answer = await self.client.post(pusher.url, push.body)
            rejected = rejected_pushkeys(answer.body) if 200 <= answer.status < 300 else None
            failure = None if rejected is not None else f"HTTP {answer.status}"
        except GatewayError as e:
            answer, rejected, failure = None, None, str(e)
        now = self.clock.time_ms()
        if rejected is not None:
            pusher.last_success_ts, pusher.succeeded = now, True
            if pusher.failing_since is not None:
                pusher.failing_since, pusher.failure_changed = None, True
            pusher.backoff_s, pusher.client_errors = FIRST_BACKOFF_S, 0
            self.sent += 1
            if push.on_sent is not None:
                push.on_sent()
            if pusher.pushkey in rejected:
                await self._remove(pusher)
                return False
            return True
        pusher.last_failure_ts, pusher.failure_changed = now, True
        if pusher.failing_since is None:
            pusher.failing_since = now
        self._note(pusher)
        status = answer.status if answer is not None else 0
        if 400 <= status < 500 and status not in (408, 429):
            pusher.client_errors += 1
            if pusher.client_errors >= _CLIENT_ERROR_TRIES:
                log.warning("push refused by the gateway, dropped", pusher=pusher.id, status=status)
                pusher.client_errors = 0
                return True
        if now - pusher.failing_since >= GIVE_UP_MS:
            # A day of failing: what is owed is stale. Skip it, keep the pusher.
            log.warning("push gateway failing for a day; owed pushes dropped", pusher=pusher.id)
            pusher.position = max(pusher.position, last.position)
            pusher.failing_since, pusher.backoff_s = None, FIRST_BACKOFF_S
            pusher.failure_changed = True
            self._note(pusher)
            return False
        log.info("push failed; will retry", pusher=pusher.id, error=failure, in_s=pusher.backoff_s)
        pusher.retry_at = asyncio.get_running_loop().time() + pusher.backoff_s
        pusher.backoff_s = min(pusher.backoff_s * 2, MAX_BACKOFF_S)
        return False

    def _note(self, pusher: LivePusher) -> None:
        """The pusher's state changed: it goes into the next write."""
        self._progress[pusher.id] = pusher
        self._flushed.set()

    async def _remove(self, pusher: LivePusher) -> None:
        log.info("push gateway rejected a pushkey; pusher deleted", pusher=pusher.id)
        pusher.gone = True
        self._progress.pop(pusher.id, None)
        async with self.store.transaction() as tx:
            await NotificationRepos.of(tx).pushers.delete_by_id(pusher.id)
        self.removed(pusher)

    async def flush_forever(self) -> None:
        """Write the pushers' progress back, gathering what a burst of deliveries did
        for a moment so that a message to a big room is a write, not one per pusher.
        A crash in that moment sends those pushes again (gateways drop a push they
        had by its event ID, the spec says)."""
        while True:
            await self._flushed.wait()
            await asyncio.sleep(_GATHER_S)
            self._flushed.clear()
            try:
                await self.flush()
            except Exception:  # the database is away: keep it, try again later
                log.exception("could not save push progress")
                await asyncio.sleep(1)
                self._flushed.set()

    async def flush(self) -> None:
        if not self._progress:
            return
        batch, self._progress = self._progress, {}
        progress = []
        for p in batch.values():
            if p.gone:
                continue
            failure = (p.last_failure_ts, p.failing_since) if p.failure_changed else None
            progress.append(Progress(p.id, p.position, p.succeeded, failure))
            p.succeeded = p.failure_changed = False
        try:
            async with self.store.transaction() as tx:
                await NotificationRepos.of(tx).pushers.save_progress(progress, self.clock.time_ms())
        except BaseException:
            for saved in progress:
                pusher = batch[saved.pusher_id]
                pusher.succeeded |= saved.succeeded
                pusher.failure_changed |= saved.failure is not None
                self._progress.setdefault(saved.pusher_id, pusher)
            raise

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.flush()
        await self.client.close()
