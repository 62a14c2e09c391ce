"""Space hierarchies (spec: "Spaces", GET /rooms/{roomId}/hierarchy).

A depth-first walk of ``m.space.child`` state from the space, local rooms only
(revier doesn't federate). Each room the requester may see (``may_preview``) is
one entry: its summary and, for a space, its child events stripped. A room
they may not see is left out, and so is all below it.

Pagination re-walks the tree and skips the rooms already sent: the token is
the count sent plus the walk's parameters, nothing more (no server state, no
secret, and a changed ``max_depth`` or ``suggested_only`` is detected).
The walk stops at ``MAX_ROOMS`` rooms, so a page costs bounded work.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from revier.errors import Forbidden, InvalidParam
from revier.events.types import JsonDict
from revier.services.core import Requester
from revier.services.rooms.room_summary import may_preview, summarise
from revier.storage import Store, Tx
from revier.storage.rooms import RoomRepos
from revier.storage.rooms.events import StoredEvent

SPACE_CHILD = "m.space.child"
DEFAULT_LIMIT, MAX_LIMIT = 50, 100
MAX_DEPTH = 10
MAX_ROOMS = 1000
_TOKEN = re.compile(r"^h1_(\d{1,6})_(\d{1,2})_([01])$")
# Spec ("Ordering"): an ``order`` of at most 50 printable ASCII characters.
_ORDER = re.compile(r"^[\x20-\x7e]{1,50}$")


@dataclass(frozen=True)
class HierarchyQuery:
    suggested_only: bool = False
    limit: int = DEFAULT_LIMIT
    max_depth: int = MAX_DEPTH
    from_token: str | None = None


class SpaceHierarchy:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def hierarchy(
        self, requester: Requester, room_id: str, query: HierarchyQuery
    ) -> JsonDict:
        """GET /rooms/{roomId}/hierarchy"""
        if query.limit < 1 or query.max_depth < 0:
            raise InvalidParam("'limit' must be positive and 'max_depth' not negative")
        limit = min(query.limit, MAX_LIMIT)
        depth = min(query.max_depth, MAX_DEPTH)
        skip = 0
        if query.from_token is not None:
            skip = _parse_token(query.from_token, depth, query.suggested_only)
        async with self._store.read() as tx:
            db = RoomRepos.of(tx)
            if await db.events.room_tenant(room_id) != requester.tenant.server_name:
                raise Forbidden("You can't see this space")
            root = await summarise(tx, room_id)
            if root is None or not await may_preview(tx, requester.user_id, root):
                raise Forbidden("You can't see this space")
            rooms = await self._walk(
                tx, requester, room_id, depth, query.suggested_only, skip + limit + 1
            )
        page = rooms[skip : skip + limit]
        out: JsonDict = {"rooms": page}
        if len(rooms) > skip + limit:
            out["next_batch"] = f"h1_{skip + limit}_{depth}_{int(query.suggested_only)}"
        return out

    async def _walk(
        self, tx: Tx, requester: Requester, root: str, max_depth: int, suggested: bool, wanted: int
    ) -> list[JsonDict]:
        """The visible rooms in depth-first order, the first ``wanted`` of them."""
        tenant = requester.tenant.server_name
        db = RoomRepos.of(tx)
        out: list[JsonDict] = []
        seen: set[str] = set()
        stack: list[tuple[str, int]] = [(root, 0)]
        while stack and len(out) < min(wanted, MAX_ROOMS):
            room_id, depth = stack.pop()
            if room_id in seen:
                continue
            seen.add(room_id)
            if await db.events.room_tenant(room_id) != tenant:
                continue  # unknown here (another server's), or another organisation's
            summary = await summarise(tx, room_id)
            if summary is None or not await may_preview(tx, requester.user_id, summary):
                continue
            children = await _children(tx, room_id, suggested)
            summary["children_state"] = [_stripped(e) for e in children]
            out.append(summary)
            if depth < max_depth:
                # Reversed onto the stack: the first child is walked first.
                stack.extend((e.pdu.state_key or "", depth + 1) for e in reversed(children))
        return out


async def _children(tx: Tx, room_id: str, suggested_only: bool) -> list[StoredEvent]:
    """The room's valid child events (a non-empty ``via``), in the spec's order."""
    db = RoomRepos.of(tx)
    ids = await db.events.current_state_ids_of_types(room_id, [SPACE_CHILD])
    loaded = await db.events.get_many(ids.values())
    children = []
    for event in loaded.values():
        content = event.pdu.content
        via = content.get("via")
        if not isinstance(via, list) or not via or not event.pdu.state_key:
            continue
        if suggested_only and content.get("suggested") is not True:
            continue
        children.append(event)
    return sorted(children, key=_order_key)


def _order_key(event: StoredEvent) -> tuple[int, str, int, str]:
    order = event.pdu.content.get("order")
    valid = isinstance(order, str) and _ORDER.match(order) is not None
    return (
        0 if valid else 1,
        order if valid and isinstance(order, str) else "",
        event.pdu.origin_server_ts,
        event.pdu.state_key or "",
    )


def _stripped(event: StoredEvent) -> JsonDict:
    pdu = event.pdu
    return {
        "type": pdu.type,
        "state_key": pdu.state_key,
        "content": dict(pdu.content),
        "sender": pdu.sender,
        "origin_server_ts": pdu.origin_server_ts,
    }


def _parse_token(token: str, depth: int, suggested_only: bool) -> int:
    match = _TOKEN.match(token)
    if match is None:
        raise InvalidParam("Unknown 'from' token")
    if int(match[2]) != depth or bool(int(match[3])) != suggested_only:
        raise InvalidParam("'max_depth' and 'suggested_only' can't change while paginating")
    return int(match[1])
