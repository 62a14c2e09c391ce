"""Sliding sync's extensions: to-device messages, encryption keys, account data,
receipts and typing.

Each is answered only when the client enabled it, and then always (empty or
not: the clients expect the section). An empty section doesn't end a
long-poll, and neither do one-time-key counts: only news does.

account_data, receipts and typing cover the rooms their ``lists`` and ``rooms``
name (by default every room the response selects); receipts and typing only
rooms the user has joined — an invitee isn't told who reads or types.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from revier.events.types import JsonDict
from revier.notify.changes import WindowChanges
from revier.services.core import AccountDataService, Requester
from revier.services.e2e import E2eSync
from revier.services.notifications import PUSH_RULES, PushRuleService
from revier.services.rooms import RoomViews
from revier.services.sync.sliding_connections import SlidingPos
from revier.services.sync.sliding_lists import Selection
from revier.services.sync.sliding_request import WILDCARD, Extensions, Scope
from revier.storage import Tx, streams


@dataclass(slots=True)
class Sent:
    """What this response sent of rooms: their timelines, and which were initial."""

    timelines: dict[str, list[str]] = field(default_factory=dict)
    initial: set[str] = field(default_factory=set)


class SlidingExtensions:
    def __init__(
        self,
        views: RoomViews,
        e2e: E2eSync,
        account_data: AccountDataService,
        push_rules: PushRuleService,
    ) -> None:
        self._views = views
        self._e2e = e2e
        self._account_data = account_data
        self._push_rules = push_rules

    async def acknowledge(self, requester: Requester, extensions: Extensions) -> None:
        """Before the read: to-device messages up to ``since`` were delivered."""
        if extensions.to_device and extensions.to_device_since is not None:
            await self._e2e.acknowledge_to_device(requester, extensions.to_device_since)

    async def build(
        self,
        tx: Tx,
        requester: Requester,
        extensions: Extensions,
        since: SlidingPos | None,
        upto: int,
        selection: Selection,
        sent: Sent,
        known: WindowChanges | None = None,
    ) -> tuple[JsonDict, bool]:
        """The ``extensions`` object, and whether any of it is news; ``known``: what
        changed since ``since`` if the change log could tell."""
        out: JsonDict = {}
        news = False
        after = since.position if since else None
        if extensions.to_device:
            start = extensions.to_device_since or 0
            out["to_device"], got = await self._e2e.to_device(
                tx, requester, start, upto, extensions.to_device_limit
            )
            news |= got
        if extensions.e2ee:
            joined = [
                r.room_id for r in selection.rooms.values() if r.membership.membership == "join"
            ]
            out["e2ee"], got = await self._e2e.key_status(tx, requester, after, upto, joined, known)
            news |= got
        if extensions.account_data is not None:
            rooms = _rooms_in(extensions.account_data, selection)
            out["account_data"] = await self._account_data_part(
                tx, requester, after, upto, rooms, sent, known
            )
            news |= bool(out["account_data"]["global"] or out["account_data"]["rooms"])
        joined_rooms = {
            r for r, listed in selection.rooms.items() if listed.membership.membership == "join"
        }
        if extensions.receipts is not None:
            rooms = _rooms_in(extensions.receipts, selection) & joined_rooms
            receipts = await self._receipts(tx, requester, after, upto, rooms, sent, known)
            out["receipts"] = {"rooms": receipts}
            news |= bool(receipts)
        if extensions.typing is not None:
            rooms = _rooms_in(extensions.typing, selection) & joined_rooms
            rooms &= self._views.typing_rooms()  # not a call per room in a long list
            serial = since.typing if since else None
            typing = {r: e for r in sorted(rooms) if (e := self._views.typing(r, serial))}
            out["typing"] = {"rooms": typing}
            news |= bool(typing)
        return out, news

    async def _account_data_part(
        self,
        tx: Tx,
        requester: Requester,
        after: int | None,
        upto: int,
        rooms: set[str],
        sent: Sent,
        known: WindowChanges | None,
    ) -> JsonDict:
        user_id = requester.user_id
        global_data: list[JsonDict] = []
        by_room: dict[str, list[JsonDict]] = {}
        unchanged = known is not None and not known.has(streams.ACCOUNT_DATA, user_id)
        for data in [] if unchanged else await self._account_data.changed(tx, user_id, after, upto):
            entry = {"type": data.type, "content": data.content}
            if not data.room_id:
                global_data.append(entry)
            elif data.room_id in rooms and (after is None or data.room_id not in sent.initial):
                by_room.setdefault(data.room_id, []).append(entry)
        if after is not None:
            # A room sent afresh gets all its account data, not only the latest change.
            fresh = sorted(rooms & sent.initial)
            for room_id, entries in (await self._account_data.of_rooms(tx, user_id, fresh)).items():
                by_room[room_id] = [{"type": d.type, "content": d.content} for d in entries]
        if after is None and all(e["type"] != PUSH_RULES for e in global_data):
            # Clients read push rules from here; a user who never changed one has no
            # stored copy, so the defaults go instead (as in /sync).
            rules = await self._push_rules.account_data_content(tx, user_id)
            global_data.append({"type": PUSH_RULES, "content": rules})
        return {"global": global_data, "rooms": by_room}

    async def _receipts(
        self,
        tx: Tx,
        requester: Requester,
        after: int | None,
        upto: int,
        rooms: set[str],
        sent: Sent,
        known: WindowChanges | None,
    ) -> dict[str, JsonDict]:
        out: dict[str, JsonDict] = {}
        fresh = rooms if after is None else rooms & sent.initial
        timelines = {room_id: sent.timelines.get(room_id, []) for room_id in fresh}
        out.update(await self._views.receipts_on_many(tx, timelines, requester.user_id))
        rest = sorted(rooms - fresh)
        if after is not None and (known is None or known.touches(streams.RECEIPT, rest)):
            out.update(await self._views.receipts_changed(tx, rest, after, upto, requester.user_id))
        return out


def _rooms_in(scope: Scope, selection: Selection) -> set[str]:
    """The rooms an extension covers: its lists' windows, and its rooms among those
    the response selects."""
    rooms: set[str] = set()
    names: Iterable[str] = selection.windows if WILDCARD in scope.lists else scope.lists
    for name in names:
        rooms.update(selection.windows.get(name, ()))
    if WILDCARD in scope.rooms:
        rooms.update(selection.configs)
    else:
        rooms.update(r for r in scope.rooms if r in selection.configs)
    return rooms
