"""The persistent data unit: a room event in the v3+ PDU format.

A ``Pdu`` is immutable: it holds a private deep copy of the event JSON, checks
the shape the room version's event format requires (checks on receipt of a
PDU, step 1: "Is a valid event, otherwise it is dropped") and derives the
event id from the reference hash instead of trusting an ``event_id`` field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from signedjson.types import SigningKey

from revier.errors import BadJson
from revier.events.canonical_json import check_canonical_json_values
from revier.events.hashing import compute_content_hash, compute_event_id
from revier.events.room_versions import RoomVersion, get_room_version
from revier.events.signing import sign_event
from revier.events.types import JsonDict, StateKey, json_copy

# Fields every PDU of room versions 10-12 carries, with the JSON type each must have.
_REQUIRED: dict[str, type | tuple[type, ...]] = {
    "type": str,
    "sender": str,
    "content": dict,
    "origin_server_ts": int,
    "depth": int,
    "prev_events": list,
    "auth_events": list,
    "hashes": dict,
    "signatures": dict,
}

# "Must contain less than or equal to 20 [prev] / 10 [auth] events" (PDU schema, v4+).
_LIST_LIMITS = {"prev_events": 20, "auth_events": 10}


def _check_format(event: JsonDict, rv: RoomVersion) -> None:
    for key, expected in _REQUIRED.items():
        value = event.get(key)
        if not isinstance(value, expected) or isinstance(value, bool):
            raise BadJson(f"PDU field {key!r} is missing or has the wrong type")
    for key, limit in _LIST_LIMITS.items():
        if not all(isinstance(e, str) for e in event[key]):
            raise BadJson(f"PDU field {key!r} must be a list of event ids")
        if len(event[key]) > limit:
            raise BadJson(f"PDU field {key!r} may list at most {limit} events")
    if "state_key" in event and not isinstance(event["state_key"], str):
        raise BadJson("PDU field 'state_key' must be a string")
    # v12: "Room identifier. Omitted from m.room.create events."
    room_id_optional = rv.room_id_from_create_event and event["type"] == "m.room.create"
    if not room_id_optional and not isinstance(event.get("room_id"), str):
        raise BadJson("PDU field 'room_id' is missing or not a string")


class Pdu:
    """One room event, with its room version and derived event id."""

    __slots__ = ("_event", "_event_id", "_room_id", "_room_version")

    def __init__(
        self,
        event: Mapping[str, Any],
        room_version: RoomVersion | str,
        *,
        event_id: str | None = None,
    ) -> None:
        """Wrap ``event``; pass ``event_id`` only when it is already known to be right.

        Storage may pass the id it computed when the event was first
        persisted, to avoid re-hashing on every load.
        """
        self._wrap(json_copy(dict(event)), get_room_version(room_version), event_id)

    def _wrap(
        self, data: JsonDict, rv: RoomVersion, event_id: str | None, *, check: bool = True
    ) -> None:
        if check:
            _check_format(data, rv)
        self._event = data
        self._room_version = rv
        self._event_id = event_id if event_id is not None else compute_event_id(data, rv)
        room_id = data.get("room_id")
        if isinstance(room_id, str):
            self._room_id = room_id
        else:
            # v12 create event: the room id *is* its event id with the "!" sigil.
            self._room_id = "!" + self._event_id[1:]

    @classmethod
    def from_dict(cls, event: Mapping[str, Any], room_version: RoomVersion | str) -> Pdu:
        return cls(event, room_version)

    @classmethod
    def from_storage(cls, data: JsonDict, room_version: str, event_id: str) -> Pdu:
        """Wrap a dict just parsed from storage: nobody else holds it, so no copy, and
        no format check either: nothing is stored that didn't pass it (every read of
        a timeline or of state loads events, and the check cost as much as parsing)."""
        pdu = cls.__new__(cls)
        pdu._wrap(data, get_room_version(room_version), event_id, check=False)
        return pdu

    def __repr__(self) -> str:
        return f"<Pdu {self._event_id} {self.type} in {self._room_id}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Pdu) and other._event_id == self._event_id

    def __hash__(self) -> int:
        return hash(self._event_id)

    def get(self, key: str, default: Any = None) -> Any:
        """A raw top-level field (``origin``, ``unsigned``, …); read-only by contract."""
        return self._event.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self._event

    @property
    def room_version(self) -> RoomVersion:
        return self._room_version

    @property
    def event_id(self) -> str:
        return self._event_id

    @property
    def room_id(self) -> str:
        return self._room_id

    @property
    def sender(self) -> str:
        return str(self._event["sender"])

    @property
    def type(self) -> str:
        return str(self._event["type"])

    @property
    def state_key(self) -> str | None:
        state_key = self._event.get("state_key")
        return state_key if isinstance(state_key, str) else None

    @property
    def is_state(self) -> bool:
        return "state_key" in self._event

    @property
    def state_key_tuple(self) -> StateKey | None:
        """``(type, state_key)`` for state events, None for message events."""
        state_key = self.state_key
        return None if state_key is None else (self.type, state_key)

    @property
    def content(self) -> Mapping[str, Any]:
        """Read-only by contract (typed ``Mapping``); ``to_dict()`` gives a copy to change."""
        content: dict[str, Any] = self._event["content"]
        return content

    @property
    def prev_events(self) -> list[str]:
        return list(self._event["prev_events"])

    @property
    def auth_events(self) -> list[str]:
        return list(self._event["auth_events"])

    @property
    def depth(self) -> int:
        return int(self._event["depth"])

    @property
    def origin_server_ts(self) -> int:
        return int(self._event["origin_server_ts"])

    @property
    def hashes(self) -> Mapping[str, Any]:
        hashes: dict[str, Any] = self._event["hashes"]
        return hashes

    @property
    def signatures(self) -> Mapping[str, Any]:
        signatures: dict[str, Any] = self._event["signatures"]
        return signatures

    @property
    def redacts(self) -> str | None:
        """The redacted event id: in ``content`` from v11, at the top level before."""
        if self.type != "m.room.redaction":
            return None
        source = self.content if self._room_version.redacts_in_content else self._event
        redacts = source.get("redacts")
        return redacts if isinstance(redacts, str) else None

    def to_dict(self) -> JsonDict:
        """The full PDU JSON, as sent over federation (a fresh copy)."""
        return json_copy(self._event)

    def client_format(self, unsigned: Mapping[str, Any] | None = None) -> JsonDict:
        """The client-server API ``ClientEvent`` shape of this event."""
        event: JsonDict = {
            "content": json_copy(self._event["content"]),
            "event_id": self._event_id,
            "origin_server_ts": self.origin_server_ts,
            "room_id": self._room_id,
            "sender": self.sender,
            "type": self.type,
        }
        if self.is_state:
            event["state_key"] = self.state_key
        redacts = self.redacts
        if redacts is not None:
            # v11 asks servers to serve `redacts` in both places, for old
            # clients (top level) and new clients on old rooms (content).
            event["redacts"] = redacts
            event["content"]["redacts"] = redacts
        if unsigned:
            event["unsigned"] = json_copy(dict(unsigned))
        return event


def build_pdu(
    room_version: RoomVersion | str,
    *,
    room_id: str | None,
    sender: str,
    event_type: str,
    content: Mapping[str, Any],
    state_key: str | None = None,
    prev_events: Sequence[str],
    auth_events: Sequence[str],
    depth: int,
    origin_server_ts: int,
    origin_server_name: str,
    signing_key: SigningKey,
    redacts: str | None = None,
) -> Pdu:
    """Assemble, hash and sign a new event (server-server API "Signing Events").

    ``room_id`` must be None exactly for v12 ``m.room.create`` events, whose
    room id is derived from their own hash. ``redacts`` goes where the room
    version says: into ``content`` from v11, top level before.
    """
    rv = get_room_version(room_version)
    is_v12_create = rv.room_id_from_create_event and event_type == "m.room.create"
    if (room_id is None) != is_v12_create:
        raise ValueError("room_id must be omitted for, and only for, v12 m.room.create events")
    event: JsonDict = {
        "auth_events": list(auth_events),
        "content": json_copy(dict(content)),
        "depth": depth,
        "origin_server_ts": origin_server_ts,
        "prev_events": list(prev_events),
        "sender": sender,
        "type": event_type,
    }
    if room_id is not None:
        event["room_id"] = room_id
    if state_key is not None:
        event["state_key"] = state_key
    if redacts is not None:
        if rv.redacts_in_content:
            event["content"]["redacts"] = redacts
        else:
            event["redacts"] = redacts
    check_canonical_json_values(event)
    event["hashes"] = {"sha256": compute_content_hash(event)}
    signed = sign_event(event, origin_server_name, signing_key, rv)
    return Pdu(signed, rv)
