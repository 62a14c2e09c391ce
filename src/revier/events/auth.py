"""The authorization rules of room versions 10, 11 and 12.

``check_auth_rules`` runs every rule of the room version's "Authorisation
rules" section against one set of state: the event's own auth events, the
state before the event, or the current state (checks on receipt of a PDU,
steps 4-6). Rule numbers in docstrings are the v10/v11 ones with the v12
number in brackets; error messages name the checked version's own number.

What stays with the caller, because it needs storage or the network: whether
an auth event was itself rejected (rule 2.3 [3.3]) and fetching the keys to
verify ``join_authorised_via_users_server`` signatures (rule 4.2 [5.2]; pass
``verify_keys`` to have them checked here).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from revier.errors import AuthError
from revier.events.auth_context import AuthContext, VerifyKeys, domain_of, fail
from revier.events.auth_membership import check_membership
from revier.events.auth_power_levels import check_power_levels
from revier.events.identifiers import is_valid_user_id, server_name_of
from revier.events.pdu import Pdu
from revier.events.power_levels import action_power_level, user_power_level
from revier.events.room_versions import KNOWN_ROOM_VERSIONS, RoomVersion, get_room_version
from revier.events.types import StateKey

__all__ = [
    "AuthError",
    "auth_types_for_event",
    "check_auth_events",
    "check_auth_rules",
    "should_apply_redaction",
]


def auth_types_for_event(
    room_version: RoomVersion | str,
    event_type: str,
    sender: str,
    state_key: str | None,
    content: Mapping[str, Any],
) -> list[StateKey]:
    """The state entries that are this event's ``auth_events`` ("Auth events selection").

    v12 leaves out m.room.create: the room id already names it.
    """
    rv = get_room_version(room_version)
    if event_type == "m.room.create":
        return []
    selected: list[StateKey] = []
    if rv.create_event_in_auth_events:
        selected.append(("m.room.create", ""))
    selected += [("m.room.power_levels", ""), ("m.room.member", sender)]
    if event_type == "m.room.member" and state_key is not None:
        selected += _membership_auth_types(rv, state_key, content)
    return list(dict.fromkeys(selected))


def _membership_auth_types(
    rv: RoomVersion, state_key: str, content: Mapping[str, Any]
) -> list[StateKey]:
    membership = content.get("membership")
    selected: list[StateKey] = [("m.room.member", state_key)]
    if membership in ("join", "invite", "knock"):
        selected.append(("m.room.join_rules", ""))
    invite = content.get("third_party_invite")
    if membership == "invite" and isinstance(invite, Mapping):
        signed = invite.get("signed")
        token = signed.get("token") if isinstance(signed, Mapping) else None
        if isinstance(token, str):
            selected.append(("m.room.third_party_invite", token))
    authoriser = content.get("join_authorised_via_users_server")
    if membership == "join" and rv.restricted_join_rule and isinstance(authoriser, str):
        selected.append(("m.room.member", authoriser))
    return selected


def check_auth_events(
    room_version: RoomVersion | str, event: Pdu, auth_events: Sequence[Pdu]
) -> None:
    """Rule 2 [3]: the event's ``auth_events`` are exactly a valid selection.

    ``auth_events`` are the events ``event.auth_events`` names, already known
    not to be rejected (rule 2.3 [3.3] is the caller's).
    """
    rv = get_room_version(room_version)
    if event.type == "m.room.create":
        return
    allowed = set(
        auth_types_for_event(rv, event.type, event.sender, event.state_key, event.content)
    )
    seen: set[StateKey] = set()
    for auth_event in auth_events:
        key = auth_event.state_key_tuple
        if key is not None and key in seen:
            fail(rv, "2.1", f"duplicate auth event for {key}")
        if key is None or key not in allowed:
            fail(rv, "2.2", f"auth event {auth_event.event_id} is not in the auth selection")
        seen.add(key)
        if auth_event.room_id != event.room_id:
            fail(rv, "2.5", f"auth event {auth_event.event_id} belongs to another room")
    if rv.create_event_in_auth_events and ("m.room.create", "") not in seen:
        fail(rv, "2.4", "no m.room.create among the auth events")


def check_auth_rules(
    room_version: RoomVersion | str,
    event: Pdu,
    auth_state: Mapping[StateKey, Pdu],
    create_event: Pdu,
    *,
    verify_keys: VerifyKeys | None = None,
) -> None:
    """Return if ``event`` is allowed against ``auth_state``; raise AuthError naming the rule.

    ``create_event`` is the room's m.room.create (the event itself when it is
    one); in v12 it is not part of the state selection, so it comes apart.
    """
    rv = get_room_version(room_version)
    if event.type == "m.room.create":
        _check_create(rv, event)
        return
    _check_room(rv, event, create_event)
    ctx = AuthContext(rv, event, auth_state, create_event, verify_keys)
    _check_federate(ctx)
    if event.type == "m.room.member":
        check_membership(ctx)
        return
    if ctx.membership(event.sender) != "join":
        ctx.fail("5", "the sender is not joined to the room")
    sender_level = ctx.power_level(event.sender)
    if event.type == "m.room.third_party_invite":
        if sender_level >= ctx.action_level("invite"):
            return  # 6.1
        ctx.fail("6.1", "m.room.third_party_invite needs the invite level")
    required = ctx.required_level()
    if required > sender_level:
        ctx.fail("7", f"{event.type} needs power level {required}")
    state_key = event.state_key
    if state_key is not None and state_key.startswith("@") and state_key != event.sender:
        ctx.fail("8", "state keys starting with @ are reserved for that user")
    if event.type == "m.room.power_levels":
        check_power_levels(ctx)


def _check_create(rv: RoomVersion, event: Pdu) -> None:
    """Rule 1: m.room.create (1.2 and 1.4 changed in v11 and v12)."""
    if event.prev_events:
        fail(rv, "1.1", "m.room.create may not have prev_events")
    if rv.room_id_from_create_event:
        if "room_id" in event:
            fail(rv, "1.2", "m.room.create may not have a room_id", exact=True)
    else:
        room_domain = server_name_of(event.room_id)
        if room_domain is None or room_domain != domain_of(rv, event.sender, "1.2"):
            fail(rv, "1.2", "the room id's domain does not match the sender's")
    version = event.content.get("room_version")
    if "room_version" in event.content and (
        not isinstance(version, str) or version not in KNOWN_ROOM_VERSIONS
    ):
        fail(rv, "1.3", f"unrecognised room_version {version!r}")
    if not rv.creator_from_sender and "creator" not in event.content:
        fail(rv, "1.4", "m.room.create needs content.creator")
    if rv.privileged_creators and "additional_creators" in event.content:
        additional = event.content["additional_creators"]
        if not isinstance(additional, list) or not all(
            isinstance(u, str) and is_valid_user_id(u) for u in additional
        ):
            fail(rv, "1.4", "additional_creators must be a list of user ids", exact=True)


def _check_room(rv: RoomVersion, event: Pdu, create_event: Pdu) -> None:
    """v12 rule 2; in v10/v11 the create event is an auth event, so rule 2.5."""
    if create_event.type != "m.room.create":
        fail(rv, "2.4", "the room's create event is not an m.room.create")
    if event.room_id == create_event.room_id:
        return
    if rv.room_id_from_create_event:
        fail(rv, "2", "the room id is not the id of the room's m.room.create", exact=True)
    fail(rv, "2.5", "the m.room.create belongs to another room")


def _check_federate(ctx: AuthContext) -> None:
    """Rule 3 [4]: ``m.federate: false`` keeps other servers' users out."""
    create = ctx.create_event
    if create.content.get("m.federate", True) is not False:
        return
    sender_domain = domain_of(ctx.room_version, ctx.event.sender, "3")
    if sender_domain != domain_of(ctx.room_version, create.sender, "3"):
        ctx.fail("3", "the room does not federate and the sender is on another server")


def should_apply_redaction(
    redaction: Pdu,
    redacted: Pdu,
    power_levels_content: Mapping[str, Any] | None,
    create_event: Pdu,
    room_version: RoomVersion | str,
) -> bool:
    """ "Handling redactions" (since v3): may an authorised redaction take effect?

    The auth rules accept any redaction the sender may *send*; whether it
    strips ``redacted`` depends on the redact level or on both events
    coming from the same server.
    """
    rv = get_room_version(room_version)
    if redacted.room_id != redaction.room_id or redaction.redacts != redacted.event_id:
        return False
    level = user_power_level(redaction.sender, power_levels_content, create_event, rv)
    if level >= action_power_level("redact", power_levels_content):
        return True
    return server_name_of(redaction.sender) == server_name_of(redacted.sender)
