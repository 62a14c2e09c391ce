"""Sliding-sync connections: what each one has been sent, and the ``pos`` that names it.

A connection is (user, device, ``conn_id``): Element X keeps three per device.
Its state says, per room, that the client has the room *live* (everything up
to the ``pos`` it presents) or only up to an older position (the room fell out
of the client's window while it changed), and with which timeline limit and
required state it was last sent. Rooms the connection has never sent are
absent.

``pos`` is ``<snapshot>/<position>/<typing>``: a stored snapshot of that state
(a random number, so a pos can't be carried to another connection), the
stream position the response covered, and the typing serial. Presenting a
snapshot makes every other one of the connection void — the newer ones belong
to responses the client never got, so a retry with the same ``pos`` is
answered again from the same state, any number of times (a long-poll whose
client hangs up before its answer stores none at all). A new snapshot is
stored only when the state changes (a pos older than the client's latest may
share its snapshot: it is answered with what came since, again, never less).

A connection without lists or room subscriptions (Element X's ``encryption``
connection, which the app and its notification process share with divergent
positions) stores nothing: its snapshot number is derived from the connection
itself, so any pos it was given stays good, in either process.

Snapshots live in the database, so a connection survives a restart and works
across workers; each worker remembers the last snapshot of the connections it
served (sliding_memory.py) so as not to parse and encode whole states. An
unusable ``pos`` (malformed, foreign, superseded, idle past the expiry) is
``M_UNKNOWN_POS``, the one answer after which clients start over.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field

import orjson

from revier.errors import UnknownPos
from revier.services.core import Clock, Requester
from revier.services.sync.sliding_memory import ConnectionMemory, Encoding, Remembered
from revier.services.sync.sliding_request import RoomConfig
from revier.storage import Conflict, Store
from revier.storage.sync import SyncRepos

# A used snapshot's timestamp is refreshed at most this often (not on every long-poll).
_TOUCH_EVERY_MS = 60 * 60 * 1000
_MAX_POS = 60
_SNAPSHOT_BITS = 53  # a JSON-safe integer
_NONE: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class SlidingPos:
    snapshot: int
    position: int
    typing: int

    def encode(self) -> str:
        return f"{self.snapshot}/{self.position}/{self.typing}"

    @classmethod
    def parse(cls, pos: str) -> SlidingPos:
        parts = pos.split("/") if len(pos) <= _MAX_POS else []
        if len(parts) != 3 or not all(p.isdecimal() for p in parts):
            raise UnknownPos("Unknown position: start the connection again without pos")
        return cls(int(parts[0]), int(parts[1]), int(parts[2]))


@dataclass(frozen=True, slots=True)
class RoomStatus:
    config: RoomConfig
    # None: live (the client has the room up to the pos it presents); else the
    # position up to which it has it.
    since: int | None = None
    # Whose member events lazy loading sent (they aren't sent again).
    members: frozenset[str] = frozenset()


@dataclass(slots=True)
class ConnectionState:
    rooms: dict[str, RoomStatus] = field(default_factory=dict)

    def to_json(self) -> str:
        return Encoding().encode(self)

    @classmethod
    def from_json(cls, raw: str) -> ConnectionState:
        data = orjson.loads(raw)
        configs = [
            RoomConfig(limit, frozenset((t, k) for t, k in keys)) for limit, keys in data["configs"]
        ]
        return cls(
            {
                room_id: RoomStatus(configs[i], since, frozenset(members) if members else _NONE)
                for room_id, (i, since, members) in data["rooms"].items()
            }
        )


@dataclass(frozen=True, slots=True)
class Opened:
    """A request's connection: the state it continues from and the pos it presented."""

    snapshot: int
    state: ConnectionState
    since: SlidingPos | None
    # Whether ``snapshot`` is stored (else it is the connection's stateless number).
    stored: bool = False


class ConnectionStore:
    def __init__(
        self, store: Store, clock: Clock, expiry_s: int, memory: ConnectionMemory | None = None
    ) -> None:
        self._store = store
        self._memory = memory if memory is not None else ConnectionMemory()
        self._clock = clock
        self._expiry_ms = expiry_s * 1000
        self._touch_ms = min(_TOUCH_EVERY_MS, self._expiry_ms // 4)

    async def open(self, requester: Requester, conn_id: str, pos: str | None) -> Opened:
        """The state a request continues from; without ``pos`` the connection starts over."""
        key = (requester.user_id, requester.device_id, conn_id)
        now = self._clock.time_ms()
        stateless = stateless_snapshot(requester, conn_id)
        if pos is None:
            self._memory.forget(key)
            async with self._store.transaction() as tx:
                db = SyncRepos.of(tx)
                await db.sliding_connections.drop(*key)
                await db.sliding_connections.expire(now - self._expiry_ms)
            return Opened(stateless, ConnectionState(), None)
        since = SlidingPos.parse(pos)
        if since.snapshot == stateless:
            return Opened(stateless, ConnectionState(), since)
        remembered = self._memory.get(key, since.snapshot)
        raw: str | None = None
        async with self._store.read() as tx:
            repo = SyncRepos.of(tx).sliding_connections
            snapshots = await repo.used(*key)
            used_ts = snapshots.get(since.snapshot)
            if used_ts is not None and remembered is None:
                raw = await repo.state(*key, since.snapshot)
        if used_ts is None or used_ts < now - self._expiry_ms:
            raise UnknownPos("Unknown or expired position: start again without pos")
        if len(snapshots) > 1 or used_ts < now - self._touch_ms:
            async with self._store.transaction() as tx:
                await SyncRepos.of(tx).sliding_connections.keep_only(*key, since.snapshot, now)
        if remembered is not None:
            # The very snapshot the database holds (it is never rewritten): see sliding_memory.
            return Opened(since.snapshot, remembered.state, since, stored=True)
        if raw is None:  # dropped between the two statements (a pos-less restart)
            raise UnknownPos("Unknown or expired position: start again without pos")
        state = ConnectionState.from_json(raw)
        self._memory.put(key, Remembered(since.snapshot, state, Encoding()))
        return Opened(since.snapshot, state, since, stored=True)

    async def save(self, requester: Requester, conn_id: str, state: ConnectionState) -> int:
        """Store a new snapshot of the connection's state; its number."""
        key = (requester.user_id, requester.device_id, conn_id)
        encoding = self._memory.encoding(key)
        raw = encoding.encode(state)
        while True:
            snapshot = secrets.randbits(_SNAPSHOT_BITS)
            try:
                async with self._store.transaction() as tx:
                    await SyncRepos.of(tx).sliding_connections.add(
                        requester.user_id,
                        requester.device_id,
                        conn_id,
                        snapshot,
                        raw,
                        self._clock.time_ms(),
                    )
                self._memory.put(key, Remembered(snapshot, state, encoding))
                return snapshot
            except Conflict:  # the same number twice: astronomically rare
                continue


def stateless_snapshot(requester: Requester, conn_id: str) -> int:
    """The snapshot number of a connection that stores nothing: the same for every
    request of that (user, device, conn_id), and no other's."""
    key = "\0".join((requester.user_id, requester.device_id, conn_id)).encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:6], "big")
