"""Authorization rule 9 (v10/v11; rule 10 in v12): m.room.power_levels."""

from __future__ import annotations

import re
from typing import Any

import pytest

from revier.errors import AuthError, BadJson
from revier.events.pdu import Pdu

from .conftest import ALICE, BOB, CAROL, RoomFixture, standard_room


def _rule(version: str, number: str) -> str:
    if version == "12":
        parts = [int(p) for p in number.split(".")]
        if len(parts) > 1 and parts[1] >= 4:
            parts[1] += 1
        parts[0] += 1
        number = ".".join(map(str, parts))
    return f"rule {re.escape(number)} "


def _room(version: str, **levels: Any) -> RoomFixture:
    """Alice (creator/100), Bob at 50 and Carol at 50, both joined."""
    room = standard_room(version, users={BOB: 50, CAROL: 50}, power_levels=levels)
    room.force_member(BOB, "join")
    room.force_member(CAROL, "join")
    return room


def _levels(room: RoomFixture, **changes: Any) -> dict[str, Any]:
    content = dict(room.state[("m.room.power_levels", "")].content)
    content.update(changes)
    return content


def _users(room: RoomFixture, **users: int | None) -> dict[str, Any]:
    current = dict(room.state[("m.room.power_levels", "")].content["users"])
    for name, level in users.items():
        user_id = f"@{name}:example.org"
        if level is None:
            current.pop(user_id, None)
        else:
            current[user_id] = level
    return current


def _pl(room: RoomFixture, sender: str, content: dict[str, Any]) -> None:
    room.check(room.make(sender, "m.room.power_levels", content, ""))


def _pl_with_floats(room: RoomFixture, content: dict[str, Any]) -> None:
    """An event build_pdu would refuse (floats are not canonical JSON), as a remote
    server might still send it; hashes and signatures are not what is under test."""
    event = room.make(ALICE, "m.room.power_levels", {}, "").to_dict()
    event["content"] = content
    room.check(Pdu(event, room.rv))


@pytest.mark.parametrize(
    "key", ["users_default", "events_default", "state_default", "ban", "redact", "kick", "invite"]
)
@pytest.mark.parametrize("value", ["50", 50.0, True, None])
def test_rule_9_1_levels_must_be_integers(version: str, key: str, value: Any) -> None:
    room = _room(version)
    with pytest.raises(AuthError, match=_rule(version, "9.1")):
        _pl_with_floats(room, _levels(room, **{key: value}))


def test_non_integral_float_levels_cannot_even_be_hashed(version: str) -> None:
    room = _room(version)
    with pytest.raises(BadJson):
        _pl_with_floats(room, _levels(room, ban=50.5))


@pytest.mark.parametrize("name", ["events", "notifications"])
@pytest.mark.parametrize("value", [[], "x", {"m.room.name": "50"}, {"room": False}])
def test_rule_9_2_maps_must_hold_integers(version: str, name: str, value: Any) -> None:
    room = _room(version)
    with pytest.raises(AuthError, match=_rule(version, "9.2")):
        _pl(room, ALICE, _levels(room, **{name: value}))


@pytest.mark.parametrize("users", [[], {"not-a-user": 1}, {BOB: "50"}, {BOB: 1.0}, {BOB: None}])
def test_rule_9_3_users_must_map_user_ids_to_integers(version: str, users: Any) -> None:
    room = _room(version)
    with pytest.raises(AuthError, match=_rule(version, "9.3")):
        _pl_with_floats(room, _levels(room, users=users))


def test_rule_9_3_historical_user_ids_are_accepted(version: str) -> None:
    room = _room(version)
    _pl(room, ALICE, _levels(room, users=_users(room, **{"Old.User": 10})))


@pytest.mark.parametrize("creator", [ALICE, BOB])
def test_rule_10_4_v12_creators_may_not_be_listed(creator: str) -> None:
    room = (
        _room("12")
        if creator == ALICE
        else RoomFixture("12", create_content={"additional_creators": [BOB]})
    )
    if creator == BOB:
        room.send(ALICE, "m.room.member", {"membership": "join"}, ALICE)
    with pytest.raises(AuthError, match=r"rule 10\.4 \(room version 12\)"):
        _pl(room, ALICE, {"users": {creator: 100}})


