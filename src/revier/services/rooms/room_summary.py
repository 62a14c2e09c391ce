"""Room summaries (spec: GET /room_summary/{roomIdOrAlias}, MSC3266) and who may see one.

The same summary is each entry of a space hierarchy (``space_hierarchy``): the
room's name, topic, avatar, alias, size, join rule, history visibility, type,
version and encryption — the public face of a room, shown to whoever could
join, knock or peek. Anyone else learns nothing, not even that the room
exists: 404, as for a room that isn't there.
"""

from __future__ import annotations

from typing import Any

from revier.errors import NotFound
from revier.events.types import JsonDict, StateKey
from revier.services.core import Requester, Tenant
from revier.services.rooms.membership import resolve_room
from revier.storage import Store, Tx
from revier.storage.rooms import RoomRepos

_KEYS: list[StateKey] = [
    (t, "")
    for t in (
        "m.room.create",
        "m.room.name",
        "m.room.topic",
        "m.room.avatar",
        "m.room.canonical_alias",
        "m.room.join_rules",
        "m.room.history_visibility",
        "m.room.guest_access",
        "m.room.encryption",
    )
]
# Join rules under which anyone of the organisation may join or ask to.
OPEN_RULES = frozenset({"public", "knock", "knock_restricted"})
RESTRICTED_RULES = frozenset({"restricted", "knock_restricted"})


async def summarise(tx: Tx, room_id: str) -> JsonDict | None:
    """The room's summary (the spec's ``room_summary`` fields); None: no such room."""
    db = RoomRepos.of(tx)
    state = await db.events.current_state_events(room_id, _KEYS)
    create = state.get(("m.room.create", ""))
    if create is None:
        return None

    def field(event_type: str, key: str) -> Any:
        event = state.get((event_type, ""))
        value = event.content.get(key) if event is not None else None
        return value if isinstance(value, str) and value else None

    join_rule = field("m.room.join_rules", "join_rule") or "invite"
    out: JsonDict = {
        "room_id": room_id,
        "num_joined_members": await db.memberships.count(room_id),
        "join_rule": join_rule,
        "world_readable": field("m.room.history_visibility", "history_visibility")
        == "world_readable",
        "guest_can_join": field("m.room.guest_access", "guest_access") == "can_join",
        "room_version": create.room_version,
    }
    optional = {
        "name": field("m.room.name", "name"),
        "topic": field("m.room.topic", "topic"),
        "avatar_url": field("m.room.avatar", "url"),
        "canonical_alias": field("m.room.canonical_alias", "alias"),
        "room_type": create.content.get("type")
        if isinstance(create.content.get("type"), str)
        else None,
        "encryption": field("m.room.encryption", "algorithm"),
    }
    out.update({k: v for k, v in optional.items() if v is not None})
    if join_rule in RESTRICTED_RULES:
        out["allowed_room_ids"] = _allowed_rooms(state.get(("m.room.join_rules", "")))
    return out


def _allowed_rooms(event: Any) -> list[str]:
    allow = event.content.get("allow") if event is not None else None
    return [
        entry["room_id"]
        for entry in (allow if isinstance(allow, list) else [])
        if isinstance(entry, dict)
        and entry.get("type") == "m.room_membership"
        and isinstance(entry.get("room_id"), str)
    ]


async def may_preview(tx: Tx, user_id: str | None, summary: JsonDict) -> bool:
    """Whether the user (None: unauthenticated) may see the summary: a member,
    invitee or knocker; or anyone, if the room is open to join or knock, or world
    readable; or, for a restricted room, a member of one of the rooms it allows."""
    if summary["join_rule"] in OPEN_RULES or summary["world_readable"]:
        return True
    if user_id is None:
        return False
    db = RoomRepos.of(tx)
    own = await db.memberships.get(summary["room_id"], user_id)
    if own is not None and own.membership in ("join", "invite", "knock"):
        return True
    for allowed in summary.get("allowed_room_ids", []):
        membership = await db.memberships.get(allowed, user_id)
        if membership is not None and membership.membership == "join":
            return True
    return False


class RoomSummaries:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def summary(
        self, requester: Requester | None, tenant: Tenant, room_id_or_alias: str
    ) -> JsonDict:
        """GET /room_summary/{roomIdOrAlias}: the summary, with the requester's
        membership; 404 for what they may not see, as for an unknown room."""
        async with self._store.read() as tx:
            room_id = await resolve_room(tx, room_id_or_alias)
            if await RoomRepos.of(tx).events.room_tenant(room_id) != tenant.server_name:
                raise NotFound("No such room")
            summary = await summarise(tx, room_id)
            user_id = requester.user_id if requester is not None else None
            if summary is None or not await may_preview(tx, user_id, summary):
                raise NotFound("No such room")
            if user_id is not None:
                own = await RoomRepos.of(tx).memberships.get(room_id, user_id)
                if own is not None:
                    summary["membership"] = own.membership
        return summary
