"""Per-user values read from one snapshot, kept while the change log says none
of their changes happened since: a woken /sync skips the query.

An entry remembers the stream position of the snapshot it was read from. It
answers a later request reading at ``upto`` only if the change log knows the
whole window (position, ``upto``] and nothing in it names the entry's user on
the entry's stream. So it is filled from the caller's own snapshot (never a
second read connection) and can't go stale through a change of another
worker or process: what the log hasn't heard of, it doesn't vouch for.
"""

from __future__ import annotations

from typing import Generic, TypeVar

from revier.notify.changes import ChangeLog

T = TypeVar("T")

MAX_ENTRIES = 20_000


class SnapshotCache(Generic[T]):
    def __init__(self, log: ChangeLog, stream: str, max_entries: int = MAX_ENTRIES) -> None:
        self._log = log
        self._stream = stream
        self._max = max_entries
        self._entries: dict[str, tuple[int, T]] = {}

    def get(self, key: str, upto: int) -> T | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        at, value = entry
        if at > upto:
            return None  # read later than this snapshot: may hold the future
        window = self._log.window(at, upto)
        if window is None or window.has(self._stream, key):
            return None
        self._entries[key] = (upto, value)  # as good as read at upto: shorter checks next
        return value

    def put(self, key: str, at: int, value: T) -> None:
        if key not in self._entries and len(self._entries) >= self._max:
            del self._entries[next(iter(self._entries))]  # the oldest
        self._entries[key] = (at, value)
