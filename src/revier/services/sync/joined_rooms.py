"""The ``rooms.join`` part of a /sync response: each joined room's entry.

An entry is the room's timeline and state (``RoomSyncBuilder``), its
ephemeral events (typing, receipts), its account data, its unread counts and,
where members may have changed, its summary. The counts and summaries of all
rooms in a response are read together, as are the rooms sent afresh.
"""

from __future__ import annotations

from collections import defaultdict

from revier.events.filters import SyncFilter
from revier.events.types import JsonDict
from revier.services.core import Requester
from revier.services.notifications import PushActions, UnreadCounts
from revier.services.rooms import Membership, RoomSyncBuilder, TypingService, Window
from revier.storage import Tx


class JoinedRooms:
    def __init__(
        self, rooms: RoomSyncBuilder, typing: TypingService, push_actions: PushActions
    ) -> None:
        self._rooms = rooms
        self._typing = typing
        self._push_actions = push_actions

    async def entries(
        self,
        tx: Tx,
        requester: Requester,
        joined: list[Membership],
        window: Window,
        flt: SyncFilter,
        changes: RoomChanges,
    ) -> dict[str, JsonDict]:
        """Each joined room's entry; a room with nothing new is left out.

        The rooms sent afresh (all of them in a first sync) are read together
        (``RoomSyncBuilder.fresh_rooms``); the others room by room — in an
        incremental sync the few with new events, each a slice the other
        members woken by the same message share (``TimelineSlices``).
        """
        user_id = requester.user_id
        fresh = [m for m in joined if await self._rooms.is_fresh(tx, m, window)]
        fresh_ids = {m.room_id for m in fresh}
        parts = await self._rooms.fresh_rooms(tx, requester, fresh, window, flt, changes.ignored)
        for m in joined:
            if m.room_id in fresh_ids or m.room_id not in changes.rooms_with_events:
                continue
            found = await self._rooms.timeline_and_state(
                tx,
                requester,
                m,
                window,
                flt,
                upto=window.upto,
                fresh=False,
                ignored=changes.ignored,
            )
            if found is not None:
                parts[m.room_id] = found
        entries: dict[str, JsonDict] = {}
        summarised: list[str] = []
        for m in joined:
            room_id = m.room_id
            room_parts = parts.get(room_id)
            ephemeral = self._ephemeral(room_id, window, flt, changes)
            room_data = [
                {"type": t, "content": c}
                for t, c in changes.room_account_data.get(room_id, [])
                if flt.room_account_data.allows_type(t)
            ]
            if room_parts is None and not ephemeral and not room_data:
                continue
            entry = entries[room_id] = {
                "ephemeral": {"events": ephemeral},
                "account_data": {"events": room_data},
            }
            if room_parts is not None:
                entry["timeline"], entry["state"] = room_parts
            # The summary may be left out when it can't have changed (spec): only
            # membership events change it.
            if room_id in fresh_ids or (room_parts is not None and _has_member_events(room_parts)):
                summarised.append(room_id)
        unread = await self._unread(tx, user_id, list(entries), flt)
        summaries = await self._rooms.summaries(tx, summarised, user_id) if summarised else {}
        for room_id, entry in entries.items():
            entry.update(unread[room_id])
            if room_id in summaries:
                entry["summary"] = summaries[room_id]
        return entries

    async def _unread(
        self, tx: Tx, user_id: str, room_ids: list[str], flt: SyncFilter
    ) -> dict[str, JsonDict]:
        """room_id -> ``unread_notifications``: the whole room's; with the filter's
        ``unread_thread_notifications``, the main timeline's, each thread's apart."""
        push = self._push_actions
        if not room_ids:
            return {}
        if not flt.timeline.unread_thread_notifications:
            counted = await push.unread_in_rooms(tx, user_id, room_ids)
            return {r: {"unread_notifications": _counts(c)} for r, c in counted.items()}
        out: dict[str, JsonDict] = {}
        by_thread = await push.unread_by_thread_in_rooms(tx, user_id, room_ids)
        for room_id, (main, threads) in by_thread.items():
            out[room_id] = {"unread_notifications": _counts(main)}
            if threads:
                out[room_id]["unread_thread_notifications"] = {
                    t: _counts(c) for t, c in threads.items()
                }
        return out

    def _ephemeral(
        self, room_id: str, window: Window, flt: SyncFilter, changes: RoomChanges
    ) -> list[JsonDict]:
        out: list[JsonDict] = []
        typing_since = window.since.typing if window.since else -1
        if flt.ephemeral.allows_type("m.typing") and (
            typing_since < 0 or self._typing.changed_since(room_id, typing_since)
        ):
            users = self._typing.typing_users(room_id)
            if users or typing_since >= 0:
                out.append({"type": "m.typing", "content": {"user_ids": users}})
        receipt = changes.receipts.get(room_id)
        if receipt is not None and flt.ephemeral.allows_type("m.receipt"):
            out.append(receipt)
        return out


def _counts(counts: UnreadCounts) -> JsonDict:
    return {
        "notification_count": counts.notification_count,
        "highlight_count": counts.highlight_count,
    }


def _has_member_events(parts: tuple[JsonDict, JsonDict]) -> bool:
    return any(event.get("type") == "m.room.member" for part in parts for event in part["events"])


class RoomChanges:
    """What changed in the user's rooms in the window (``SyncService._changes``)."""

    def __init__(self) -> None:
        self.rooms_with_events: set[str] = set()
        self.receipts: dict[str, JsonDict] = {}
        self.room_account_data: dict[str, list[tuple[str, JsonDict]]] = defaultdict(list)
        self.global_account_data: list[tuple[str, JsonDict]] = []
        # Whose messages the user ignores (their state still comes).
        self.ignored: frozenset[str] = frozenset()
