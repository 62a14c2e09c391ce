"""Authorization rules 1-3, 5-8 and 10 (v10/v11 numbering; +1 from rule 2 in v12),
the auth events selection, and the handling of redactions."""

from __future__ import annotations

from typing import Any

import pytest

from revier.errors import AuthError
from revier.events.auth import (
    auth_types_for_event,
    check_auth_events,
    check_auth_rules,
    should_apply_redaction,
)
from revier.events.pdu import Pdu
from revier.events.room_versions import get_room_version

from .conftest import (
    ALICE,
    BOB,
    CAROL,
    MALLORY,
    RoomFixture,
    appendix_key,
    other_room,
    standard_room,
)


def _create_dict(version: str, **overrides: Any) -> dict[str, Any]:
    content: dict[str, Any] = {"room_version": version}
    if version == "10":
        content["creator"] = ALICE
    event: dict[str, Any] = {
        "type": "m.room.create",
        "state_key": "",
        "sender": ALICE,
        "content": content,
        "prev_events": [],
        "auth_events": [],
        "depth": 1,
        "origin_server_ts": 1,
        "hashes": {},
        "signatures": {},
    }
    if version != "12":
        event["room_id"] = "!room:example.org"
    event.update(overrides)
    return event


def _check_create(version: str, event: dict[str, Any]) -> None:
    pdu = Pdu(event, version)
    check_auth_rules(version, pdu, {}, pdu)


# Rule 1: m.room.create


def test_create_is_allowed(version: str) -> None:
    _check_create(version, _create_dict(version))


def test_rule_1_1_create_with_prev_events_is_rejected(version: str) -> None:
    with pytest.raises(AuthError, match=r"rule 1\.1 "):
        _check_create(version, _create_dict(version, prev_events=["$abc"]))


@pytest.mark.parametrize("version", ["10", "11"])
def test_rule_1_2_room_id_domain_must_match_sender(version: str) -> None:
    with pytest.raises(AuthError, match=r"rule 1\.2 "):
        _check_create(version, _create_dict(version, room_id="!room:other.example"))


def test_rule_1_2_v12_create_may_not_have_a_room_id() -> None:
    with pytest.raises(AuthError, match=r"rule 1\.2 \(room version 12\)"):
        _check_create("12", _create_dict("12", room_id="!room:example.org"))


def test_rule_1_3_unknown_room_version_is_rejected(version: str) -> None:
    event = _create_dict(version)
    event["content"]["room_version"] = "9"
    with pytest.raises(AuthError, match=r"rule 1\.3 "):
        _check_create(version, event)


def test_rule_1_4_v10_create_needs_creator() -> None:
    event = _create_dict("10")
    del event["content"]["creator"]
    with pytest.raises(AuthError, match=r"rule 1\.4 "):
        _check_create("10", event)


@pytest.mark.parametrize("version", ["11", "12"])
def test_v11_create_needs_no_creator(version: str) -> None:
    _check_create(version, _create_dict(version))


@pytest.mark.parametrize("bad", [BOB, [42], ["not-a-user"], [BOB, "@:"]])
def test_rule_1_4_v12_additional_creators_must_be_user_ids(bad: Any) -> None:
    event = _create_dict("12")
    event["content"]["additional_creators"] = bad
    with pytest.raises(AuthError, match=r"rule 1\.4 \(room version 12\)"):
        _check_create("12", event)


def test_v12_valid_additional_creators_are_allowed() -> None:
    event = _create_dict("12")
    event["content"]["additional_creators"] = [BOB, CAROL]
    _check_create("12", event)


def test_v11_does_not_validate_additional_creators() -> None:
    event = _create_dict("11")
    event["content"]["additional_creators"] = "anything"
    _check_create("11", event)


# Rule 2 (v12 only): the room id is the create event's id


def test_rule_2_v12_room_id_must_be_the_create_event_id() -> None:
    room = standard_room("12")
    event = room.make(ALICE, "m.room.message", {"body": "hi"}, room_id="!" + "A" * 43)
    with pytest.raises(AuthError, match=r"rule 2 \(room version 12\)"):
        room.check(event)


