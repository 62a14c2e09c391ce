"""End-to-end encryption that can't be switched off: what may enter an encrypted room.

Pure functions: the event writer hands in the room's current
``m.room.encryption`` content (None for an unencrypted room) and the event
about to be written; these say whether it is refused and why.

Two rules:

- **No plaintext into an encrypted room** (tenant policy
  ``plaintext_in_encrypted_rooms = "refuse"``, the default). Once a room is
  encrypted, every message-like event must arrive as ``m.room.encrypted``:
  what a client sends in the clear there is exactly what the room's members
  believed nobody else could read. Two exceptions, both by the spec's and
  the clients' design rather than by choice:
  ``m.room.redaction`` (redactions are never encrypted: the server must
  read which event to strip), and a reaction that is nothing but an
  annotation — matrix-js-sdk (Element Web/Desktop) never encrypts reactions,
  because the relation to the reacted-to event must stay visible to the
  server for aggregation anyway; refusing them would take reactions away from
  Element users. Such a reaction may carry no other field, and its key is
  capped at ``MAX_REACTION_KEY`` characters (an emoji, or a word), so it
  can't be used as a message.
  State events stay allowed (a room's name and topic are state and never
  encrypted in Matrix), except state events of the message types: a
  ``PUT /state/m.room.message/x`` is a message in disguise.
- **No downgrade**, for every policy: the first ``m.room.encryption`` must name
  an algorithm the clients implement, and once set it can't be removed,
  emptied or changed to another algorithm — clients would stop encrypting,
  or (with an unknown algorithm) stop being able to send at all.

The server's own notices (the notice that a room was closed: who, when, the
admin's reason — nothing of the conversation) are written by the server,
not a client, and bypass the first rule, so that every member's client shows
them, even one that never received the room's keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

MEGOLM = "m.megolm.v1.aes-sha2"
# The algorithms clients implement for room messages (the spec defines one).
ROOM_ALGORITHMS = frozenset({MEGOLM})
ENCRYPTION = "m.room.encryption"
ENCRYPTED = "m.room.encrypted"
REDACTION = "m.room.redaction"
REACTION = "m.reaction"
ANNOTATION = "m.annotation"
MAX_REACTION_KEY = 32

# Event types the spec and the clients use as messages (never as state):
# as a state event they would carry a message past the rule.
_MESSAGE_TYPES = frozenset({"m.room.message", "m.sticker", REACTION, ENCRYPTED, REDACTION})
_MESSAGE_PREFIXES = ("m.poll.", "org.matrix.msc3381.poll.", "m.key.verification.")
# Call signalling is message-like; the call membership (MSC3401) is state.
_CALL_PREFIX = "m.call."
_CALL_STATE = frozenset({"m.call.member"})

Reason = Literal["plaintext", "downgrade"]


@dataclass(frozen=True, slots=True)
class Refusal:
    reason: Reason  # for the refusal counter's label
    message: str  # for the client: what it must do


def refusal(
    *,
    policy: str,
    encryption: Mapping[str, Any] | None,
    event_type: str,
    state_key: str | None,
    content: Mapping[str, Any],
    server_notice: bool = False,
) -> Refusal | None:
    """Why this event may not be written to a room whose current encryption is
    ``encryption`` (None: unencrypted), under the tenant's
    ``plaintext_in_encrypted_rooms`` ``policy``; None when it may."""
    if event_type == ENCRYPTION and state_key == "":
        return _downgrade(encryption, content)
    if encryption is None or policy == "allow" or server_notice:
        return None
    if state_key is not None:
        if _is_message_type(event_type):
            return Refusal(
                "plaintext",
                f"{event_type} is a message, not room state: send it as a message, encrypted",
            )
        return None
    if event_type in (ENCRYPTED, REDACTION) or _is_bare_annotation(event_type, content):
        return None
    return Refusal(
        "plaintext",
        "This room is end-to-end encrypted: the client must encrypt the event "
        f"({event_type} was sent in the clear) and send it as {ENCRYPTED}",
    )


def _downgrade(current: Mapping[str, Any] | None, new: Mapping[str, Any]) -> Refusal | None:
    algorithm = new.get("algorithm")
    if current is None:
        if algorithm not in ROOM_ALGORITHMS:
            return Refusal(
                "downgrade",
                f"{ENCRYPTION} must name the algorithm {MEGOLM!r}: clients can't encrypt "
                "for any other",
            )
        return None
    if algorithm != current.get("algorithm"):
        return Refusal(
            "downgrade",
            "This room's end-to-end encryption can't be switched off or changed: "
            f"a new {ENCRYPTION} must keep the algorithm {current.get('algorithm')!r}",
        )
    return None


def _is_message_type(event_type: str) -> bool:
    if event_type in _MESSAGE_TYPES or event_type.startswith(_MESSAGE_PREFIXES):
        return True
    return event_type.startswith(_CALL_PREFIX) and event_type not in _CALL_STATE


def _is_bare_annotation(event_type: str, content: Mapping[str, Any]) -> bool:
    """A reaction as matrix-js-sdk sends it unencrypted: only the annotation."""
    if event_type != REACTION or set(content) != {"m.relates_to"}:
        return False
    relation = content["m.relates_to"]
    return (
        isinstance(relation, Mapping)
        and set(relation) == {"rel_type", "event_id", "key"}
        and relation["rel_type"] == ANNOTATION
        and isinstance(relation["event_id"], str)
        and isinstance(relation["key"], str)
        and 0 < len(relation["key"]) <= MAX_REACTION_KEY
    )
