"""What the push-rule tests share: Alice (whose rules are evaluated), Bob, a room,
Alice's push context there, and events in it."""

from __future__ import annotations

from typing import Any

from revier.push import PushContext

ALICE = "@alice:example.org"
BOB = "@bob:example.org"
ROOM = "!room:example.org"
# Alice in a room of five, where notifications need no power level of their own.
CTX = PushContext(
    user_id=ALICE,
    user_display_name="Alice",
    room_member_count=5,
    sender_power_level=0,
    notification_power_levels={},
)


def event(type_: str = "m.room.message", sender: str = BOB, **fields: Any) -> dict[str, Any]:
    """An event in ROOM, from Bob unless ``sender`` says otherwise."""
    return {"type": type_, "sender": sender, "room_id": ROOM, "event_id": "$e", **fields}


def text(body: str, **content: Any) -> dict[str, Any]:
    """A text message from Bob; ``content`` adds to its content."""
    return event(content={"msgtype": "m.text", "body": body, **content})
