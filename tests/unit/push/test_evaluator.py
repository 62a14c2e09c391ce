"""Evaluation: every default rule on a representative event, kind order, action helpers."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from tests.unit.push.shared import ALICE, BOB, CTX, ROOM, event, text

from revier.push import (
    EventMatcher,
    PushContext,
    compile_ruleset,
    default_ruleset,
    evaluate,
    is_highlight,
    is_notify,
    matching_rule,
    tweaks,
)

DM = dataclasses.replace(CTX, room_member_count=2)
RULES = default_ruleset(ALICE)


def rule_id(ev: dict[str, Any], ctx: PushContext = CTX, rules: Any = RULES) -> str | None:
    match = matching_rule(rules, ev, ctx)
    return None if match is None else str(match[1]["rule_id"])


# --- every default rule on a representative event -------------------------------------

SOUND = {"set_tweak": "sound", "value": "default"}
HIGHLIGHT = {"set_tweak": "highlight"}
MENTION_ALICE = {"m.mentions": {"user_ids": [ALICE]}}
EDIT = {"m.relates_to": {"rel_type": "m.replace", "event_id": "$orig"}}

DEFAULT_CASES: list[tuple[str, dict[str, Any], PushContext, str | None, list[Any] | None]] = [
    ("dm text", text("hi"), DM, ".m.rule.room_one_to_one", ["notify", SOUND]),
    ("group text", text("hi"), CTX, ".m.rule.message", ["notify"]),
    (
        "user mention",
        text("hi", **MENTION_ALICE),
        CTX,
        ".m.rule.is_user_mention",
        ["notify", SOUND, HIGHLIGHT],
    ),
    (
        "someone else mentioned",
        text("hi", **{"m.mentions": {"user_ids": [BOB]}}),
        CTX,
        ".m.rule.message",
        ["notify"],
    ),
    (
        "@room by moderator",
        text("all", **{"m.mentions": {"room": True}}),
        dataclasses.replace(CTX, sender_power_level=50),
        ".m.rule.is_room_mention",
        ["notify", HIGHLIGHT],
    ),
    (
        "@room by nobody",
        text("all", **{"m.mentions": {"room": True}}),
        CTX,
        ".m.rule.message",
        ["notify"],
    ),
    (
        "@room allowed to all",
        text("all", **{"m.mentions": {"room": True}}),
        dataclasses.replace(CTX, notification_power_levels={"room": 0}),
        ".m.rule.is_room_mention",
        ["notify", HIGHLIGHT],
    ),
    (
        "notice",
        event(content={"msgtype": "m.notice", "body": "bot"}),
        DM,
        ".m.rule.suppress_notices",
        [],
    ),
    (
        "notice mentioning me",
        event(content={"msgtype": "m.notice", "body": "x", **MENTION_ALICE}),
        CTX,
        ".m.rule.suppress_notices",
        [],
    ),
    (
        "join",
        event("m.room.member", state_key=BOB, content={"membership": "join"}),
        CTX,
        ".m.rule.member_event",
        [],
    ),
    (
        "invite for me",
        event("m.room.member", state_key=ALICE, content={"membership": "invite"}),
        CTX,
        ".m.rule.invite_for_me",
        ["notify", SOUND],
    ),
    (
        "invite for another",
        event("m.room.member", state_key="@c:x", content={"membership": "invite"}),
        CTX,
        ".m.rule.member_event",
        [],
    ),
    (
        "tombstone",
        event("m.room.tombstone", state_key="", content={"replacement_room": "!n:x"}),
        CTX,
        ".m.rule.tombstone",
        ["notify", HIGHLIGHT],
    ),
    # No state_key: not the state event, and the spec says there is no implicit check.
    ("tombstone-typed message", event("m.room.tombstone", content={}), CTX, None, None),
    (
        "reaction",
        event("m.reaction", content={"m.relates_to": {"rel_type": "m.annotation"}}),
        CTX,
        ".m.rule.reaction",
        [],
    ),
    (
        "server acl",
        event("m.room.server_acl", state_key="", content={"allow": ["*"]}),
        CTX,
        ".m.rule.room.server_acl",
        [],
    ),
    ("edit", text("* fixed", **EDIT), DM, ".m.rule.suppress_edits", []),
    # is_user_mention precedes suppress_edits: an edit that newly mentions
    # someone carries them in its top-level m.mentions and should ping them
    # (spec: Edits of events with mentions).
    (
        "edit mentioning me",
        text("* hi", **EDIT, **MENTION_ALICE),
        CTX,
        ".m.rule.is_user_mention",
        ["notify", SOUND, HIGHLIGHT],
    ),
    (
        "encrypted 1:1",
        event("m.room.encrypted", content={"algorithm": "m.megolm.v1.aes-sha2"}),
        DM,
        ".m.rule.encrypted_room_one_to_one",
        ["notify", SOUND],
    ),
    (
        "encrypted group",
        event("m.room.encrypted", content={}),
        CTX,
        ".m.rule.encrypted",
        ["notify"],
    ),
    (
        "call",
        event("m.call.invite", content={"call_id": "c"}),
        CTX,
        ".m.rule.call",
        ["notify", {"set_tweak": "sound", "value": "ring"}],
    ),
    ("topic change", event("m.room.topic", state_key="", content={"topic": "t"}), CTX, None, None),
    ("own message", event(sender=ALICE, content={"body": "hi", **MENTION_ALICE}), DM, None, None),
]


@pytest.mark.parametrize(
    ("ev", "ctx", "expected_rule", "expected_actions"),
    [case[1:] for case in DEFAULT_CASES],
    ids=[case[0] for case in DEFAULT_CASES],
)
def test_default_rules(
    ev: dict[str, Any],
    ctx: PushContext,
    expected_rule: str | None,
    expected_actions: list[Any] | None,
) -> None:
    assert rule_id(ev, ctx) == expected_rule
    assert evaluate(RULES, ev, ctx) == expected_actions


def test_master_rule_enabled_silences_everything() -> None:
    rules = default_ruleset(ALICE)
    rules["override"][0]["enabled"] = True
    assert evaluate(rules, text("hi", **MENTION_ALICE), CTX) == []
    assert not is_notify(evaluate(rules, text("hi"), DM))


def test_kinds_checked_in_spec_order_whatever_the_mapping_order() -> None:
    rules = {
        "underride": [
            {
                "rule_id": "u",
                "default": False,
                "enabled": True,
                "conditions": [],
                "actions": ["notify"],
            }
        ],
        "room": [{"rule_id": ROOM, "default": False, "enabled": True, "actions": []}],
    }
    assert rule_id(text("hi"), rules=rules) == ROOM


def test_content_room_and_sender_rules() -> None:
    content = {
        "rule_id": "cake",
        "default": False,
        "enabled": True,
        "pattern": "cake",
        "actions": ["notify"],
    }
    room = {"rule_id": ROOM, "default": False, "enabled": True, "actions": []}
    sender = {"rule_id": BOB, "default": False, "enabled": True, "actions": ["notify"]}
    rules = {"content": [content], "room": [room], "sender": [sender]}
    assert rule_id(text("I like Cake."), rules=rules) == "cake"
    assert rule_id(text("cheesecake"), rules=rules) == ROOM
    assert rule_id(event(room_id="!other:x", content={}), rules=rules) == BOB
    assert rule_id(event(room_id="!other:x", sender="@c:x", content={}), rules=rules) is None
    # No body at all, or a non-string one: content rules cannot match.
    assert rule_id(event(room_id="!o:x", sender="@c:x", content={"body": 5}), rules=rules) is None


def test_disabled_rules_and_legacy_actions() -> None:
    rules = {
        "override": [
            {"rule_id": "off", "enabled": False, "conditions": [], "actions": ["notify"]},
            {
                "rule_id": "old",
                "enabled": True,
                "conditions": [],
                "actions": ["dont_notify", "coalesce"],
            },
        ]
    }
    assert evaluate(rules, text("hi"), CTX) == []


def test_malformed_stored_rules_do_not_match_or_raise() -> None:
    rules: dict[str, Any] = {
        "override": [
            {"rule_id": "a", "enabled": True, "conditions": "nope", "actions": ["notify"]},
            {"rule_id": "b", "enabled": True, "conditions": [["x"], {"kind": ["x"]}]},
            {"rule_id": "c", "enabled": "yes", "conditions": []},
        ],
        "content": [{"rule_id": "d", "enabled": True, "actions": ["notify"]}],
    }
    assert evaluate(rules, text("hi"), CTX) is None


# --- action helpers --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("actions", "notify", "highlight"),
    [
        (None, False, False),
        ([], False, False),
        (["notify"], True, False),
        (["notify", {"set_tweak": "highlight"}], True, True),
        (["notify", {"set_tweak": "highlight", "value": True}], True, True),
        (["notify", {"set_tweak": "highlight", "value": False}], True, False),
        (["notify", {"set_tweak": "highlight", "value": "yes"}], True, False),
        ([{"set_tweak": "highlight"}], False, False),  # not a notification at all
        (
            ["notify", {"set_tweak": "highlight"}, {"set_tweak": "highlight", "value": False}],
            True,
            False,
        ),
    ],
)
def test_is_notify_and_is_highlight(
    actions: list[Any] | None, notify: bool, highlight: bool
) -> None:
    assert is_notify(actions) is notify
    assert is_highlight(actions) is highlight


def test_tweaks() -> None:
    actions: list[Any] = [
        "notify",
        {"set_tweak": "sound", "value": "default"},
        {"set_tweak": "highlight"},
        {"set_tweak": "org.example.led"},
        {"set_tweak": "org.example.colour", "value": "red"},
    ]
    assert tweaks(actions) == {"sound": "default", "highlight": True, "org.example.colour": "red"}


def test_evaluate_returns_a_copy() -> None:
    rules = default_ruleset(ALICE)
    actions = evaluate(rules, text("hi"), CTX)
    assert actions is not None
    actions.append("x")
    assert evaluate(rules, text("hi"), CTX) == ["notify"]


# --- one event, many members -----------------------------------------------------------


def test_one_matcher_answers_each_member_as_their_own_evaluation_would() -> None:
    """The matcher memoises conditions across members; no answer may leak to another."""
    carol = "@carol:example.org"
    dave = "@dave:example.org"
    # The spec has no display-name rule any more; Alice and Dave add one
    # each, so one memo serves two names.
    by_name = {
        "rule_id": "name",
        "enabled": True,
        "conditions": [{"kind": "contains_display_name"}],
        "actions": ["notify", {"set_tweak": "highlight"}],
    }

    def with_own(user_id: str, **kinds: list[Any]) -> dict[str, Any]:
        rules = default_ruleset(user_id)
        return {kind: kinds.get(kind, []) + rules[kind] for kind in rules}

    members: list[tuple[str, str | None, Any]] = [
        (ALICE, "Alice", with_own(ALICE, override=[by_name])),
        (BOB, "Bob", default_ruleset(BOB)),  # the sender: never notified
        (carol, None, default_ruleset(carol)),
        (
            dave,
            "Dave",
            with_own(
                dave,
                override=[by_name],
                content=[{"rule_id": "p", "enabled": True, "pattern": "pizza", "actions": []}],
            ),
        ),
    ]
    events = [
        text("hi Alice, pizza?", **{"m.mentions": {"user_ids": [carol]}}),
        text("Dave and Bob"),
        event("m.room.member", state_key=carol, content={"membership": "invite"}),
    ]
    for ev in events:
        matcher = EventMatcher(ev, dataclasses.replace(CTX, user_id="", user_display_name=None))
        for user_id, name, rules in members:
            ctx = dataclasses.replace(CTX, user_id=user_id, user_display_name=name)
            alone = matching_rule(rules, ev, ctx)
            shared = matcher.first_match(compile_ruleset(rules), user_id, name)
            assert (shared and (shared.kind, shared.rule)) == alone, (ev, user_id)

    # The members' answers differ: Alice is highlighted by her name, Carol by
    # her mention, Dave's own content rule silences "pizza"; then Dave's name.
    def decide(ev: dict[str, Any]) -> dict[str, Any]:
        matcher = EventMatcher(ev, CTX)
        return {
            user_id: matcher.first_match(compile_ruleset(rules), user_id, name)
            for user_id, name, rules in members
        }

    first, second = decide(events[0]), decide(events[1])
    assert first[BOB] is None
    assert [first[u].highlight for u in (ALICE, carol)] == [True, True]
    assert first[dave].rule["rule_id"] == "p"
    assert [second[u].highlight for u in (ALICE, carol, dave)] == [False, False, True]


def test_equal_conditions_are_one_test_in_every_users_ruleset() -> None:
    # A worker caches a compiled ruleset per member it evaluated: the tests of
    # the server's defaults must not be copied per user (~34 KB each).
    def compiled(user_id: str) -> dict[str, Any]:
        return {r.rule["rule_id"]: r for r in compile_ruleset(default_ruleset(user_id))}

    alice, bob = compiled(ALICE), compiled(BOB)
    assert alice.keys() == bob.keys()
    localpart = ALICE[1:].split(":")[0]
    for rule_id, rule in alice.items():
        same = all(a is b for a, b in zip(rule.tests, bob[rule_id].tests, strict=True))
        # Only rules naming the user (their ID or localpart) differ.
        assert same != (localpart in repr(rule.rule)), rule_id