@pytest.mark.parametrize("version", ["10", "11"])
def test_before_v12_creator_may_be_listed(version: str) -> None:
    room = _room(version)
    _pl(room, ALICE, _levels(room, users=_users(room, alice=100)))


def test_rule_9_4_first_power_levels_event_is_allowed(version: str) -> None:
    room = RoomFixture(version)
    room.send(ALICE, "m.room.member", {"membership": "join"}, ALICE)
    _pl(room, ALICE, {"users": {BOB: 1000}, "ban": 1000})


@pytest.mark.parametrize(
    "key", ["users_default", "events_default", "state_default", "ban", "redact", "kick", "invite"]
)
def test_rule_9_5_2_may_not_raise_a_level_above_own(version: str, key: str) -> None:
    room = _room(version, events={"m.room.power_levels": 50})
    with pytest.raises(AuthError, match=_rule(version, "9.5.2")):
        _pl(room, BOB, _levels(room, **{key: 51}))
    _pl(room, BOB, _levels(room, **{key: 50}))


@pytest.mark.parametrize("change", [{"ban": 40}, {"ban": None}])
def test_rule_9_5_1_may_not_touch_a_level_above_own(version: str, change: Any) -> None:
    room = _room(version, events={"m.room.power_levels": 50}, ban=60)
    content = _levels(room, **change)
    if change["ban"] is None:
        del content["ban"]
    with pytest.raises(AuthError, match=_rule(version, "9.5.1")):
        _pl(room, BOB, content)


def test_rule_9_6_1_may_not_change_event_level_above_own(version: str) -> None:
    room = _room(version, events={"m.room.power_levels": 50, "m.room.tombstone": 100})
    with pytest.raises(AuthError, match=_rule(version, "9.6.1")):
        _pl(room, BOB, _levels(room, events={"m.room.power_levels": 50, "m.room.tombstone": 10}))
    with pytest.raises(AuthError, match=_rule(version, "9.6.1")):
        _pl(room, BOB, _levels(room, events={"m.room.power_levels": 50}))


def test_rule_9_7_1_may_not_add_event_level_above_own(version: str) -> None:
    room = _room(version, events={"m.room.power_levels": 50})
    with pytest.raises(AuthError, match=_rule(version, "9.7.1")):
        _pl(room, BOB, _levels(room, events={"m.room.power_levels": 50, "m.room.name": 51}))
    _pl(room, BOB, _levels(room, events={"m.room.power_levels": 50, "m.room.name": 50}))


def test_rule_9_6_and_9_7_cover_notifications(version: str) -> None:
    room = _room(version, events={"m.room.power_levels": 50}, notifications={"room": 80})
    with pytest.raises(AuthError, match=_rule(version, "9.6.1")):
        _pl(room, BOB, _levels(room, notifications={"room": 20}))
    with pytest.raises(AuthError, match=_rule(version, "9.7.1")):
        _pl(room, BOB, _levels(room, notifications={"room": 80, "custom": 60}))


def test_rule_9_8_1_may_not_change_a_peer(version: str) -> None:
    room = _room(version, events={"m.room.power_levels": 50})
    with pytest.raises(AuthError, match=_rule(version, "9.8.1")):
        _pl(room, BOB, _levels(room, users=_users(room, carol=0)))
    with pytest.raises(AuthError, match=_rule(version, "9.8.1")):
        _pl(room, BOB, _levels(room, users=_users(room, carol=None)))


def test_rule_9_8_may_demote_oneself(version: str) -> None:
    room = _room(version, events={"m.room.power_levels": 50})
    _pl(room, BOB, _levels(room, users=_users(room, bob=10)))


def test_rule_9_9_1_may_not_promote_above_own(version: str) -> None:
    room = _room(version, events={"m.room.power_levels": 50})
    with pytest.raises(AuthError, match=_rule(version, "9.9.1")):
        _pl(room, BOB, _levels(room, users=_users(room, dave=51)))
    _pl(room, BOB, _levels(room, users=_users(room, dave=50)))


def test_rule_9_10_unchanged_content_is_allowed(version: str) -> None:
    room = _room(version, events={"m.room.power_levels": 50}, ban=100)
    _pl(room, BOB, _levels(room))


def test_v12_creator_may_change_anything() -> None:
    room = _room("12", ban=2**53 - 1)
    _pl(room, ALICE, _levels(room, ban=1, users={BOB: 2**53 - 1}))
