"""Identifier grammar (appendix "Identifier Grammar")."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from revier.errors import InvalidParam
from revier.events.identifiers import (
    is_valid_event_id,
    is_valid_localpart,
    is_valid_room_alias,
    is_valid_room_id,
    is_valid_server_name,
    is_valid_user_id,
    parse_user_id,
    server_name_of,
)

HASH = "Nhcu5BS-UMnFX7hBVfVSoXiD7OgH6iRT-xyIuqDnpYQ"  # the spec's v12 room id example


@pytest.mark.parametrize(
    "name",
    [
        "matrix.org",
        "matrix.org:8888",
        "1.2.3.4",
        "1.2.3.4:1234",
        "[1234:5678::abcd]",
        "[1234:5678::abcd]:5678",
        "localhost",
        "a-b.example",
        "MATRIX.ORG",
    ],
)
def test_valid_server_names(name: str) -> None:
    assert is_valid_server_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "",
        "matrix.org:",
        "matrix.org:123456",
        "exa mple.org",
        "ex_ample.org",
        "1.2.3.256",
        "[1234:5678::abcd",
        "[xyz]",
        "mätrix.org",
        "a:b:c",
        "a" * 256,
        "matrix.org:port",
    ],
)
def test_invalid_server_names(name: str) -> None:
    assert not is_valid_server_name(name)


@pytest.mark.parametrize("localpart", ["a", "alice", "a.b_c=d-e/f+g", "0123"])
def test_strict_localparts(localpart: str) -> None:
    assert is_valid_localpart(localpart)


@pytest.mark.parametrize("localpart", ["", "Alice", "a b", "a:b", "a*", "ä", "#a"])
def test_invalid_strict_localparts(localpart: str) -> None:
    assert not is_valid_localpart(localpart)


def test_localpart_length_counts_the_whole_user_id() -> None:
    server = "example.org"
    fits = "a" * (255 - len("@:") - len(server))
    assert is_valid_localpart(fits, server)
    assert not is_valid_localpart(fits + "a", server)
    assert is_valid_user_id(f"@{fits}:{server}", historical=False)
    assert not is_valid_user_id(f"@{fits}a:{server}", historical=True)


@pytest.mark.parametrize(
    ("user_id", "strict", "historical"),
    [
        ("@alice:example.org", True, True),
        ("@Alice:example.org", False, True),
        ("@a b!:example.org", False, True),
        ("@:example.org", False, True),
        ("@a\x00b:example.org", False, False),
        ("alice:example.org", False, False),
        ("@alice", False, False),
        ("@alice:", False, False),
        ("@alice:bad server", False, False),
        ("@alice:[::1]:8448", True, True),
    ],
)
def test_user_ids(user_id: str, strict: bool, historical: bool) -> None:
    assert is_valid_user_id(user_id, historical=False) is strict
    assert is_valid_user_id(user_id) is historical


def test_parse_user_id() -> None:
    assert parse_user_id("@alice:example.org:8448") == ("alice", "example.org:8448")
    assert parse_user_id("@Old:example.org") == ("Old", "example.org")
    with pytest.raises(InvalidParam):
        parse_user_id("@Old:example.org", historical=False)
    with pytest.raises(InvalidParam):
        parse_user_id("not a user")


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789._=-/+", min_size=1, max_size=100))
def test_strict_localparts_make_valid_user_ids(localpart: str) -> None:
    user_id = f"@{localpart}:example.org"
    assert is_valid_user_id(user_id, historical=False)
    assert parse_user_id(user_id) == (localpart, "example.org")


@given(st.text())
def test_validators_never_raise(value: str) -> None:
    for check in (
        is_valid_user_id,
        is_valid_room_id,
        is_valid_event_id,
        is_valid_room_alias,
        is_valid_server_name,
        is_valid_localpart,
    ):
        assert check(value) in (True, False)


@pytest.mark.parametrize(
    ("room_id", "valid"),
    [
        ("!abc:example.org", True),
        ("!" + HASH, True),
        ("!" + HASH[:-1], False),
        ("!" + HASH + "+", False),
        ("!:example.org", False),
        ("#abc:example.org", False),
        ("!abc", False),
        ("!abc:" + "a" * 255, False),
    ],
)
def test_room_ids(room_id: str, valid: bool) -> None:
    assert is_valid_room_id(room_id) is valid


@pytest.mark.parametrize(
    ("event_id", "valid"),
    [
        ("$" + HASH, True),
        ("$acR1l0raoZnm60CBwAVgqbZqoO/mYU81xysh1u7XcJk", True),
        ("$0:domain", True),
        ("$", False),
        ("$abc", False),
        ("!" + HASH, False),
    ],
)
def test_event_ids(event_id: str, valid: bool) -> None:
    assert is_valid_event_id(event_id) is valid


@pytest.mark.parametrize(
    ("alias", "valid"),
    [
        ("#room:example.org", True),
        ("#Ünïcode room:example.org", True),
        ("#:example.org", False),
        ("#room", False),
        ("room:example.org", False),
        ("#room:bad host", False),
    ],
)
def test_room_aliases(alias: str, valid: bool) -> None:
    assert is_valid_room_alias(alias) is valid


@pytest.mark.parametrize(
    ("identifier", "server"),
    [
        ("@a:example.org", "example.org"),
        ("!r:example.org:8448", "example.org:8448"),
        ("#a:b.c", "b.c"),
        ("$0:domain", "domain"),
        ("!" + HASH, None),
        ("$" + HASH, None),
    ],
)
def test_server_name_of(identifier: str, server: str | None) -> None:
    assert server_name_of(identifier) == server


def test_server_name_of_rejects_non_identifiers() -> None:
    with pytest.raises(InvalidParam):
        server_name_of("example.org")
