"""Authorization rule 4 (v10/v11; rule 5 in v12): m.room.member, one test per rule."""

from __future__ import annotations

import re
from typing import Any

import pytest
from nacl.signing import SigningKey as NaclSigningKey
from unpaddedbase64 import encode_base64

from revier.errors import AuthError
from revier.events.canonical_json import encode_canonical_json
from revier.events.pdu import Pdu
from revier.events.signing import get_verify_key, key_id_of, sign_event, signing_key_from_seed

from .conftest import ALICE, BOB, CAROL, RoomFixture, appendix_key, standard_room


def _rule(version: str, number: str) -> str:
    """The v10/v11 rule number as the checked version's spec page numbers it."""
    if version == "12":
        major, _, rest = number.partition(".")
        number = f"{int(major) + 1}.{rest}" if rest else str(int(major) + 1)
    return f"rule {re.escape(number)} "


def test_rule_4_1_membership_is_required(version: str) -> None:
    room = standard_room(version)
    event = room.make(BOB, "m.room.member", {"displayname": "Bob"}, BOB)
    with pytest.raises(AuthError, match=_rule(version, "4.1")):
        room.check(event)


def test_rule_4_8_unknown_membership_is_rejected(version: str) -> None:
    room = standard_room(version, join_rule="public")
    with pytest.raises(AuthError, match=_rule(version, "4.8")):
        room.check(room.member(BOB, "wander"))


# 4.2: join_authorised_via_users_server must be signed by that user's server


def _restricted_room(version: str, join_rule: str = "restricted") -> RoomFixture:
    room = standard_room(version, join_rule=join_rule, users={CAROL: 0})
    room.force_member(CAROL, "join")
    return room


def _resign(event: Pdu, server_name: str, version: str, seed: bytes = b"\x01" * 32) -> Pdu:
    key = signing_key_from_seed(seed, "other")
    return Pdu(sign_event(event.to_dict(), server_name, key, version), version)


def test_rule_4_2_authorising_server_must_have_signed(version: str) -> None:
    room = _restricted_room(version)
    remote = "@carol:remote.example"
    room.force_member(remote, "join")
    event = room.member(BOB, "join", join_authorised_via_users_server=remote)
    with pytest.raises(AuthError, match=_rule(version, "4.2.1")):
        room.check(event)
    room.check(_resign(event, "remote.example", version))


def test_rule_4_2_signature_is_verified_when_keys_are_given(version: str) -> None:
    room = _restricted_room(version)
    remote = "@carol:remote.example"
    room.force_member(remote, "join")
    event = _resign(
        room.member(BOB, "join", join_authorised_via_users_server=remote), "remote.example", version
    )
    good = get_verify_key(signing_key_from_seed(b"\x01" * 32, "other"))
    wrong = get_verify_key(signing_key_from_seed(b"\x02" * 32, "other"))
    room.check(event, verify_keys={"remote.example": {key_id_of(good): good}})
    with pytest.raises(AuthError, match=_rule(version, "4.2.1")):
        room.check(event, verify_keys={"remote.example": {key_id_of(wrong): wrong}})


# 4.3: join


def test_rule_4_3_1_creator_may_join_after_create(version: str) -> None:
    room = RoomFixture(version)
    room.check(room.member(ALICE, "join"))


def test_rule_4_3_1_only_directly_after_create(version: str) -> None:
    room = RoomFixture(version)
    first = room.force_state(ALICE, "org.example.state", {})
    with pytest.raises(AuthError):
        room.check(room.member(ALICE, "join", prev_events=[first.event_id]))


def test_rule_4_3_1_others_may_not_join_after_create(version: str) -> None:
    room = RoomFixture(version)
    with pytest.raises(AuthError):
        room.check(room.member(BOB, "join"))


def test_rule_4_3_1_v10_creator_comes_from_content() -> None:
    # v10 names the creator in content.creator; v11 changed rule 4.3.1 to the sender.
    room = RoomFixture("10", create_content={"creator": BOB})
    room.check(room.member(BOB, "join"))
    with pytest.raises(AuthError):
        room.check(room.member(ALICE, "join"))


@pytest.mark.parametrize("version", ["11", "12"])
def test_rule_4_3_1_v11_creator_is_the_sender(version: str) -> None:
    room = RoomFixture(version, create_content={"creator": BOB})
    room.check(room.member(ALICE, "join"))
    with pytest.raises(AuthError):
        room.check(room.member(BOB, "join"))


