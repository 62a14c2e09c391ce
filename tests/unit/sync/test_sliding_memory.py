"""What a worker remembers of sliding-sync connections: the state's JSON built from
remembered pieces reads back as the state, and a remembered state answers only the
snapshot it was stored as."""

from __future__ import annotations

from dataclasses import replace

import orjson

from revier.services.sync.sliding_connections import ConnectionState, RoomStatus
from revier.services.sync.sliding_memory import ConnectionMemory, Encoding, Remembered
from revier.services.sync.sliding_request import RoomConfig

LIST = RoomConfig(1, frozenset({("m.room.name", ""), ("m.room.member", "$LAZY")}))
OPEN = RoomConfig(20, frozenset({("*", "*")}))


def _state(n: int) -> ConnectionState:
    return ConnectionState(
        {f"!r{i}:x": RoomStatus(LIST, None, frozenset({f"@u{i}:x", "@a:x"})) for i in range(n)}
    )


def test_the_json_reads_back_as_the_state_as_before() -> None:
    state = _state(3)
    state.rooms["!o:x"] = RoomStatus(OPEN, 17)
    raw = Encoding().encode(state)
    assert ConnectionState.from_json(raw) == state
    data = orjson.loads(raw)
    assert data["rooms"]["!r0:x"] == [0, None, ["@a:x", "@u0:x"]]
    assert data["rooms"]["!o:x"] == [1, 17, []]


def test_an_encoding_reuses_unchanged_rooms_and_encodes_changed_ones() -> None:
    encoding = Encoding()
    first = _state(4)
    encoding.encode(first)
    second = ConnectionState(dict(first.rooms))
    second.rooms["!r1:x"] = replace(first.rooms["!r1:x"], since=5)
    second.rooms["!new:x"] = RoomStatus(OPEN)
    del second.rooms["!r2:x"]
    raw = encoding.encode(second)
    assert ConnectionState.from_json(raw) == second
    assert encoding.rooms["!r0:x"][0] is first.rooms["!r0:x"]


def test_a_grown_config_table_is_rebuilt() -> None:
    encoding = Encoding()
    for limit in range(40):  # a client changing its timeline limit again and again
        state = ConnectionState({"!r:x": RoomStatus(RoomConfig(limit, frozenset()))})
        raw = encoding.encode(state)
        assert ConnectionState.from_json(raw) == state
    assert len(encoding.configs) <= 32


def test_a_remembered_state_answers_only_its_own_snapshot() -> None:
    memory = ConnectionMemory(size=2)
    key = ("@a:x", "DEV", "room-list")
    memory.put(key, Remembered(11, _state(1), Encoding()))
    assert memory.get(key, 11) is not None
    assert memory.get(key, 12) is None  # another worker's newer snapshot: the database
    memory.put(("@b:x", "DEV", "c"), Remembered(1, _state(1), Encoding()))
    memory.put(("@c:x", "DEV", "c"), Remembered(1, _state(1), Encoding()))
    assert memory.get(key, 11) is None  # bounded: the least recently used went
    memory.forget(("@c:x", "DEV", "c"))
    assert memory.get(("@c:x", "DEV", "c"), 1) is None
