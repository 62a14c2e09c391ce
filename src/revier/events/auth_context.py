"""What the authorization rules look up while checking one event.

Rule numbers in error messages are given as the checked room version numbers
them: v12 inserted rule 2 ("room_id is the create event's id"), so every rule
from 2 on is one higher there than in v10 and v11.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

from signedjson.types import VerifyKey

from revier.errors import AuthError, InvalidParam
from revier.events.identifiers import parse_user_id
from revier.events.pdu import Pdu
from revier.events.power_levels import (
    Action,
    PowerLevel,
    action_power_level,
    required_power_level,
    user_power_level,
)
from revier.events.room_versions import RoomVersion
from revier.events.types import StateKey

# Keyed by server name, then signing key id (``ed25519:abc``).
VerifyKeys = Mapping[str, Mapping[str, VerifyKey]]


def rule_number(room_version: RoomVersion, v11_number: str) -> str:
    """Translate a v10/v11 rule number into the checked version's numbering.

    v12 inserted rule 2 (every later rule moves up one) and rule 10.4 (later
    power levels sub-rules move up one).
    """
    if not room_version.room_id_from_create_event:
        return v11_number
    parts = [int(p) for p in v11_number.split(".")]
    if parts[0] == 9 and len(parts) > 1 and parts[1] >= 4:
        parts[1] += 1
    if parts[0] >= 2:
        parts[0] += 1
    return ".".join(str(p) for p in parts)


def fail(
    room_version: RoomVersion, v11_number: str, reason: str, *, exact: bool = False
) -> NoReturn:
    """Reject, naming the rule as the room version's spec page numbers it.

    ``exact`` marks a number that only exists in the checked version (v12's
    rules 1.4, 2 and 10.4) and must not be translated.
    """
    number = v11_number if exact else rule_number(room_version, v11_number)
    raise AuthError(f"Auth rule {number} (room version {room_version.identifier}): {reason}")


def domain_of(room_version: RoomVersion, user_id: str, v11_number: str) -> str:
    """The server name of ``user_id``; a malformed id fails the rule that needed it."""
    try:
        return parse_user_id(user_id)[1]
    except InvalidParam:
        fail(room_version, v11_number, f"{user_id!r} is not a valid user id")


@dataclass(frozen=True)
class AuthContext:
    """The event under check together with the state it is checked against."""

    room_version: RoomVersion
    event: Pdu
    state: Mapping[StateKey, Pdu]
    create_event: Pdu
    verify_keys: VerifyKeys | None = None

    def fail(self, v11_number: str, reason: str, *, exact: bool = False) -> NoReturn:
        fail(self.room_version, v11_number, reason, exact=exact)

    def get(self, key: StateKey) -> Pdu | None:
        entry = self.state.get(key)
        if entry is not None and entry.room_id != self.event.room_id:
            # Rule 2.5: "If any event in auth_events has a room_id which does
            # not match that of the event being authorised, reject."
            self.fail("2.5", f"auth event {entry.event_id} belongs to another room")
        return entry

    def membership(self, user_id: str) -> str | None:
        member = self.get(("m.room.member", user_id))
        membership = member.content.get("membership") if member is not None else None
        return membership if isinstance(membership, str) else None

    @property
    def power_levels_content(self) -> Mapping[str, Any] | None:
        event = self.get(("m.room.power_levels", ""))
        return event.content if event is not None else None

    @property
    def join_rule(self) -> str:
        event = self.get(("m.room.join_rules", ""))
        join_rule = event.content.get("join_rule") if event is not None else None
        # A room without m.room.join_rules is treated as invite-only: the spec
        # names no default, and "invite" is the closed choice.
        return join_rule if isinstance(join_rule, str) else "invite"

    def power_level(self, user_id: str) -> PowerLevel:
        return user_power_level(
            user_id, self.power_levels_content, self.create_event, self.room_version
        )

    def action_level(self, action: Action) -> int:
        return action_power_level(action, self.power_levels_content)

    def required_level(self) -> int:
        return required_power_level(self.event.type, self.event.is_state, self.power_levels_content)
