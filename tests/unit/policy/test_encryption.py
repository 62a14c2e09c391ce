"""policy/encryption.py: what may enter an encrypted room."""

from __future__ import annotations

from typing import Any

import pytest

from revier.policy.encryption import MAX_REACTION_KEY, MEGOLM, refusal

ENCRYPTED_ROOM = {"algorithm": MEGOLM}


def check(
    event_type: str,
    content: dict[str, Any],
    *,
    state_key: str | None = None,
    encryption: dict[str, Any] | None = ENCRYPTED_ROOM,
    policy: str = "refuse",
    server_notice: bool = False,
) -> str | None:
    found = refusal(
        policy=policy,
        encryption=encryption,
        event_type=event_type,
        state_key=state_key,
        content=content,
        server_notice=server_notice,
    )
    return found.reason if found else None


def annotation(key: str = "👍", **extra: Any) -> dict[str, Any]:
    return {"m.relates_to": {"rel_type": "m.annotation", "event_id": "$e", "key": key, **extra}}


@pytest.mark.parametrize(
    "event_type",
    ["m.room.message", "m.sticker", "m.poll.start", "m.call.invite", "com.example.custom"],
)
def test_plaintext_message_types_are_refused_in_an_encrypted_room(event_type: str) -> None:
    assert check(event_type, {"body": "x"}) == "plaintext"


def test_unencrypted_rooms_take_anything() -> None:
    assert check("m.room.message", {"body": "x"}, encryption=None) is None


def test_encrypted_and_redaction_events_pass() -> None:
    assert check("m.room.encrypted", {"algorithm": MEGOLM, "ciphertext": "…"}) is None
    assert check("m.room.redaction", {"reason": "typo"}) is None


def test_a_bare_annotation_passes_but_nothing_more() -> None:
    assert check("m.reaction", annotation()) is None
    assert check("m.reaction", annotation("k" * MAX_REACTION_KEY)) is None
    assert check("m.reaction", annotation("k" * (MAX_REACTION_KEY + 1))) == "plaintext"
    assert check("m.reaction", annotation("")) == "plaintext"
    assert check("m.reaction", {**annotation(), "body": "Lage 14:00"}) == "plaintext"
    assert check("m.reaction", annotation(note="Lage 14:00")) == "plaintext"
    replace = {"m.relates_to": {"rel_type": "m.replace", "event_id": "$e", "key": "k"}}
    assert check("m.reaction", replace) == "plaintext"
    assert check("m.reaction", {"m.relates_to": "not an object"}) == "plaintext"


def test_state_is_allowed_unless_it_is_a_message_in_disguise() -> None:
    assert check("m.room.topic", {"topic": "Lage"}, state_key="") is None
    assert check("m.call.member", {"memberships": []}, state_key="@a:x") is None
    assert check("m.room.message", {"body": "x"}, state_key="") == "plaintext"
    assert check("m.room.encrypted", {"body": "x"}, state_key="") == "plaintext"
    assert check("m.call.invite", {"call_id": "x"}, state_key="") == "plaintext"


def test_allow_and_server_notices_skip_the_plaintext_rule() -> None:
    assert check("m.room.message", {"body": "x"}, policy="allow") is None
    assert check("m.room.message", {"msgtype": "m.notice"}, server_notice=True) is None


@pytest.mark.parametrize("policy", ["refuse", "allow"])
@pytest.mark.parametrize(
    "content", [{}, {"algorithm": "m.olm.v1.curve25519-aes-sha2"}, {"rotation_period_ms": 5}]
)
def test_encryption_is_never_downgraded(policy: str, content: dict[str, Any]) -> None:
    assert check("m.room.encryption", content, state_key="", policy=policy) == "downgrade"


def test_the_first_encryption_must_be_megolm_and_later_ones_may_keep_it() -> None:
    assert check("m.room.encryption", {"algorithm": MEGOLM}, state_key="", encryption=None) is None
    assert check("m.room.encryption", {}, state_key="", encryption=None) == "downgrade"
    unknown = {"algorithm": "m.mls.v1"}
    assert check("m.room.encryption", unknown, state_key="", encryption=None) == "downgrade"
    rotated = {"algorithm": MEGOLM, "rotation_period_msgs": 50}
    assert check("m.room.encryption", rotated, state_key="") is None
