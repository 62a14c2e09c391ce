"""Simplified sliding sync (MSC4186) as Element X speaks it, for the integration tests.

The request bodies are those of matrix-rust-sdk (Element X), in the Synapse dialect
that the clients speak on the unstable path (/work/notes/sliding-sync.md §10): its
three connections ``room-list``, ``encryption`` and ``notifications``. Every response
a :class:`Connection` receives is checked against what Element X's deserialiser
(ruma) accepts (§3.3): a type mismatch there fails the whole sync in the app.

What the people in the tests do around it (rooms, messages, receipts) is in
``steps.py``.
"""

from __future__ import annotations

import asyncio
import copy
import secrets
import time
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import httpx
from bench.sliding import REQUIRED_STATE

from tests.integration.matrix import sent_extensions, until_waiting
from tests.integration.steps import JsonDict, Session

SS = "/_matrix/client/unstable/org.matrix.simplified_msc3575/sync"

# Element X's room list asks for this state; the benchmark drives the same shape.
ROOM_LIST_REQUIRED_STATE = REQUIRED_STATE
# Opening a room: the list's state plus the pinned events, 20 events of timeline.
SUBSCRIPTION_REQUIRED_STATE = [*ROOM_LIST_REQUIRED_STATE, ["m.room.pinned_events", ""]]
# rs: crates/matrix-sdk-ui/src/notification_client.rs
NOTIFICATION_REQUIRED_STATE = [
    ["m.room.encryption", ""],
    ["m.room.member", "$LAZY"],
    ["m.room.member", "$ME"],
    ["m.room.canonical_alias", ""],
    ["m.room.name", ""],
    ["m.room.avatar", ""],
    ["m.room.power_levels", ""],
    ["m.room.join_rules", ""],
    ["org.matrix.msc3401.call.member", "*"],
    ["m.room.create", ""],
    ["io.element.functional_members", ""],
]


def room_list_body(
    ranges: list[list[int]] | None = None, *, subscribe: tuple[str, ...] = ()
) -> JsonDict:
    """The ``room-list`` connection: one list ``all_rooms`` (timeline 1) and, for the
    rooms the user has open, subscriptions with 20 events."""
    body: JsonDict = {
        "conn_id": "room-list",
        "lists": {
            "all_rooms": {
                "ranges": ranges if ranges is not None else [[0, 19]],
                "timeline_limit": 1,
                "required_state": ROOM_LIST_REQUIRED_STATE,
                "filters": {},
            }
        },
        "extensions": {
            "account_data": {"enabled": True},
            "receipts": {"enabled": True, "rooms": ["*"]},
            "typing": {"enabled": True},
        },
    }
    if subscribe:
        body["room_subscriptions"] = {
            room_id: {"required_state": SUBSCRIPTION_REQUIRED_STATE, "timeline_limit": 20}
            for room_id in subscribe
        }
    return body


def encryption_body(since: str | None = None) -> JsonDict:
    """The ``encryption`` connection: no lists, to-device and e2ee only."""
    to_device: JsonDict = {"enabled": True}
    if since is not None:
        to_device["since"] = since
    return {
        "conn_id": "encryption",
        "extensions": {"to_device": to_device, "e2ee": {"enabled": True}},
    }


def notifications_body(*room_ids: str) -> JsonDict:
    """The ``notifications`` connection: pending invites, and the pushed rooms."""
    body: JsonDict = {
        "conn_id": "notifications",
        "lists": {
            "invites": {
                "ranges": [[0, 16]],
                "timeline_limit": 8,
                "required_state": NOTIFICATION_REQUIRED_STATE,
                "filters": {"is_invite": True},
            }
        },
        "extensions": {"account_data": {"enabled": True}},
    }
    if room_ids:
        body["room_subscriptions"] = {
            r: {"required_state": NOTIFICATION_REQUIRED_STATE, "timeline_limit": 16}
            for r in room_ids
        }
    return body


