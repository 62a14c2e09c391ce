"""Waking waiting /sync requests when something they care about changes.

A change names the keys it touches: rooms (``r:<room_id>``) and users
(``u:<user_id>``). A waiter names the keys it listens to and the notifier
serial it had when it started reading; any change after that serial on one
of its keys wakes it, even one that landed before it began to wait (kept in
a short history), so no wake-up is lost between reading and waiting. There
is no polling: an idle waiter costs one Future.

Stopping is the seam every long-poll shares: ``stop_waiting()`` (the server
calls it the moment it is told to stop) ends each wait as its timeout would,
and a wait begun later returns at once, so /sync and sliding sync answer what
they have — an empty response with the client's own position — instead of
holding the shutdown up until they are cut off with a 500.

A client that hangs up ends its wait too: the wait hands its Future to the
``Hangup`` of the request's connection, which completes it when the connection
is lost, and the wait raises ``ClientGone`` so nothing more is read or stored
for a response nobody will receive. That costs no task per waiter: a phone
that drops its connection frees its request within a moment, not at the end
of its long-poll timeout.
"""

from __future__ import annotations

import asyncio
import collections
import math
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

from prometheus_client import Gauge

from revier.notify.changes import Change, ChangeLog

# Told the keys of every change (None: "anything may have changed"); used to
# drop caches such as validated access tokens, in this worker and, through
# Redis, in every other.
Listener = Callable[[frozenset[str] | None], None]

_HISTORY = 4096

# Waits time out on shared timers, one per tick of deadlines (a wait ends up
# to a tick after its timeout): a timer of its own (the handle, its arguments
# and context) was ~0.5 KB of a parked request's ~18.
_TICK_S = 0.1

WAITING = Gauge(
    "revier_long_polls_waiting",
    "Long-poll requests (/sync, sliding sync) parked waiting for a change",
)


class Hangup(Protocol):
    """The connection a long-poll answers on, as its wait sees it (the server
    provides it: ``revier.server``)."""

    @property
    def gone(self) -> bool:
        """Whether the client has hung up."""
        ...

    def wake_on_hangup(self, future: asyncio.Future[bool] | None) -> None:
        """Complete ``future`` (with False) when the client hangs up; None: no longer."""
        ...


class ClientGone(Exception):
    """The client hung up while its long-poll waited: no response is built for it."""


class Notifier(Protocol):
    @property
    def serial(self) -> int: ...

    @property
    def changes(self) -> ChangeLog:
        """What changed at each stream position, as far as this worker has heard."""
        ...

    def notify(self, *, rooms: Iterable[str] = (), users: Iterable[str] = ()) -> None: ...

    def announce(self, positions: Sequence[int], changes: Sequence[Change]) -> None:
        """A commit's positions and what it wrote there: into every worker's change log
        (before the commit's ``notify``, so a woken request finds them)."""
        ...

    async def wait(
        self,
        *,
        since_serial: int,
        rooms: Iterable[str],
        users: Iterable[str],
        timeout_s: float,
        hangup: Hangup | None = None,
    ) -> bool: ...

    @property
    def stopping(self) -> bool: ...

    def stop_waiting(self) -> None: ...

    def add_listener(self, listener: Listener) -> None: ...

    async def start(self) -> None: ...

    async def close(self) -> None: ...


