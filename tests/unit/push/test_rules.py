"""Merging user rules with the defaults, placement, and validation of client input."""

from __future__ import annotations

from typing import Any

import pytest
from tests.unit.push.shared import ALICE, CTX

from revier.errors import BadJson, InvalidParam, NotFound
from revier.push import (
    PushContext,
    UserRule,
    default_ruleset,
    evaluate,
    find_rule,
    insert_rule,
    merge_rules,
    validate_actions,
    validate_enabled,
    validate_new_rule,
)
from revier.push.model import RuleKind

DEFAULTS = default_ruleset(ALICE)


def rule(kind: RuleKind, rule_id: str, order: int = 0, **kw: Any) -> UserRule:
    kw.setdefault("actions", ["notify"])
    return UserRule(kind=kind, rule_id=rule_id, order=order, **kw)


def ids(rules: list[dict[str, Any]]) -> list[str]:
    return [r["rule_id"] for r in rules]


def ordered(rules: list[UserRule]) -> list[str]:
    return [r.rule_id for r in sorted(rules, key=lambda r: r.order)]


# --- merge_rules -----------------------------------------------------------------------


def test_merge_without_user_rules_is_the_defaults() -> None:
    assert merge_rules(DEFAULTS, [], {}) == DEFAULTS


def test_user_override_rules_sit_after_master_only() -> None:
    merged = merge_rules(
        DEFAULTS,
        [rule("override", "second", 1, conditions=[]), rule("override", "first", 0, conditions=[])],
        {},
    )
    assert ids(merged["override"])[:4] == [
        ".m.rule.master",
        "first",
        "second",
        ".m.rule.suppress_notices",
    ]
    assert merged["override"][1] == {
        "rule_id": "first",
        "default": False,
        "enabled": True,
        "actions": ["notify"],
        "conditions": [],
    }


def test_user_rules_come_first_in_every_other_kind() -> None:
    merged = merge_rules(
        DEFAULTS,
        [
            rule("underride", "u", conditions=[]),
            rule("content", "c", pattern="cake"),
            rule("room", "!r:x"),
            rule("sender", "@s:x", enabled=False),
        ],
        {},
    )
    assert ids(merged["underride"])[:2] == ["u", ".m.rule.call"]
    assert merged["content"] == [
        {
            "rule_id": "c",
            "default": False,
            "enabled": True,
            "actions": ["notify"],
            "pattern": "cake",
        }
    ]
    assert merged["room"] == [
        {"rule_id": "!r:x", "default": False, "enabled": True, "actions": ["notify"]}
    ]
    assert merged["sender"][0]["enabled"] is False


def test_overrides_change_only_server_default_rules() -> None:
    merged = merge_rules(
        DEFAULTS,
        [rule("room", "!r:x")],
        {
            ".m.rule.master": {"enabled": True},
            ".m.rule.message": {"actions": ["notify", {"set_tweak": "sound", "value": "x"}]},
            "!r:x": {"enabled": False},
            ".m.rule.unknown": {"enabled": False},
        },
    )
    assert merged["override"][0]["enabled"] is True
    message = find_rule(merged, "underride", ".m.rule.message")
    assert message["actions"] == ["notify", {"set_tweak": "sound", "value": "x"}]
    assert message["enabled"] is True
    assert merged["room"][0]["enabled"] is True


def test_merge_shares_nothing_with_its_inputs() -> None:
    defaults = default_ruleset(ALICE)
    actions: list[Any] = ["notify"]
    merged = merge_rules(defaults, [], {".m.rule.message": {"actions": actions}})
    merged["override"][1]["conditions"][0]["pattern"] = "changed"
    find_rule(merged, "underride", ".m.rule.message")["actions"].append("x")
    assert defaults == default_ruleset(ALICE)
    assert actions == ["notify"]
    tweak: dict[str, Any] = {"set_tweak": "org.example", "value": {"a": 1}}
    user = rule("override", "r", conditions=[{"kind": "x"}], actions=[tweak])
    merged = merge_rules(defaults, [user], {})
    merged["override"][1]["actions"][0]["value"]["a"] = 2
    merged["override"][1]["conditions"][0]["kind"] = "y"
    assert tweak == {"set_tweak": "org.example", "value": {"a": 1}}
    assert user.conditions == [{"kind": "x"}]


def test_master_outranks_user_override_rules() -> None:
    merged = merge_rules(
        DEFAULTS, [rule("override", "loud", conditions=[])], {".m.rule.master": {"enabled": True}}
    )
    assert evaluate(merged, {"type": "m.room.message", "sender": "@b:x", "content": {}}, CTX) == []


# --- insert_rule (PUT placement) --------------------------------------------------------


