"""The organisation's view of its rooms: list, inspect, close, purge.

Metadata only: names, aliases, topics, member counts and IDs, settings. No
path here reads a message; in encrypted rooms the server couldn't anyway.
A room of another tenant is "not found", never "forbidden".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from revier.errors import Forbidden, NotFound
from revier.events.types import JsonDict
from revier.policy.room_closure import check_reason
from revier.services.core import Actor, Requester, Tenant, TenantRegistry
from revier.services.rooms.membership import resolve_room
from revier.services.rooms.room_closing import Progress, RoomCloser
from revier.storage import Store, Tx
from revier.storage.rooms import RoomRepos
from revier.storage.rooms.room_closures import RoomClosure
from revier.storage.rooms.rooms import Room

NAME = "m.room.name"
CANONICAL_ALIAS = "m.room.canonical_alias"
TOPIC = "m.room.topic"
ENCRYPTION = "m.room.encryption"
JOIN_RULES = "m.room.join_rules"
_DESCRIBED = (NAME, CANONICAL_ALIAS, TOPIC, ENCRYPTION, JOIN_RULES)
MAX_SEARCH_LENGTH = 255


@dataclass(frozen=True)
class RoomsPage:
    rooms: list[JsonDict]
    # How many rooms match (all of the tenant's without a search).
    total: int


class RoomAdminService:
    def __init__(self, store: Store, closer: RoomCloser, tenants: TenantRegistry) -> None:
        self._store = store
        self._closer = closer
        self._tenants = tenants

    async def list_rooms(
        self, tenant: Tenant, *, search: str | None, offset: int, limit: int
    ) -> RoomsPage:
        """The tenant's rooms, newest first; ``search`` matches (case-insensitively)
        the room ID, the name, the canonical alias or any local alias."""
        async with self._store.read() as tx:
            overview = RoomRepos.of(tx).room_overview
            if not search:
                page = await overview.rooms(tenant.server_name, offset=offset, limit=limit)
                total = await overview.count(tenant.server_name)
            else:
                # Names live in state events' JSON: matched here rather than in
                # SQL, over two columns' worth of data per room (a few thousand
                # rooms take milliseconds).
                every = await overview.rooms(tenant.server_name)
                names = await overview.tenant_state_contents(
                    tenant.server_name, (NAME, CANONICAL_ALIAS)
                )
                aliases = await overview.tenant_aliases(tenant.server_name)
                matching = [
                    r
                    for r in every
                    if room_matches(
                        search,
                        r.room_id,
                        names.get(r.room_id, {}),
                        aliases.get(r.room_id, []),
                    )
                ]
                total = len(matching)
                page = matching[offset : offset + limit]
            return RoomsPage(await _describe(tx, page), total)

    async def get_room(self, tenant: Tenant | None, room_id_or_alias: str) -> JsonDict:
        """One room's metadata, its local aliases and joined members' user IDs."""
        async with self._store.read() as tx:
            db = RoomRepos.of(tx)
            room = await _room(tx, tenant, room_id_or_alias)
            entry = (await _describe(tx, [room]))[0]
            entry["aliases"] = (await db.room_overview.aliases([room.room_id])).get(
                room.room_id, []
            )
            entry["joined_member_ids"] = await db.memberships.members(room.room_id)
        return entry

    async def close_as(self, requester: Requester, room_id: str, reason: str | None) -> JsonDict:
        """POST /_revier/admin/v1/rooms/{roomId}/close: the tenant's admins may close
        any of its rooms, a room's creator their own room."""
        check_reason(reason)
        room = await self._room(requester.tenant, room_id)
        if not requester.is_admin and requester.user_id != room.creator:
            raise Forbidden("Only the organisation's admins or the room's creator may close it")
        closure = await self._closer.close(requester.tenant, room, Actor.of(requester), reason)
        return {"room_id": room.room_id, "closed": closure_json(closure)}

    async def purge_as(self, requester: Requester, room_id: str) -> JsonDict:
        """DELETE /_revier/admin/v1/rooms/{roomId}: the tenant's admins only."""
        if not requester.is_admin:
            raise Forbidden("Only the organisation's admins may purge rooms")
        room = await self._room(requester.tenant, room_id)
        closure = await self._closer.close(
            requester.tenant, room, Actor.of(requester), None, purge=True
        )
        return {"room_id": room.room_id, "closed": closure_json(closure)}

    async def close_locally(
        self,
        room_id_or_alias: str,
        actor: Actor,
        reason: str | None,
        *,
        purge: bool = False,
        progress: Progress | None = None,
    ) -> JsonDict:
        """The command line: any tenant's room, by ID or alias."""
        check_reason(reason)
        room = await self._room(None, room_id_or_alias)
        tenant = self._tenants.get(room.tenant)
        if tenant is None:
            raise NotFound(f"The room's tenant {room.tenant} is not configured")
        closure = await self._closer.close(
            tenant, room, actor, reason, purge=purge, progress=progress
        )
        return {"room_id": room.room_id, "closed": closure_json(closure)}

    async def resume_pending(self) -> None:
        """Start-up: finish the closures a stopped server left under way."""
        await self._closer.resume_pending()

    async def stop(self) -> None:
        """Shut-down: stop the closures running (the next start resumes them)."""
        await self._closer.stop()

    async def _room(self, tenant: Tenant | None, room_id_or_alias: str) -> Room:
        async with self._store.read() as tx:
            return await _room(tx, tenant, room_id_or_alias)


