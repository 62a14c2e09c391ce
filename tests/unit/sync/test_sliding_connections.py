"""What a sliding-sync connection remembers, and the pos that names it."""

from __future__ import annotations

import pytest

from revier.errors import UnknownPos
from revier.services.sync.sliding_connections import ConnectionState, RoomStatus, SlidingPos
from revier.services.sync.sliding_request import RoomConfig


def test_state_survives_its_json_and_shares_configs() -> None:
    room_list = RoomConfig(1, frozenset({("m.room.name", ""), ("m.room.member", "$LAZY")}))
    opened = RoomConfig(20, frozenset({("*", "*")}))
    state = ConnectionState(
        {
            "!a:x": RoomStatus(room_list),
            "!b:x": RoomStatus(room_list, since=41),
            "!c:x": RoomStatus(opened),
        }
    )
    raw = state.to_json()
    assert raw.count("m.room.name") == 1  # one config table, referenced per room
    assert ConnectionState.from_json(raw) == state


def test_pos_round_trip() -> None:
    pos = SlidingPos(3, 1234, 7)
    assert SlidingPos.parse(pos.encode()) == pos


@pytest.mark.parametrize(
    "pos", ["", "garbage", "1/2", "1/2/3/4", "a/2/3", "-1/2/3", "1/2/3 ", "1" * 61, "s12_0"]
)
def test_a_pos_this_server_never_gave_is_unknown(pos: str) -> None:
    with pytest.raises(UnknownPos):
        SlidingPos.parse(pos)
