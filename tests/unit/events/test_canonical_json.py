"""Canonical JSON: the appendix examples are the test vectors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from revier.errors import BadJson
from revier.events.canonical_json import (
    CANONICAL_INT_MAX,
    CANONICAL_INT_MIN,
    check_canonical_json_values,
    encode_canonical_json,
)

# (input JSON text, expected canonical JSON), verbatim from appendices.md.
APPENDIX_EXAMPLES = [
    ("{}", "{}"),
    ('{\n    "one": 1,\n    "two": "Two"\n}', '{"one":1,"two":"Two"}'),
    ('{\n    "b": "2",\n    "a": "1"\n}', '{"a":"1","b":"2"}'),
    ('{"b":"2","a":"1"}', '{"a":"1","b":"2"}'),
    (
        """{"auth": {"success": true, "mxid": "@john.doe:example.com", "profile": {
            "display_name": "John Doe", "three_pids": [
            {"medium": "email", "address": "john.doe@example.org"},
            {"medium": "msisdn", "address": "123456789"}]}}}""",
        '{"auth":{"mxid":"@john.doe:example.com","profile":{"display_name":"John Doe",'
        '"three_pids":[{"address":"john.doe@example.org","medium":"email"},'
        '{"address":"123456789","medium":"msisdn"}]},"success":true}}',
    ),
    ('{"a": "日本語"}', '{"a":"日本語"}'),
    ('{"本": 2, "日": 1}', '{"日":1,"本":2}'),
    ('{"a": "\\u65E5"}', '{"a":"日"}'),
    ('{"a": null}', '{"a":null}'),
    ('{"a": -0, "b": 1e10}', '{"a":0,"b":10000000000}'),
]


@pytest.mark.parametrize(("source", "expected"), APPENDIX_EXAMPLES)
def test_appendix_examples(source: str, expected: str) -> None:
    assert encode_canonical_json(json.loads(source)) == expected.encode("utf-8")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("\x00\x08\t\n\x0c\r\x1f", '"\\u0000\\b\\t\\n\\f\\r\\u001f"'),
        ('"\\', '"\\"\\\\"'),
        ("\x7f/é", '"\x7f/é"'),
    ],
)
def test_strings_use_only_the_grammar_escapes(value: str, expected: str) -> None:
    assert encode_canonical_json(value) == expected.encode("utf-8")


@pytest.mark.parametrize(
    "value", [1.5, float("nan"), float("inf"), {"a": [0.1]}, "\ud800", {1: "int key"}, object()]
)
def test_unencodable_values_raise_bad_json(value: Any) -> None:
    with pytest.raises(BadJson):
        encode_canonical_json(value)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(CANONICAL_INT_MIN, CANONICAL_INT_MAX) | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=20,
)


@given(json_values)
def test_encoding_round_trips_and_is_stable(value: Any) -> None:
    encoded = encode_canonical_json(value)
    decoded = json.loads(encoded)
    assert decoded == value
    assert encode_canonical_json(decoded) == encoded
    check_canonical_json_values(value)


@given(st.dictionaries(st.text(), st.integers(0, 9), max_size=8))
def test_keys_are_sorted_by_code_point(value: dict[str, int]) -> None:
    decoded = json.loads(encode_canonical_json(value))
    assert list(decoded) == sorted(value)


@pytest.mark.parametrize(
    "value",
    [1.0, {"a": {"b": [0.5]}}, 2**53, -(2**53), {"depth": 2**60}, [set()]],
)
def test_check_rejects_floats_and_big_integers(value: Any) -> None:
    with pytest.raises(BadJson):
        check_canonical_json_values(value)


@pytest.mark.parametrize("value", [2**53 - 1, -(2**53) + 1, True, None, "x", {"a": [1, {}]}])
def test_check_accepts_canonical_values(value: Any) -> None:
    check_canonical_json_values(value)