def test_new_rule_becomes_most_important() -> None:
    rules = insert_rule([], rule("content", "a", pattern="a"))
    rules = insert_rule(rules, rule("content", "b", pattern="b"))
    assert ordered(rules) == ["b", "a"]
    assert [r.order for r in rules] == [0, 1]


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        ("b", None, ["a", "new", "b", "c"]),
        (None, "b", ["a", "b", "new", "c"]),
        ("a", "c", ["new", "a", "b", "c"]),  # both given: before wins
        (None, "c", ["a", "b", "c", "new"]),
    ],
)
def test_before_and_after(before: str | None, after: str | None, expected: list[str]) -> None:
    existing = [rule("room", n, i) for i, n in enumerate(["a", "b", "c"])]
    result = insert_rule(existing, rule("room", "new"), before=before, after=after)
    assert ordered(result) == expected
    assert [r.rule_id for r in result] == expected


def test_replacing_keeps_place_and_enabled() -> None:
    existing = [
        rule("override", "a", 0, conditions=[]),
        rule("override", "b", 1, conditions=[], enabled=False),
        rule("override", "c", 2, conditions=[]),
    ]
    result = insert_rule(existing, rule("override", "b", conditions=[], actions=[]))
    assert ordered(result) == ["a", "b", "c"]
    assert result[1].enabled is False
    assert result[1].actions == []
    moved = insert_rule(existing, rule("override", "a", conditions=[]), after="c")
    assert ordered(moved) == ["b", "c", "a"]


def test_insert_ignores_other_kinds() -> None:
    existing = [rule("room", "!a:x"), rule("sender", "@b:x")]
    assert ordered(insert_rule(existing, rule("room", "!c:x"))) == ["!c:x", "!a:x"]


@pytest.mark.parametrize("anchor", ["missing", ".m.rule.message", ".m.rule.master"])
def test_bad_anchor(anchor: str) -> None:
    existing = [rule("underride", "a", conditions=[])]
    with pytest.raises(InvalidParam):
        insert_rule(existing, rule("underride", "n", conditions=[]), before=anchor)
    with pytest.raises(InvalidParam):
        insert_rule(existing, rule("underride", "n", conditions=[]), after=anchor)


# --- the spec's worked examples ----------------------------------------------------------


def msg(body: str, room_id: str = "!any:x", sender: str = "@b:x") -> dict[str, Any]:
    return {
        "type": "m.room.message",
        "sender": sender,
        "room_id": room_id,
        "content": {"msgtype": "m.text", "body": body},
    }


def test_spec_examples() -> None:
    user: list[UserRule] = []
    user += insert_rule(
        user, validate_new_rule("room", "!dj234r78wl45Gh4D:matrix.org", {"actions": []})
    )
    user += insert_rule(user, validate_new_rule("sender", "@spambot:matrix.org", {"actions": []}))
    cake = validate_new_rule(
        "content",
        "SSByZWFsbHkgbGlrZSBjYWtl",
        {
            "pattern": "cake",
            "actions": ["notify", {"set_tweak": "sound", "value": "cakealarm.wav"}],
        },
    )
    content = insert_rule([], cake)
    lie = validate_new_rule(
        "content", "U3BvbmdlIGNha2UgaXMgYmVzdA", {"pattern": "cake*lie", "actions": ["notify"]}
    )
    content = insert_rule(content, lie, before="SSByZWFsbHkgbGlrZSBjYWtl")
    beer = validate_new_rule(
        "override",
        "U2VlIHlvdSBpbiBUaGUgRHVrZQ",
        {
            "conditions": [
                {"kind": "event_match", "key": "content.body", "pattern": "beer"},
                {"kind": "room_member_count", "is": "<=10"},
            ],
            "actions": ["notify", {"set_tweak": "sound", "value": "beeroclock.wav"}],
        },
    )
    merged = merge_rules(DEFAULTS, [*user, *content, beer], {})

    assert ids(merged["content"]) == ["U3BvbmdlIGNha2UgaXMgYmVzdA", "SSByZWFsbHkgbGlrZSBjYWtl"]
    assert evaluate(merged, msg("the cake is a lie"), CTX) == ["notify"]
    assert evaluate(merged, msg("cake!"), CTX) == [
        "notify",
        {"set_tweak": "sound", "value": "cakealarm.wav"},
    ]
    assert evaluate(merged, msg("hi", room_id="!dj234r78wl45Gh4D:matrix.org"), CTX) == []
    assert evaluate(merged, msg("hi", sender="@spambot:matrix.org"), CTX) == []
    assert evaluate(merged, msg("Beer?"), CTX) == [
        "notify",
        {"set_tweak": "sound", "value": "beeroclock.wav"},
    ]
    big = PushContext(ALICE, None, 11, 0, {})
    assert evaluate(merged, msg("Beer?"), big) == ["notify"]


# --- validate_new_rule -------------------------------------------------------------------