async def _room(tx: Tx, tenant: Tenant | None, room_id_or_alias: str) -> Room:
    """A room of ``tenant`` (None: of any tenant), by ID or local alias."""
    try:
        room_id = await resolve_room(tx, room_id_or_alias)
    except NotFound:
        raise NotFound("No such room") from None
    room = await RoomRepos.of(tx).rooms.get(room_id)
    if room is None or (tenant is not None and room.tenant != tenant.server_name):
        raise NotFound("No such room")
    return room


async def _describe(tx: Tx, page: Sequence[Room]) -> list[JsonDict]:
    """The list entries of a page of rooms: three queries whatever the page size."""
    db = RoomRepos.of(tx)
    ids = [r.room_id for r in page]
    state = await db.room_overview.state_contents(ids, _DESCRIBED)
    counts = await db.room_overview.member_counts(ids)
    closures = await db.room_closures.get_many(ids)
    out = []
    for room in page:
        content = state.get(room.room_id, {})
        counted = counts.get(room.room_id, {})
        closure = closures.get(room.room_id)
        out.append(
            {
                "room_id": room.room_id,
                "name": _text(content, NAME, "name"),
                "canonical_alias": _text(content, CANONICAL_ALIAS, "alias"),
                "topic": _text(content, TOPIC, "topic"),
                "creator": room.creator,
                "created_ts": room.created_ts,
                "room_version": room.room_version,
                "joined_members": counted.get("join", 0),
                "invited_members": counted.get("invite", 0),
                "encrypted": ENCRYPTION in content,
                "public": room.is_public,
                "join_rule": _text(content, JOIN_RULES, "join_rule"),
                "closed": closure_json(closure) if closure else None,
            }
        )
    return out


def _text(state: dict[str, JsonDict], event_type: str, key: str) -> str | None:
    value: Any = state.get(event_type, {}).get(key)
    return value if isinstance(value, str) else None


def closure_json(closure: RoomClosure) -> JsonDict:
    if closure.completed_ts is None:
        status = "purging" if closure.purge else "closing"
    else:
        status = "purged" if closure.purge else "closed"
    return {
        "closed_by": closure.closed_by,
        "closed_ts": closure.closed_ts,
        "reason": closure.reason,
        "status": status,
        "completed_ts": closure.completed_ts,
    }


def room_matches(
    search: str, room_id: str, state: dict[str, JsonDict], aliases: Sequence[str]
) -> bool:
    """Does a room match an admin's search (case-insensitive substring)?"""
    needle = search.casefold()
    haystack = [
        room_id,
        _text(state, NAME, "name") or "",
        _text(state, CANONICAL_ALIAS, "alias") or "",
        *aliases,
    ]
    return any(needle in value.casefold() for value in haystack)
