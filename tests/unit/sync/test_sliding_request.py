"""services/sync/sliding_request.py: the sliding sync body, parsed and bounded."""

from __future__ import annotations

from typing import Any

import pytest

from revier.errors import BadJson, InvalidParam, MatrixError
from revier.services.sync.sliding_request import (
    MAX_LISTS,
    MAX_REQUIRED_STATE,
    MAX_SUBSCRIPTIONS,
    RoomConfig,
    parse_request,
)

ELEMENT_X_LIST = {
    "ranges": [[0, 19]],
    "timeline_limit": 1,
    "required_state": [["m.room.name", ""], ["m.room.member", "$LAZY"], ["m.room.member", "$ME"]],
    "filters": {},
}


def test_element_x_room_list_parses() -> None:
    request = parse_request(
        {
            "conn_id": "room-list",
            "lists": {"all_rooms": ELEMENT_X_LIST},
            "extensions": {
                "account_data": {"enabled": True},
                "receipts": {"enabled": True, "rooms": ["*"]},
                "typing": {"enabled": True},
                "unknown_extension": {"enabled": True},
            },
            "some_future_field": 1,
        }
    )
    assert request.conn_id == "room-list"
    [lst] = request.lists
    assert (lst.name, lst.ranges, lst.config.timeline_limit) == ("all_rooms", ((0, 19),), 1)
    assert ("m.room.member", "$LAZY") in lst.config.required_state
    assert request.extensions.receipts is not None and request.extensions.typing is not None
    assert request.extensions.to_device is False


def test_lenient_defaults() -> None:
    request = parse_request({"lists": {"l": {}}, "room_subscriptions": {"!r:x": {}}})
    [lst] = request.lists
    assert lst.ranges == () and lst.config == RoomConfig(0, frozenset())
    assert request.conn_id == ""
    assert request.subscriptions["!r:x"] == RoomConfig(0, frozenset())


def test_to_device_since_and_limit() -> None:
    ext = parse_request(
        {"extensions": {"to_device": {"enabled": True, "since": "42", "limit": 500}}}
    ).extensions
    assert (ext.to_device, ext.to_device_since, ext.to_device_limit) == (True, 42, 100)
    disabled = parse_request({"extensions": {"to_device": {"since": "42"}}}).extensions
    assert disabled.to_device is False


def test_configs_combine_to_their_superset() -> None:
    a = RoomConfig(1, frozenset({("m.room.name", "")}))
    b = RoomConfig(20, frozenset({("m.room.topic", "")}))
    both = a.combine(b)
    assert both == RoomConfig(20, frozenset({("m.room.name", ""), ("m.room.topic", "")}))
    assert both.covers(a) and both.covers(b) and not a.covers(b)


def lists(n: int) -> dict[str, Any]:
    return {f"l{i}": {} for i in range(n)}


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"lists": lists(MAX_LISTS + 1)}, InvalidParam),
        ({"lists": {"x" * 65: {}}}, InvalidParam),
        ({"lists": {"l": {"timeline_limit": 1001}}}, InvalidParam),
        ({"lists": {"l": {"timeline_limit": -1}}}, InvalidParam),
        ({"lists": {"l": {"timeline_limit": "1"}}}, BadJson),
        ({"lists": {"l": {"timeline_limit": True}}}, BadJson),
        ({"lists": {"l": {"ranges": [[5, 1]]}}}, InvalidParam),
        ({"lists": {"l": {"ranges": [[-1, 1]]}}}, InvalidParam),
        ({"lists": {"l": {"ranges": [[0, 1, 2]]}}}, InvalidParam),
        ({"lists": {"l": {"ranges": [[0, 1]] * 101}}}, InvalidParam),
        ({"lists": {"l": {"required_state": [["m.room.name"]]}}}, InvalidParam),
        ({"lists": {"l": {"required_state": [["m.room.name", 1]]}}}, InvalidParam),
        (
            {"lists": {"l": {"required_state": [["a", ""]] * (MAX_REQUIRED_STATE + 1)}}},
            InvalidParam,
        ),
        ({"lists": {"l": {"required_state": "all"}}}, BadJson),
        ({"lists": {"l": {"filters": {"is_dm": "yes"}}}}, BadJson),
        ({"lists": {"l": {"filters": {"room_types": [1]}}}}, BadJson),
        ({"lists": []}, BadJson),
        ({"lists": {"l": []}}, BadJson),
        (
            {"room_subscriptions": {f"!{i}:x": {} for i in range(MAX_SUBSCRIPTIONS + 1)}},
            InvalidParam,
        ),
        ({"extensions": {"to_device": {"enabled": True, "since": "12ab"}}}, InvalidParam),
        ({"extensions": {"to_device": {"enabled": True, "limit": -5}}}, InvalidParam),
        ({"extensions": {"typing": {"enabled": True, "rooms": "all"}}}, BadJson),
        ({"conn_id": 5}, BadJson),
        # Nothing a client names holds a NUL (and PostgreSQL text can't store one).
        ({"conn_id": "c\0"}, InvalidParam),
        ({"conn_id": "c" * 65}, InvalidParam),
        ({"lists": {"l\0": {}}}, InvalidParam),
        ({"lists": {"l": {"required_state": [["m.room.name\0", ""]]}}}, InvalidParam),
        ({"lists": {"l": {"filters": {"tags": ["u.\0"]}}}}, BadJson),
        ({"lists": {"l": {"required_state": {}}}}, BadJson),
        ({"room_subscriptions": {"!a\0:x": {}}}, InvalidParam),
        ({"room_subscriptions": {"not a room id": {}}}, InvalidParam),
        ({"extensions": {"typing": {"enabled": True, "rooms": ["!a\0:x"]}}}, BadJson),
    ],
)
def test_what_cant_be_meant_is_refused(body: dict[str, Any], error: type[MatrixError]) -> None:
    with pytest.raises(error):
        parse_request(body)
