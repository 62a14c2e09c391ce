"""Events as clients receive them: the ClientEvent format plus ``unsigned``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from revier.events.types import JsonDict
from revier.services.core import Requester
from revier.storage import Tx
from revier.storage.rooms import RoomRepos
from revier.storage.rooms.events import StoredEvent


async def client_events(
    tx: Tx,
    requester: Requester,
    events: Sequence[StoredEvent],
    *,
    now_ms: int,
    with_room_id: bool = True,
) -> list[JsonDict]:
    """Serialise events for one requester.

    ``unsigned`` carries ``transaction_id`` for the requester's own device
    (how clients replace their local echo), ``redacted_because`` for
    redacted events, and ``age``.
    """
    db = RoomRepos.of(tx)
    own = [e.event_id for e in events if e.pdu.sender == requester.user_id]
    txns = await db.event_txns.for_events(requester.user_id, requester.device_id, own)
    redactions = await db.events.get_many(e.redacted_by for e in events if e.redacted_by)
    out = []
    for event in events:
        unsigned: dict[str, Any] = {"age": max(0, now_ms - event.pdu.origin_server_ts)}
        if event.event_id in txns:
            unsigned["transaction_id"] = txns[event.event_id]
        if event.redacted_by and event.redacted_by in redactions:
            unsigned["redacted_because"] = redactions[event.redacted_by].pdu.client_format()
        body = event.pdu.client_format(unsigned=unsigned)
        if not with_room_id:
            body.pop("room_id", None)
        out.append(body)
    return out


STRIPPED_STATE_TYPES = (
    ("m.room.create", ""),
    ("m.room.join_rules", ""),
    ("m.room.name", ""),
    ("m.room.avatar", ""),
    ("m.room.canonical_alias", ""),
    ("m.room.encryption", ""),
    ("m.room.topic", ""),
)


def stripped(event: StoredEvent) -> JsonDict:
    """The stripped state form invitees see before joining."""
    pdu = event.pdu
    return {
        "type": pdu.type,
        "state_key": pdu.state_key,
        "content": dict(pdu.content),
        "sender": pdu.sender,
    }
