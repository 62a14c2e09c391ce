"""Power level lookups and their defaults, per room version."""

from __future__ import annotations

import math
from typing import Any

import pytest

from revier.events.power_levels import (
    action_power_level,
    notification_power_level,
    required_power_level,
    room_creators,
    user_power_level,
)

from .conftest import ALICE, BOB, CAROL, RoomFixture


@pytest.mark.parametrize(("version", "creator_level"), [("10", 100), ("11", 100), ("12", math.inf)])
def test_without_power_levels_event(version: str, creator_level: float) -> None:
    create = RoomFixture(version).create
    assert user_power_level(ALICE, None, create, version) == creator_level
    assert user_power_level(BOB, None, create, version) == 0


@pytest.mark.parametrize(("version", "creator_level"), [("10", 7), ("11", 7), ("12", math.inf)])
def test_with_power_levels_event(version: str, creator_level: float) -> None:
    create = RoomFixture(version).create
    content = {"users": {ALICE: 7, BOB: 30}, "users_default": 3}
    assert user_power_level(ALICE, content, create, version) == creator_level
    assert user_power_level(BOB, content, create, version) == 30
    assert user_power_level(CAROL, content, create, version) == 3


def test_v10_creator_is_content_creator() -> None:
    create = RoomFixture("10", create_content={"creator": BOB}).create
    assert room_creators(create, "10") == {BOB}
    assert user_power_level(BOB, None, create, "10") == 100
    assert user_power_level(ALICE, None, create, "10") == 0


@pytest.mark.parametrize(("version", "creators"), [("11", {ALICE}), ("12", {ALICE, BOB, CAROL})])
def test_additional_creators_only_from_v12(version: str, creators: set[str]) -> None:
    create = RoomFixture(version, create_content={"additional_creators": [BOB, CAROL]}).create
    assert room_creators(create, version) == creators


@pytest.mark.parametrize(
    ("event_type", "is_state", "content", "expected"),
    [
        ("m.room.message", False, None, 0),
        ("m.room.topic", True, None, 50),
        ("m.room.message", False, {"events_default": 10}, 10),
        ("m.room.topic", True, {"state_default": 20}, 20),
        ("m.room.topic", True, {"events": {"m.room.topic": 5}, "state_default": 20}, 5),
        ("m.room.message", False, {"events": {"m.room.message": 70}}, 70),
    ],
)
def test_required_power_level(event_type: str, is_state: bool, content: Any, expected: int) -> None:
    assert required_power_level(event_type, is_state, content) == expected


@pytest.mark.parametrize(
    ("action", "default"), [("invite", 0), ("kick", 50), ("ban", 50), ("redact", 50)]
)
def test_action_levels(action: Any, default: int) -> None:
    assert action_power_level(action, None) == default
    assert action_power_level(action, {}) == default
    assert action_power_level(action, {action: 12}) == 12


def test_notification_levels() -> None:
    assert notification_power_level("room", None) == 50
    assert notification_power_level("room", {"notifications": {"room": 20}}) == 20