class LocalNotifier:
    def __init__(self) -> None:
        self._serial = 0
        # key -> the waits parked on it; each Future's result says what ended it:
        # True a change (read again), False a timeout, a stop or a hang-up.
        self._waiters: dict[str, set[asyncio.Future[bool]]] = collections.defaultdict(set)
        self._history: collections.deque[tuple[int, frozenset[str]]] = collections.deque(
            maxlen=_HISTORY
        )
        self._stopping = False
        self._listeners: list[Listener] = []
        self._changes = ChangeLog()
        # Deadline tick -> the waits that time out then.
        self._deadlines: dict[int, set[asyncio.Future[bool]]] = {}

    @property
    def changes(self) -> ChangeLog:
        return self._changes

    def announce(self, positions: Sequence[int], changes: Sequence[Change]) -> None:
        self._changes.add(positions, changes, self._serial)

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    @property
    def serial(self) -> int:
        return self._serial

    def notify(self, *, rooms: Iterable[str] = (), users: Iterable[str] = ()) -> None:
        keys = frozenset([*(f"r:{r}" for r in rooms), *(f"u:{u}" for u in users)])
        if not keys:
            return
        self._serial += 1
        self._history.append((self._serial, keys))
        for listener in self._listeners:
            listener(keys)
        for key in keys:
            for future in self._waiters.get(key, ()):
                if not future.done():
                    future.set_result(True)

    async def wait(
        self,
        *,
        since_serial: int,
        rooms: Iterable[str],
        users: Iterable[str],
        timeout_s: float,
        hangup: Hangup | None = None,
    ) -> bool:
        """Wait until a change on these keys after ``since_serial``; False on timeout
        and once the server is stopping (the caller answers what it has).

        Raises ``ClientGone`` if the client of ``hangup`` hangs up (or has)."""
        # A tuple of interned strings: a user in many rooms parks with one
        # pointer per room, not a set of new strings (~150 bytes per room).
        keys = tuple(
            dict.fromkeys([*(_key("r:", r) for r in rooms), *(_key("u:", u) for u in users)])
        )
        if hangup is not None and hangup.gone:
            raise ClientGone
        if self._stopping:
            return False
        if self._changed_since(since_serial, keys):
            return True
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()
        for key in keys:
            self._waiters[key].add(future)
        if hangup is not None:
            hangup.wake_on_hangup(future)
        # Not ``asyncio.wait_for``: that would add a coroutine, a second Future
        # and a callback to every parked request.
        tick = self._expire_at(loop, loop.time() + timeout_s, future)
        WAITING.inc()
        try:
            woke = await future and not self._stopping
        finally:
            WAITING.dec()
            if (expiring := self._deadlines.get(tick)) is not None:
                expiring.discard(future)
            if hangup is not None:
                hangup.wake_on_hangup(None)
            for key in keys:
                waiters = self._waiters.get(key)
                if waiters is not None:
                    waiters.discard(future)
                    if not waiters:
                        del self._waiters[key]
        # Whatever ended the wait: a client that is gone gets nothing more built
        # or stored (a sliding-sync snapshot it never received would be saved).
        if hangup is not None and hangup.gone:
            raise ClientGone
        return woke

    def _expire_at(
        self, loop: asyncio.AbstractEventLoop, deadline: float, future: asyncio.Future[bool]
    ) -> int:
        """Time ``future`` out at the first tick from ``deadline``; returns the tick."""
        tick = math.ceil(deadline / _TICK_S)
        waits = self._deadlines.get(tick)
        if waits is None:
            waits = self._deadlines[tick] = set()
            loop.call_at(tick * _TICK_S, self._time_up, tick)
        waits.add(future)
        return tick

    def _time_up(self, tick: int) -> None:
        for future in self._deadlines.pop(tick, ()):
            if not future.done():
                future.set_result(False)

    def _changed_since(self, since_serial: int, keys: tuple[str, ...]) -> bool:
        if since_serial >= self._serial:
            return False
        if not self._history or self._history[0][0] > since_serial + 1:
            return True  # history no longer reaches back: wake, the caller re-reads
        for serial, changed in reversed(self._history):
            if serial <= since_serial:
                return False
            if not changed.isdisjoint(keys):
                return True
        return False

    async def start(self) -> None:
        """Nothing to connect to."""

    def notify_all(self) -> None:
        """Wake every waiter: they re-read and wait again (after a lost connection)."""
        self._serial += 1
        self._history.clear()
        self._changes.reset()  # what was missed is unknown too
        for listener in self._listeners:
            listener(None)
        for waiters in self._waiters.values():
            for future in waiters:
                if not future.done():
                    future.set_result(True)

    @property
    def stopping(self) -> bool:
        return self._stopping

    def stop_waiting(self) -> None:
        """The server is stopping: every wait ends now as if timed out, later ones at once."""
        self._stopping = True
        for waiters in self._waiters.values():
            for future in waiters:
                if not future.done():
                    future.set_result(False)

    async def close(self) -> None:
        self.stop_waiting()


def _key(kind: str, name: str) -> str:
    return sys.intern(kind + name)