@pytest.mark.parametrize("version", ["10", "11"])
def test_rule_2_5_create_event_of_another_room_is_rejected(version: str) -> None:
    room = standard_room(version)
    event = room.make(ALICE, "m.room.message", {"body": "hi"}, room_id="!other:example.org")
    with pytest.raises(AuthError, match=r"rule 2\.5 "):
        room.check(event)


def test_auth_state_entry_from_another_room_is_rejected(version: str) -> None:
    room = standard_room(version)
    state = dict(room.state)
    state[("m.room.member", ALICE)] = other_room(version).force_member(ALICE, "join")
    event = room.make(ALICE, "m.room.message", {"body": "hi"})
    with pytest.raises(AuthError, match="another room"):
        check_auth_rules(version, event, state, room.create)


# Rule 2 [3]: the auth events themselves


def test_auth_events_selection_is_accepted(version: str) -> None:
    room = standard_room(version)
    event = room.make(ALICE, "m.room.message", {"body": "hi"})
    selected = [
        room.state[k]
        for k in auth_types_for_event(version, event.type, event.sender, None, event.content)
        if k in room.state
    ]
    check_auth_events(version, event, selected)


def test_rule_2_1_duplicate_auth_events_are_rejected(version: str) -> None:
    room = standard_room(version)
    first_levels = room.state[("m.room.power_levels", "")]
    room.send(ALICE, "m.room.power_levels", {"users": {} if version == "12" else {ALICE: 100}})
    event = room.make(ALICE, "m.room.message", {"body": "hi"})
    auth = [
        room.state[("m.room.power_levels", "")],
        first_levels,
        room.state[("m.room.member", ALICE)],
    ]
    if version != "12":
        auth.append(room.create)
    number = "3.1" if version == "12" else "2.1"
    with pytest.raises(AuthError, match=rf"rule {number} "):
        check_auth_events(version, event, auth)


def test_rule_2_2_unexpected_auth_event_is_rejected(version: str) -> None:
    room = standard_room(version)
    event = room.make(ALICE, "m.room.message", {"body": "hi"})
    auth = [room.state[("m.room.join_rules", "")], room.state[("m.room.member", ALICE)]]
    number = "3.2" if version == "12" else "2.2"
    with pytest.raises(AuthError, match=rf"rule {number} "):
        check_auth_events(version, event, auth)


def test_rule_3_2_v12_create_event_must_not_be_an_auth_event() -> None:
    room = standard_room("12")
    event = room.make(ALICE, "m.room.message", {"body": "hi"})
    with pytest.raises(AuthError, match=r"rule 3\.2 "):
        check_auth_events("12", event, [room.create, room.state[("m.room.member", ALICE)]])


@pytest.mark.parametrize("version", ["10", "11"])
def test_rule_2_4_create_event_must_be_an_auth_event(version: str) -> None:
    room = standard_room(version)
    event = room.make(ALICE, "m.room.message", {"body": "hi"})
    with pytest.raises(AuthError, match=r"rule 2\.4 "):
        check_auth_events(version, event, [room.state[("m.room.member", ALICE)]])


def test_rule_2_5_auth_event_from_another_room_is_rejected(version: str) -> None:
    room = standard_room(version)
    foreign = other_room(version).force_member(ALICE, "join")
    event = room.make(ALICE, "m.room.message", {"body": "hi"})
    auth = [foreign] + ([room.create] if version != "12" else [])
    number = "3.5" if version == "12" else "2.5"
    with pytest.raises(AuthError, match=rf"rule {number} "):
        check_auth_events(version, event, auth)


# Auth events selection (server-server API)


@pytest.mark.parametrize(
    ("version", "expected_create"), [("10", True), ("11", True), ("12", False)]
)
def test_selection_includes_create_event_before_v12(version: str, expected_create: bool) -> None:
    types = auth_types_for_event(version, "m.room.message", ALICE, None, {})
    assert (("m.room.create", "") in types) is expected_create
    assert ("m.room.power_levels", "") in types
    assert ("m.room.member", ALICE) in types


def test_selection_for_create_event_is_empty(version: str) -> None:
    assert auth_types_for_event(version, "m.room.create", ALICE, "", {}) == []


