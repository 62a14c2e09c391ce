"""Checking push rules that clients send (spec: ``setPushRule``, ``setPushRuleActions``,
``setPushRuleEnabled``).

Errors split by where the fault lies: ``InvalidParam`` for the path and query
(``kind``, ``ruleId``, ``before``/``after``), ``BadJson`` for the body, whose
spec definition is "valid JSON, but malformed in some way, e.g. missing
required keys, invalid values for keys".

Known condition kinds are checked strictly, because a malformed one would be
stored and then silently never match. Unknown kinds are kept: the spec makes
them never match rather than forbidding them, so a client may store rules for
conditions this server does not know yet.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from revier.errors import BadJson, InvalidParam
from revier.push.evaluator import LEGACY_ACTIONS, parse_member_count
from revier.push.model import KINDS, Action, JsonDict, RuleKind, UserRule, is_scalar

_TWEAK_TYPES: Final[Mapping[str, type]] = {"highlight": bool, "sound": str}
"""Value types of the tweaks the spec defines; other tweaks pass through untouched."""


def validate_kind(kind: str) -> RuleKind:
    """``kind`` from the path: one of the five the spec enumerates."""
    if kind not in KINDS:
        raise InvalidParam(f"Unknown push rule kind: {kind!r}")
    return kind


def validate_rule_id(kind: RuleKind, rule_id: str) -> None:
    """A ``ruleId`` a client may create under ``kind``.

    Ids starting with "." are reserved for server-default rules and "/" and
    "\\" are not allowed (spec: ``setPushRule``). A sender rule's id is a user
    ID, whose grammar allows "/", so the slash ban is not applied there: the
    rule id *is* the user ID and could not be spelt any other way.
    """
    if not rule_id:
        raise InvalidParam("Push rule id must not be empty")
    if rule_id.startswith("."):
        raise InvalidParam("Push rule ids starting with '.' are reserved for server-default rules")
    if "\\" in rule_id or ("/" in rule_id and kind != "sender"):
        raise InvalidParam("Push rule ids must not contain '/' or '\\'")
    if kind == "room" and not rule_id.startswith("!"):
        raise InvalidParam("The rule id of a room rule must be a room ID")
    if kind == "sender" and not (rule_id.startswith("@") and ":" in rule_id):
        raise InvalidParam("The rule id of a sender rule must be a user ID")


def validate_actions(actions: object) -> list[Action]:
    """Checked ``actions``, kept as the client wrote them.

    The legacy ``dont_notify`` and ``coalesce`` are kept too: the spec says
    servers MUST ignore them, and the evaluator does (``["dont_notify"]`` acts
    as ``[]``), but a client that wrote them reads back what it wrote (older
    clients compare, and SyTest does). Any other unknown string is rejected:
    storing it would leave a rule whose meaning nobody knows.
    """
    if not isinstance(actions, list):
        raise BadJson("'actions' must be an array")
    result: list[Action] = []
    for action in actions:
        if isinstance(action, str):
            if action != "notify" and action not in LEGACY_ACTIONS:
                raise BadJson(f"Unknown push rule action: {action!r}")
            result.append(action)
        elif isinstance(action, dict):
            result.append(_validate_tweak(action))
        else:
            raise BadJson("Push rule actions must be strings or objects")
    return result


def _validate_tweak(action: Mapping[str, Any]) -> JsonDict:
    name = action.get("set_tweak")
    if not isinstance(name, str):
        # set_tweak is the only action the spec represents as an object.
        raise BadJson("Push rule action objects must have a string 'set_tweak'")
    expected = _TWEAK_TYPES.get(name)
    if expected is not None and "value" in action and not isinstance(action["value"], expected):
        raise BadJson(f"The value of the {name!r} tweak must be a {expected.__name__}")
    return dict(action)


def _require_str(cond: Mapping[str, Any], name: str, kind: str) -> None:
    if not isinstance(cond.get(name), str):
        raise BadJson(f"A {kind} condition needs a string {name!r}")


def _validate_condition(cond: object) -> JsonDict:
    if not isinstance(cond, dict):
        raise BadJson("Push rule conditions must be objects")
    kind = cond.get("kind")
    if not isinstance(kind, str):
        raise BadJson("Push rule conditions need a string 'kind'")
    if kind == "event_match":
        _require_str(cond, "key", kind)
        _require_str(cond, "pattern", kind)
    elif kind in ("event_property_is", "event_property_contains"):
        _require_str(cond, "key", kind)
        if "value" not in cond or not is_scalar(cond["value"]):
            raise BadJson(f"A {kind} condition needs a string, integer, boolean or null 'value'")
    elif kind == "room_member_count":
        spec = cond.get("is")
        if not isinstance(spec, str) or parse_member_count(spec) is None:
            raise BadJson("A room_member_count condition needs 'is' like '2', '<10' or '>=3'")
    elif kind == "sender_notification_permission":
        _require_str(cond, "key", kind)
    return dict(cond)


def validate_conditions(conditions: object) -> list[JsonDict]:
    """Normalised ``conditions`` of an override or underride rule."""
    if not isinstance(conditions, list):
        raise BadJson("'conditions' must be an array")
    return [_validate_condition(c) for c in conditions]


def validate_enabled(body: object) -> bool:
    """The body of ``PUT …/enabled``: ``{"enabled": true|false}``."""
    if not isinstance(body, dict) or not isinstance(body.get("enabled"), bool):
        raise BadJson('Body must be {"enabled": true|false}')
    return bool(body["enabled"])


def validate_new_rule(kind: str, rule_id: str, body: object) -> UserRule:
    """The rule ``PUT /pushrules/global/{kind}/{ruleId}`` asks to create or replace.

    Returns it enabled (spec: "When creating push rules, they MUST be enabled
    by default") at ``order`` 0; ``insert_rule`` places it and keeps the old
    ``enabled`` when it replaces an existing rule. Keys that do not apply to
    ``kind`` are dropped: ``conditions`` only mean something for override and
    underride rules, ``pattern`` only for content rules.

    ``conditions`` is required for override and underride rules although the
    spec lets a stored rule lack it: a client that forgot it would otherwise
    get a rule that matches every event, which silences or floods the user.
    An explicit ``[]`` still asks for exactly that.
    """
    valid_kind = validate_kind(kind)
    validate_rule_id(valid_kind, rule_id)
    if not isinstance(body, dict):
        raise BadJson("Push rule must be a JSON object")
    if "actions" not in body:
        raise BadJson("Push rule needs 'actions'")
    actions = validate_actions(body["actions"])
    if valid_kind == "content":
        pattern = body.get("pattern")
        if not isinstance(pattern, str):
            raise BadJson("Content push rules need a string 'pattern'")
        return UserRule(kind=valid_kind, rule_id=rule_id, actions=actions, pattern=pattern)
    if valid_kind in ("override", "underride"):
        if "conditions" not in body:
            raise BadJson(f"{valid_kind.capitalize()} push rules need 'conditions'")
        conditions = validate_conditions(body["conditions"])
        return UserRule(kind=valid_kind, rule_id=rule_id, actions=actions, conditions=conditions)
    return UserRule(kind=valid_kind, rule_id=rule_id, actions=actions)
