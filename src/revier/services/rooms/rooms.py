"""Rooms: creating them, sending events into them, reading their state."""

from __future__ import annotations

from typing import Any

from revier.errors import Forbidden, InvalidParam, NotFound
from revier.events.pdu import Pdu
from revier.events.power_levels import action_power_level, user_power_level
from revier.events.redaction import redact
from revier.events.types import JsonDict
from revier.notify import Notifier
from revier.policy.directory import check_may_publish
from revier.services.core import Clock, Requester, require_not_suspended, users
from revier.services.rooms import child_events, search_index, suspension
from revier.services.rooms.canonical_alias import CANONICAL_ALIAS, check_canonical_alias
from revier.services.rooms.event_format import client_events
from revier.services.rooms.room_creation import create_room_events, encryption_for
from revier.services.rooms.room_events import (
    CREATE,
    POWER_LEVELS,
    NewEvent,
    RoomEventWriter,
    Written,
    require_same_tenant,
)
from revier.services.rooms.visibility import Visibility
from revier.storage import Store, Tx
from revier.storage.rooms import RoomRepos
from revier.storage.rooms.events import StoredEvent

MAX_EVENT_BYTES = 65536


class RoomService:
    def __init__(
        self,
        store: Store,
        writer: RoomEventWriter,
        notifier: Notifier,
        clock: Clock,
        visibility: Visibility,
        *,
        default_room_version: str,
    ) -> None:
        self._store = store
        self._writer = writer
        self._notifier = notifier
        self._clock = clock
        self._visibility = visibility
        self._default_room_version = default_room_version

    def _wake(self, written: Written) -> None:
        self._notifier.notify(rooms=written.rooms, users=written.users)

    @property
    def default_room_version(self) -> str:
        """The version of rooms created without one (``m.room_versions`` capability)."""
        return self._default_room_version

    async def create_room(self, requester: Requester, request: dict[str, Any]) -> str:
        """POST /createRoom"""
        require_not_suspended(requester)
        tenant = requester.tenant
        encrypt = encryption_for(tenant.policy.room_encryption, request)
        if request.get("visibility") == "public":
            check_may_publish(tenant.policy, is_admin=requester.is_admin)
        version = request.get("room_version", self._default_room_version)
        if not isinstance(version, str):
            raise InvalidParam("'room_version' must be a string")
        invitees = request.get("invite") or []
        if not isinstance(invitees, list) or not all(isinstance(u, str) for u in invitees):
            raise InvalidParam("'invite' must be a list of user IDs")
        written = Written()
        async with self._store.transaction() as tx:
            for invitee in invitees:
                await users.local_user(tx, requester.tenant, invitee)
            alias = await self._alias_for(tx, requester, request.get("room_alias_name"))
            profile = await users.member_profile(tx, requester.user_id)
            room_id = await create_room_events(
                tx,
                self._writer,
                tenant,
                requester.user_id,
                profile,
                request,
                version=version,
                encrypt=encrypt,
                alias=alias,
                invitees=invitees,
                now=self._clock.time_ms(),
                written=written,
            )
            if alias:
                await RoomRepos.of(tx).aliases.create(alias, room_id, requester.user_id)
        self._wake(written)
        return room_id

    async def _alias_for(self, tx: Tx, requester: Requester, localpart: Any) -> str | None:
        if localpart is None:
            return None
        if not isinstance(localpart, str) or not localpart or ":" in localpart:
            raise InvalidParam("'room_alias_name' must be the local part of an alias")
        alias = f"#{localpart}:{requester.tenant.server_name}"
        if await RoomRepos.of(tx).aliases.room_id_for(alias) is not None:
            from revier.errors import RoomInUse

            raise RoomInUse(f"The alias {alias} is taken")
        return alias

    async def send_event(
        self,
        requester: Requester,
        room_id: str,
        event_type: str,
        txn_id: str,
        content: dict[str, Any],
    ) -> str:
        """PUT /rooms/{roomId}/send/{eventType}/{txnId}: a retry returns the first event ID."""
        redacts = content.get("redacts") if event_type == "m.room.redaction" else None
        return await self._send(
            requester, room_id, NewEvent(event_type, content, redacts=redacts), txn_id
        )

    async def send_state(
        self,
        requester: Requester,
        room_id: str,
        event_type: str,
        state_key: str,
        content: dict[str, Any],
    ) -> str:
        """PUT /rooms/{roomId}/state/{eventType}/{stateKey}"""
        return await self._send(requester, room_id, NewEvent(event_type, content, state_key))

    async def redact(
        self, requester: Requester, room_id: str, event_id: str, txn_id: str, reason: str | None
    ) -> str:
        """PUT /rooms/{roomId}/redact/{eventId}/{txnId}"""
        content: dict[str, Any] = {} if reason is None else {"reason": reason}
        return await self._send(
            requester, room_id, NewEvent("m.room.redaction", content, redacts=event_id), txn_id
        )

    async def _send(
        self, requester: Requester, room_id: str, new: NewEvent, txn_id: str | None = None
    ) -> str:
        written = Written()
        async with self._store.transaction() as tx:
            db = RoomRepos.of(tx)
            if txn_id is not None:
                seen = await db.event_txns.event_id_for(
                    requester.user_id, requester.device_id, txn_id
                )
                if seen is not None:
                    return seen
            room_tenant = await db.events.room_tenant(room_id)
            if room_tenant is None:
                raise Forbidden("You are not in this room")
            require_same_tenant(requester.tenant, room_tenant)
            await suspension.check_send(tx, requester, room_id, new)
            if new.event_type == CANONICAL_ALIAS and new.state_key == "":
                await check_canonical_alias(tx, room_id, new.content)
            if new.event_type == "m.room.redaction" and new.redacts:
                target = await db.events.get(new.redacts)
                if target is not None and target.pdu.room_id != room_id:
                    # Not applied anyway (_apply_redaction); refused so that no
                    # redaction names another room's event.
                    raise InvalidParam("The event to redact is in another room")
            stored = await self._writer.send(
                tx, requester.tenant, room_id, requester.user_id, new, written
            )
            if new.event_type == "m.room.redaction" and new.redacts:
                await self._apply_redaction(tx, stored, new.redacts)
            if txn_id is not None:
                await db.event_txns.remember(
                    requester.user_id,
                    requester.device_id,
                    txn_id,
                    stored.event_id,
                    self._clock.time_ms(),
                )
        self._wake(written)
        return stored.event_id

    async def _apply_redaction(self, tx: Tx, redaction: StoredEvent, target_id: str) -> None:
        """Strip the target's content for good, if the redacter may redact it.

        Client-server rule ("Redactions"): anyone may redact their own events;
        redacting someone else's needs the room's ``redact`` power level.
        """
        db = RoomRepos.of(tx)
        target = await db.events.get(target_id)
        if target is None or target.pdu.room_id != redaction.pdu.room_id:
            return
        if target.redacted_by is not None:
            return
        if target.pdu.sender != redaction.pdu.sender:
            state = await db.events.current_state_events(
                redaction.pdu.room_id, [CREATE, POWER_LEVELS]
            )
            create = state[CREATE]
            power_levels = state.get(POWER_LEVELS)
            levels = dict(power_levels.content) if power_levels else None
            level = user_power_level(redaction.pdu.sender, levels, create, create.room_version)
            if level < action_power_level("redact", levels):
                raise Forbidden("Redacting other people's messages needs the redact power level")
        version = redaction.pdu.room_version
        stripped = Pdu(redact(target.pdu.to_dict(), version), version, event_id=target.event_id)
        await db.events.replace_json(target.event_id, stripped, redaction.event_id)
        await child_events.forget(tx, target.event_id)
        await search_index.forget(tx, target.stream_ordering)

    async def get_state(self, requester: Requester, room_id: str) -> list[dict[str, Any]]:
        """GET /rooms/{roomId}/state: current state, or as it was when the user left."""
        async with self._store.read() as tx:
            db = RoomRepos.of(tx)
            upto = await self._visibility.read_position(tx, requester, room_id)
            if upto is None:
                ids = await db.events.current_state_ids(room_id)
            else:
                ids = await db.events.state_ids_at(room_id, upto)
            loaded = await db.events.get_many(ids.values())
        return [loaded[eid].pdu.client_format() for eid in ids.values() if eid in loaded]

    async def get_state_event(
        self, requester: Requester, room_id: str, event_type: str, state_key: str
    ) -> Pdu:
        """GET /rooms/{roomId}/state/{eventType}/{stateKey}"""
        async with self._store.read() as tx:
            db = RoomRepos.of(tx)
            upto = await self._visibility.read_position(tx, requester, room_id)
            key = (event_type, state_key)
            if upto is None:
                pdu = (await db.events.current_state_events(room_id, [key])).get(key)
            else:
                event = await db.events.state_event_at(room_id, key, upto)
                pdu = event.pdu if event is not None else None
        if pdu is None:
            raise NotFound("No such state event")
        return pdu

    async def get_event(self, requester: Requester, room_id: str, event_id: str) -> JsonDict:
        """GET /rooms/{roomId}/event/{eventId}: only if the user may see it."""
        async with self._store.read() as tx:
            event = await RoomRepos.of(tx).events.get(event_id)
            if event is None or event.pdu.room_id != room_id:
                raise NotFound("No such event")
            if not await self._visibility.filter(tx, requester.user_id, room_id, [event]):
                raise NotFound("No such event")
            (body,) = await client_events(tx, requester, [event], now_ms=self._clock.time_ms())
        return body

    async def joined_rooms(self, requester: Requester) -> list[str]:
        async with self._store.read() as tx:
            joined = await RoomRepos.of(tx).memberships.for_user(requester.user_id, ["join"])
        return [m.room_id for m in joined]
