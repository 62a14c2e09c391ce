"""Evaluating the server defaults once per event for every member who has them
(``first_match_shared``) decides exactly what evaluating each member alone does."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from tests.unit.push.shared import ALICE, BOB, CTX, event, text

from revier.push import (
    EventMatcher,
    compile_ruleset,
    default_ruleset,
    matching_rule,
    merge_rules,
    personal_tests,
)

TEMPLATE = compile_ruleset(merge_rules(default_ruleset("@\x00:\x00"), [], {}))
USERS = [ALICE, BOB, *(f"@user{n}:example.org" for n in range(6)), "@a*?b:example.org"]
CAROL = USERS[2]
DM = dataclasses.replace(CTX, room_member_count=2)
EVENTS: list[tuple[dict[str, Any], Any]] = [
    (text("hello"), CTX),
    (text("hello"), DM),
    (text("hey", **{"m.mentions": {"user_ids": [CAROL, ALICE]}}), CTX),
    (text("odd", **{"m.mentions": {"user_ids": CAROL}}), CTX),  # not a list: no mention
    (text("all", **{"m.mentions": {"room": True}}), CTX),
    (
        text("all", **{"m.mentions": {"room": True}}),
        dataclasses.replace(CTX, sender_power_level=50),
    ),
    (event(content={"msgtype": "m.notice", "body": "bot"}), CTX),
    (event("m.room.member", state_key=CAROL, content={"membership": "invite"}), CTX),
    # A user ID with glob characters: the state_key test is a glob, decided per member.
    (event("m.room.member", state_key="@aXYb:example.org", content={"membership": "invite"}), CTX),
    (event("m.reaction", content={}), CTX),
    (event("m.room.encrypted", content={}), DM),
]


def test_defaults_name_the_user_in_two_tests() -> None:
    compiled = compile_ruleset(default_ruleset(CAROL))
    personal = personal_tests(compiled, TEMPLATE)
    assert personal is not None
    assert [cond.get("key") for _, cond in personal] == [
        "state_key",
        "content.m\\.mentions.user_ids",
    ]


def test_a_ruleset_shaped_otherwise_has_no_personal_tests() -> None:
    rules = default_ruleset(CAROL)
    del rules["override"][1]  # suppress_notices: the master rule is off anyway
    assert personal_tests(compile_ruleset(rules), TEMPLATE) is None


@pytest.mark.parametrize("index", range(len(EVENTS)))
def test_shared_decides_as_alone(index: int) -> None:
    ev, room = EVENTS[index]
    matcher = EventMatcher(ev, dataclasses.replace(room, user_id="", user_display_name=None))
    # Twice over the members: the second round answers from what the first decided.
    for user_id in USERS + USERS:
        compiled = compile_ruleset(default_ruleset(user_id))
        personal = personal_tests(compiled, TEMPLATE)
        assert personal is not None
        shared = matcher.first_match_shared(compiled, personal, user_id, "Name")
        ctx = dataclasses.replace(room, user_id=user_id, user_display_name="Name")
        alone = matching_rule(default_ruleset(user_id), ev, ctx)
        assert (shared and (shared.kind, shared.rule)) == alone, (ev, user_id)


def test_members_differ_by_mention_and_invite() -> None:
    mention, _ = EVENTS[2]
    matcher = EventMatcher(mention, CTX)
    found = {}
    for user_id in USERS[2:5]:
        compiled = compile_ruleset(default_ruleset(user_id))
        personal = personal_tests(compiled, TEMPLATE)
        assert personal is not None
        rule = matcher.first_match_shared(compiled, personal, user_id, None)
        assert rule is not None
        found[user_id] = (rule.rule["rule_id"], rule.highlight)
    assert found[CAROL] == (".m.rule.is_user_mention", True)
    assert found[USERS[3]] == found[USERS[4]] == (".m.rule.message", False)
