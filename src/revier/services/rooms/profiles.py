"""Profiles (display name, avatar) and the user directory.

Profiles are visible within the tenant only: another organisation's users
are answered M_NOT_FOUND, exactly like users who don't exist. A changed
profile is carried into every joined room as a new m.room.member event, as
clients take room members' names from those events.
"""

from __future__ import annotations

from typing import Any

import structlog

from revier.errors import BadJson, Forbidden, InvalidParam, MatrixError, NotFound
from revier.events.types import JsonDict
from revier.notify import Notifier
from revier.services.core import Requester, Tenant, User, require_not_suspended, require_self, users
from revier.services.rooms.room_events import NewEvent, RoomEventWriter, Written
from revier.storage import Store
from revier.storage.rooms import RoomRepos

log = structlog.get_logger("revier.profiles")

MAX_AVATAR_URL_LENGTH = 1024
PROFILE_FIELDS = ("displayname", "avatar_url")
MAX_DIRECTORY_LIMIT = 100
# Member-event keys that belong to one particular membership change, not to the profile.
_TRANSIENT_MEMBER_KEYS = ("reason", "join_authorised_via_users_server", "third_party_invite")


class ProfileService:
    def __init__(self, store: Store, writer: RoomEventWriter, notifier: Notifier) -> None:
        self._store = store
        self._writer = writer
        self._notifier = notifier

    async def get_profile(self, tenant: Tenant, user_id: str) -> JsonDict:
        """GET /profile/{userId}: within the tenant (a token's, or the Host's when
        the tenant's profiles are public)."""
        user = await self._visible_user(tenant, user_id)
        return {k: v for k, v in _fields(user).items() if v is not None}

    async def get_field(self, tenant: Tenant, user_id: str, key: str) -> JsonDict:
        """GET /profile/{userId}/{keyName}: M_NOT_FOUND when the field isn't set."""
        user = await self._visible_user(tenant, user_id)
        value = _fields(user).get(key)
        if value is None:
            raise NotFound(f"{user_id} has no {key}")
        return {key: value}

    async def set_field(self, requester: Requester, user_id: str, key: str, body: JsonDict) -> None:
        """PUT /profile/{userId}/{keyName}: only your own; null or "" clears the field."""
        require_self(requester, user_id, "change your own profile")
        require_not_suspended(requester)
        if key not in PROFILE_FIELDS:
            raise Forbidden(f"Only {' and '.join(PROFILE_FIELDS)} can be set on this server")
        if key not in body:
            raise BadJson(f"The body must contain '{key}'")
        value = _validated(key, body[key])
        async with self._store.transaction() as tx:
            user = await users.get(tx, user_id)
            if user is None:
                raise NotFound("No such user")
            fields = {**_fields(user), key: value}
            await users.set_profile(
                tx, user_id, displayname=fields["displayname"], avatar_url=fields["avatar_url"]
            )
        await self._propagate(requester.tenant, requester.user_id)

    async def set_displayname_for(self, tenant: Tenant, user_id: str, displayname: str) -> bool:
        """The organisation sets a user's display name (from its directory), shown in
        every room the user is in; False when it was that already."""
        users.validate_displayname(displayname)
        async with self._store.transaction() as tx:
            user = await users.local_user(tx, tenant, user_id)
            if user.displayname == displayname:
                return False
            await users.set_profile(
                tx, user_id, displayname=displayname, avatar_url=user.avatar_url
            )
        await self._propagate(tenant, user_id)
        return True

    async def delete_field(self, requester: Requester, user_id: str, key: str) -> None:
        """DELETE /profile/{userId}/{keyName}"""
        if key not in PROFILE_FIELDS:
            require_self(requester, user_id, "change your own profile")
            return  # no other fields are stored, so there is nothing to delete
        await self.set_field(requester, user_id, key, {key: None})

    async def _visible_user(self, tenant: Tenant, user_id: str) -> User:
        async with self._store.read() as tx:
            return await users.local_user(tx, tenant, user_id)

    async def _propagate(self, tenant: Tenant, user_id: str) -> None:
        """A fresh join event with the new profile in each joined room, one room at a time.

        One transaction per room keeps each write short; a room whose rules
        refuse the event (there should be none) is logged and skipped, since
        the profile itself is already saved. The profile is re-read in each
        room's transaction, so two quick changes can't leave a room with the
        older one.
        """
        async with self._store.read() as tx:
            joined = await RoomRepos.of(tx).memberships.for_user(user_id, ["join"])
        for membership in joined:
            written = Written()
            try:
                async with self._store.transaction() as tx:
                    db = RoomRepos.of(tx)
                    current = await db.memberships.get(membership.room_id, user_id)
                    if current is None or current.membership != "join":
                        continue  # left in the meantime
                    user = await users.get(tx, user_id)
                    previous = await db.events.get(current.event_id)
                    if user is None or previous is None:
                        continue
                    content: dict[str, Any] = dict(previous.pdu.content)
                    for k in _TRANSIENT_MEMBER_KEYS:
                        content.pop(k, None)
                    content["membership"] = "join"
                    for k, v in _fields(user).items():
                        if v is None:
                            content.pop(k, None)
                        else:
                            content[k] = v
                    if content == dict(previous.pdu.content):
                        continue  # this room shows the profile already
                    await self._writer.send(
                        tx,
                        tenant,
                        membership.room_id,
                        user_id,
                        NewEvent("m.room.member", content, user_id),
                        written,
                    )
            except MatrixError as e:
                log.warning(
                    "profile change not sent to room", room_id=membership.room_id, error=e.errcode
                )
                continue
            self._notifier.notify(rooms=written.rooms, users=written.users)

    async def search_users(self, requester: Requester, search_term: str, limit: int) -> JsonDict:
        """POST /user_directory/search, as the tenant's ``user_directory`` policy allows."""
        limit = max(0, min(limit, MAX_DIRECTORY_LIMIT))
        term = search_term.strip()
        async with self._store.read() as tx:
            among = None
            if requester.tenant.policy.user_directory == "shared_rooms":
                among = await RoomRepos.of(tx).memberships.users_sharing_a_room(requester.user_id)
            found = (
                await users.search_directory(
                    tx, requester.tenant, term, limit=limit + 1, among=among
                )
                if term
                else []
            )
        results = []
        for user in found[:limit]:
            entry: JsonDict = {"user_id": user.user_id}
            if user.displayname:
                entry["display_name"] = user.displayname
            if user.avatar_url:
                entry["avatar_url"] = user.avatar_url
            results.append(entry)
        return {"results": results, "limited": len(found) > limit}


def _fields(user: User) -> dict[str, str | None]:
    return {"displayname": user.displayname, "avatar_url": user.avatar_url}


def _validated(key: str, value: object) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise BadJson(f"'{key}' must be a string")
    if key == "displayname":
        users.validate_displayname(value)
    if key == "avatar_url":
        if len(value) > MAX_AVATAR_URL_LENGTH:
            raise InvalidParam("The avatar URL is too long")
        if not value.startswith("mxc://"):
            raise InvalidParam("'avatar_url' must be an mxc:// URI")
    return value
