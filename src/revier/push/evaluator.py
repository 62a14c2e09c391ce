"""Evaluating a user's push rules against one event (spec: Push Rules, Conditions).

Pure: the caller gathers the room facts a condition needs into a
``PushContext``, so evaluating the same event for many members reads nothing.
Rulesets are read in their wire shape but defensively: they come from
storage and ultimately from clients, and a malformed rule must fail to match,
not raise in the middle of sending someone else's message.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final

import orjson

from revier.push.model import KINDS, Action, is_scalar, same_scalar
from revier.push.paths import MISSING, lookup
from revier.push.patterns import contains_words, glob_matches, glob_matches_words

LEGACY_ACTIONS: Final = frozenset({"dont_notify", "coalesce"})
"""Removed actions that servers MUST ignore (spec: Historical Actions)."""

DEFAULT_NOTIFICATION_LEVEL: Final = 50
"""``notifications.room`` defaults to 50 (spec: ``m.room.power_levels``); the
spec names no other key, so any missing key is given the same default."""


@dataclass(frozen=True, slots=True)
class PushContext:
    """What conditions need to know beyond the event, for one recipient.

    ``notification_power_levels`` is the ``notifications`` object of the
    room's power levels, as given (defaults are applied here).
    """

    user_id: str
    user_display_name: str | None
    room_member_count: int
    sender_power_level: int
    notification_power_levels: dict[str, int]


Event = Mapping[str, Any]
Condition = Mapping[str, Any]


def _event_match(cond: Condition, event: Event, ctx: PushContext) -> bool:
    key, pattern = cond.get("key"), cond.get("pattern")
    if not isinstance(key, str) or not isinstance(pattern, str):
        return False
    value = lookup(event, key)
    # Absent and non-string values never match, not even "*".
    if not isinstance(value, str):
        return False
    if key == "content.body":
        return glob_matches_words(pattern, value)
    return glob_matches(pattern, value)


def _event_property_is(cond: Condition, event: Event, ctx: PushContext) -> bool:
    key = cond.get("key")
    if not isinstance(key, str) or "value" not in cond:
        return False
    return same_scalar(lookup(event, key), cond["value"])


def _event_property_contains(cond: Condition, event: Event, ctx: PushContext) -> bool:
    key = cond.get("key")
    if not isinstance(key, str) or "value" not in cond or not is_scalar(cond["value"]):
        return False
    values = lookup(event, key)
    if not isinstance(values, list):
        return False
    wanted = cond["value"]
    return any(same_scalar(item, wanted) for item in values)


def _contains_display_name(cond: Condition, event: Event, ctx: PushContext) -> bool:
    body = lookup(event, "content.body")
    name = ctx.user_display_name
    # contains_words refuses "", which would otherwise match every message.
    return isinstance(body, str) and name is not None and contains_words(name, body)


_MEMBER_COUNT_RE: Final = re.compile(r"(==|<=|>=|<|>)?([0-9]+)")

_COMPARE: Final[Mapping[str, Callable[[int, int], bool]]] = {
    "==": lambda a, b: a == b,
    "<": lambda a, b: a < b,
    ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b,
    ">=": lambda a, b: a >= b,
}


@lru_cache(maxsize=256)
def parse_member_count(spec: str) -> tuple[str, int] | None:
    """``"<=10"`` → ``("<=", 10)``; a bare number means ``==``; ``None`` if malformed."""
    m = _MEMBER_COUNT_RE.fullmatch(spec)
    if m is None:
        return None
    return m.group(1) or "==", int(m.group(2))


def _room_member_count(cond: Condition, event: Event, ctx: PushContext) -> bool:
    spec = cond.get("is")
    parsed = parse_member_count(spec) if isinstance(spec, str) else None
    if parsed is None:
        return False
    op, number = parsed
    return _COMPARE[op](ctx.room_member_count, number)


def _sender_notification_permission(cond: Condition, event: Event, ctx: PushContext) -> bool:
    key = cond.get("key")
    if not isinstance(key, str):
        return False
    required = ctx.notification_power_levels.get(key, DEFAULT_NOTIFICATION_LEVEL)
    return ctx.sender_power_level >= required


CONDITION_KINDS: Final[Mapping[str, Callable[[Condition, Event, PushContext], bool]]] = {
    "event_match": _event_match,
    "event_property_is": _event_property_is,
    "event_property_contains": _event_property_contains,
    "contains_display_name": _contains_display_name,
    "room_member_count": _room_member_count,
    "sender_notification_permission": _sender_notification_permission,
}


def condition_matches(cond: Condition, event: Event, ctx: PushContext) -> bool:
    """One condition; unrecognised kinds MUST NOT match (spec: Conditions)."""
    kind = cond.get("kind") if isinstance(cond, Mapping) else None
    check = CONDITION_KINDS.get(kind) if isinstance(kind, str) else None
    return check is not None and check(cond, event, ctx)


Test = tuple[Hashable | None, Condition]
"""A condition with its memo key (see ``CompiledRule``)."""


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """An enabled rule, ready to test: its kind, its tests, its actions' meaning.

    ``tests`` are the conditions as (memo key, condition) pairs; a memo key of
    ``None`` means "not memoisable, evaluate every time", ``BY_NAME`` "memoise
    per display name".
    """

    kind: str
    rule: Mapping[str, Any]
    tests: tuple[Test, ...]
    actions: tuple[Action, ...]
    notify: bool
    highlight: bool


CompiledRuleset = tuple[CompiledRule, ...]
"""A user's enabled rules in evaluation order (kinds in the spec's order)."""


BY_NAME: Final = "contains_display_name"
"""The memo key of the one condition kind that depends on the recipient."""

_NEVER: Final[tuple[Test, ...]] = ((("never",), {}),)
"""A malformed rule's tests: an empty condition, which has no kind and never matches."""


