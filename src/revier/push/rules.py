"""A user's effective push ruleset: server defaults merged with the user's own rules.

Priority (spec: Predefined Rules): server-default rules "operate at a lower
priority than user-defined rules, except for the ``.m.rule.master`` rule which
has always a higher priority than any other rule". Within each kind the
user's rules therefore come first, and in ``override`` they sit between
``.m.rule.master`` and the other server-default override rules.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterable, Mapping, Sequence

from revier.errors import InvalidParam, NotFound
from revier.push.model import (
    KINDS,
    MASTER_RULE_ID,
    JsonDict,
    RuleOverride,
    Ruleset,
    UserRule,
)
from revier.push.validation import (
    validate_actions,
    validate_conditions,
    validate_enabled,
    validate_kind,
    validate_new_rule,
    validate_rule_id,
)

__all__ = [
    "RuleOverride",
    "UserRule",
    "find_rule",
    "insert_rule",
    "is_server_default",
    "merge_rules",
    "validate_actions",
    "validate_conditions",
    "validate_enabled",
    "validate_kind",
    "validate_new_rule",
    "validate_rule_id",
]


def is_server_default(rule_id: str) -> bool:
    """Server-default rule ids MUST start with "." (spec: Predefined Rules)."""
    return rule_id.startswith(".")


def _server_rule(rule: JsonDict, override: RuleOverride | None) -> JsonDict:
    merged = copy.deepcopy(rule)
    if override:
        if "enabled" in override:
            merged["enabled"] = bool(override["enabled"])
        if "actions" in override:
            merged["actions"] = copy.deepcopy(list(override["actions"]))
    return merged


def merge_rules(
    defaults: Ruleset, user_rules: Iterable[UserRule], overrides: Mapping[str, RuleOverride]
) -> Ruleset:
    """The ruleset ``GET /pushrules/`` returns under ``global`` and evaluation uses.

    ``defaults`` is ``default_ruleset(user_id)``; ``user_rules`` in any order
    (each kind is sorted by ``order``); ``overrides`` maps a server-default
    rule_id to the user's ``enabled``/``actions`` for it. Overrides naming no
    server-default rule are ignored: user rules carry their own state. The
    result shares nothing with the arguments.
    """
    by_kind: dict[str, list[UserRule]] = {kind: [] for kind in KINDS}
    for rule in user_rules:
        by_kind.setdefault(rule.kind, []).append(rule)
    result: Ruleset = {}
    for kind in KINDS:
        server = [_server_rule(r, overrides.get(r["rule_id"])) for r in defaults.get(kind, [])]
        users = [r.to_json() for r in sorted(by_kind[kind], key=lambda r: r.order)]
        if kind == "override":
            master = [r for r in server if r["rule_id"] == MASTER_RULE_ID]
            rest = [r for r in server if r["rule_id"] != MASTER_RULE_ID]
            result[kind] = master + users + rest
        else:
            result[kind] = users + server
    return result


def insert_rule(
    existing: Sequence[UserRule],
    rule: UserRule,
    *,
    before: str | None = None,
    after: str | None = None,
) -> list[UserRule]:
    """The user's rules of ``rule.kind`` after ``PUT`` of ``rule``, renumbered 0..n-1.

    Placement follows ``setPushRule``: with ``before`` the rule becomes the
    next-more important rule than ``before``; with ``after`` the next-less
    important than ``after``; with both, ``before`` wins, as the spec says.
    With neither, a new rule becomes the most important user rule of its kind
    and a replaced rule keeps its place. A replaced rule also keeps its
    ``enabled``: only creation forces it on. Rules of other kinds in
    ``existing`` are ignored and not returned.

    Raises ``InvalidParam`` if the anchor is a server-default rule (not
    allowed: "It is not possible to add a rule relative to a predefined server
    rule") or is not one of the user's rules of this kind. The spec's example
    answers the latter with 400 ``M_UNKNOWN``; ``M_INVALID_PARAM`` keeps the
    400 and says which part of the request is wrong.
    """
    ordered = sorted((r for r in existing if r.kind == rule.kind), key=lambda r: r.order)
    position: int | None = None
    for i, old in enumerate(ordered):
        if old.rule_id == rule.rule_id:
            position = i
            rule = dataclasses.replace(rule, enabled=old.enabled)
            del ordered[i]
            break
    anchor = before if before is not None else after
    if anchor is not None:
        if is_server_default(anchor):
            raise InvalidParam("Rules cannot be placed relative to a server-default rule")
        index = next((i for i, r in enumerate(ordered) if r.rule_id == anchor), None)
        if index is None:
            raise InvalidParam(f"before/after rule not found: {anchor}")
        position = index if before is not None else index + 1
    elif position is None:
        position = 0
    ordered.insert(position, rule)
    return [dataclasses.replace(r, order=i) for i, r in enumerate(ordered)]


def find_rule(ruleset: Ruleset, kind: str, rule_id: str) -> JsonDict:
    """The rule ``GET /pushrules/global/{kind}/{ruleId}`` (and ``…/enabled``, ``…/actions``)
    addresses in a merged ruleset; ``NotFound`` if there is none."""
    for rule in ruleset.get(validate_kind(kind), []):
        if rule.get("rule_id") == rule_id:
            return rule
    raise NotFound("The push rule was not found.")
