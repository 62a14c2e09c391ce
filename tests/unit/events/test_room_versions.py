"""The room version table: one assertion per difference between 10, 11 and 12."""

from __future__ import annotations

import dataclasses

import pytest

from revier.events.room_versions import (
    DEFAULT_ROOM_VERSION,
    KNOWN_ROOM_VERSIONS,
    RoomVersion,
    get_room_version,
)


def test_known_versions_and_default() -> None:
    assert set(KNOWN_ROOM_VERSIONS) == {"10", "11", "12"}
    assert DEFAULT_ROOM_VERSION == "12"
    assert all(v.identifier == k for k, v in KNOWN_ROOM_VERSIONS.items())


@pytest.mark.parametrize(
    ("flag", "v10", "v11", "v12"),
    [
        ("knock_restricted", True, True, True),
        ("enforce_int_power_levels", True, True, True),
        ("creator_from_sender", False, True, True),
        ("redacts_in_content", False, True, True),
        ("redaction_keeps_legacy_top_level", True, False, False),
        ("redaction_keeps_all_create_content", False, True, True),
        ("redaction_keeps_invite_level", False, True, True),
        ("room_id_from_create_event", False, False, True),
        ("create_event_in_auth_events", True, True, False),
        ("privileged_creators", False, False, True),
        ("state_res_empty_initial_state", False, False, True),
    ],
)
def test_flags(flag: str, v10: bool, v11: bool, v12: bool) -> None:
    values = [getattr(KNOWN_ROOM_VERSIONS[v], flag) for v in ("10", "11", "12")]
    assert values == [v10, v11, v12]


def test_room_versions_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        KNOWN_ROOM_VERSIONS["11"].identifier = "x"  # type: ignore[misc]


def test_get_room_version() -> None:
    rv = KNOWN_ROOM_VERSIONS["12"]
    assert get_room_version("12") is rv and get_room_version(rv) is rv
    assert isinstance(rv, RoomVersion)
    with pytest.raises(KeyError):
        get_room_version("9")