def test_rule_4_3_2_may_only_join_as_oneself(version: str) -> None:
    room = standard_room(version, join_rule="public")
    with pytest.raises(AuthError, match=_rule(version, "4.3.2")):
        room.check(room.member(BOB, "join", sender=ALICE))


def test_rule_4_3_3_banned_user_may_not_join(version: str) -> None:
    room = standard_room(version, join_rule="public")
    room.force_member(BOB, "ban")
    with pytest.raises(AuthError, match=_rule(version, "4.3.3")):
        room.check(room.member(BOB, "join"))


@pytest.mark.parametrize("join_rule", ["invite", "knock"])
def test_rule_4_3_4_invite_and_knock_rooms_need_an_invite(version: str, join_rule: str) -> None:
    room = standard_room(version, join_rule=join_rule)
    with pytest.raises(AuthError, match=_rule(version, "4.3.4")):
        room.check(room.member(BOB, "join"))
    room.force_member(BOB, "invite")
    room.check(room.member(BOB, "join"))


def test_rule_4_3_4_joined_user_may_rejoin(version: str) -> None:
    room = standard_room(version)
    room.force_member(BOB, "join")
    room.check(room.member(BOB, "join", displayname="Bob"))


@pytest.mark.parametrize("join_rule", ["restricted", "knock_restricted"])
def test_rule_4_3_5_1_restricted_allows_invited(version: str, join_rule: str) -> None:
    room = _restricted_room(version, join_rule)
    room.force_member(BOB, "invite")
    room.check(room.member(BOB, "join"))


@pytest.mark.parametrize("join_rule", ["restricted", "knock_restricted"])
def test_rule_4_3_5_3_restricted_allows_authorised_join(version: str, join_rule: str) -> None:
    room = _restricted_room(version, join_rule)
    room.check(room.member(BOB, "join", join_authorised_via_users_server=CAROL))


@pytest.mark.parametrize("join_rule", ["restricted", "knock_restricted"])
def test_rule_4_3_5_2_restricted_needs_an_authoriser(version: str, join_rule: str) -> None:
    room = _restricted_room(version, join_rule)
    with pytest.raises(AuthError, match=_rule(version, "4.3.5.2")):
        room.check(room.member(BOB, "join"))


def test_rule_4_3_5_2_authoriser_must_be_joined(version: str) -> None:
    room = _restricted_room(version)
    room.force_member(CAROL, "leave")
    with pytest.raises(AuthError, match=_rule(version, "4.3.5.2") + ".*not joined"):
        room.check(room.member(BOB, "join", join_authorised_via_users_server=CAROL))


def test_rule_4_3_5_2_authoriser_must_be_able_to_invite(version: str) -> None:
    room = standard_room(version, join_rule="restricted", power_levels={"invite": 50})
    room.force_member(CAROL, "join")
    with pytest.raises(AuthError, match=_rule(version, "4.3.5.2") + ".*may not invite"):
        room.check(room.member(BOB, "join", join_authorised_via_users_server=CAROL))


def test_rule_4_3_6_public_room_allows_join(version: str) -> None:
    room = standard_room(version, join_rule="public")
    room.check(room.member(BOB, "join"))


@pytest.mark.parametrize("join_rule", ["private", "org.example.custom"])
def test_rule_4_3_7_other_join_rules_reject(version: str, join_rule: str) -> None:
    room = standard_room(version, join_rule=join_rule)
    with pytest.raises(AuthError, match=_rule(version, "4.3.7")):
        room.check(room.member(BOB, "join"))


# 4.4: invite


def test_rule_4_4_4_member_may_invite(version: str) -> None:
    room = standard_room(version)
    room.check(room.member(BOB, "invite", sender=ALICE))


def test_rule_4_4_2_inviter_must_be_joined(version: str) -> None:
    room = standard_room(version)
    room.force_member(CAROL, "invite")
    with pytest.raises(AuthError, match=_rule(version, "4.4.2")):
        room.check(room.member(BOB, "invite", sender=CAROL))


@pytest.mark.parametrize("membership", ["join", "ban"])
def test_rule_4_4_3_cannot_invite_joined_or_banned(version: str, membership: str) -> None:
    room = standard_room(version)
    room.force_member(BOB, membership)
    with pytest.raises(AuthError, match=_rule(version, "4.4.3")):
        room.check(room.member(BOB, "invite", sender=ALICE))


