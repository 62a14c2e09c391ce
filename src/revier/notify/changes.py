"""What changed at each stream position, as far as this worker has heard: the
in-memory answer to "did anything of mine change since my token?".

Every write transaction that takes stream positions publishes, after its
commit, the positions it took and what it wrote at each (``Store.on_commit``
→ ``Notifier.announce``): here, and through Redis in every other worker. The
positions of committed transactions are dense — a rolled-back transaction
gives its position back — so once every position up to ``known_upto`` has been
published, the log holds everything that happened in (``floor``,
``known_upto``]. Inside that range it is the truth; for anything else it
answers "don't know" (None) and the caller reads the database. It can only
ever be too cautious: a position is taken as "nothing changed" only when its
own transaction said so.

Each position also keeps the notifier serial at which it was heard of. A
change's wake-up (``notify``) always comes after its position was announced,
so a long-poll whose token is at position P may wait from the serial of the
first change heard of after P (``wait_from``) without reading anything first:
every change after P wakes it, including one that landed before it waited.

A position that is never published (the admin command line in another
process without Redis, a worker that died between its commit and its
publish) would hold ``known_upto`` back for good; so a request that read a
newer position from the database reports it (``observed``), and a gap that
outlives ``GAP_SECONDS`` is given up: the log starts again above the newest
position a snapshot saw, and older windows go to the database.
"""

from __future__ import annotations

import bisect
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence

from prometheus_client import Counter

Change = tuple[int, str, str]  # (position, stream, key), see revier.storage.streams

# A gap in the published positions this old is given up (see above). A
# publish crosses workers in well under this; the admin CLI's don't come.
GAP_SECONDS = 2.0
# Windows longer than this go to the database: its indexes answer a client
# back after hours better than a scan here would.
MAX_SPAN = 5_000
# Positions remembered; the oldest half is dropped beyond (the floor rises).
MAX_ENTRIES = 200_000

ANSWERS = Counter(
    "revier_change_log_answers",
    "Windows the in-memory change log was asked about, by whether it knew the answer",
    ["answer"],
)
_KNOWN = ANSWERS.labels("known")
_UNKNOWN = ANSWERS.labels("unknown")


class WindowChanges:
    """What changed in one window (after, upto], stream by stream."""

    def __init__(self) -> None:
        self._keys: dict[str, set[str]] = defaultdict(set)

    def add(self, stream: str, key: str) -> None:
        self._keys[stream].add(key)

    def keys(self, stream: str) -> set[str]:
        return self._keys.get(stream, set())

    def has(self, stream: str, key: str) -> bool:
        return key in self._keys.get(stream, ())

    def any(self, stream: str) -> bool:
        return bool(self._keys.get(stream))

    def touches(self, stream: str, keys: Iterable[str]) -> bool:
        found = self._keys.get(stream)
        return found is not None and not found.isdisjoint(keys)