def one_list(
    ranges: list[list[int]] | None = None,
    *,
    required_state: list[list[str]] | None = None,
    timeline_limit: int = 0,
    conn_id: str | None = None,
    **options: Any,
) -> JsonDict:
    """A body with one list ``l`` (``options``: filters, …), for the tests of one feature."""
    the_list: JsonDict = {
        "timeline_limit": timeline_limit,
        "required_state": required_state if required_state is not None else [],
        **options,
    }
    if ranges is not None:
        the_list["ranges"] = ranges
    body: JsonDict = {"lists": {"l": the_list}}
    body["conn_id"] = conn_id if conn_id is not None else f"t-{secrets.token_hex(3)}"
    return body


# --- the endpoint -----------------------------------------------------------------


async def post(
    http: httpx.AsyncClient,
    session: Session,
    body: Any,
    *,
    pos: str | None = None,
    timeout_ms: int | None = None,
    extensions: dict[str, Any] | None = None,
    **params: Any,
) -> httpx.Response:
    """One sliding-sync request; ``pos`` and ``timeout`` (``timeout_ms``) are left out
    of the query when None."""
    query = {
        k: v for k, v in {"pos": pos, "timeout": timeout_ms, **params}.items() if v is not None
    }
    return await http.post(
        SS, params=query, json=body, headers=session.headers, timeout=90, extensions=extensions
    )


def error_of(r: httpx.Response) -> tuple[int, str]:
    """(status, errcode) of an answer that must be a Matrix error."""
    body = r.json()
    assert isinstance(body.get("error"), str), r.text
    return r.status_code, body["errcode"]


@dataclass
class Connection:
    """One sliding-sync connection as a client keeps it: the body it re-sends whole
    every time (nothing is sticky) and the ``pos`` of the last response it processed."""

    http: httpx.AsyncClient
    session: Session
    body: JsonDict
    pos: str | None = None
    responses: list[JsonDict] = field(default_factory=list)

    async def sync(self, timeout_ms: int | None = None, **changes: Any) -> JsonDict:
        """Send the body (with top-level ``changes``) at the current pos; keep the new pos."""
        body = {**self.body, **changes}
        r = await post(self.http, self.session, body, pos=self.pos, timeout_ms=timeout_ms)
        assert r.status_code == 200, r.text
        return self.take(r, body)

    def take(self, r: httpx.Response, body: JsonDict | None = None) -> JsonDict:
        assert r.status_code == 200, r.text
        data: JsonDict = r.json()
        check_element_x_parses(data, body if body is not None else self.body)
        self.pos = data["pos"]
        self.responses.append(data)
        return data

    def with_ranges(self, *ranges: list[int], list_name: str | None = None) -> None:
        """Change the window of a list (the only one unless named), as the client does."""
        lists = self.body["lists"]
        name = list_name or next(iter(lists))
        self.body = copy.deepcopy(self.body)
        self.body["lists"][name]["ranges"] = [list(r) for r in ranges]

    async def waiting(self, timeout_ms: int) -> asyncio.Task[httpx.Response]:
        """This connection's next request as a long-poll in the background, once it waits
        at the server (see tests/integration/matrix.py). The probe runs on a connection
        of its own: a second request on the same connection could legitimately end the
        first (a client that re-sends cancels what it had in flight)."""
        probe = Connection(self.http, self.session, {**self.body, "conn_id": "probe"})
        await probe.sync()
        sent = asyncio.Event()
        task = asyncio.create_task(
            post(
                self.http,
                self.session,
                self.body,
                pos=self.pos,
                timeout_ms=timeout_ms,
                extensions=sent_extensions(sent),
            )
        )
        await until_waiting(
            sent, partial(post, self.http, self.session, probe.body, pos=probe.pos, timeout_ms=0)
        )
        return task

    async def woken(self, task: asyncio.Task[httpx.Response], within_s: float = 5) -> JsonDict:
        """The long-poll's answer, which must come within ``within_s`` (not at its timeout)."""
        started = time.monotonic()
        r = await asyncio.wait_for(task, within_s + 5)
        assert time.monotonic() - started < within_s, "answered at its timeout, not woken"
        return self.take(r)


async def fresh(http: httpx.AsyncClient, s: Session, body: JsonDict) -> JsonDict:
    """One request without pos on a new connection of its own, its answer checked."""
    return await Connection(http, s, {**body, "conn_id": f"fresh-{secrets.token_hex(4)}"}).sync()


