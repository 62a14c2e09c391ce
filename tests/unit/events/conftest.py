"""Small builders for rooms and events in the unit tests of ``revier.events``.

``RoomFixture`` keeps a room's current state in a dict and builds properly
hashed and signed PDUs against it, so each auth test states only what its
rule is about.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

import pytest
from signedjson.types import SigningKey
from unpaddedbase64 import decode_base64

from revier.events.auth import auth_types_for_event, check_auth_rules
from revier.events.pdu import Pdu, build_pdu
from revier.events.room_versions import RoomVersion, get_room_version
from revier.events.signing import signing_key_from_seed
from revier.events.types import StateKey

# The appendix's "Cryptographic Test Vectors" signing key seed.
APPENDIX_SEED = decode_base64("YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1")
ALL_VERSIONS = ("10", "11", "12")

# The two events of the appendix "Event Signing" test vectors.
MINIMAL_EVENT: dict[str, Any] = {
    "room_id": "!x:domain",
    "sender": "@a:domain",
    "origin": "domain",
    "origin_server_ts": 1000000,
    "signatures": {},
    "hashes": {},
    "type": "X",
    "content": {},
    "prev_events": [],
    "auth_events": [],
    "depth": 3,
    "unsigned": {"age_ts": 1000000},
}
REDACTABLE_EVENT: dict[str, Any] = {
    "content": {"body": "Here is the message content"},
    "event_id": "$0:domain",
    "origin": "domain",
    "origin_server_ts": 1000000,
    "type": "m.room.message",
    "room_id": "!r:domain",
    "sender": "@u:domain",
    "signatures": {},
    "unsigned": {"age_ts": 1000000},
}

ALICE = "@alice:example.org"
BOB = "@bob:example.org"
CAROL = "@carol:example.org"
MALLORY = "@mallory:evil.example"


def appendix_key() -> SigningKey:
    return signing_key_from_seed(APPENDIX_SEED, "1")


class RoomFixture:
    """A room under construction: create event plus a current state map."""

    def __init__(
        self,
        version: str,
        *,
        creator: str = ALICE,
        create_content: Mapping[str, Any] | None = None,
        room_id: str = "!room:example.org",
    ) -> None:
        self.rv: RoomVersion = get_room_version(version)
        self.key = appendix_key()
        self._ts = itertools.count(1_000_000)
        self.state: dict[StateKey, Pdu] = {}
        content: dict[str, Any] = {"room_version": version}
        if not self.rv.creator_from_sender:
            content["creator"] = creator
        content.update(create_content or {})
        if self.rv.room_id_from_create_event:
            # v12 derives the room id from the create event: vary its content.
            content["org.example.seed"] = room_id
        self.create = build_pdu(
            self.rv,
            room_id=None if self.rv.room_id_from_create_event else room_id,
            sender=creator,
            event_type="m.room.create",
            content=content,
            state_key="",
            prev_events=[],
            auth_events=[],
            depth=1,
            origin_server_ts=next(self._ts),
            origin_server_name=creator.split(":", 1)[1],
            signing_key=self.key,
        )
        self.room_id = self.create.room_id
        self.state[("m.room.create", "")] = self.create
        self.last: Pdu = self.create

    def make(
        self,
        sender: str,
        event_type: str,
        content: Mapping[str, Any],
        state_key: str | None = None,
        *,
        prev_events: list[str] | None = None,
        room_id: str | None = None,
        redacts: str | None = None,
    ) -> Pdu:
        """A signed event on top of the current state; not applied."""
        auth_keys = auth_types_for_event(self.rv, event_type, sender, state_key, content)
        auth_events = [self.state[k].event_id for k in auth_keys if k in self.state]
        return build_pdu(
            self.rv,
            room_id=room_id or self.room_id,
            sender=sender,
            event_type=event_type,
            content=content,
            state_key=state_key,
            prev_events=prev_events if prev_events is not None else [self.last.event_id],
            auth_events=auth_events,
            depth=self.last.depth + 1,
            origin_server_ts=next(self._ts),
            origin_server_name=sender.split(":", 1)[1],
            signing_key=self.key,
            redacts=redacts,
        )

    def check(self, event: Pdu, **kwargs: Any) -> None:
        check_auth_rules(self.rv, event, self.state, self.create, **kwargs)

    def apply(self, event: Pdu) -> Pdu:
        self.last = event
        if event.state_key_tuple is not None:
            self.state[event.state_key_tuple] = event
        return event

    def send(
        self,
        sender: str,
        event_type: str,
        content: Mapping[str, Any],
        state_key: str | None = None,
        **kwargs: Any,
    ) -> Pdu:
        """Build, authorise and apply: the set-up path of every test."""
        event = self.make(sender, event_type, content, state_key, **kwargs)
        self.check(event)
        return self.apply(event)

    def member(self, user_id: str, membership: str, sender: str | None = None, **extra: Any) -> Pdu:
        return self.make(
            sender or user_id, "m.room.member", {"membership": membership, **extra}, user_id
        )

    def force_member(self, user_id: str, membership: str) -> Pdu:
        """Put a membership into state without authorising it (set-up only)."""
        return self.apply(self.member(user_id, membership))

    def force_state(
        self, sender: str, event_type: str, content: Mapping[str, Any], state_key: str = ""
    ) -> Pdu:
        return self.apply(self.make(sender, event_type, content, state_key))


def other_room(version: str) -> RoomFixture:
    """A second room, for events that must not be mixed with the first."""
    return RoomFixture(version, room_id="!elsewhere:example.org")


def standard_room(
    version: str,
    *,
    join_rule: str = "invite",
    users: Mapping[str, int] | None = None,
    create_content: Mapping[str, Any] | None = None,
    power_levels: Mapping[str, Any] | None = None,
) -> RoomFixture:
    """Alice creates the room, joins, sets power levels and the join rule."""
    room = RoomFixture(version, create_content=create_content)
    room.send(ALICE, "m.room.member", {"membership": "join"}, ALICE)
    levels: dict[str, Any] = {"users": dict(users or {})}
    if not room.rv.privileged_creators:
        levels["users"].setdefault(ALICE, 100)
    levels.update(power_levels or {})
    room.send(ALICE, "m.room.power_levels", levels, "")
    room.send(ALICE, "m.room.join_rules", {"join_rule": join_rule}, "")
    return room


@pytest.fixture(params=ALL_VERSIONS)
def version(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value
