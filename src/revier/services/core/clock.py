"""Time, injected so tests and policies never read the wall clock themselves."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol


class Clock(Protocol):
    def time_ms(self) -> int: ...

    def monotonic(self) -> float: ...


class SystemClock:
    def time_ms(self) -> int:
        return time.time_ns() // 1_000_000

    def monotonic(self) -> float:
        return time.monotonic()


class AdjustableClock:
    """Test mode only (``[testing] clock_file``, in conformance mode): the wall clock
    plus the milliseconds written in a file, so a test moves the server's time to
    the start of a shift instead of waiting for it. Monotonic time is untouched.

    ``watch`` looks at the file every 50 ms and tells the listeners when the time
    jumped (the push sender then looks at duty hours again)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._stamp: float | None = None
        self._offset_ms = 0
        self._listeners: list[Callable[[], None]] = []

    def time_ms(self) -> int:
        self._refresh()
        return time.time_ns() // 1_000_000 + self._offset_ms

    def monotonic(self) -> float:
        return time.monotonic()

    def add_listener(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    async def watch(self) -> None:
        while True:
            self._refresh()
            await asyncio.sleep(0.05)

    def _refresh(self) -> None:
        """Re-read the offset if the file changed, and tell the listeners (whoever
        noticed first: a request reading the time, or ``watch``)."""
        try:
            stamp = os.stat(self._path).st_mtime_ns
        except FileNotFoundError:
            stamp = None
        if stamp == self._stamp:
            return
        try:
            text = self._path.read_text().strip() if stamp is not None else "0"
            offset = int(text)
        except (OSError, ValueError):
            # Caught between the truncation and the write of a test's write_text
            # (both may carry the same mtime): keep the time, look again next time.
            return
        self._stamp, self._offset_ms = stamp, offset
        for listener in self._listeners:
            listener()