async def window_order(http: httpx.AsyncClient, s: Session, n: int, **options: Any) -> list[str]:
    """The first ``n`` rooms of a list, in the server's order: one window [[i, i]] each."""
    order = []
    for i in range(n):
        data = await fresh(http, s, one_list([[i, i]], **options))
        assert len(data["rooms"]) <= 1, data["rooms"]
        order.extend(data["rooms"])
    return order


# --- what Element X accepts ----------------------------------------------------------

_ROOM_INTS = (
    "joined_count",
    "invited_count",
    "num_live",
    "bump_stamp",
    "notification_count",
    "highlight_count",
)
_ROOM_BOOLS = ("initial", "is_dm", "limited")
_ROOM_LISTS = ("invite_state", "timeline", "required_state")


def _uint(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**53


def check_element_x_parses(data: JsonDict, request: JsonDict) -> None:
    """What ruma's ``v5::Response`` (Element X) and js-sdk need (reference §3.3, §3.4)."""
    assert isinstance(data.get("pos"), str) and data["pos"], data
    lists = request.get("lists")
    wanted_lists = set(lists) if isinstance(lists, dict) else set()
    assert set(data.get("lists") or {}) == wanted_lists, "every requested list, no other"
    for name, the_list in (data.get("lists") or {}).items():
        assert _uint(the_list.get("count")), (name, the_list)
    assert isinstance(data.get("rooms", {}), dict)
    for room_id, room in data.get("rooms", {}).items():
        assert room_id.startswith("!"), room_id
        for key in _ROOM_INTS:
            assert key not in room or _uint(room[key]), (room_id, key, room[key])
        for key in _ROOM_BOOLS:
            assert key not in room or isinstance(room[key], bool), (room_id, key)
        for key in _ROOM_LISTS:
            assert key not in room or isinstance(room[key], list), (room_id, key)
        assert "name" not in room or isinstance(room["name"], str | None)
        assert "avatar" not in room or isinstance(room["avatar"], str | None)
        assert "prev_batch" not in room or isinstance(room["prev_batch"], str)
        for hero in room.get("heroes", []):
            assert isinstance(hero.get("user_id"), str) and hero["user_id"].startswith("@")
        for event in room.get("timeline", []) + room.get("required_state", []):
            assert isinstance(event.get("event_id"), str) and isinstance(event.get("type"), str)
    extensions = data.get("extensions", {})
    asked = request.get("extensions")
    enabled = {
        name
        for name, ext in (asked.items() if isinstance(asked, dict) else ())
        if isinstance(ext, dict) and ext.get("enabled") is True
    }
    # js-sdk 42 throws on an extension it didn't register: answer only what was asked.
    assert set(extensions) <= enabled, f"unrequested extensions: {set(extensions) - enabled}"
    if "to_device" in extensions:
        assert isinstance(extensions["to_device"].get("next_batch"), str)
        assert isinstance(extensions["to_device"].get("events", []), list)
    if "e2ee" in extensions:
        e2ee = extensions["e2ee"]
        counts = e2ee.get("device_one_time_keys_count", {})
        assert all(_uint(n) for n in counts.values()), counts
        assert isinstance(e2ee.get("device_unused_fallback_key_types", []), list)
        for key in ("changed", "left"):
            assert isinstance(e2ee.get("device_lists", {}).get(key, []), list)
    for name in ("receipts", "typing"):
        if name in extensions:
            assert isinstance(extensions[name].get("rooms", {}), dict)
    if "account_data" in extensions:
        assert isinstance(extensions["account_data"].get("global", []), list)
        assert isinstance(extensions["account_data"].get("rooms", {}), dict)


def state_keys(room: JsonDict, event_type: str | None = None) -> set[tuple[str, str]]:
    """(type, state_key) of a room result's ``required_state``, optionally of one type."""
    return {
        (e["type"], e["state_key"])
        for e in room.get("required_state", [])
        if event_type is None or e["type"] == event_type
    }


def timeline_ids(room: JsonDict) -> list[str]:
    return [e["event_id"] for e in room.get("timeline", [])]


def to_device_contents(data: JsonDict) -> list[JsonDict]:
    """The contents of the to-device messages in a response, in order."""
    return [e["content"] for e in data["extensions"]["to_device"]["events"]]
