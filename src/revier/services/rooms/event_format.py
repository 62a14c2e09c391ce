"""Events as clients receive them: the ClientEvent format plus ``unsigned``, with the
bundled aggregations of their children."""

from __future__ import annotations

from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from typing import Any

from revier.events.types import JsonDict
from revier.services.core import Requester
from revier.services.rooms.aggregations import Bundle, bundles
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
    bundle: bool | AbstractSet[str] = True,
) -> list[JsonDict]:
    """Serialise events for one requester.

    ``unsigned`` carries ``transaction_id`` for the requester's own device
    (how clients replace their local echo), ``redacted_because`` for
    redacted events, ``age``, and with ``bundle`` (every event, or those whose
    IDs it holds) the bundled aggregations (``m.relations``, see
    ``aggregations``): a thread's newest reply is shown with its own
    aggregations, an edit without.
    """
    only = None if isinstance(bundle, bool) else bundle
    depth = 0 if bundle is False else 2
    return await _format(tx, requester, events, now_ms, with_room_id, depth, True, only)


async def _format(
    tx: Tx,
    requester: Requester,
    events: Sequence[StoredEvent],
    now_ms: int,
    with_room_id: bool,
    depth: int,
    top: bool = False,
    only: AbstractSet[str] | None = None,
) -> list[JsonDict]:
    db = RoomRepos.of(tx)
    # An event bundled into another (depth below the top) goes without its
    # transaction_id: a client matches its local echo with the event itself.
    own = [e.event_id for e in events if e.pdu.sender == requester.user_id and top]
    txns = await db.event_txns.for_events(requester.user_id, requester.device_id, own)
    redactions = await db.events.get_many(e.redacted_by for e in events if e.redacted_by)
    parents = events if only is None else [e for e in events if e.event_id in only]
    found = await bundles(tx, requester.user_id, parents) if depth > 0 else {}
    relations = await _relations(tx, requester, found, now_ms, with_room_id, depth)
    out = []
    for event in events:
        unsigned: dict[str, Any] = {"age": max(0, now_ms - event.pdu.origin_server_ts)}
        if event.event_id in txns:
            unsigned["transaction_id"] = txns[event.event_id]
        if event.redacted_by and event.redacted_by in redactions:
            unsigned["redacted_because"] = redactions[event.redacted_by].pdu.client_format()
        if event.event_id in relations:
            unsigned["m.relations"] = relations[event.event_id]
        body = event.pdu.client_format(unsigned=unsigned)
        if not with_room_id:
            body.pop("room_id", None)
        out.append(body)
    return out


async def _relations(
    tx: Tx,
    requester: Requester,
    found: dict[str, Bundle],
    now_ms: int,
    with_room_id: bool,
    depth: int,
) -> dict[str, JsonDict]:
    """event_id -> its ``m.relations``: the included events formatted in two batches."""
    if not found:
        return {}
    edits = [b.replace for b in found.values() if b.replace is not None]
    latest = [b.thread.latest_event for b in found.values() if b.thread is not None]
    shown_edits = await _format(tx, requester, edits, now_ms, with_room_id, 0)
    shown_latest = await _format(tx, requester, latest, now_ms, with_room_id, depth - 1)
    shown = {
        **{e.event_id: body for e, body in zip(edits, shown_edits, strict=True)},
        **{e.event_id: body for e, body in zip(latest, shown_latest, strict=True)},
    }
    out: dict[str, JsonDict] = {}
    for event_id, bundle in found.items():
        relations: JsonDict = {}
        if bundle.replace is not None:
            relations["m.replace"] = shown[bundle.replace.event_id]
        if bundle.thread is not None:
            relations["m.thread"] = {
                "latest_event": shown[bundle.thread.latest_event.event_id],
                "count": bundle.thread.count,
                "current_user_participated": bundle.thread.current_user_participated,
            }
        if bundle.references:
            relations["m.reference"] = {"chunk": [{"event_id": i} for i in bundle.references]}
        out[event_id] = relations
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
