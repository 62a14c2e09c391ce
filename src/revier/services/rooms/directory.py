"""Room aliases and the public room directory (spec: "Room aliases", "Listing rooms").

Both are per tenant: an alias lives under the tenant's server_name, and the
directory lists only the tenant's published rooms. Another tenant's aliases
and rooms look like nothing at all (M_NOT_FOUND), never "forbidden", so one
organisation can't learn what the other has.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from revier.errors import AlreadyExists, Forbidden, InvalidParam, NotFound
from revier.events.identifiers import is_valid_room_alias, server_name_of
from revier.events.power_levels import required_power_level, user_power_level
from revier.events.types import JsonDict
from revier.policy.directory import check_may_publish
from revier.services.core import Requester, Tenant
from revier.services.rooms.closed_rooms import require_open
from revier.services.rooms.visibility import is_world_readable
from revier.storage import Conflict, Store, Tx
from revier.storage.rooms import RoomRepos

CANONICAL_ALIAS = "m.room.canonical_alias"
MAX_PUBLIC_ROOMS_LIMIT = 1000
DEFAULT_PUBLIC_ROOMS_LIMIT = 100


@dataclass(frozen=True)
class PublicRoomsQuery:
    limit: int | None = None
    since: str | None = None
    server: str | None = None
    search_term: str | None = None
    # None: every room type; a list may hold None for rooms without a type.
    room_types: tuple[str | None, ...] | None = None


class DirectoryService:
    def __init__(self, store: Store) -> None:
        self._store = store

    # --- aliases -----------------------------------------------------------

    async def create_alias(self, requester: Requester, room_alias: str, room_id: str) -> None:
        """PUT /directory/room/{roomAlias}: members may name the room under their tenant."""
        _check_alias(room_alias)
        if server_name_of(room_alias) != requester.tenant.server_name:
            raise InvalidParam(
                f"Aliases must end in :{requester.tenant.server_name}, this organisation's server"
            )
        try:
            async with self._store.transaction() as tx:
                db = RoomRepos.of(tx)
                await _require_joined_room(tx, requester, room_id)
                await require_open(tx, room_id)
                if await db.aliases.room_id_for(room_alias) is not None:
                    raise AlreadyExists(f"Room alias {room_alias} already exists")
                await db.aliases.create(room_alias, room_id, requester.user_id)
        except Conflict:
            # Two clients raced for the same alias; the other one won.
            raise AlreadyExists(f"Room alias {room_alias} already exists") from None

    async def resolve_alias(self, requester: Requester, room_alias: str) -> JsonDict:
        """GET /directory/room/{roomAlias}"""
        _check_alias(room_alias)
        async with self._store.read() as tx:
            db = RoomRepos.of(tx)
            room_id = await db.aliases.room_id_for(room_alias)
            room = await db.rooms.get(room_id) if room_id else None
        if room is None or room.tenant != requester.tenant.server_name:
            raise NotFound(f"Room alias {room_alias} not found")
        return {"room_id": room.room_id, "servers": [requester.tenant.server_name]}

    async def delete_alias(self, requester: Requester, room_alias: str) -> None:
        """DELETE /directory/room/{roomAlias}.

        The spec leaves the rule to the server ("for instance ... their creator
        or a server administrator"). Allowed here: the alias' creator, a tenant
        admin, and a joined member who may change the room's
        m.room.canonical_alias (the room's own moderators). The canonical
        alias event is left alone: changing it is a state event of its own.
        """
        _check_alias(room_alias)
        async with self._store.transaction() as tx:
            db = RoomRepos.of(tx)
            room_id = await db.aliases.room_id_for(room_alias)
            room = await db.rooms.get(room_id) if room_id else None
            if room is None or room.tenant != requester.tenant.server_name:
                raise NotFound(f"Room alias {room_alias} not found")
            creator = await db.aliases.creator_of(room_alias)
            if (
                creator != requester.user_id
                and not requester.is_admin
                and not await _may_change_canonical_alias(tx, requester, room.room_id)
            ):
                raise Forbidden("Only the alias' creator or a room moderator may remove it")
            await db.aliases.delete(room_alias)

    async def local_aliases(self, requester: Requester, room_id: str) -> list[str]:
        """GET /rooms/{roomId}/aliases: for members, or anyone when world_readable."""
        async with self._store.read() as tx:
            db = RoomRepos.of(tx)
            room = await db.rooms.get(room_id)
            if room is None or room.tenant != requester.tenant.server_name:
                raise Forbidden("You are not in this room")
            membership = await db.memberships.get(room_id, requester.user_id)
            joined = membership is not None and membership.membership == "join"
            if not joined and not await is_world_readable(tx, room_id):
                raise Forbidden("You are not in this room")
            return sorted(await db.aliases.for_room(room_id))

    # --- the public room directory -----------------------------------------

    async def get_visibility(self, requester: Requester, room_id: str) -> str:
        """GET /directory/list/room/{roomId}"""
        async with self._store.read() as tx:
            room = await RoomRepos.of(tx).rooms.get(room_id)
        if room is None or room.tenant != requester.tenant.server_name:
            raise NotFound("Room not found")
        return "public" if room.is_public else "private"

    async def set_visibility(self, requester: Requester, room_id: str, visibility: str) -> None:
        """PUT /directory/list/room/{roomId}: room moderators (or tenant admins) publish."""
        if visibility not in ("public", "private"):
            raise InvalidParam("'visibility' must be 'public' or 'private'")
        if visibility == "public":
            check_may_publish(requester.tenant.policy, is_admin=requester.is_admin)
        async with self._store.transaction() as tx:
            db = RoomRepos.of(tx)
            room = await db.rooms.get(room_id)
            if room is None or room.tenant != requester.tenant.server_name:
                raise NotFound("Room not found")
            if not requester.is_admin and not await _may_change_canonical_alias(
                tx, requester, room_id
            ):
                raise Forbidden("You need the power to change the room's aliases to do this")
            if visibility == "public":
                await require_open(tx, room_id)
            await db.rooms.set_public(room_id, visibility == "public")

    async def public_rooms(self, tenant: Tenant, query: PublicRoomsQuery) -> JsonDict:
        """GET and POST /publicRooms: the tenant's published rooms, biggest first."""
        offset = _parse_since(query.since)
        limit = query.limit if query.limit is not None else DEFAULT_PUBLIC_ROOMS_LIMIT
        limit = max(1, min(limit, MAX_PUBLIC_ROOMS_LIMIT))
        if query.server not in (None, tenant.server_name):
            # Federation is closed: other directories (other tenants too) aren't shown.
            return {"chunk": [], "total_room_count_estimate": 0}
        async with self._store.read() as tx:
            room_ids = await RoomRepos.of(tx).rooms.public_room_ids(tenant.server_name)
            entries = [await _public_room_entry(tx, room_id) for room_id in room_ids]
        total = len(entries)
        entries = [e for e in entries if _matches(e, query)]
        entries.sort(key=lambda e: (-int(e["num_joined_members"]), str(e["room_id"])))
        page = entries[offset : offset + limit]
        body: JsonDict = {"chunk": page, "total_room_count_estimate": total}
        if offset + limit < len(entries):
            body["next_batch"] = f"o{offset + limit}"
        if offset > 0:
            body["prev_batch"] = f"o{max(0, offset - limit)}"
        return body


def _check_alias(room_alias: str) -> None:
    if not is_valid_room_alias(room_alias):
        raise InvalidParam(f"{room_alias!r} is not a valid room alias")


def _parse_since(since: str | None) -> int:
    if since is None:
        return 0
    if since.startswith("o") and since[1:].isdigit() and len(since) < 12:
        return int(since[1:])
    raise InvalidParam("'since' is not a token this server gave out")


async def _require_joined_room(tx: Tx, requester: Requester, room_id: str) -> None:
    db = RoomRepos.of(tx)
    room = await db.rooms.get(room_id)
    membership = await db.memberships.get(room_id, requester.user_id)
    if (
        room is None
        or room.tenant != requester.tenant.server_name
        or membership is None
        or membership.membership != "join"
    ):
        raise Forbidden("You are not in this room")


async def _may_change_canonical_alias(tx: Tx, requester: Requester, room_id: str) -> bool:
    db = RoomRepos.of(tx)
    membership = await db.memberships.get(room_id, requester.user_id)
    if membership is None or membership.membership != "join":
        return False
    state = await db.events.current_state(room_id)
    create = state.get(("m.room.create", ""))
    if create is None:
        return False
    power = state.get(("m.room.power_levels", ""))
    levels = dict(power.content) if power else None
    mine = user_power_level(requester.user_id, levels, create, create.room_version)
    return mine >= required_power_level(CANONICAL_ALIAS, True, levels)


async def _public_room_entry(tx: Tx, room_id: str) -> JsonDict:
    """One PublishedRoomsChunk entry, from the room's current state."""
    db = RoomRepos.of(tx)
    state = await db.events.current_state(room_id)

    def value(event_type: str, key: str) -> Any:
        event = state.get((event_type, ""))
        found = event.content.get(key) if event else None
        return found if isinstance(found, str) else None

    entry: JsonDict = {
        "room_id": room_id,
        "num_joined_members": await db.memberships.count(room_id),
        "world_readable": value("m.room.history_visibility", "history_visibility")
        == "world_readable",
        "guest_can_join": value("m.room.guest_access", "guest_access") == "can_join",
        "join_rule": value("m.room.join_rules", "join_rule") or "invite",
    }
    optional = {
        "name": value("m.room.name", "name"),
        "topic": value("m.room.topic", "topic"),
        "canonical_alias": value(CANONICAL_ALIAS, "alias"),
        "avatar_url": value("m.room.avatar", "url"),
        "room_type": value("m.room.create", "type"),
    }
    entry.update({k: v for k, v in optional.items() if v})
    return entry


def _matches(entry: JsonDict, query: PublicRoomsQuery) -> bool:
    if query.room_types is not None and entry.get("room_type") not in query.room_types:
        return False
    if not query.search_term:
        return True
    needle = query.search_term.casefold()
    return any(
        needle in str(entry.get(key, "")).casefold() for key in ("name", "topic", "canonical_alias")
    )
