"""Glob patterns (spec appendix: Glob-style matching) compiled for matching.

Push rules are evaluated for every local member on every event, so compiled
patterns are memoised. The caches are bounded and hold only pure functions of
their arguments, so they are not state in the sense the style guide forbids:
dropping them changes nothing but speed.

Matching stays linear in the length of the value times the length of the
pattern. A naive translation (``*`` → ``.*``) backtracks polynomially in the
number of stars, and an unanchored word search retries the whole pattern from
every boundary: a 64 KiB body of ``"a a a …"`` against a content rule ``*b``
took half a minute that way, and any room member can send such a body. Both
matchers rely on the same fact: a pattern ``s0*s1*…*sk`` is a sequence of
fixed-length segments, and placing each middle segment at its leftmost
occurrence is never worse than a later one, as it leaves the longest remainder
for the segments after it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

_FLAGS = re.IGNORECASE | re.DOTALL
"""Case-insensitive per spec; DOTALL because ``?`` and ``*`` match any character,
newlines included."""

_WORD = "[A-Za-z0-9_]"
_BOUNDARY = f"(?:(?<!{_WORD})|(?!{_WORD}))"
"""A word boundary as ``content.body`` matching defines it: the start or end of
the value, or any character outside ``[A-Za-z0-9_]``. A substring therefore
starts or ends at a boundary unless that would split two word characters, so
``@room`` is found in ``hi @room`` and in ``hi@room``, ``room`` in ``@room``,
but ``room`` not in ``rooms``."""


def _segment(text: str) -> str:
    return "".join("." if ch == "?" else re.escape(ch) for ch in text)


def _split(pattern: str) -> tuple[str, list[str], str] | None:
    """``(first, middle, last)`` segments as regexes, or ``None`` without a star.

    Empty middle segments (from ``**``) are dropped: ``**`` is ``*``.
    """
    first, *rest = pattern.split("*")
    if not rest:
        return None
    *middle, last = rest
    return _segment(first), [_segment(seg) for seg in middle if seg], _segment(last)


@lru_cache(maxsize=4096)
def _compile_full(pattern: str) -> re.Pattern[str]:
    parts = _split(pattern)
    if parts is None:
        return re.compile(_segment(pattern), _FLAGS)
    first, middle, last = parts
    # Atomic groups pin each middle segment to its leftmost occurrence; only
    # the last one may move, as it has to end where the value ends.
    atoms = "".join(f"(?>.*?{seg})" for seg in middle)
    return re.compile(f"{first}{atoms}.*{last}", _FLAGS)


@dataclass(frozen=True, slots=True)
class _WordGlob:
    """A pattern to find between word boundaries, as its segments.

    The leftmost boundary where ``first`` matches is the best start (it leaves
    the most room), middle segments go leftmost after it, and then any
    boundary-ended ``last`` further on completes a match: three linear scans
    instead of one scan per possible start.
    """

    first: re.Pattern[str]
    middle: tuple[re.Pattern[str], ...]
    last: re.Pattern[str] | None

    def search(self, value: str) -> bool:
        found = self.first.search(value)
        if found is None or self.last is None:
            return found is not None
        pos = found.end()
        for segment in self.middle:
            found = segment.search(value, pos)
            if found is None:
                return False
            pos = found.end()
        # Lookarounds still see the characters before ``pos``, so the end
        # boundary is judged on the whole value.
        return self.last.search(value, pos) is not None


@lru_cache(maxsize=4096)
def _compile_words(pattern: str) -> _WordGlob:
    parts = _split(pattern)
    if parts is None:
        whole = re.compile(f"{_BOUNDARY}{_segment(pattern)}{_BOUNDARY}", _FLAGS)
        return _WordGlob(first=whole, middle=(), last=None)
    first, middle, last = parts
    return _WordGlob(
        first=re.compile(f"{_BOUNDARY}{first}", _FLAGS),
        middle=tuple(re.compile(seg, _FLAGS) for seg in middle),
        last=re.compile(f"{last}{_BOUNDARY}", _FLAGS),
    )


@lru_cache(maxsize=1024)
def _compile_literal_words(text: str) -> re.Pattern[str]:
    return re.compile(f"{_BOUNDARY}{re.escape(text)}{_BOUNDARY}", _FLAGS)


def glob_matches(pattern: str, value: str) -> bool:
    """The whole of ``value`` matches ``pattern`` (``event_match`` on any key but body).

    Only ``*`` (zero or more characters) and ``?`` (exactly one) are special;
    the spec's glob grammar has no character classes, so ``[`` is literal.
    """
    return _compile_full(pattern).fullmatch(value) is not None


def glob_matches_words(pattern: str, value: str) -> bool:
    """Some substring of ``value`` between word boundaries matches ``pattern``.

    The rule for content rules and for ``event_match`` on ``content.body``.
    """
    return _compile_words(pattern).search(value)


def contains_words(text: str, value: str) -> bool:
    """``text`` occurs literally in ``value`` between word boundaries.

    For ``contains_display_name``: a display name is not a pattern, so a
    ``*`` or ``?`` in it must match only itself.
    """
    return bool(text) and _compile_literal_words(text).search(value) is not None