def test_validate_normalises() -> None:
    new = validate_new_rule(
        "override",
        "r",
        {
            "conditions": [{"kind": "org.example.future", "x": 1}],
            "actions": ["dont_notify", "notify", "coalesce", {"set_tweak": "highlight"}],
            "pattern": "ignored",
        },
    )
    assert new == UserRule(
        kind="override",
        rule_id="r",
        actions=["dont_notify", "notify", "coalesce", {"set_tweak": "highlight"}],
        conditions=[{"kind": "org.example.future", "x": 1}],
    )
    assert new.enabled is True
    room = validate_new_rule("room", "!r:x", {"actions": [], "conditions": [{"kind": "x"}]})
    assert room.conditions == [] and room.pattern is None
    # v12 room IDs have no server name; historical user IDs may hold "/".
    assert validate_new_rule("room", "!abcDEF_-123", {"actions": []}).rule_id == "!abcDEF_-123"
    assert validate_new_rule("sender", "@a/b:x", {"actions": []}).rule_id == "@a/b:x"


@pytest.mark.parametrize(
    ("kind", "rule_id"),
    [
        ("global", "r"),
        ("override", ""),
        ("override", ".m.rule.master"),
        ("content", ".mine"),
        ("override", "a/b"),
        ("override", "a\\b"),
        ("room", "#alias:x"),
        ("room", "r"),
        ("sender", "bob"),
        ("sender", "@bob"),
    ],
)
def test_validate_rejects_path(kind: str, rule_id: str) -> None:
    with pytest.raises(InvalidParam):
        validate_new_rule(kind, rule_id, {"actions": [], "conditions": [], "pattern": "x"})


@pytest.mark.parametrize(
    ("kind", "body"),
    [
        ("room", []),
        ("room", {}),
        ("room", {"actions": "notify"}),
        ("room", {"actions": ["notify", "beep"]}),
        ("room", {"actions": [1]}),
        ("room", {"actions": [{"value": "x"}]}),
        ("room", {"actions": [{"set_tweak": "highlight", "value": "yes"}]}),
        ("room", {"actions": [{"set_tweak": "sound", "value": 1}]}),
        ("content", {"actions": []}),
        ("content", {"actions": [], "pattern": 5}),
        ("override", {"actions": []}),
        ("underride", {"actions": [], "conditions": {}}),
        ("override", {"actions": [], "conditions": ["x"]}),
        ("override", {"actions": [], "conditions": [{"key": "type"}]}),
        ("override", {"actions": [], "conditions": [{"kind": "event_match", "key": "type"}]}),
        ("override", {"actions": [], "conditions": [{"kind": "event_match", "pattern": "x"}]}),
        ("override", {"actions": [], "conditions": [{"kind": "event_property_is", "key": "a"}]}),
        (
            "override",
            {
                "actions": [],
                "conditions": [{"kind": "event_property_is", "key": "a", "value": 1.5}],
            },
        ),
        (
            "override",
            {
                "actions": [],
                "conditions": [{"kind": "event_property_contains", "key": "a", "value": ["x"]}],
            },
        ),
        (
            "override",
            {
                "actions": [],
                "conditions": [{"kind": "event_property_is", "key": "a", "value": 2**53}],
            },
        ),
        ("override", {"actions": [], "conditions": [{"kind": "room_member_count", "is": "=2"}]}),
        ("override", {"actions": [], "conditions": [{"kind": "room_member_count"}]}),
        ("override", {"actions": [], "conditions": [{"kind": "sender_notification_permission"}]}),
    ],
)
def test_validate_rejects_body(kind: str, body: Any) -> None:
    rule_id = "!r:x" if kind == "room" else "r"
    with pytest.raises(BadJson):
        validate_new_rule(kind, rule_id, body)


def test_validate_accepts_every_known_condition() -> None:
    conditions = [
        {"kind": "event_match", "key": "content.body", "pattern": "x"},
        {"kind": "event_property_is", "key": "a", "value": None},
        {"kind": "event_property_contains", "key": "a", "value": -(2**53) + 1},
        {"kind": "contains_display_name"},
        {"kind": "room_member_count", "is": ">=3"},
        {"kind": "sender_notification_permission", "key": "room"},
    ]
    new = validate_new_rule("underride", "r", {"conditions": conditions, "actions": []})
    assert new.conditions == conditions


def test_validate_actions_and_enabled() -> None:
    # Kept as written; the evaluator ignores them (test_evaluator).
    assert validate_actions(["coalesce"]) == ["coalesce"]
    assert validate_actions([{"set_tweak": "org.example", "value": {"any": 1}}]) == [
        {"set_tweak": "org.example", "value": {"any": 1}}
    ]
    assert validate_enabled({"enabled": False}) is False
    bodies: list[Any] = [{}, {"enabled": 1}, [], {"enabled": "true"}]
    for body in bodies:
        with pytest.raises(BadJson):
            validate_enabled(body)


def test_find_rule() -> None:
    assert find_rule(DEFAULTS, "override", ".m.rule.master")["enabled"] is False
    with pytest.raises(NotFound):
        find_rule(DEFAULTS, "content", ".m.rule.master")
    with pytest.raises(InvalidParam):
        find_rule(DEFAULTS, "nope", ".m.rule.master")
