"""What the people in the sliding-sync tests do, by raw client-server requests:
log in, make rooms, talk, read, type. Each step asserts that the server took it."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

import httpx

from tests.integration.conftest import Account

V3 = "/_matrix/client/v3"
JsonDict = dict[str, Any]


@dataclass
class Session:
    """One logged-in device."""

    user_id: str
    device_id: str
    token: str
    host: str | None = None  # the tenant's, on a server of several

    @property
    def headers(self) -> dict[str, str]:
        host = {"Host": self.host} if self.host else {}
        return {"Authorization": f"Bearer {self.token}", **host}


async def log_in(http: httpx.AsyncClient, account: Account, **headers: str) -> Session:
    r = await http.post(
        f"{V3}/login",
        headers=headers,
        json={
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": account.user_id},
            "password": account.password,
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    return Session(body["user_id"], body["device_id"], body["access_token"], headers.get("Host"))


async def people(http: httpx.AsyncClient, make_user: Any, *names: str) -> list[Session]:
    """A new account per name, each logged in on one device."""
    return [await log_in(http, make_user(name)) for name in names]


async def create_room(http: httpx.AsyncClient, s: Session, **body: Any) -> str:
    r = await http.post(f"{V3}/createRoom", headers=s.headers, json=body)
    assert r.status_code == 200, r.text
    return str(r.json()["room_id"])


async def join(http: httpx.AsyncClient, s: Session, room_id: str) -> None:
    r = await http.post(f"{V3}/join/{room_id}", headers=s.headers, json={})
    assert r.status_code == 200, r.text


async def invite(http: httpx.AsyncClient, s: Session, room_id: str, user_id: str) -> None:
    r = await http.post(
        f"{V3}/rooms/{room_id}/invite", headers=s.headers, json={"user_id": user_id}
    )
    assert r.status_code == 200, r.text


async def leave(http: httpx.AsyncClient, s: Session, room_id: str) -> None:
    r = await http.post(f"{V3}/rooms/{room_id}/leave", headers=s.headers, json={})
    assert r.status_code == 200, r.text


async def shared_room(
    http: httpx.AsyncClient, owner: Session, *members: Session, **body: Any
) -> str:
    """``owner`` creates a room and invites ``members``, who join."""
    room_id = await create_room(http, owner, invite=[m.user_id for m in members], **body)
    for member in members:
        await join(http, member, room_id)
    return room_id


async def send(
    http: httpx.AsyncClient, s: Session, room_id: str, event_type: str, content: JsonDict
) -> str:
    r = await http.put(
        f"{V3}/rooms/{room_id}/send/{event_type}/{secrets.token_hex(8)}",
        headers=s.headers,
        json=content,
    )
    assert r.status_code == 200, r.text
    return str(r.json()["event_id"])


async def say(http: httpx.AsyncClient, s: Session, room_id: str, text: str, **extra: Any) -> str:
    return await send(
        http, s, room_id, "m.room.message", {"msgtype": "m.text", "body": text, **extra}
    )


async def set_state(
    http: httpx.AsyncClient,
    s: Session,
    room_id: str,
    event_type: str,
    content: JsonDict,
    state_key: str = "",
) -> str:
    r = await http.put(
        f"{V3}/rooms/{room_id}/state/{event_type}/{state_key}", headers=s.headers, json=content
    )
    assert r.status_code == 200, r.text
    return str(r.json()["event_id"])


async def receipt(
    http: httpx.AsyncClient, s: Session, room_id: str, event_id: str, kind: str = "m.read"
) -> None:
    r = await http.post(
        f"{V3}/rooms/{room_id}/receipt/{kind}/{event_id}", headers=s.headers, json={}
    )
    assert r.status_code == 200, r.text


async def typing(http: httpx.AsyncClient, s: Session, room_id: str, on: bool = True) -> None:
    r = await http.put(
        f"{V3}/rooms/{room_id}/typing/{s.user_id}",
        headers=s.headers,
        json={"typing": on, "timeout": 30000} if on else {"typing": False},
    )
    assert r.status_code == 200, r.text


async def account_data(
    http: httpx.AsyncClient, s: Session, data_type: str, content: JsonDict, room_id: str = ""
) -> None:
    where = f"rooms/{room_id}/" if room_id else ""
    r = await http.put(
        f"{V3}/user/{s.user_id}/{where}account_data/{data_type}", headers=s.headers, json=content
    )
    assert r.status_code == 200, r.text


async def send_to_device(
    http: httpx.AsyncClient, sender: Session, to: Session, content: JsonDict
) -> None:
    r = await http.put(
        f"{V3}/sendToDevice/m.test/{secrets.token_hex(6)}",
        headers=sender.headers,
        json={"messages": {to.user_id: {to.device_id: content}}},
    )
    assert r.status_code == 200, r.text


# A type no event has: a timeline filter of ``not_types`` with it picks nothing
# away, yet makes the server read a first sync's rooms one by one.
NOWHERE = "org.example.no_event_has_this_type"


async def first_sync(http: httpx.AsyncClient, s: Session, flt: dict[str, Any]) -> dict[str, Any]:
    """The ``rooms`` of a first sync (presence and to-device move with the clock)."""
    r = await http.get(f"{V3}/sync", params={"filter": json.dumps(flt)}, headers=s.headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = _ageless(r.json()["rooms"])
    return body


def _ageless(value: Any) -> Any:
    """``value`` without the ``age`` of any event in it (the clock moved)."""
    if isinstance(value, dict):
        return {k: _ageless(v) for k, v in value.items() if k != "age"}
    if isinstance(value, list):
        return [_ageless(v) for v in value]
    return value


async def both_ways(
    http: httpx.AsyncClient, s: Session, room: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ``rooms`` of a first sync under ``room`` (the filter's room part), as
    the server reads them together and as it reads them room by room — which
    must be equal (``services/rooms/fresh_rooms.py``)."""
    together = await first_sync(http, s, {"room": room})
    timeline = {**room.get("timeline", {}), "not_types": [NOWHERE]}
    apart = await first_sync(http, s, {"room": {**room, "timeline": timeline}})
    return together, apart
