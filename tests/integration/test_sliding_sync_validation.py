"""Sliding sync request bodies: the limits (400 ``M_INVALID_PARAM`` with a message),
wrong JSON types (``M_BAD_JSON``), what is accepted right at each limit, and that
no odd body makes the server fail (test_sliding_sync_property.py tries many more)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.integration.harness import PASSWORD, RevierProcess
from tests.integration.sliding import (
    SS,
    check_element_x_parses,
    encryption_body,
    notifications_body,
    room_list_body,
)
from tests.integration.steps import (
    JsonDict,
    Session,
)

INVALID = {"M_INVALID_PARAM"}
BAD_JSON = {"M_BAD_JSON"}
NOT_AN_OBJECT = {"M_NOT_JSON", "M_BAD_JSON"}
EITHER = INVALID | BAD_JSON  # a container of the wrong type where the rule is about its items


def a_list(**fields: Any) -> JsonDict:
    return {
        "lists": {"l": {"ranges": [[0, 9]], "timeline_limit": 1, "required_state": [], **fields}}
    }


def subscription(**fields: Any) -> JsonDict:
    return {
        "room_subscriptions": {
            "!a:localhost": {"timeline_limit": 1, "required_state": [], **fields}
        }
    }


def to_device(**fields: Any) -> JsonDict:
    return {"extensions": {"to_device": {"enabled": True, **fields}}}


L = {"ranges": [[0, 0]], "timeline_limit": 0, "required_state": []}
S = {"timeline_limit": 0, "required_state": []}

REFUSED: list[tuple[str, Any, dict[str, str], set[str]]] = [
    ("101 lists", {"lists": {f"l{i}": L for i in range(101)}}, {}, INVALID),
    ("10,000 lists", {"lists": {f"list-{i}": L for i in range(10_000)}}, {}, INVALID),
    ("a list name of 65", {"lists": {"x" * 65: L}}, {}, INVALID),
    ("timeline_limit -1", a_list(timeline_limit=-1), {}, INVALID),
    ("timeline_limit 1001", a_list(timeline_limit=1001), {}, INVALID),
    ("subscription timeline_limit 1001", subscription(timeline_limit=1001), {}, INVALID),
    ("range start > end", a_list(ranges=[[5, 2]]), {}, INVALID),
    ("negative range", a_list(ranges=[[-1, 5]]), {}, INVALID),
    ("range of one", a_list(ranges=[[0]]), {}, INVALID),
    ("range of three", a_list(ranges=[[0, 1, 2]]), {}, INVALID),
    ("range of strings", a_list(ranges=[["0", "19"]]), {}, INVALID),
    ("range of floats", a_list(ranges=[[0.5, 3]]), {}, INVALID),
    ("range of booleans", a_list(ranges=[[False, True]]), {}, INVALID),
    ("range a number", a_list(ranges=[5]), {}, INVALID),
    ("101 ranges", a_list(ranges=[[i, i] for i in range(101)]), {}, INVALID),
    (
        "101 subscriptions",
        {"room_subscriptions": {f"!r{i}:localhost": S for i in range(101)}},
        {},
        INVALID,
    ),
    (
        "1001 required_state",
        a_list(required_state=[["t", str(i)] for i in range(1001)]),
        {},
        INVALID,
    ),
    ("required_state entry of one", a_list(required_state=[["m.room.name"]]), {}, INVALID),
    ("required_state entry of three", a_list(required_state=[["a", "b", "c"]]), {}, INVALID),
    (
        "required_state entry with a number",
        a_list(required_state=[["m.room.name", 1]]),
        {},
        INVALID,
    ),
    ("required_state entry a string", a_list(required_state=["m.room.name"]), {}, INVALID),
    ("subscription required_state entry", subscription(required_state=[[1, 2]]), {}, INVALID),
    ("to_device since not a number", to_device(since="abc"), {}, INVALID),
    ("to_device since hexadecimal", to_device(since="0x10"), {}, INVALID),
    ("to_device since a fraction", to_device(since="1.5"), {}, INVALID),
    ("unknown set_presence", {}, {"set_presence": "busy"}, INVALID),
    ("lists an array", {"lists": []}, {}, BAD_JSON),
    ("a list a string", {"lists": {"l": "all"}}, {}, BAD_JSON),
    ("timeline_limit a string", a_list(timeline_limit="1"), {}, BAD_JSON),
    ("timeline_limit true", a_list(timeline_limit=True), {}, EITHER),
    ("filters an array", a_list(filters=[]), {}, BAD_JSON),
    ("is_dm a string", a_list(filters={"is_dm": "yes"}), {}, BAD_JSON),
    ("spaces a string", a_list(filters={"spaces": "!a:localhost"}), {}, BAD_JSON),
    ("tags of numbers", a_list(filters={"tags": [1]}), {}, BAD_JSON),
    ("room_subscriptions an array", {"room_subscriptions": []}, {}, BAD_JSON),
    ("extensions an array", {"extensions": []}, {}, BAD_JSON),
    ("conn_id a number", {"conn_id": 5}, {}, BAD_JSON),
    ("enabled a string", {"extensions": {"typing": {"enabled": "yes"}}}, {}, BAD_JSON),
    (
        "extension lists a string",
        {"extensions": {"receipts": {"enabled": True, "lists": "*"}}},
        {},
        BAD_JSON,
    ),
    ("ranges a string", a_list(ranges="0-19"), {}, EITHER),
    ("required_state an object", a_list(required_state={}), {}, EITHER),
    ("to_device since a number", to_device(since=5), {}, EITHER),
    ("body an array", [], {}, NOT_AN_OBJECT),
    ("body a string", "lists", {}, NOT_AN_OBJECT),
    ("body null", None, {}, NOT_AN_OBJECT),
    ("body a number", 1, {}, NOT_AN_OBJECT),
]

ACCEPTED: list[tuple[str, Any, dict[str, str]]] = [
    ("empty", {}, {}),
    ("100 lists", {"lists": {f"l{i}": L for i in range(100)}}, {}),
    ("a list name of 64", {"lists": {"x" * 64: L}}, {}),
    (
        "timeline_limit 0 and 1000",
        {"lists": {"a": {**L, "timeline_limit": 0}, "b": {**L, "timeline_limit": 1000}}},
        {},
    ),
    ("100 ranges", a_list(ranges=[[i, i] for i in range(100)]), {}),
    ("a big range", a_list(ranges=[[0, 2**53]]), {}),
    ("100 subscriptions", {"room_subscriptions": {f"!r{i}:localhost": S for i in range(100)}}, {}),
    ("1000 required_state", a_list(required_state=[["t", str(i)] for i in range(1000)]), {}),
    ("to_device since 0", to_device(since="0"), {}),
    ("online", {}, {"set_presence": "online"}),
    ("offline", {}, {"set_presence": "offline"}),
    ("unavailable", {}, {"set_presence": "unavailable"}),
    ("Element X room list", room_list_body([[0, 99]], subscribe=("!a:localhost",)), {}),
    ("Element X encryption", encryption_body(since="0"), {}),
    ("Element X notifications", notifications_body("!a:localhost"), {}),
    (
        "js-sdk, with the fields Synapse ignores",
        {
            "lists": {
                "all": {
                    **L,
                    "sort": ["by_recency"],
                    "slow_get_all_rooms": False,
                    "include_old_rooms": {},
                }
            },
            "unsubscribe_rooms": ["!x:localhost"],
            "txn_id": "t1",
            "extensions": {
                "to_device": {"enabled": True, "limit": 100},
                "org.matrix.msc4354.sticky_events": {"enabled": True, "limit": 100},
                "org.example.unknown": {"anything": [1, {"x": None}]},
            },
            "org.example.field": 1,
        },
        {},
    ),
    (
        "filters of every kind",
        a_list(
            filters={
                "room_types": [None, "m.space"],
                "not_room_types": [],
                "tags": [],
                "not_tags": ["u.x"],
                "spaces": [],
                "is_dm": False,
            }
        ),
        {},
    ),
]

# Odd but not refused by the rules: any answer but a failure.
NEVER_FAILS: list[tuple[str, Any, dict[str, str]]] = [
    ("a range past 2^64", a_list(ranges=[[0, 2**64]]), {}),
    ("a range far out", a_list(ranges=[[2**63, 2**64]]), {}),
    ("to_device since past 2^64", to_device(since="9" * 30), {}),
    ("to_device since negative", to_device(since="-1"), {}),
    ("to_device since with underscores", to_device(since="1_000"), {}),
    ("to_device since in Arabic digits", to_device(since="١٢"), {}),
    ("to_device limit huge", to_device(limit=10**30), {}),
    ("to_device limit negative", to_device(limit=-1), {}),
    ("timeout negative", {}, {"timeout": "-1"}),
    ("timeout not a number", {}, {"timeout": "soon"}),
    ("timeout past 2^64", {}, {"timeout": "9" * 30}),
    ("conn_id long", {"conn_id": "c" * 10_000}, {}),
    (
        "filters spaces unknown",
        a_list(filters={"spaces": ["!nowhere:localhost", "not a room id"]}),
        {},
    ),
]


@pytest.fixture(scope="module")
def me(server: RevierProcess, password_hash: str) -> Session:
    name = f"strict-{secrets.token_hex(3)}"
    [user_id] = server.import_users([name], password_hash)
    r = httpx.post(
        f"{server.url}/_matrix/client/v3/login",
        json={"type": "m.login.password", "user": user_id, "password": PASSWORD},
    )
    assert r.status_code == 200, r.text
    return Session(user_id, r.json()["device_id"], r.json()["access_token"])


def assert_error(r: httpx.Response, codes: set[str], what: str) -> None:
    assert 400 <= r.status_code < 500, (what, r.status_code, r.text)
    body = r.json()
    assert body.get("errcode") in codes, (what, r.text)
    assert isinstance(body.get("error"), str) and body["error"], (what, r.text)


@pytest.mark.one_engine
@pytest.mark.parametrize(("what", "body", "params", "codes"), REFUSED, ids=[c[0] for c in REFUSED])
async def test_a_bad_body_is_refused_with_a_clear_error(
    http: httpx.AsyncClient,
    me: Session,
    what: str,
    body: Any,
    params: dict[str, str],
    codes: set[str],
) -> None:
    r = await http.post(SS, params=params, json=body, headers=me.headers)
    assert r.status_code == 400, (what, r.status_code, r.text)
    assert_error(r, codes, what)


@pytest.mark.one_engine
@pytest.mark.parametrize(("what", "body", "params"), ACCEPTED, ids=[c[0] for c in ACCEPTED])
async def test_a_body_at_the_limits_is_accepted(
    http: httpx.AsyncClient, me: Session, what: str, body: JsonDict, params: dict[str, str]
) -> None:
    r = await http.post(SS, params=params, json=body, headers=me.headers)
    assert r.status_code == 200, (what, r.text)
    check_element_x_parses(r.json(), body)


RAW = [
    b"",
    b"{",
    b"\xff\xfe{}",
    b'{"lists": {"l": {"ranges": [[0, 1e400]], "timeline_limit": 1}}}',
    b"[" * 100_000 + b"]" * 100_000,
    b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
]


MARK = "@odd@"
STORED_STRINGS: list[JsonDict] = [
    {"conn_id": f"c{MARK}"},
    {"lists": {f"l{MARK}": L}},
    a_list(required_state=[[f"m.room.name{MARK}", ""], ["m.room.member", MARK]]),
    {"room_subscriptions": {f"!a{MARK}:localhost": S}},
    a_list(filters={"spaces": [f"!s{MARK}:localhost"], "tags": [f"u.{MARK}"]}),
    to_device(since=f"1{MARK}"),
]


def odd_strings() -> Iterator[tuple[str, bytes]]:
    """Bodies with a NUL or a lone surrogate (valid JSON escapes) in every string the
    server might store: PostgreSQL refuses NUL in text, UTF-8 refuses surrogates."""
    for name, odd in (("NUL", "\\u0000"), ("surrogate", "\\ud800")):
        for body in STORED_STRINGS:
            text = json.dumps(body)
            yield f"{name} in {text[:40]}", text.replace(MARK, odd).encode()


async def test_no_body_makes_the_server_fail(http: httpx.AsyncClient, me: Session) -> None:
    """On both engines: what reaches the database differs between them."""
    cases: list[tuple[str, bytes, dict[str, str]]] = [
        *((repr(raw[:20]), raw, {}) for raw in RAW),
        *((what, raw, {}) for what, raw in odd_strings()),
        *((what, json.dumps(body).encode(), params) for what, body, params in NEVER_FAILS),
    ]
    failed = []
    for what, raw, params in cases:
        try:
            r = await http.post(
                SS,
                params=params,
                content=raw,
                headers={**me.headers, "Content-Type": "application/json"},
            )
        except httpx.TransportError as e:  # the server dropped the connection
            failed.append(f"{what}: {e!r}")
            continue
        if r.status_code >= 500:
            failed.append(f"{what}: {r.status_code}")
        elif r.status_code >= 400:
            assert_error(r, {"M_NOT_JSON", "M_BAD_JSON", "M_INVALID_PARAM", "M_TOO_LARGE"}, what)
    assert not failed, "; ".join(failed)
