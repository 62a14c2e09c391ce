"""The predefined rules against spec v1.19, Push Notifications, Predefined Rules."""

from __future__ import annotations

import json
import re

import pytest
from tests.matrix_spec import spec_dir, spec_missing_reason
from tests.unit.push.shared import ALICE

from revier.push import KINDS, default_rule_ids, default_ruleset
from revier.push.validation import validate_actions, validate_conditions

SPEC_OVERRIDE = [
    ".m.rule.master",
    ".m.rule.suppress_notices",
    ".m.rule.invite_for_me",
    ".m.rule.member_event",
    ".m.rule.is_user_mention",
    ".m.rule.is_room_mention",
    ".m.rule.tombstone",
    ".m.rule.reaction",
    ".m.rule.room.server_acl",
    ".m.rule.suppress_edits",
]
SPEC_UNDERRIDE = [
    ".m.rule.call",
    ".m.rule.encrypted_room_one_to_one",
    ".m.rule.room_one_to_one",
    ".m.rule.message",
    ".m.rule.encrypted",
]

# The spec checkout, if this machine has one (tests.matrix_spec): the rules are
# then compared with the spec's own JSON, not only with the lists above.
SPEC_PUSH_MD = spec_dir() / "prose/client-server-api/modules/push.md"


def test_kinds_in_spec_order_and_shape() -> None:
    ruleset = default_ruleset(ALICE)
    assert list(ruleset) == list(KINDS)
    assert [r["rule_id"] for r in ruleset["override"]] == SPEC_OVERRIDE
    assert [r["rule_id"] for r in ruleset["underride"]] == SPEC_UNDERRIDE
    # v1.17 removed the body-searching content rules and room/sender have none.
    assert ruleset["content"] == ruleset["room"] == ruleset["sender"] == []


def test_default_and_enabled_flags() -> None:
    ruleset = default_ruleset(ALICE)
    for rules in ruleset.values():
        for rule in rules:
            assert rule["default"] is True
            assert rule["enabled"] is (rule["rule_id"] != ".m.rule.master")
            assert set(rule) == {"rule_id", "default", "enabled", "conditions", "actions"}


def test_user_id_is_filled_in() -> None:
    ruleset = default_ruleset("@bob:example.com")
    by_id = {r["rule_id"]: r for r in ruleset["override"]}
    assert by_id[".m.rule.invite_for_me"]["conditions"][2] == {
        "kind": "event_match",
        "key": "state_key",
        "pattern": "@bob:example.com",
    }
    assert by_id[".m.rule.is_user_mention"]["conditions"] == [
        {
            "kind": "event_property_contains",
            "key": "content.m\\.mentions.user_ids",
            "value": "@bob:example.com",
        }
    ]


def test_mention_rules_as_in_spec() -> None:
    by_id = {r["rule_id"]: r for r in default_ruleset(ALICE)["override"]}
    assert by_id[".m.rule.is_room_mention"] == {
        "rule_id": ".m.rule.is_room_mention",
        "default": True,
        "enabled": True,
        "conditions": [
            {"kind": "event_property_is", "key": "content.m\\.mentions.room", "value": True},
            {"kind": "sender_notification_permission", "key": "room"},
        ],
        "actions": ["notify", {"set_tweak": "highlight"}],
    }
    assert by_id[".m.rule.is_user_mention"]["actions"] == [
        "notify",
        {"set_tweak": "sound", "value": "default"},
        {"set_tweak": "highlight"},
    ]


def test_each_call_is_fresh() -> None:
    first = default_ruleset(ALICE)
    first["override"][0]["enabled"] = True
    first["underride"][0]["actions"].append("notify")
    second = default_ruleset(ALICE)
    assert second["override"][0]["enabled"] is False
    assert second["underride"][0]["actions"] == ["notify", {"set_tweak": "sound", "value": "ring"}]


def test_defaults_pass_our_own_validation() -> None:
    for rules in default_ruleset(ALICE).values():
        for rule in rules:
            assert validate_conditions(rule["conditions"]) == rule["conditions"]
            assert validate_actions(rule["actions"]) == rule["actions"]


def test_default_rule_ids() -> None:
    assert default_rule_ids() == frozenset(SPEC_OVERRIDE + SPEC_UNDERRIDE)


@pytest.mark.skipif(not SPEC_PUSH_MD.exists(), reason=spec_missing_reason() or f"no {SPEC_PUSH_MD}")
def test_identical_to_spec_json() -> None:
    text = SPEC_PUSH_MD.read_text()
    section = text[text.index("#### Predefined Rules") : text.index("#### Push Rules: API")]
    split = section.index("##### Default Underride Rules")
    ruleset = default_ruleset(ALICE)
    for kind, part in (("override", section[:split]), ("underride", section[split:])):
        blocks = re.findall(r"```json\n(.*?)```", part, re.DOTALL)
        spec = [json.loads(b.replace("[the user's Matrix ID]", ALICE)) for b in blocks]
        assert ruleset[kind] == spec
