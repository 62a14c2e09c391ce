"""The tests of a member's push rules that name the member.

See ``EventMatcher.first_match_shared``, which decides the rest once per event.
"""

from __future__ import annotations

from revier.push.evaluator import BY_NAME, CompiledRuleset, Personal, Test


def personal_tests(ruleset: CompiledRuleset, template: CompiledRuleset) -> Personal | None:
    """The tests of ``ruleset`` that differ from ``template``'s (the same rules
    compiled for another user ID): the ones naming the user, and any display-name
    or unmemoisable test. ``None`` if the two are not shaped alike (then only
    ``first_match`` is exact).
    """
    if len(ruleset) != len(template):
        return None
    personal: list[Test] = []
    for mine, theirs in zip(ruleset, template, strict=True):
        if (mine.kind, len(mine.tests)) != (theirs.kind, len(theirs.tests)):
            return None
        for test, other in zip(mine.tests, theirs.tests, strict=True):
            if test[0] is None or test[0] is BY_NAME or test[0] != other[0]:
                personal.append(test)
    return tuple(personal)
