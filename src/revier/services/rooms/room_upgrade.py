"""Room upgrades (spec: "Room Upgrades", POST /rooms/{roomId}/upgrade).

One transaction does what the spec's server behaviour lists, in its order:
check the upgrader may send m.room.tombstone; create the replacement with
``predecessor`` (and the old room's ``type``); copy the transferable state and
the bans; move the local aliases and the directory listing; send the
tombstone; raise the old room's ``events_default`` and ``invite``. Either the
whole upgrade is there or none of it.

Memberships are not copied (the spec: members join the successor themselves,
following the tombstone); the join rules are, so an invite-only room's members
need an invite (Element's upgrade dialog offers to send them).
"""

from __future__ import annotations

import contextlib
import math
import secrets
from typing import Any

from revier.errors import BadJson, BadState, Forbidden, UnsupportedRoomVersion
from revier.events.pdu import Pdu
from revier.events.power_levels import required_power_level, room_creators, user_power_level
from revier.events.room_versions import KNOWN_ROOM_VERSIONS, get_room_version
from revier.events.types import StateKey
from revier.notify import Notifier
from revier.services.core import Clock, Requester, Tenant, users
from revier.services.notifications import PushRuleService
from revier.services.rooms.canonical_alias import CANONICAL_ALIAS
from revier.services.rooms.closed_rooms import require_open
from revier.services.rooms.room_creation import MEGOLM
from revier.services.rooms.room_events import (
    CREATE,
    ENCRYPTION,
    POWER_LEVELS,
    NewEvent,
    RoomEventWriter,
    Written,
    require_same_tenant,
)
from revier.storage import Store, Tx
from revier.storage.rooms import RoomRepos
from revier.storage.rooms.rooms import Room

TOMBSTONE = "m.room.tombstone"
# The spec's recommended transferable state, plus the room's place in spaces and
# its canonical alias (written after the aliases moved). Nothing whose meaning
# depends on who sent it: those events would name the upgrader as their author.
TRANSFERABLE = frozenset(
    {
        "m.room.server_acl",
        "m.room.encryption",
        "m.room.name",
        "m.room.avatar",
        "m.room.topic",
        "m.room.guest_access",
        "m.room.history_visibility",
        "m.room.join_rules",
        "m.space.child",
        "m.space.parent",
    }
)


class RoomUpgrader:
    def __init__(
        self,
        store: Store,
        writer: RoomEventWriter,
        notifier: Notifier,
        clock: Clock,
        push_rules: PushRuleService,
    ) -> None:
        self._store = store
        self._writer = writer
        self._notifier = notifier
        self._clock = clock
        self._push_rules = push_rules

    async def upgrade(self, requester: Requester, room_id: str, body: dict[str, Any]) -> str:
        """POST /rooms/{roomId}/upgrade; returns the replacement room's ID."""
        version = body.get("new_version")
        if not isinstance(version, str):
            raise BadJson("'new_version' must be a string")
        if version not in KNOWN_ROOM_VERSIONS:
            raise UnsupportedRoomVersion(f"Room version {version!r} is not supported here")
        additional = body.get("additional_creators", [])
        if not isinstance(additional, list) or not all(isinstance(u, str) for u in additional):
            raise BadJson("'additional_creators' must be a list of user IDs")
        written = Written()
        async with self._store.transaction() as tx:
            for user_id in additional:
                await users.local_user(tx, requester.tenant, user_id)
            upgrade = _Upgrade(self._writer, tx, requester, written, self._clock.time_ms())
            new_room_id = await upgrade.run(room_id, version, additional)
            members = await RoomRepos.of(tx).memberships.members(room_id)
            local = [u for u in members if u.endswith(f":{requester.tenant.server_name}")]
            rules_changed = await self._push_rules.copy_room_rules(tx, local, room_id, new_room_id)
        self._notifier.notify(rooms=written.rooms, users=written.users)
        for user_id in rules_changed:
            await self._push_rules.publish(user_id)
        return new_room_id


