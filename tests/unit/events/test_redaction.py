"""The redaction algorithm, per room version and per event type."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from revier.events.redaction import redact

ESSENTIAL = {
    "event_id": "$e",
    "type": "m.room.message",
    "room_id": "!r:example.org",
    "sender": "@u:example.org",
    "state_key": "",
    "hashes": {"sha256": "h"},
    "signatures": {"example.org": {"ed25519:1": "s"}},
    "depth": 4,
    "prev_events": ["$p"],
    "auth_events": ["$a"],
    "origin_server_ts": 1,
}
LEGACY = {"origin": "example.org", "membership": "join", "prev_state": []}
NEVER_KEPT = {"unsigned": {"age": 1}, "redacts": "$x", "org.example.custom": 1}


def _event(event_type: str, content: dict[str, Any]) -> dict[str, Any]:
    return {
        **copy.deepcopy(ESSENTIAL),
        **LEGACY,
        **NEVER_KEPT,
        "type": event_type,
        "content": content,
    }


def test_v10_keeps_origin_membership_prev_state() -> None:
    redacted = redact(_event("m.room.message", {"body": "x"}), "10")
    assert set(redacted) == set(ESSENTIAL) | set(LEGACY) | {"content"}


@pytest.mark.parametrize("version", ["11", "12"])
def test_v11_drops_origin_membership_prev_state(version: str) -> None:
    redacted = redact(_event("m.room.message", {"body": "x"}), version)
    assert set(redacted) == set(ESSENTIAL) | {"content"}


def test_redact_does_not_modify_its_input() -> None:
    event = _event("m.room.member", {"membership": "join", "displayname": "x"})
    before = copy.deepcopy(event)
    redacted = redact(event, "11")
    redacted["content"]["membership"] = "leave"
    assert event == before


MEMBER = {
    "membership": "join",
    "join_authorised_via_users_server": "@a:example.org",
    "displayname": "U",
    "avatar_url": "mxc://x/y",
    "third_party_invite": {"display_name": "d", "signed": {"mxid": "@u:example.org"}},
}
CREATE = {
    "creator": "@u:example.org",
    "room_version": "11",
    "m.federate": False,
    "predecessor": {"room_id": "!old:example.org"},
    "additional_creators": [],
}
POWER_LEVELS = {
    "ban": 50,
    "events": {"m.room.name": 50},
    "events_default": 0,
    "invite": 0,
    "kick": 50,
    "redact": 50,
    "state_default": 50,
    "users": {"@u:example.org": 100},
    "users_default": 0,
    "notifications": {"room": 50},
}
JOIN_RULES = {"join_rule": "restricted", "allow": [{"type": "m.room_membership"}], "x": 1}


@pytest.mark.parametrize(
    ("event_type", "content", "version", "kept"),
    [
        ("m.room.member", MEMBER, "10", {"membership", "join_authorised_via_users_server"}),
        (
            "m.room.member",
            MEMBER,
            "11",
            {"membership", "join_authorised_via_users_server", "third_party_invite"},
        ),
        ("m.room.create", CREATE, "10", {"creator"}),
        ("m.room.create", CREATE, "11", set(CREATE)),
        ("m.room.create", CREATE, "12", set(CREATE)),
        ("m.room.join_rules", JOIN_RULES, "10", {"join_rule", "allow"}),
        ("m.room.join_rules", JOIN_RULES, "12", {"join_rule", "allow"}),
        (
            "m.room.power_levels",
            POWER_LEVELS,
            "10",
            set(POWER_LEVELS) - {"invite", "notifications"},
        ),
        ("m.room.power_levels", POWER_LEVELS, "11", set(POWER_LEVELS) - {"notifications"}),
        ("m.room.power_levels", POWER_LEVELS, "12", set(POWER_LEVELS) - {"notifications"}),
        (
            "m.room.history_visibility",
            {"history_visibility": "shared", "x": 1},
            "10",
            {"history_visibility"},
        ),
        (
            "m.room.history_visibility",
            {"history_visibility": "shared", "x": 1},
            "11",
            {"history_visibility"},
        ),
        ("m.room.redaction", {"redacts": "$x", "reason": "spam"}, "10", set()),
        ("m.room.redaction", {"redacts": "$x", "reason": "spam"}, "11", {"redacts"}),
        ("m.room.redaction", {"redacts": "$x", "reason": "spam"}, "12", {"redacts"}),
        ("m.room.message", {"body": "x", "msgtype": "m.text"}, "11", set()),
        ("m.room.name", {"name": "x"}, "12", set()),
        ("m.room.encryption", {"algorithm": "m.megolm.v1.aes-sha2"}, "12", set()),
    ],
)
def test_content_keys_kept(
    event_type: str, content: dict[str, Any], version: str, kept: set[str]
) -> None:
    redacted = redact(_event(event_type, copy.deepcopy(content)), version)
    assert set(redacted["content"]) == kept
    for key in kept - {"third_party_invite"}:
        assert redacted["content"][key] == content[key]


@pytest.mark.parametrize("version", ["11", "12"])
def test_v11_member_keeps_only_signed_of_third_party_invite(version: str) -> None:
    redacted = redact(_event("m.room.member", copy.deepcopy(MEMBER)), version)
    assert redacted["content"]["third_party_invite"] == {"signed": {"mxid": "@u:example.org"}}


@pytest.mark.parametrize("invite", [{"display_name": "d"}, "garbage"])
def test_v11_third_party_invite_without_signed_is_dropped(invite: Any) -> None:
    redacted = redact(
        _event("m.room.member", {"membership": "invite", "third_party_invite": invite}), "11"
    )
    assert redacted["content"] == {"membership": "invite"}


def test_v10_top_level_redacts_is_stripped_too() -> None:
    # The v9 algorithm never listed `redacts`; it is not protected in v10 either.
    assert "redacts" not in redact(_event("m.room.redaction", {}), "10")


def test_malformed_content_redacts_to_empty_object() -> None:
    assert redact({"type": "m.room.member", "content": "nope"}, "11")["content"] == {}


@given(st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5), max_size=6))
def test_redaction_is_idempotent(content: dict[str, Any]) -> None:
    for version in ("10", "11", "12"):
        for event_type in ("m.room.member", "m.room.power_levels", "m.room.create", "x"):
            once = redact(_event(event_type, content), version)
            assert redact(once, version) == once
