"""Each condition kind of the spec (Push Rules, Conditions), with its examples."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from tests.unit.push.shared import BOB, CTX, event, text

from revier.push import PushContext, evaluate
from revier.push.evaluator import condition_matches
from revier.push.patterns import contains_words


def matches(cond: dict[str, Any], ev: dict[str, Any], ctx: PushContext = CTX) -> bool:
    return condition_matches(cond, ev, ctx)


# --- event_match -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("topic", "expected"),
    [("Lunch plans", True), ("LUNCH", True), (" lunch", False), ("lunc", False), (None, False)],
)
def test_event_match_spec_example(topic: str | None, expected: bool) -> None:
    ev = event("m.room.topic", state_key="", content={"topic": topic})
    assert matches({"kind": "event_match", "key": "content.topic", "pattern": "lunc?*"}, ev) is (
        expected
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("An example event.", True),
        ("exple", True),
        ("An exciting triple-whammy", True),
        ("examples", False),
        ("counterexample", False),
    ],
)
def test_event_match_body_spec_example(body: str, expected: bool) -> None:
    cond = {"kind": "event_match", "key": "content.body", "pattern": "ex*ple"}
    assert matches(cond, text(body)) is expected


def test_event_match_absent_or_non_string_never_matches_star() -> None:
    cond = {"kind": "event_match", "key": "content.x", "pattern": "*"}
    assert not matches(cond, event(content={}))
    values: list[Any] = [None, 1, True, [], {}]
    for value in values:
        assert not matches(cond, event(content={"x": value}))
    assert matches(cond, event(content={"x": ""}))


def test_event_match_on_escaped_key() -> None:
    cond = {"kind": "event_match", "key": "content.m\\.relates_to.rel_type", "pattern": "m.thr*"}
    assert matches(cond, event(content={"m.relates_to": {"rel_type": "m.thread"}}))
    assert not matches(cond, event(content={"m": {"relates_to": {"rel_type": "m.thread"}}}))


# --- event_property_is / event_property_contains ---------------------------------------

CREATE = event(
    "m.room.create",
    state_key="",
    content={"creator": BOB, "m.federate": True, "room_version": "1", "n": 1, "z": None},
)


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("content.m\\.federate", True, True),
        ("content.m\\.federate", "true", False),
        ("content.m\\.federate", 1, False),
        ("content.n", 1, True),
        ("content.n", True, False),
        ("content.n", 1.0, False),
        ("content.z", None, True),
        ("content.absent", None, False),
        ("content.room_version", "1", True),
        ("content.room_version", 1, False),
    ],
)
def test_event_property_is(key: str, value: Any, expected: bool) -> None:
    cond = {"kind": "event_property_is", "key": key, "value": value}
    assert matches(cond, CREATE) is expected


def test_event_property_is_needs_value_and_scalar_property() -> None:
    assert not matches({"kind": "event_property_is", "key": "content.n"}, CREATE)
    ev = event(content={"o": {"a": 1}, "l": [1]})
    assert not matches({"kind": "event_property_is", "key": "content.o", "value": None}, ev)
    assert not matches(
        {"kind": "event_property_is", "key": "content.big", "value": 2**60},
        event(content={"big": 2**60}),
    )


ALIASES = event(
    "m.room.canonical_alias",
    state_key="",
    content={
        "alias": "#somewhere:localhost",
        "alt_aliases": ["#somewhere:example.org", "#myroom:example.com"],
        "mixed": [1, True, None, {"x": 1}, ["y"], "s"],
    },
)


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("content.alt_aliases", "#myroom:example.com", True),
        ("content.alt_aliases", ":example.com", False),
        ("content.alias", "#somewhere:localhost", False),  # not an array
        ("content.absent", "x", False),
        ("content.mixed", 1, True),
        ("content.mixed", True, True),
        ("content.mixed", None, True),
        ("content.mixed", 0, False),
        ("content.mixed", "y", False),  # compound members are ignored
    ],
)
def test_event_property_contains(key: str, value: Any, expected: bool) -> None:
    cond = {"kind": "event_property_contains", "key": key, "value": value}
    assert matches(cond, ALIASES) is expected


def test_event_property_contains_distinguishes_bool_and_int() -> None:
    cond = {"kind": "event_property_contains", "key": "content.l", "value": 1}
    assert not matches(cond, event(content={"l": [True]}))


# --- contains_display_name -------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "body", "expected"),
    [
        ("Alice", "hi alice!", True),
        ("Alice", "Alicette", False),
        ("Alice", "hi_alice", False),
        ("Alice Smith", "ask alice smith.", True),
        ("A*e", "Alice", False),  # display names are literal, not globs
        ("A*e", "hi a*e", True),
        ("[bot]", "ask [bot] now", True),
        (None, "hi alice", False),
        ("", "hi", False),
    ],
)
def test_contains_display_name(name: str | None, body: str, expected: bool) -> None:
    ctx = dataclasses.replace(CTX, user_display_name=name)
    assert matches({"kind": "contains_display_name"}, text(body), ctx) is expected


def test_contains_display_name_needs_string_body() -> None:
    assert not matches({"kind": "contains_display_name"}, event(content={"body": ["Alice"]}))
    assert not contains_words("", "")


# --- room_member_count -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("is_", "count", "expected"),
    [
        ("2", 2, True),
        ("2", 3, False),
        ("==2", 2, True),
        ("<10", 9, True),
        ("<10", 10, False),
        ("<=10", 10, True),
        (">2", 3, True),
        (">2", 2, False),
        (">=2", 2, True),
        ("=2", 2, False),
        ("2.0", 2, False),
        (" 2", 2, False),
        ("", 2, False),
        ("<", 2, False),
    ],
)
def test_room_member_count(is_: str, count: int, expected: bool) -> None:
    ctx = dataclasses.replace(CTX, room_member_count=count)
    assert matches({"kind": "room_member_count", "is": is_}, text("x"), ctx) is expected


def test_room_member_count_needs_is() -> None:
    assert not matches({"kind": "room_member_count"}, text("x"))
    assert not matches({"kind": "room_member_count", "is": 2}, text("x"))


# --- sender_notification_permission and unknown kinds ----------------------------------


@pytest.mark.parametrize(
    ("levels", "sender_level", "key", "expected"),
    [
        ({}, 50, "room", True),
        ({}, 49, "room", False),
        ({"room": 100}, 50, "room", False),
        ({"room": 0}, 0, "room", True),
        ({"custom": 10}, 10, "custom", True),
        ({}, 50, "other", True),
    ],
)
def test_sender_notification_permission(
    levels: dict[str, int], sender_level: int, key: str, expected: bool
) -> None:
    ctx = dataclasses.replace(
        CTX, notification_power_levels=levels, sender_power_level=sender_level
    )
    cond = {"kind": "sender_notification_permission", "key": key}
    assert matches(cond, text("x"), ctx) is expected
    assert not matches({"kind": "sender_notification_permission"}, text("x"), ctx)


def test_unknown_condition_never_matches() -> None:
    assert not matches({"kind": "org.example.always"}, text("x"))
    assert not matches({}, text("x"))
    rules = {
        "override": [
            {
                "rule_id": "r",
                "enabled": True,
                "actions": ["notify"],
                "conditions": [
                    {"kind": "event_match", "key": "type", "pattern": "*"},
                    {"kind": "org.example.x"},
                ],
            }
        ]
    }
    assert evaluate(rules, text("x"), CTX) is None
