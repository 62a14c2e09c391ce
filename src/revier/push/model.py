"""Shapes shared by the push-rules modules.

Rulesets stay in their wire shape (the ``global`` object of
``GET /_matrix/client/v3/pushrules/`` and of the ``m.push_rules`` account
data): they are stored, returned and evaluated as that JSON, so a second
representation would only have to be kept in step with it.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Final, Literal, TypeAlias, TypedDict

JsonDict: TypeAlias = dict[str, Any]
"""A JSON object as it arrives from a client or storage, narrowed where used."""

Action: TypeAlias = str | JsonDict
"""``"notify"`` or ``{"set_tweak": name, "value": ...}`` (spec: Push Rules, Actions)."""

Ruleset: TypeAlias = dict[str, list[JsonDict]]
"""Kind → rules in priority order, e.g. ``{"override": [...], "content": [...], ...}``."""

RuleKind: TypeAlias = Literal["override", "content", "room", "sender", "underride"]

KINDS: Final[tuple[RuleKind, ...]] = ("override", "content", "room", "sender", "underride")
"""The kinds in the order the spec says they are checked."""

MASTER_RULE_ID: Final = ".m.rule.master"
"""The one server-default rule that outranks user-defined rules (spec: Predefined Rules)."""


class RuleOverride(TypedDict, total=False):
    """A user's change to a server-default rule via ``…/enabled`` or ``…/actions``.

    Server-default rules cannot be deleted or replaced, only switched on/off and
    given other actions (spec: ``setPushRuleEnabled``, ``setPushRuleActions``).
    """

    enabled: bool
    actions: list[Action]


@dataclass(frozen=True, slots=True)
class UserRule:
    """A user-defined push rule as stored.

    ``order`` is the rule's position among the user's rules of the same kind,
    0 being the most important; ``insert_rule`` renumbers densely, so storage
    may persist it as is. ``conditions`` is only meaningful for override and
    underride rules, ``pattern`` only for content rules; room and sender rules
    take their predicate from ``rule_id`` (spec: Push Rules).
    """

    kind: RuleKind
    rule_id: str
    actions: list[Action]
    order: int = 0
    enabled: bool = True
    conditions: list[JsonDict] = field(default_factory=list)
    pattern: str | None = None

    def to_json(self) -> JsonDict:
        """The rule as ``GET /pushrules/global/{kind}/{ruleId}`` returns it, shared with nothing."""
        rule: JsonDict = {
            "rule_id": self.rule_id,
            "default": False,
            "enabled": self.enabled,
            "actions": copy.deepcopy(self.actions),
        }
        if self.kind in ("override", "underride"):
            rule["conditions"] = copy.deepcopy(self.conditions)
        elif self.kind == "content":
            rule["pattern"] = self.pattern
        return rule


MAX_SAFE_INT: Final = 2**53 - 1
"""Canonical JSON integers lie in ``[-(2**53)+1, (2**53)-1]`` (spec appendix: Canonical JSON)."""


def is_scalar(value: object) -> bool:
    """A non-compound canonical JSON value: what ``event_property_*`` can compare.

    ``bool`` is tested apart from ``int`` because Python makes it a subclass,
    and floats are excluded because canonical JSON has none.
    """
    if value is None or isinstance(value, str | bool):
        return True
    return type(value) is int and -MAX_SAFE_INT <= value <= MAX_SAFE_INT


def same_scalar(a: object, b: object) -> bool:
    """Exact equality without casting: ``true`` is not ``1``, ``"1"`` is not ``1``."""
    return is_scalar(a) and type(a) is type(b) and a == b