def _memo_key(cond: Mapping[str, Any]) -> Hashable | None:
    if cond.get("kind") == "contains_display_name":
        return BY_NAME
    try:
        return orjson.dumps(cond, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # e.g. an integer beyond 64 bits: correct, just not memoised
        return None


# Equal conditions share one test across every user's compiled ruleset: copies
# were ~34 KB per cached ruleset (~850 MB in a worker that evaluated 25,000).
_SHARED_TESTS: dict[Hashable, Test] = {}


def _test_of(cond: Any) -> Test:
    if not isinstance(cond, Mapping):
        return _NEVER[0]
    key = _memo_key(cond)
    if key is None or key is BY_NAME:
        return (key, cond)
    if len(_SHARED_TESTS) >= 10_000:
        _SHARED_TESTS.clear()
    return _SHARED_TESTS.setdefault(key, (key, cond))


def _tests(kind: str, rule: Mapping[str, Any]) -> tuple[Test, ...]:
    if kind in ("override", "underride"):
        conditions = rule.get("conditions", [])
        # A rule with no conditions always matches (spec: Conditions).
        return tuple(map(_test_of, conditions)) if isinstance(conditions, list) else _NEVER
    if kind == "content":
        # Content rules are event_match on content.body with word boundaries.
        pattern = rule.get("pattern")
        if not isinstance(pattern, str):
            return _NEVER
        return (_test_of({"kind": "event_match", "key": "content.body", "pattern": pattern}),)
    if kind in ("room", "sender"):
        rule_id = rule.get("rule_id")
        if not isinstance(rule_id, str):
            return _NEVER
        key = "room_id" if kind == "room" else "sender"
        return (_test_of({"kind": "event_property_is", "key": key, "value": rule_id}),)
    return _NEVER


def compile_ruleset(ruleset: Mapping[str, Sequence[Mapping[str, Any]]]) -> CompiledRuleset:
    """The enabled rules of ``ruleset`` in the order they are tried; disabled rules never match.

    Kinds are tried in the spec's order whatever the mapping's order.
    """
    compiled = []
    for kind in KINDS:
        for rule in ruleset.get(kind, ()):
            if not isinstance(rule, Mapping) or rule.get("enabled") is not True:
                continue
            raw = rule.get("actions")
            # Legacy actions are dropped (spec: Historical Actions).
            actions = tuple(a for a in (raw if isinstance(raw, list) else []) if not _is_legacy(a))
            compiled.append(
                CompiledRule(
                    kind,
                    rule,
                    _tests(kind, rule),
                    actions,
                    is_notify(actions),
                    is_highlight(actions),
                )
            )
    return tuple(compiled)


def _is_legacy(action: Any) -> bool:
    return isinstance(action, str) and action in LEGACY_ACTIONS


Personal = tuple[Test, ...]
"""The tests of a ruleset whose outcome may differ between users sharing its shape."""

_NEEDS_VALUE: Final = frozenset({"event_match", "event_property_is", "event_property_contains"})
"""Condition kinds that fail on an event lacking their ``key`` (absent is not null)."""


class EventMatcher:
    """One event tested against many members' rules.

    Every condition kind but ``contains_display_name`` depends only on the
    event and the room facts in the context, which are the same for every
    recipient, so each distinct condition is evaluated once per event however
    many members' rules contain it; the display-name test once per name.
    """

    def __init__(self, event: Event, room: PushContext) -> None:
        self._event = event
        # The room facts; the recipient fields are ignored (see above).
        self._room = room
        self._memo: dict[Hashable, bool] = {}
        # Outcomes of the personal tests -> the index of the matching rule (shared path).
        self._shared: dict[tuple[bool, ...], int | None] = {}
        self._absent: dict[str, bool] = {}  # property path -> whether the event lacks it

    def first_match(
        self, ruleset: CompiledRuleset, user_id: str, display_name: str | None
    ) -> CompiledRule | None:
        """The rule that decides the event for this user, or ``None``.

        An event the user sent themselves matches nothing: homeservers MUST
        NOT notify for those (spec: Push Rules).
        """
        if self._event.get("sender") == user_id:
            return None
        for rule in ruleset:
            if all(self._test(key, cond, display_name) for key, cond in rule.tests):
                return rule
        return None

    def first_match_shared(
        self, ruleset: CompiledRuleset, personal: Personal, user_id: str, display_name: str | None
    ) -> CompiledRule | None:
        """``first_match`` for a member whose rules are shaped like many others' (the
        server defaults): only the ``personal`` tests (see ``personal_tests``) can
        differ between them, so which rule matches is decided once per outcome of those.
        Every ruleset one matcher is given here must be the same rules compiled for
        another user (the server defaults, nothing changed).
        """
        if self._event.get("sender") == user_id:
            return None
        outcomes = tuple(self._personal(key, cond, display_name) for key, cond in personal)
        if outcomes in self._shared:
            index = self._shared[outcomes]
        else:
            rule = self.first_match(ruleset, user_id, display_name)
            index = self._shared[outcomes] = None if rule is None else ruleset.index(rule)
        return None if index is None else ruleset[index]

    def _personal(self, key: Hashable | None, cond: Condition, display_name: str | None) -> bool:
        # A personal test reads a property that names the user (an invite's state_key,
        # m.mentions.user_ids); an event without it fails everyone's: decided once.
        path = cond.get("key")
        if isinstance(path, str) and cond.get("kind") in _NEEDS_VALUE:
            absent = self._absent.get(path)
            if absent is None:
                absent = self._absent[path] = lookup(self._event, path) is MISSING
            if absent:
                return False
        return self._test(key, cond, display_name)

    def _test(self, key: Hashable | None, cond: Condition, display_name: str | None) -> bool:
        if key is None:
            return condition_matches(cond, self._event, self._room)
        by_name = key is BY_NAME
        if by_name:
            key = (BY_NAME, display_name)
        found = self._memo.get(key)
        if found is None:
            ctx = self._room
            if by_name:
                ctx = dataclasses.replace(ctx, user_display_name=display_name)
            found = self._memo[key] = condition_matches(cond, self._event, ctx)
        return found


def matching_rule(
    ruleset: Mapping[str, Sequence[Mapping[str, Any]]], event: Event, ctx: PushContext
) -> tuple[str, Mapping[str, Any]] | None:
    """The kind and rule that decide ``event`` for ``ctx.user_id``, or ``None``.

    Kinds are tried in the spec's order whatever the mapping's order, and the
    first match wins. An event the user sent themselves matches nothing.
    """
    match = EventMatcher(event, ctx).first_match(
        compile_ruleset(ruleset), ctx.user_id, ctx.user_display_name
    )
    return None if match is None else (match.kind, match.rule)


def evaluate(
    ruleset: Mapping[str, Sequence[Mapping[str, Any]]], event: Event, ctx: PushContext
) -> list[Action] | None:
    """The actions of the first matching enabled rule, or ``None`` if none matches.

    ``[]`` (a match that says "do nothing") differs from ``None`` (no match);
    neither notifies. Legacy actions are dropped (spec: Historical Actions).
    The list is new: callers may keep or change it.
    """
    match = EventMatcher(event, ctx).first_match(
        compile_ruleset(ruleset), ctx.user_id, ctx.user_display_name
    )
    return None if match is None else list(match.actions)


def tweaks(actions: Sequence[Action]) -> dict[str, Any]:
    """The ``tweaks`` a notification carries; a later ``set_tweak`` wins.

    A ``highlight`` tweak without ``value`` is ``true`` (spec: Actions); other
    tweaks without a value are left out, the spec giving them no default.
    """
    result: dict[str, Any] = {}
    for action in actions:
        if not isinstance(action, Mapping):
            continue
        name = action.get("set_tweak")
        if not isinstance(name, str):
            continue
        if "value" in action:
            result[name] = action["value"]
        elif name == "highlight":
            result[name] = True
    return result


def is_notify(actions: Sequence[Action] | None) -> bool:
    """Whether the actions generate a notification (count towards ``notification_count``)."""
    return actions is not None and "notify" in actions


def is_highlight(actions: Sequence[Action] | None) -> bool:
    """Whether the actions make a highlighted notification (``highlight_count``).

    /sync counts "unread notifications with the highlight flag set", so a
    highlight tweak without ``notify`` is not counted. Absent highlight is false.
    """
    return actions is not None and is_notify(actions) and tweaks(actions).get("highlight") is True
