"""Push rules (spec: Push Notifications): defaults, merging, validation, evaluation.

Pure functions of their arguments; services/ gathers the facts and stores the
results.
"""

from __future__ import annotations

from revier.push.default_rules import default_rule_ids, default_ruleset
from revier.push.evaluator import (
    CompiledRuleset,
    EventMatcher,
    Personal,
    PushContext,
    compile_ruleset,
    evaluate,
    is_highlight,
    is_notify,
    matching_rule,
    tweaks,
)
from revier.push.model import KINDS, Action, RuleKind, RuleOverride, Ruleset, UserRule
from revier.push.personal import personal_tests
from revier.push.rules import find_rule, insert_rule, is_server_default, merge_rules
from revier.push.validation import (
    validate_actions,
    validate_enabled,
    validate_kind,
    validate_new_rule,
    validate_rule_id,
)

__all__ = [
    "KINDS",
    "Action",
    "CompiledRuleset",
    "EventMatcher",
    "Personal",
    "PushContext",
    "RuleKind",
    "RuleOverride",
    "Ruleset",
    "UserRule",
    "compile_ruleset",
    "default_rule_ids",
    "default_ruleset",
    "evaluate",
    "find_rule",
    "insert_rule",
    "is_highlight",
    "is_notify",
    "is_server_default",
    "matching_rule",
    "merge_rules",
    "personal_tests",
    "tweaks",
    "validate_actions",
    "validate_enabled",
    "validate_kind",
    "validate_new_rule",
    "validate_rule_id",
]