@pytest.mark.parametrize(
    ("content", "extra"),
    [
        ({"membership": "join"}, [("m.room.join_rules", "")]),
        ({"membership": "knock"}, [("m.room.join_rules", "")]),
        ({"membership": "invite"}, [("m.room.join_rules", "")]),
        ({"membership": "leave"}, []),
        ({"membership": "ban"}, []),
        (
            {"membership": "join", "join_authorised_via_users_server": CAROL},
            [("m.room.join_rules", ""), ("m.room.member", CAROL)],
        ),
        (
            {"membership": "invite", "third_party_invite": {"signed": {"token": "abc"}}},
            [("m.room.join_rules", ""), ("m.room.third_party_invite", "abc")],
        ),
    ],
)
def test_selection_for_membership_events(content: dict[str, Any], extra: list[Any]) -> None:
    types = auth_types_for_event("11", "m.room.member", ALICE, BOB, content)
    assert types == [
        ("m.room.create", ""),
        ("m.room.power_levels", ""),
        ("m.room.member", ALICE),
        ("m.room.member", BOB),
        *extra,
    ]


def test_selection_has_no_duplicates_for_own_membership() -> None:
    types = auth_types_for_event("12", "m.room.member", ALICE, ALICE, {"membership": "join"})
    assert types == [
        ("m.room.power_levels", ""),
        ("m.room.member", ALICE),
        ("m.room.join_rules", ""),
    ]


# Rule 3 [4]: m.federate


def test_rule_3_non_federating_room_rejects_remote_sender(version: str) -> None:
    room = standard_room(version, join_rule="public", create_content={"m.federate": False})
    number = "4" if version == "12" else "3"
    with pytest.raises(AuthError, match=rf"rule {number} "):
        room.check(room.member(MALLORY, "join"))
    room.check(room.member(BOB, "join"))


# Rule 5 [6]: the sender must be joined


def test_rule_5_non_member_may_not_send(version: str) -> None:
    room = standard_room(version)
    number = "6" if version == "12" else "5"
    with pytest.raises(AuthError, match=rf"rule {number} "):
        room.check(room.make(BOB, "m.room.message", {"body": "hi"}))


def test_rule_5_invited_user_may_not_send(version: str) -> None:
    room = standard_room(version)
    room.force_member(BOB, "invite")
    with pytest.raises(AuthError, match="not joined"):
        room.check(room.make(BOB, "m.room.message", {"body": "hi"}))


# Rule 6 [7]: m.room.third_party_invite


def test_rule_6_third_party_invite_needs_invite_level(version: str) -> None:
    room = standard_room(version, power_levels={"invite": 50})
    room.force_member(BOB, "join")
    content = {"display_name": "b...@example.com", "public_key": "abc", "key_validity_url": "x"}
    number = "7.1" if version == "12" else "6.1"
    with pytest.raises(AuthError, match=rf"rule {number} "):
        room.check(room.make(BOB, "m.room.third_party_invite", content, "token"))
    room.check(room.make(ALICE, "m.room.third_party_invite", content, "token"))


# Rule 7 [8]: required power level


def test_rule_7_required_power_level(version: str) -> None:
    room = standard_room(version, power_levels={"events": {"m.room.name": 60}})
    room.force_member(BOB, "join")
    number = "8" if version == "12" else "7"
    with pytest.raises(AuthError, match=rf"rule {number} .*needs power level 60"):
        room.check(room.make(BOB, "m.room.name", {"name": "x"}, ""))
    room.check(room.make(ALICE, "m.room.name", {"name": "x"}, ""))


def test_rule_7_state_default_applies_to_state_events(version: str) -> None:
    room = standard_room(version)
    room.force_member(BOB, "join")
    with pytest.raises(AuthError, match="needs power level 50"):
        room.check(room.make(BOB, "m.room.topic", {"topic": "x"}, ""))
    room.check(room.make(BOB, "m.room.message", {"body": "x"}))


def test_rule_7_redactions_need_only_their_event_level(version: str) -> None:
    # The redact level is *not* an auth rule: a member may send the event.
    room = standard_room(version, power_levels={"redact": 100})
    room.force_member(BOB, "join")
    target = room.send(ALICE, "m.room.message", {"body": "hi"})
    room.check(room.make(BOB, "m.room.redaction", {}, redacts=target.event_id))


# Rule 8 [9]: state keys starting with @


