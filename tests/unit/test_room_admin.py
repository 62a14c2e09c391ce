"""The admin room list's search and closure states."""

from __future__ import annotations

import pytest

from revier.services.rooms import closure_json, room_matches
from revier.storage.rooms.room_closures import RoomClosure

STATE = {
    "m.room.name": {"name": "Lagezentrum Nord"},
    "m.room.canonical_alias": {"alias": "#lage-nord:police.example"},
}


@pytest.mark.parametrize(
    "search", ["lagezentrum", "NORD", "#lage-nord", "!abc", "einsatz-7", "police.example"]
)
def test_search_matches_id_name_and_aliases_ignoring_case(search: str) -> None:
    assert room_matches(search, "!abcdef:police.example", STATE, ["#einsatz-7:police.example"])


def test_search_misses_topic_and_other_text() -> None:
    state = {**STATE, "m.room.topic": {"topic": "Geheim"}}
    assert not room_matches("geheim", "!abcdef:police.example", state, [])
    assert not room_matches("x", "!abc:p", {"m.room.name": {"name": 5}}, [])


@pytest.mark.parametrize(
    ("purge", "completed_ts", "status"),
    [(False, None, "closing"), (False, 2, "closed"), (True, None, "purging"), (True, 2, "purged")],
)
def test_closure_status(purge: bool, completed_ts: int | None, status: str) -> None:
    closure = RoomClosure("!r:p", "p", "@a:p", 1, "why", purge, completed_ts)
    assert closure_json(closure) == {
        "closed_by": "@a:p",
        "closed_ts": 1,
        "reason": "why",
        "status": status,
        "completed_ts": completed_ts,
    }
