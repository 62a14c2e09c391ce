"""Keeping the search index in step with the events, in the transaction that changes them.

Indexed: events with searchable text (``events/search.py``) in rooms that are
not encrypted. In an encrypted room messages are ``m.room.encrypted`` and only
the clients can read them (they search locally); its plaintext name and topic
are left out too, as the spec's "the search will not include rooms that are end
to end encrypted" asks. A room that turns encrypted leaves the index with its
older events; a redacted event's text is gone, so is its row; a purged room's
rows go with its events (``storage/rooms/room_purge.py``).
"""

from __future__ import annotations

from revier.events.pdu import Pdu
from revier.events.search import SEARCHABLE_TYPES, searchable_text
from revier.storage import Tx
from revier.storage.rooms import RoomRepos


async def record(tx: Tx, pdu: Pdu, position: int, *, encrypted: bool) -> None:
    """After a new event is stored: index it, or drop its room on encryption."""
    if pdu.type == "m.room.encryption" and pdu.state_key == "":
        await RoomRepos.of(tx).search.forget_room(pdu.room_id)
        return
    if encrypted or pdu.type not in SEARCHABLE_TYPES:
        return
    if (text := searchable_text(pdu.type, pdu.content)) is not None:
        await RoomRepos.of(tx).search.index(position, text)


async def forget(tx: Tx, stream_ordering: int) -> None:
    """After an event is redacted."""
    await RoomRepos.of(tx).search.forget([stream_ordering])
