"""Closing a room: the notice, the refusal, and who may send the notice."""

from __future__ import annotations

import pytest
from tests.unit.events.conftest import ALICE, BOB, CAROL, RoomFixture

from revier.errors import InvalidParam
from revier.policy.room_closure import (
    MAX_REASON_LENGTH,
    NOTICE_FIELD,
    check_reason,
    leave_reason,
    notice_content,
    notice_sender,
    room_closed_error,
)

# 2026-11-23 18:04:05 UTC
TS = 1_795_457_045_000


def test_the_notice_names_closer_time_and_reason() -> None:
    content = notice_content("@x:y", TS, "Einsatz beendet.")
    assert content["msgtype"] == "m.notice"
    assert content["body"] == (
        "This room was closed by @x:y on 2026-11-23 at 18:04 UTC. "
        "Reason: Einsatz beendet. It can't be joined again."
    )
    assert content[NOTICE_FIELD] == {
        "closed_by": "@x:y",
        "closed_ts": TS,
        "reason": "Einsatz beendet.",
    }


def test_a_closing_from_the_command_line_names_no_os_account() -> None:
    content = notice_content("cli:root", TS, None)
    assert content["body"] == (
        "This room was closed by an administrator on 2026-11-23 at 18:04 UTC. "
        "It can't be joined again."
    )
    assert "root" not in str(content)
    assert content[NOTICE_FIELD]["closed_by"] is None
    assert leave_reason("cli:root") == "Room closed by an administrator"
    assert leave_reason("@x:y") == "Room closed by @x:y"


def test_joining_a_closed_room_says_who_and_when() -> None:
    error = room_closed_error("@x:y", TS)
    assert error.errcode == "M_FORBIDDEN"
    assert "@x:y" in error.error and "2026-11-23 at 18:04 UTC" in error.error


def test_reason_length_is_bounded() -> None:
    check_reason(None)
    check_reason("x" * MAX_REASON_LENGTH)
    with pytest.raises(InvalidParam):
        check_reason("x" * (MAX_REASON_LENGTH + 1))


@pytest.mark.parametrize("version", ["10", "11", "12"])
def test_the_closer_sends_the_notice_when_joined(version: str) -> None:
    create = RoomFixture(version).create
    assert notice_sender(BOB, [ALICE, BOB], create, None) == BOB


@pytest.mark.parametrize("version", ["10", "11", "12"])
def test_else_a_creator_sends_it(version: str) -> None:
    create = RoomFixture(version).create
    levels = {"users": {ALICE: 100, BOB: 100}}
    assert notice_sender("@admin:example.org", [BOB, CAROL, ALICE], create, levels) == ALICE


def test_else_the_most_powerful_member_sends_it() -> None:
    create = RoomFixture("11").create
    levels = {"users": {ALICE: 100, BOB: 50}}
    assert notice_sender("@admin:example.org", [CAROL, BOB], create, levels) == BOB
    # Equal power: the same member every time.
    levels = {"users": {ALICE: 100}}
    assert notice_sender("@admin:example.org", [CAROL, BOB], create, levels) == min(BOB, CAROL)


def test_nobody_sends_it_when_no_member_may_speak() -> None:
    create = RoomFixture("11").create
    levels = {"users": {ALICE: 100}, "events_default": 10}
    assert notice_sender("@admin:example.org", [BOB, CAROL], create, levels) is None
    assert notice_sender("@admin:example.org", [], create, None) is None
    # A closer who may not speak either doesn't send it.
    assert notice_sender(BOB, [BOB], create, levels) is None
