"""Authorization rule 4 of room versions 10 and 11 (rule 5 in v12): m.room.member.

Rule numbers below are the v10/v11 ones; error messages carry the checked
version's own number (see ``auth_context.rule_number``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from revier.errors import InvalidSignature
from revier.events.auth_context import AuthContext
from revier.events.canonical_json import encode_canonical_json
from revier.events.identifiers import is_valid_user_id
from revier.events.signing import verify_event_signature, verify_signature_bytes


def check_membership(ctx: AuthContext) -> None:
    """Rule 4: return if the membership change is allowed, raise AuthError if not."""
    event = ctx.event
    membership = event.content.get("membership")
    if event.state_key is None or not isinstance(membership, str):
        ctx.fail("4.1", "m.room.member needs a state_key and content.membership")
    if "join_authorised_via_users_server" in event.content:
        _check_authorising_server_signature(ctx)
    checks = {
        "join": _check_join,
        "invite": _check_invite,
        "leave": _check_leave,
        "ban": _check_ban,
        "knock": _check_knock,
    }
    check = checks.get(membership)
    if check is None:
        ctx.fail("4.8", f"unknown membership {membership!r}")
    check(ctx, event.state_key)


def _check_authorising_server_signature(ctx: AuthContext) -> None:
    """Rule 4.2.1: the authorising user's homeserver must have signed the join.

    Without ``verify_keys`` only the presence of that server's signature is
    checked: fetching keys is I/O, left to the caller's signature checks
    (``verify_event_signature``). With them, one known key must verify.
    """
    authoriser = ctx.event.content["join_authorised_via_users_server"]
    if not isinstance(authoriser, str) or not is_valid_user_id(authoriser):
        ctx.fail("4.2.1", "join_authorised_via_users_server is not a user id")
    server_name = authoriser.split(":", 1)[1]
    signatures = ctx.event.signatures.get(server_name)
    if not isinstance(signatures, Mapping) or not signatures:
        ctx.fail("4.2.1", f"event is not signed by {server_name}")
    if ctx.verify_keys is None:
        return
    known = ctx.verify_keys.get(server_name, {})
    for key_id in signatures:
        key = known.get(key_id)
        if key is None:
            continue
        try:
            verify_event_signature(ctx.event.to_dict(), server_name, key, ctx.room_version)
        except InvalidSignature:
            continue
        return
    ctx.fail("4.2.1", f"event is not validly signed by {server_name}")


def _original_creator(ctx: AuthContext) -> str:
    """v10: ``content.creator``; v11 (changed): "the sender of the m.room.create"."""
    create = ctx.create_event
    if ctx.room_version.creator_from_sender:
        return create.sender
    creator = create.content.get("creator")
    return creator if isinstance(creator, str) else create.sender


def _check_join(ctx: AuthContext, target: str) -> None:
    """Rule 4.3: joins."""
    event = ctx.event
    if event.prev_events == [ctx.create_event.event_id] and target == _original_creator(ctx):
        return  # 4.3.1: the creator's own first join
    if event.sender != target:
        ctx.fail("4.3.2", "a user may only join as themselves")
    membership = ctx.membership(target)
    if membership == "ban":
        ctx.fail("4.3.3", "the user is banned")
    join_rule = ctx.join_rule
    if join_rule == "invite" or (join_rule == "knock" and ctx.room_version.knock_join_rule):
        if membership in ("invite", "join"):
            return  # 4.3.4
        ctx.fail("4.3.4", f"join rule is {join_rule} and the user is not invited")
    if _is_restricted(ctx, join_rule):
        _check_restricted_join(ctx, membership)
        return
    if join_rule == "public":
        return  # 4.3.6
    ctx.fail("4.3.7", f"join rule {join_rule!r} does not allow joining")


def _is_restricted(ctx: AuthContext, join_rule: str) -> bool:
    rv = ctx.room_version
    return (join_rule == "restricted" and rv.restricted_join_rule) or (
        join_rule == "knock_restricted" and rv.knock_restricted
    )


def _check_restricted_join(ctx: AuthContext, membership: str | None) -> None:
    """Rule 4.3.5 (changed in v10 to cover ``knock_restricted``)."""
    if membership in ("join", "invite"):
        return  # 4.3.5.1
    authoriser = ctx.event.content.get("join_authorised_via_users_server")
    if not isinstance(authoriser, str):
        ctx.fail("4.3.5.2", "restricted join without join_authorised_via_users_server")
    if ctx.membership(authoriser) != "join":
        ctx.fail("4.3.5.2", f"authorising user {authoriser} is not joined")
    if ctx.power_level(authoriser) < ctx.action_level("invite"):
        ctx.fail("4.3.5.2", f"authorising user {authoriser} may not invite")


def _check_invite(ctx: AuthContext, target: str) -> None:
    """Rule 4.4: invites."""
    if "third_party_invite" in ctx.event.content:
        _check_third_party_invite(ctx, target)
        return
    if ctx.membership(ctx.event.sender) != "join":
        ctx.fail("4.4.2", "the inviter is not joined")
    if ctx.membership(target) in ("join", "ban"):
        ctx.fail("4.4.3", f"the invitee is already {ctx.membership(target)}")
    if ctx.power_level(ctx.event.sender) >= ctx.action_level("invite"):
        return  # 4.4.4
    ctx.fail("4.4.5", "the inviter's power level is below the invite level")


def _check_third_party_invite(ctx: AuthContext, target: str) -> None:
    """Rule 4.4.1: an invite redeeming an m.room.third_party_invite token."""
    if ctx.membership(target) == "ban":
        ctx.fail("4.4.1.1", "the invitee is banned")
    invite = ctx.event.content["third_party_invite"]
    signed = invite.get("signed") if isinstance(invite, Mapping) else None
    if not isinstance(signed, Mapping):
        ctx.fail("4.4.1.2", "third_party_invite has no signed object")
    mxid, token = signed.get("mxid"), signed.get("token")
    if not isinstance(mxid, str) or not isinstance(token, str):
        ctx.fail("4.4.1.3", "third_party_invite.signed needs mxid and token")
    if mxid != target:
        ctx.fail("4.4.1.4", "third_party_invite.signed.mxid does not match state_key")
    tpi = ctx.get(("m.room.third_party_invite", token))
    if tpi is None:
        ctx.fail("4.4.1.5", "no m.room.third_party_invite with that token")
    if tpi.sender != ctx.event.sender:
        ctx.fail("4.4.1.6", "the sender did not send the m.room.third_party_invite")
    if _signed_by_any(signed, _public_keys(tpi.content)):
        return  # 4.4.1.7
    ctx.fail("4.4.1.8", "no signature in signed matches the invite's public keys")


def _public_keys(content: Mapping[str, Any]) -> list[str]:
    """Rule 4.4.1.7: ``public_key`` plus every ``public_keys[].public_key``."""
    keys = [content["public_key"]] if isinstance(content.get("public_key"), str) else []
    listed = content.get("public_keys")
    for entry in listed if isinstance(listed, list) else []:
        if isinstance(entry, Mapping) and isinstance(entry.get("public_key"), str):
            keys.append(entry["public_key"])
    return keys


def _signed_by_any(signed: Mapping[str, Any], public_keys: list[str]) -> bool:
    signatures = signed.get("signatures")
    if not isinstance(signatures, Mapping):
        return False
    message = encode_canonical_json(
        {k: v for k, v in signed.items() if k not in ("signatures", "unsigned")}
    )
    for by_key in signatures.values():
        for signature in by_key.values() if isinstance(by_key, Mapping) else []:
            if isinstance(signature, str) and any(
                verify_signature_bytes(message, signature, key) for key in public_keys
            ):
                return True
    return False


def _check_leave(ctx: AuthContext, target: str) -> None:
    """Rule 4.5: leaving, rejecting an invite, retracting a knock, kicking, unbanning."""
    sender = ctx.event.sender
    if sender == target:
        if ctx.membership(sender) in ("invite", "join", "knock"):
            return  # 4.5.1
        ctx.fail("4.5.1", "the user is not invited, joined or knocking")
    if ctx.membership(sender) != "join":
        ctx.fail("4.5.2", "the sender is not joined")
    sender_level = ctx.power_level(sender)
    if ctx.membership(target) == "ban" and sender_level < ctx.action_level("ban"):
        ctx.fail("4.5.3", "unbanning needs the ban level")
    if sender_level >= ctx.action_level("kick") and ctx.power_level(target) < sender_level:
        return  # 4.5.4
    ctx.fail("4.5.5", "kicking needs the kick level and more power than the target")


def _check_ban(ctx: AuthContext, target: str) -> None:
    """Rule 4.6: bans."""
    sender = ctx.event.sender
    if ctx.membership(sender) != "join":
        ctx.fail("4.6.1", "the sender is not joined")
    sender_level = ctx.power_level(sender)
    if sender_level >= ctx.action_level("ban") and ctx.power_level(target) < sender_level:
        return  # 4.6.2
    ctx.fail("4.6.3", "banning needs the ban level and more power than the target")


def _check_knock(ctx: AuthContext, target: str) -> None:
    """Rule 4.7: knocks (``knock_restricted`` added in v10)."""
    rv = ctx.room_version
    join_rule = ctx.join_rule
    knockable = (join_rule == "knock" and rv.knock_join_rule) or (
        join_rule == "knock_restricted" and rv.knock_restricted
    )
    if not knockable:
        ctx.fail("4.7.1", f"join rule {join_rule!r} does not allow knocking")
    if ctx.event.sender != target:
        ctx.fail("4.7.2", "a user may only knock as themselves")
    if ctx.membership(target) not in ("ban", "invite", "join"):
        return  # 4.7.3
    ctx.fail("4.7.4", f"the user is already {ctx.membership(target)}")
