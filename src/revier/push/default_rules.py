"""The server-default push rules of Matrix spec v1.19 (Push Notifications, Predefined Rules).

Each definition is transcribed from the spec's JSON, in the spec's order, since
order is priority within a kind. Since v1.17 the spec has no default content
rules: ``.m.rule.contains_user_name``, ``.m.rule.contains_display_name`` and
``.m.rule.roomnotif``, which searched ``content.body`` for mentions, were
removed in favour of the intentional ``m.mentions`` rules
(``.m.rule.is_user_mention``, ``.m.rule.is_room_mention``). The spec defines
no poll rules either (those remain an MSC), so none are served.
"""

from __future__ import annotations

from revier.push.model import MASTER_RULE_ID, Action, JsonDict, Ruleset


def _sound(value: str) -> JsonDict:
    return {"set_tweak": "sound", "value": value}


def _highlight() -> JsonDict:
    # No "value": the spec defines a bare highlight tweak as true.
    return {"set_tweak": "highlight"}


def _rule(
    rule_id: str, conditions: list[JsonDict], actions: list[Action], *, enabled: bool = True
) -> JsonDict:
    return {
        "rule_id": rule_id,
        "default": True,
        "enabled": enabled,
        "conditions": conditions,
        "actions": actions,
    }


def _match(key: str, pattern: str) -> JsonDict:
    return {"kind": "event_match", "key": key, "pattern": pattern}


def _override_rules(user_id: str) -> list[JsonDict]:
    return [
        # Disabled by default; enabling it silences everything (spec: .m.rule.master).
        _rule(MASTER_RULE_ID, [], [], enabled=False),
        _rule(".m.rule.suppress_notices", [_match("content.msgtype", "m.notice")], []),
        _rule(
            ".m.rule.invite_for_me",
            [
                _match("type", "m.room.member"),
                _match("content.membership", "invite"),
                _match("state_key", user_id),
            ],
            ["notify", _sound("default")],
        ),
        _rule(".m.rule.member_event", [_match("type", "m.room.member")], []),
        _rule(
            ".m.rule.is_user_mention",
            [
                {
                    "kind": "event_property_contains",
                    "key": "content.m\\.mentions.user_ids",
                    "value": user_id,
                }
            ],
            ["notify", _sound("default"), _highlight()],
        ),
        _rule(
            ".m.rule.is_room_mention",
            [
                {"kind": "event_property_is", "key": "content.m\\.mentions.room", "value": True},
                {"kind": "sender_notification_permission", "key": "room"},
            ],
            ["notify", _highlight()],
        ),
        # The empty state_key condition is what restricts this to the state
        # event; the spec warns there is no implicit state_key check.
        _rule(
            ".m.rule.tombstone",
            [_match("type", "m.room.tombstone"), _match("state_key", "")],
            ["notify", _highlight()],
        ),
        _rule(".m.rule.reaction", [_match("type", "m.reaction")], []),
        _rule(
            ".m.rule.room.server_acl",
            [_match("type", "m.room.server_acl"), _match("state_key", "")],
            [],
        ),
        _rule(
            ".m.rule.suppress_edits",
            [
                {
                    "kind": "event_property_is",
                    "key": "content.m\\.relates_to.rel_type",
                    "value": "m.replace",
                }
            ],
            [],
        ),
    ]


def _underride_rules() -> list[JsonDict]:
    return [
        _rule(".m.rule.call", [_match("type", "m.call.invite")], ["notify", _sound("ring")]),
        _rule(
            ".m.rule.encrypted_room_one_to_one",
            [{"kind": "room_member_count", "is": "2"}, _match("type", "m.room.encrypted")],
            ["notify", _sound("default")],
        ),
        _rule(
            ".m.rule.room_one_to_one",
            [{"kind": "room_member_count", "is": "2"}, _match("type", "m.room.message")],
            ["notify", _sound("default")],
        ),
        _rule(".m.rule.message", [_match("type", "m.room.message")], ["notify"]),
        _rule(".m.rule.encrypted", [_match("type", "m.room.encrypted")], ["notify"]),
    ]


def default_ruleset(user_id: str) -> Ruleset:
    """The predefined ruleset for ``user_id``, shaped like ``GET /pushrules/`` ``global``.

    Built afresh on every call so callers may mutate the result (merge user
    overrides into it) without aliasing another user's rules.
    """
    return {
        "override": _override_rules(user_id),
        "content": [],
        "room": [],
        "sender": [],
        "underride": _underride_rules(),
    }


def default_rule_ids() -> frozenset[str]:
    """Every predefined rule_id; the API layer checks ``…/enabled`` and ``…/actions`` targets."""
    ruleset = default_ruleset("@_:_")
    return frozenset(rule["rule_id"] for rules in ruleset.values() for rule in rules)
