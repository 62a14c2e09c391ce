"""What the push sender needs to know of rooms: the events it pushes, who is in a room.

The notifications wing sits below rooms and can't ask it directly; the
container hands it this object (``notifications.RoomFacts``). With the
tenant's ``push_content = "none"`` it reads event and room IDs and the type
and sender (for urgent senders) — never content or names.
"""

from __future__ import annotations

from collections.abc import Collection

from revier.push.gateway import PushContent, PushedEvent
from revier.storage import Tx
from revier.storage.rooms import RoomRepos

_NAME = ("m.room.name", "")


class RoomPushFacts:
    async def pushed_events(
        self, tx: Tx, positions: Collection[int], content: PushContent
    ) -> dict[int, PushedEvent]:
        """The events at these stream positions; names (and, for "full", content)
        only when the tenant's ``push_content`` allows them."""
        db = RoomRepos.of(tx)
        if content == "none":
            return {
                pos: PushedEvent(event_id, room_id, event_type, sender)
                for pos, event_id, room_id, event_type, sender in await db.many_rooms.refs_at(
                    positions
                )
            }
        out: dict[int, PushedEvent] = {}
        names: dict[str, str | None] = {}
        for stored in await db.many_rooms.at_positions(positions):
            pdu = stored.pdu
            if pdu.room_id not in names:
                state = await db.events.current_state_events(pdu.room_id, [_NAME])
                name = state[_NAME].content.get("name") if _NAME in state else None
                names[pdu.room_id] = name if isinstance(name, str) else None
            member = await db.memberships.get(pdu.room_id, pdu.sender)
            out[stored.stream_ordering] = PushedEvent(
                pdu.event_id,
                pdu.room_id,
                pdu.type,
                pdu.sender,
                sender_display_name=member.displayname if member else None,
                room_name=names[pdu.room_id],
                content=dict(pdu.content) if content == "full" else None,
            )
        return out

    async def room_ids(self, tx: Tx, rooms: Collection[str]) -> set[str]:
        """Room IDs of rooms named by ID or alias (the tenant's urgent rooms)."""
        db = RoomRepos.of(tx)
        found = {r for r in rooms if r.startswith("!")}
        for alias in (r for r in rooms if r.startswith("#")):
            room_id = await db.aliases.room_id_for(alias)
            if room_id is not None:
                found.add(room_id)
        return found

    async def joined_members(self, tx: Tx, room_ids: Collection[str]) -> dict[str, set[str]]:
        """Per room, who is joined (for events another worker wrote)."""
        return await RoomRepos.of(tx).memberships.joined_by_room(list(room_ids))