class _Upgrade:
    """One upgrade's steps on one transaction."""

    def __init__(
        self, writer: RoomEventWriter, tx: Tx, requester: Requester, written: Written, now: int
    ) -> None:
        self._writer = writer
        self._tx = tx
        self._db = RoomRepos.of(tx)
        self._requester = requester
        self._tenant: Tenant = requester.tenant
        self._user_id = requester.user_id
        self._written = written
        self._now = now

    async def run(self, room_id: str, version: str, additional: list[str]) -> str:
        room = await self._db.rooms.get(room_id)
        if room is None:  # an unknown room looks like one the user isn't in
            raise Forbidden("You are not in this room")
        require_same_tenant(self._tenant, room.tenant)
        membership = await self._db.memberships.get(room_id, self._user_id)
        if membership is None or membership.membership != "join":
            raise Forbidden("You are not in this room")
        await require_open(self._tx, room_id)
        state = await self._db.events.current_state(room_id)
        if (TOMBSTONE, "") in state:
            raise BadState("This room has been upgraded already")
        create = state[CREATE]
        levels = dict(state[POWER_LEVELS].content) if POWER_LEVELS in state else None
        level = user_power_level(self._user_id, levels, create, create.room_version)
        if level < required_power_level(TOMBSTONE, True, levels):
            raise Forbidden("Upgrading this room needs the power to send m.room.tombstone")

        new_room_id = await self._create(room, create, version, additional)
        await self._copy_state(room_id, new_room_id, state, version, levels, level)
        await self._move_aliases(room_id, new_room_id, state)
        await self._db.rooms.set_public(new_room_id, room.is_public)
        await self._db.rooms.set_public(room_id, False)
        # Again, now that this transaction holds the stream lock (taken by its first
        # event): on PostgreSQL a concurrent upgrade that committed meanwhile shows
        # here, and a second successor would fork the room.
        if await self._db.events.current_state_events(room_id, [(TOMBSTONE, "")]):
            raise BadState("This room has been upgraded already")
        await self._send(
            room_id,
            TOMBSTONE,
            {"body": "This room has been replaced", "replacement_room": new_room_id},
        )
        await self._restrict(room_id, levels)
        return new_room_id

    async def _create(self, old: Room, create: Pdu, version: str, additional: list[str]) -> str:
        rv = get_room_version(version)
        extremities, _ = await self._db.events.extremities_and_depth(old.room_id)
        predecessor: dict[str, str] = {"room_id": old.room_id}
        if not rv.privileged_creators:  # v12 lets it go; earlier versions want the event
            predecessor["event_id"] = extremities[0]
        content: dict[str, Any] = {"room_version": version, "predecessor": predecessor}
        if isinstance(create.content.get("type"), str):
            content["type"] = create.content["type"]
        if not rv.creator_from_sender:
            content["creator"] = self._user_id
        if rv.privileged_creators and additional:
            content["additional_creators"] = additional
        room_id = None if rv.room_id_from_create_event else _new_room_id(self._tenant)
        stored = await self._writer.send_create(
            self._tx, self._tenant, version, self._user_id, content, self._written, room_id
        )
        new_room_id = stored.pdu.room_id
        await self._db.rooms.create(
            Room(
                new_room_id,
                self._tenant.server_name,
                version,
                self._user_id,
                self._now,
                False,
                bump_stamp=stored.stream_ordering,
            )
        )
        profile = await users.member_profile(self._tx, self._user_id)
        await self._send(
            new_room_id, "m.room.member", {"membership": "join", **profile}, self._user_id
        )
        return new_room_id

    async def _copy_state(
        self,
        old_room_id: str,
        room_id: str,
        state: dict[StateKey, Pdu],
        version: str,
        levels: dict[str, Any] | None,
        old_level: float,
    ) -> None:
        """Power levels first (the upgrader needs the power to send the rest), then
        the transferable state and the bans; the levels as they were come last."""
        rv = get_room_version(version)
        new_create = (await self._db.events.current_state_events(room_id, [CREATE]))[CREATE]
        creators = room_creators(new_create, rv) if rv.privileged_creators else frozenset()
        final = dict(levels) if levels is not None else {}
        final_users = {u: p for u, p in dict(final.get("users") or {}).items() if u not in creators}
        if not rv.privileged_creators and math.isinf(old_level):
            # A v12 creator going to an earlier version keeps the power they had.
            final_users[self._user_id] = 100
        final["users"] = final_users
        working = dict(final)
        if not rv.privileged_creators:
            working["users"] = {**final_users, self._user_id: max(100, _level_int(old_level))}
        await self._send(room_id, "m.room.power_levels", working)
        encrypted = ENCRYPTION in state
        for (event_type, state_key), pdu in state.items():
            if event_type in TRANSFERABLE:
                await self._send(room_id, event_type, dict(pdu.content), state_key)
        if not encrypted and self._tenant.policy.room_encryption != "optional":
            # The successor is a new room under today's policy: encrypted like any other.
            await self._send(room_id, "m.room.encryption", {"algorithm": MEGOLM})
        for banned in await self._db.memberships.members(old_room_id, ["ban"]):
            await self._send(room_id, "m.room.member", {"membership": "ban"}, banned)
        if working != final:
            await self._send(room_id, "m.room.power_levels", final)

    async def _move_aliases(self, old: str, new: str, state: dict[StateKey, Pdu]) -> None:
        for alias in await self._db.aliases.for_room(old):
            creator = await self._db.aliases.creator_of(alias) or self._user_id
            await self._db.aliases.delete(alias)
            await self._db.aliases.create(alias, new, creator)
        canonical = state.get((CANONICAL_ALIAS, ""))
        if canonical is not None and canonical.content:
            await self._send(new, CANONICAL_ALIAS, dict(canonical.content))
            # The old room no longer owns its aliases: clients must not offer them there.
            await self._try_send(old, CANONICAL_ALIAS, {})

    async def _restrict(self, room_id: str, levels: dict[str, Any] | None) -> None:
        """Spec: "setting events_default and invite to the greater of 50 and
        users_default + 1", "if possible": an upgrader who may send the tombstone
        but not change the power levels leaves them as they are."""
        current = dict(levels) if levels is not None else {}
        users_default = current.get("users_default", 0)
        floor = max(50, users_default + 1 if isinstance(users_default, int) else 1)
        restricted = dict(current)
        for key, default in (("events_default", 0), ("invite", 0)):
            value = current.get(key, default)
            if not isinstance(value, int) or value < floor:
                restricted[key] = floor
        if restricted != current:
            await self._try_send(room_id, "m.room.power_levels", restricted)

    async def _send(
        self, room_id: str, event_type: str, content: dict[str, Any], state_key: str = ""
    ) -> None:
        await self._writer.send(
            self._tx,
            self._tenant,
            room_id,
            self._user_id,
            NewEvent(event_type, content, state_key),
            self._written,
        )

    async def _try_send(self, room_id: str, event_type: str, content: dict[str, Any]) -> None:
        # The auth rules run before anything is written (RoomEventWriter.send), so a
        # refusal leaves the transaction as it was.
        with contextlib.suppress(Forbidden):
            await self._send(room_id, event_type, content)


def _level_int(level: float) -> int:
    return 100 if math.isinf(level) else int(level)


def _new_room_id(tenant: Tenant) -> str:
    return f"!{secrets.token_urlsafe(18)}:{tenant.server_name}"