def test_rule_4_4_5_invite_level_is_enforced(version: str) -> None:
    room = standard_room(version, power_levels={"invite": 10})
    room.force_member(CAROL, "join")
    with pytest.raises(AuthError, match=_rule(version, "4.4.5")):
        room.check(room.member(BOB, "invite", sender=CAROL))


# 4.4.1: invites through m.room.third_party_invite

_TPI_KEY = NaclSigningKey(b"\x07" * 32)


def _third_party_room(version: str) -> RoomFixture:
    room = standard_room(version)
    public_key = encode_base64(bytes(_TPI_KEY.verify_key))
    room.force_state(
        ALICE,
        "m.room.third_party_invite",
        {
            "display_name": "b…",
            "key_validity_url": "https://id.example/v",
            "public_keys": [{"public_key": public_key}],
        },
        "tok",
    )
    return room


def _signed(mxid: str = BOB, token: str = "tok", key: NaclSigningKey = _TPI_KEY) -> dict[str, Any]:
    signed: dict[str, Any] = {"mxid": mxid, "token": token, "sender": ALICE}
    signature = key.sign(encode_canonical_json(signed)).signature
    signed["signatures"] = {"id.example": {"ed25519:0": encode_base64(signature)}}
    return signed


def _tpi_invite(room: RoomFixture, signed: Any, sender: str = ALICE) -> Pdu:
    return room.member(
        BOB, "invite", sender=sender, third_party_invite={"display_name": "b…", "signed": signed}
    )


def test_rule_4_4_1_7_valid_third_party_invite_is_allowed(version: str) -> None:
    room = _third_party_room(version)
    room.check(_tpi_invite(room, _signed()))


def test_rule_4_4_1_7_single_public_key_is_accepted(version: str) -> None:
    room = standard_room(version)
    room.force_state(
        ALICE,
        "m.room.third_party_invite",
        {"public_key": encode_base64(bytes(_TPI_KEY.verify_key))},
        "tok",
    )
    room.check(_tpi_invite(room, _signed()))


def test_rule_4_4_1_1_banned_target_is_rejected(version: str) -> None:
    room = _third_party_room(version)
    room.force_member(BOB, "ban")
    with pytest.raises(AuthError, match=_rule(version, "4.4.1.1")):
        room.check(_tpi_invite(room, _signed()))


@pytest.mark.parametrize(
    ("signed", "rule"),
    [
        (None, "4.4.1.2"),
        ("not-an-object", "4.4.1.2"),
        ({"mxid": BOB}, "4.4.1.3"),
        ({"token": "tok"}, "4.4.1.3"),
        (_signed(mxid=CAROL), "4.4.1.4"),
        (_signed(token="other"), "4.4.1.5"),
        (_signed(key=NaclSigningKey(b"\x08" * 32)), "4.4.1.8"),
        ({**_signed(), "signatures": "garbage"}, "4.4.1.8"),
    ],
)
def test_rule_4_4_1_malformed_third_party_invites_are_rejected(
    version: str, signed: Any, rule: str
) -> None:
    room = _third_party_room(version)
    with pytest.raises(AuthError, match=_rule(version, rule)):
        room.check(_tpi_invite(room, signed))


def test_rule_4_4_1_6_sender_must_match_third_party_invite(version: str) -> None:
    room = _third_party_room(version)
    room.force_member(CAROL, "join")
    with pytest.raises(AuthError, match=_rule(version, "4.4.1.6")):
        room.check(_tpi_invite(room, _signed(), sender=CAROL))


# 4.5: leave


@pytest.mark.parametrize("membership", ["invite", "join", "knock"])
def test_rule_4_5_1_user_may_leave_from(version: str, membership: str) -> None:
    room = standard_room(version)
    room.force_member(BOB, membership)
    room.check(room.member(BOB, "leave"))


@pytest.mark.parametrize("membership", [None, "leave", "ban"])
def test_rule_4_5_1_user_may_not_leave_from(version: str, membership: str | None) -> None:
    room = standard_room(version)
    if membership is not None:
        room.force_member(BOB, membership)
    with pytest.raises(AuthError, match=_rule(version, "4.5.1")):
        room.check(room.member(BOB, "leave"))


def test_rule_4_5_2_kicker_must_be_joined(version: str) -> None:
    room = standard_room(version, users={CAROL: 100})
    room.force_member(BOB, "join")
    with pytest.raises(AuthError, match=_rule(version, "4.5.2")):
        room.check(room.member(BOB, "leave", sender=CAROL))


