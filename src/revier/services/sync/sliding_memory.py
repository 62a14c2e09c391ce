"""What a worker remembers of the sliding-sync connections it served last.

The database holds every connection's snapshots (sliding_connections.py) and
stays the one source of truth; this is a bounded LRU beside it, so that a
connection's next request on the same worker doesn't parse its whole state
again, nor encode it whole to store the next snapshot.

Per connection (user, device, ``conn_id``) it keeps the last snapshot this
worker stored or loaded: its number and its parsed state, with each room's
status already encoded as JSON. It can't answer stale: a snapshot is written
once under its number and never changed (a new state gets a new random
number), and a request is served from memory only when the pos names that
very number *and* the database still holds it (the check ``open`` makes for
every request anyway). A pos from a response another worker gave, a restart,
a connection started over: all miss here and read the database.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import orjson

from revier.services.sync.sliding_request import RoomConfig

if TYPE_CHECKING:  # that module keeps one of these: it imports this one
    from revier.services.sync.sliding_connections import ConnectionState, RoomStatus

Key = tuple[str, str, str]  # user, device, conn_id

# Enough for every connection of a busy worker's users; each holds one JSON
# fragment and one status per room the connection knows (~0.3 KiB a room).
DEFAULT_SIZE = 512
# A config table with this many entries is rebuilt (it only grows otherwise).
_MAX_CONFIGS = 32


@dataclass(slots=True)
class Encoding:
    """A state's JSON in pieces: the config table, and per room its entry (the
    status it was made from, compared by identity: statuses are immutable and a
    state carries over the objects of the state it continues)."""

    configs: dict[RoomConfig, int] = field(default_factory=dict)
    rooms: dict[str, tuple[RoomStatus, bytes]] = field(default_factory=dict)

    def encode(self, state: ConnectionState) -> str:
        """The state's JSON (``ConnectionState.from_json`` reads it); what this
        encoding already holds of it is reused, and it becomes the state's."""
        configs = self.configs if len(self.configs) < _MAX_CONFIGS else {}
        fresh = configs is not self.configs
        out: dict[str, tuple[RoomStatus, bytes]] = {}
        for room_id, status in state.rooms.items():
            known = None if fresh else self.rooms.get(room_id)
            if known is not None and known[0] is status:
                out[room_id] = known
                continue
            index = configs.setdefault(status.config, len(configs))
            fields = [index, status.since, sorted(status.members)]
            out[room_id] = (status, orjson.dumps(room_id) + b":" + orjson.dumps(fields))
        self.configs, self.rooms = configs, out
        table = [[c.timeline_limit, sorted(c.required_state)] for c in configs]
        body = b",".join(entry for _, entry in out.values())
        return (b'{"configs":' + orjson.dumps(table) + b',"rooms":{' + body + b"}}").decode()


@dataclass(slots=True)
class Remembered:
    snapshot: int
    state: ConnectionState
    encoding: Encoding


class ConnectionMemory:
    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self._size = size
        self._entries: OrderedDict[Key, Remembered] = OrderedDict()

    def get(self, key: Key, snapshot: int) -> Remembered | None:
        """The connection's remembered state if it is that of ``snapshot``."""
        entry = self._entries.get(key)
        if entry is None or entry.snapshot != snapshot:
            return None
        self._entries.move_to_end(key)
        return entry

    def encoding(self, key: Key) -> Encoding:
        """The connection's last encoding, to encode its next state from."""
        entry = self._entries.get(key)
        return entry.encoding if entry is not None else Encoding()

    def put(self, key: Key, entry: Remembered) -> None:
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def forget(self, key: Key) -> None:
        self._entries.pop(key, None)