class ChangeLog:
    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._max = max_entries
        self._floor: int | None = None  # None: not started, nothing is known
        self._known = 0
        # Heard of, but above a position not yet heard of: the notifier serial
        # when heard of, and what changed.
        self._pending: dict[int, tuple[int, list[tuple[str, str]]]] = {}
        # Positions (ascending) that changed something, what they changed, and
        # the notifier serial when each was heard of.
        self._positions: list[int] = []
        self._changes: list[tuple[tuple[str, str], ...]] = []
        self._serials: list[int] = []
        self._gap: tuple[int, float] | None = None  # (known_upto, first seen)

    @property
    def known_upto(self) -> int | None:
        return None if self._floor is None else self._known

    @property
    def caught_up(self) -> bool:
        """Whether nothing newer than ``known_upto`` was heard of or seen: every commit
        this worker has learnt of is in the log. Then "as of ``known_upto``" is as
        good as a read now, up to commits still on their way from other processes."""
        return self._floor is not None and not self._pending and self._gap is None

    def add(
        self,
        positions: Sequence[int],
        changes: Sequence[Change],
        serial: int = 0,
        now: float | None = None,
    ) -> None:
        """One committed transaction's positions and what it wrote at them, heard of
        at notifier ``serial`` (before the transaction's own wake-ups)."""
        by_position: dict[int, list[tuple[str, str]]] = {p: [] for p in positions}
        for position, stream, key in changes:
            by_position.setdefault(position, []).append((stream, key))
        for position, found in by_position.items():
            if self._floor is not None and position <= self._known:
                continue  # given up on, or a repeat
            heard, before = self._pending.get(position, (serial, []))
            self._pending[position] = (heard, [*before, *found])
        self._advance()
        if self._pending:
            if len(self._pending) > self._max:
                self._restart(max(self._pending))
            elif self._floor is not None:
                self._note_gap(None, now)

    def observed(self, position: int, now: float | None = None) -> None:
        """A read snapshot saw ``position`` as the newest committed one."""
        if self._floor is None:
            self._restart(position)
        elif position > self._known:
            self._note_gap(position, now)

    def _note_gap(self, position: int | None, now: float | None) -> None:
        """A position above a missing one was heard of (None) or seen (``position``):
        a gap that lasts ``GAP_SECONDS`` is given up on, the log restarting there.

        A committed position implies every lower one committed too (they commit
        in order), so the highest heard of is a safe restart point. It is looked
        for only then: while nothing has started the log (no read yet) every
        commit lands in ``_pending``, and a search of it per commit made sending
        quadratic in the commits since the start.
        """
        now = time.monotonic() if now is None else now
        if self._gap is None or self._gap[0] != self._known:
            self._gap = (self._known, now)
        elif now - self._gap[1] >= GAP_SECONDS:
            self._restart(max(self._pending) if position is None else position)

    def reset(self) -> None:
        """Changes may have been missed (Redis reconnected): know nothing until observed."""
        self._floor = None
        self._known = 0
        self._pending.clear()
        self._positions.clear()
        self._changes.clear()
        self._serials.clear()
        self._gap = None

    def wait_from(self, position: int, serial: int) -> int | None:
        """The notifier serial a long-poll whose token is at ``position`` can wait
        from without reading first: every change after ``position`` notifies after
        it. ``serial``: the notifier's now. None: the log can't vouch for that."""
        if self._floor is None or position < self._floor or position > self._known:
            return None
        start = bisect.bisect_right(self._positions, position)
        if len(self._positions) - start > MAX_SPAN:
            return None
        heard = [s for s, found in self._pending.values() if found]
        return min([*self._serials[start:], *heard, serial])

    def window(self, after: int, upto: int) -> WindowChanges | None:
        """Everything that changed in (after, upto], or None if the log can't tell."""
        if self._floor is None or after < self._floor or upto > self._known:
            _UNKNOWN.inc()
            return None
        if after > upto or upto - after > MAX_SPAN:
            _UNKNOWN.inc()
            return None
        _KNOWN.inc()
        out = WindowChanges()
        start = bisect.bisect_right(self._positions, after)
        end = bisect.bisect_right(self._positions, upto)
        for changed in self._changes[start:end]:
            for stream, key in changed:
                out.add(stream, key)
        return out

    def _restart(self, position: int) -> None:
        """Trust nothing up to ``position`` (all committed, none missed beyond it)."""
        self._floor = self._known = position
        self._positions.clear()
        self._changes.clear()
        self._serials.clear()
        self._gap = None
        for p in [p for p in self._pending if p <= position]:
            del self._pending[p]
        self._advance()

    def _advance(self) -> None:
        if self._floor is None:
            return
        while self._known + 1 in self._pending:
            self._known += 1
            heard, found = self._pending.pop(self._known)
            if found:
                self._positions.append(self._known)
                self._changes.append(tuple(found))
                self._serials.append(heard)
            self._gap = None
        if len(self._positions) > self._max:
            half = len(self._positions) // 2
            self._floor = self._positions[half - 1]
            del self._positions[:half]
            del self._changes[:half]
            del self._serials[:half]