def test_rule_4_5_3_unban_needs_ban_level(version: str) -> None:
    room = standard_room(version, users={CAROL: 60}, power_levels={"ban": 70, "kick": 50})
    room.force_member(CAROL, "join")
    room.force_member(BOB, "ban")
    with pytest.raises(AuthError, match=_rule(version, "4.5.3")):
        room.check(room.member(BOB, "leave", sender=CAROL))
    room.check(room.member(BOB, "leave", sender=ALICE))


def test_rule_4_5_4_kick_with_kick_level_and_more_power(version: str) -> None:
    room = standard_room(version, users={CAROL: 50})
    room.force_member(CAROL, "join")
    room.force_member(BOB, "join")
    room.check(room.member(BOB, "leave", sender=CAROL))


@pytest.mark.parametrize(("carol", "bob"), [(40, 0), (50, 50), (50, 60)])
def test_rule_4_5_5_kick_rejected(version: str, carol: int, bob: int) -> None:
    room = standard_room(version, users={CAROL: carol, BOB: bob})
    room.force_member(CAROL, "join")
    room.force_member(BOB, "join")
    with pytest.raises(AuthError, match=_rule(version, "4.5.5")):
        room.check(room.member(BOB, "leave", sender=CAROL))


# 4.6: ban


def test_rule_4_6_2_ban_with_ban_level_and_more_power(version: str) -> None:
    room = standard_room(version)
    room.check(room.member(BOB, "ban", sender=ALICE))


def test_rule_4_6_1_banner_must_be_joined(version: str) -> None:
    room = standard_room(version, users={CAROL: 100})
    with pytest.raises(AuthError, match=_rule(version, "4.6.1")):
        room.check(room.member(BOB, "ban", sender=CAROL))


@pytest.mark.parametrize(("carol", "bob"), [(49, 0), (50, 50)])
def test_rule_4_6_3_ban_rejected(version: str, carol: int, bob: int) -> None:
    room = standard_room(version, users={CAROL: carol, BOB: bob})
    room.force_member(CAROL, "join")
    with pytest.raises(AuthError, match=_rule(version, "4.6.3")):
        room.check(room.member(BOB, "ban", sender=CAROL))


# 4.7: knock


@pytest.mark.parametrize("join_rule", ["knock", "knock_restricted"])
def test_rule_4_7_3_knock_allowed(version: str, join_rule: str) -> None:
    room = standard_room(version, join_rule=join_rule)
    room.check(room.member(BOB, "knock"))


@pytest.mark.parametrize("join_rule", ["invite", "public", "restricted"])
def test_rule_4_7_1_knock_needs_knock_join_rule(version: str, join_rule: str) -> None:
    room = standard_room(version, join_rule=join_rule)
    with pytest.raises(AuthError, match=_rule(version, "4.7.1")):
        room.check(room.member(BOB, "knock"))


def test_rule_4_7_2_knock_only_as_oneself(version: str) -> None:
    room = standard_room(version, join_rule="knock")
    with pytest.raises(AuthError, match=_rule(version, "4.7.2")):
        room.check(room.member(BOB, "knock", sender=ALICE))


@pytest.mark.parametrize("membership", ["ban", "invite", "join"])
def test_rule_4_7_4_knock_rejected_for(version: str, membership: str) -> None:
    room = standard_room(version, join_rule="knock")
    room.force_member(BOB, membership)
    with pytest.raises(AuthError, match=_rule(version, "4.7.4")):
        room.check(room.member(BOB, "knock"))


# v12: creators cannot be kicked or banned, even by other creators' peers


def test_v12_creator_cannot_be_kicked_by_highest_user() -> None:
    room = standard_room("12", users={CAROL: 2**53 - 1})
    room.force_member(CAROL, "join")
    with pytest.raises(AuthError, match=r"rule 5\.5\.5 "):
        room.check(room.member(ALICE, "leave", sender=CAROL))
    room.check(room.member(CAROL, "ban", sender=ALICE))


@pytest.mark.parametrize("version", ["10", "11"])
def test_before_v12_creator_can_be_kicked_by_higher_user(version: str) -> None:
    room = standard_room(version, users={ALICE: 50, CAROL: 100})
    room.force_member(CAROL, "join")
    room.check(room.member(ALICE, "leave", sender=CAROL))


def test_appendix_key_is_used_for_fixtures() -> None:
    assert key_id_of(appendix_key()) == "ed25519:1"
