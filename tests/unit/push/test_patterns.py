"""Glob matching, word boundaries and dot-separated paths (spec appendices)."""

from __future__ import annotations

import fnmatch
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from revier.push.paths import MISSING, lookup, split_path
from revier.push.patterns import glob_matches, glob_matches_words


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("*", "", True),
        ("?", "", False),
        ("?", "é", True),
        ("a?c", "abc", True),
        ("a?c", "ac", False),
        ("a.c", "abc", False),  # regex metacharacters are literal
        ("a+", "aa", False),
        ("[ab]", "a", False),  # the spec's glob has no character classes
        ("[ab]", "[AB]", True),
        ("a\\*", "a\\bc", True),
        ("**a**", "xax", True),
        ("*", "line1\nline2", True),
        ("a*b*c", "aXbYbZc", True),
        ("a*b*b", "ab", False),
        ("a*bc*c", "abcc", True),
        ("ÄPFEL", "äpfel", True),
        ("m.room.*", "m.room.message", True),
        ("m.room.*", "m.roomy", False),
    ],
)
def test_glob_corner_cases(pattern: str, value: str, expected: bool) -> None:
    assert glob_matches(pattern, value) is expected


@pytest.mark.parametrize(
    ("pattern", "body", "expected"),
    [
        ("cake", "cake", True),
        ("cake", "I want CAKE!", True),
        ("cake", "cheesecake", False),
        ("cake", "cakes", False),
        ("cake", "cake_time", False),  # "_" is a word character
        ("cake", "cake-time", True),
        ("cake", "2cake", False),
        ("cake*lie", "the cake is a lie.", True),
        ("cake*lie", "the cake is a lies", False),
        ("cake*lie", "the cake is a lie, a lies", True),
        ("@room", "hi @room", True),
        ("@room", "hi@room", True),  # "@" is itself a boundary character
        ("room", "@room", True),
        ("ali?e", "hey alice", True),
        ("", "", True),
    ],
)
def test_word_boundaries(pattern: str, body: str, expected: bool) -> None:
    assert glob_matches_words(pattern, body) is expected


def test_hostile_patterns_stay_fast() -> None:
    # A 64 KiB body any member can send; a backtracking matcher took ~30 s on "*b".
    body = "a " * 32_000
    start = time.perf_counter()
    assert not glob_matches("*a*a*a*a*a*a*a*a*b", "a" * 64_000)
    for pattern in ("*b", "a*b", "a*a*a*a*a*a*a*a*b", "a?b*"):
        assert not glob_matches_words(pattern, body)
    assert time.perf_counter() - start < 2


# Differential checks against a brute-force reading of the spec. The alphabets
# avoid "[", which fnmatch treats as a class and the spec's glob does not.
GLOB = st.text(alphabet="ab*?", max_size=8)
VALUE = st.text(alphabet="abAB", max_size=10)
BODY = st.text(alphabet="abA -_", max_size=12)


@settings(max_examples=500)
@given(GLOB, VALUE)
def test_glob_agrees_with_fnmatch(pattern: str, value: str) -> None:
    assert glob_matches(pattern, value) is fnmatch.fnmatchcase(value.lower(), pattern)


def _boundary(s: str, i: int) -> bool:
    word = set("abAB_")
    return i in (0, len(s)) or s[i - 1] not in word or s[i] not in word


@settings(max_examples=500)
@given(GLOB, BODY)
def test_word_glob_agrees_with_brute_force(pattern: str, body: str) -> None:
    expected = any(
        fnmatch.fnmatchcase(body[i:j].lower(), pattern)
        for i in range(len(body) + 1)
        for j in range(i, len(body) + 1)
        if _boundary(body, i) and _boundary(body, j)
    )
    assert glob_matches_words(pattern, body) is expected


# --- dot-separated property paths ------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "parts"),
    [
        ("content.body", ("content", "body")),
        ("content.m\\.relates_to.rel_type", ("content", "m.relates_to", "rel_type")),
        ("content.m\\\\foo", ("content", "m\\foo")),
        ("content.m\\xfoo", ("content", "m\\xfoo")),  # other escapes stay as written
        ("a\\", ("a\\",)),
        ("a..b", ("a", "", "b")),
        ("", ("",)),
    ],
)
def test_split_path(key: str, parts: tuple[str, ...]) -> None:
    assert split_path(key) == parts


def test_lookup_through_escapes_and_arrays() -> None:
    ev = {"content": {"m.relates_to": {"rel_type": "m.thread"}, "m\\foo": 1, "a": [{"b": 1}]}}
    assert lookup(ev, "content.m\\.relates_to.rel_type") == "m.thread"
    assert lookup(ev, "content.m.relates_to.rel_type") is MISSING
    assert lookup(ev, "content.m\\\\foo") == 1
    assert lookup(ev, "content.a.0.b") is MISSING
    assert lookup(ev, "content.a.b") is MISSING