def test_rule_8_state_key_of_another_user_is_rejected(version: str) -> None:
    room = standard_room(version)
    number = "9" if version == "12" else "8"
    with pytest.raises(AuthError, match=rf"rule {number} "):
        room.check(room.make(ALICE, "org.example.custom", {}, BOB))
    room.check(room.make(ALICE, "org.example.custom", {}, ALICE))


# Rule 10 [11]: otherwise allow


def test_rule_10_other_events_are_allowed(version: str) -> None:
    room = standard_room(version)
    room.check(room.make(ALICE, "m.room.topic", {"topic": "x"}, ""))
    room.check(room.make(ALICE, "org.example.anything", {"x": 1}))


# Room creators (v12)


def test_v12_creator_has_infinite_power_without_users_entry() -> None:
    room = standard_room("12", power_levels={"state_default": 2**53 - 1})
    room.check(room.make(ALICE, "m.room.topic", {"topic": "x"}, ""))


def test_v12_additional_creator_is_privileged() -> None:
    room = standard_room(
        "12",
        create_content={"additional_creators": [BOB]},
        power_levels={"state_default": 1000},
    )
    room.force_member(BOB, "join")
    room.check(room.make(BOB, "m.room.topic", {"topic": "x"}, ""))


@pytest.mark.parametrize("version", ["10", "11"])
def test_before_v12_additional_creators_are_ordinary_users(version: str) -> None:
    room = standard_room(version, create_content={"additional_creators": [BOB]})
    room.force_member(BOB, "join")
    with pytest.raises(AuthError):
        room.check(room.make(BOB, "m.room.topic", {"topic": "x"}, ""))


def test_without_power_levels_creator_has_100(version: str) -> None:
    room = RoomFixture(version)
    room.send(ALICE, "m.room.member", {"membership": "join"}, ALICE)
    room.force_member(BOB, "join")
    room.check(room.make(ALICE, "m.room.topic", {"topic": "x"}, ""))
    with pytest.raises(AuthError, match="needs power level 50"):
        room.check(room.make(BOB, "m.room.topic", {"topic": "x"}, ""))


def test_error_is_an_auth_error_with_forbidden_code(version: str) -> None:
    room = standard_room(version)
    with pytest.raises(AuthError) as info:
        room.check(room.make(BOB, "m.room.message", {"body": "hi"}))
    assert info.value.errcode == "M_FORBIDDEN"
    assert f"room version {version}" in info.value.error


# Handling redactions (v3+)


def _redaction_room(version: str) -> tuple[RoomFixture, Pdu]:
    room = standard_room(version, users={BOB: 50})
    room.force_member(BOB, "join")
    room.force_member(CAROL, "join")
    room.force_member(MALLORY, "join")
    target = room.send(CAROL, "m.room.message", {"body": "hi"})
    return room, target


@pytest.mark.parametrize(
    ("redactor", "applies"),
    [(BOB, True), (CAROL, True), ("@dave:example.org", True), (MALLORY, False)],
)
def test_redaction_applies_by_level_or_same_server(
    version: str, redactor: str, applies: bool
) -> None:
    room, target = _redaction_room(version)
    redaction = room.make(redactor, "m.room.redaction", {}, redacts=target.event_id)
    levels = room.state[("m.room.power_levels", "")].content
    assert should_apply_redaction(redaction, target, levels, room.create, version) is applies


def test_redaction_of_another_event_does_not_apply(version: str) -> None:
    room, target = _redaction_room(version)
    redaction = room.make(BOB, "m.room.redaction", {}, redacts="$" + "B" * 43)
    levels = room.state[("m.room.power_levels", "")].content
    assert not should_apply_redaction(redaction, target, levels, room.create, version)


def test_redact_level_counts_even_without_send_level() -> None:
    # "the first condition holds true even when the sender doesn't have a high
    # enough power level to send the type of event that they're redacting."
    room, target = _redaction_room("11")
    redaction = room.make(BOB, "m.room.redaction", {}, redacts=target.event_id)
    levels = {**room.state[("m.room.power_levels", "")].content, "events": {"m.room.message": 99}}
    assert should_apply_redaction(redaction, target, levels, room.create, "11")
    assert get_room_version("11").redacts_in_content
    assert appendix_key().version == "1"
