"""Building, authorising and storing room events: the one way an event enters a room.

Every event (createRoom's, a membership change, a message, a redaction)
goes through ``RoomEventWriter.send`` inside the caller's transaction: build
the PDU on the room's forward extremities, check it against the spec's
authorization rules on the current state, take a stream position, store it,
and update the projections (current state, memberships, notifications).
The caller commits, then notifies.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from prometheus_client import Counter

from revier.errors import Forbidden, NotFound
from revier.events.auth import auth_types_for_event, check_auth_rules
from revier.events.pdu import Pdu, build_pdu
from revier.events.types import StateKey
from revier.policy.encryption import refusal
from revier.policy.retention import RETENTION, RetentionBounds, check_retention
from revier.services.core import Clock, Tenant
from revier.services.notifications import PushActions
from revier.services.rooms import child_events, search_index
from revier.services.rooms.retention import RoomRetention
from revier.storage import Tx
from revier.storage.rooms import RoomRepos
from revier.storage.rooms.events import StoredEvent

CREATE: StateKey = ("m.room.create", "")
POWER_LEVELS: StateKey = ("m.room.power_levels", "")
ENCRYPTION: StateKey = ("m.room.encryption", "")

# Events a person notices: a room's newest one is its bump stamp, by which sliding
# sync orders room lists (a reaction, a receipt or a state change doesn't move a room).
BUMP_EVENT_TYPES = frozenset(
    {
        "m.room.create",
        "m.room.message",
        "m.room.encrypted",
        "m.sticker",
        "m.call.invite",
        "m.poll.start",
        "m.beacon_info",
    }
)

# Per tenant and kind, never per user or room: how often clients tried to put
# plaintext into an encrypted room, or to switch a room's encryption off.
ENCRYPTION_REFUSALS = Counter(
    "revier_encryption_refusals_total",
    "Events refused to keep rooms end-to-end encrypted",
    ["tenant", "reason"],
)


@dataclass(frozen=True)
class NewEvent:
    event_type: str
    content: dict[str, Any]
    state_key: str | None = None
    redacts: str | None = None
    # Written by the server itself (the room-closing notice), not for a client:
    # exempt from the rule against plaintext in encrypted rooms (policy/encryption.py).
    server_notice: bool = False


@dataclass
class Written:
    """What a transaction wrote: who must be woken once it commits."""

    events: list[StoredEvent] = field(default_factory=list)
    rooms: set[str] = field(default_factory=set)
    users: set[str] = field(default_factory=set)


class RoomEventWriter:
    def __init__(self, clock: Clock, push_actions: PushActions, retention: RoomRetention) -> None:
        self._clock = clock
        self._push_actions = push_actions
        self._retention = retention
        self._last_create_ts = 0

    async def send(
        self, tx: Tx, tenant: Tenant, room_id: str, sender: str, new: NewEvent, written: Written
    ) -> StoredEvent:
        db = RoomRepos.of(tx)
        version = await db.events.room_version(room_id)
        if version is None:
            raise NotFound("No such room")
        keys = auth_types_for_event(version, new.event_type, sender, new.state_key, new.content)
        own: StateKey | None = None if new.state_key is None else (new.event_type, new.state_key)
        # A message notifies members: read them with the rest (one statement).
        context = await db.send_context.read(
            room_id,
            [CREATE, POWER_LEVELS, ENCRYPTION, *keys, *([own] if own else [])],
            members=new.state_key is None,
        )
        state = context.state
        create = state.get(CREATE)
        if create is None:  # a room whose creation was rolled back
            raise NotFound("No such room")
        current = state.get(own) if own else None
        if current is not None and current.sender == sender and current.content == new.content:
            # The same state again (a join twice, a name set to itself) changes
            # nothing: no new event for every member's client, the existing one's ID.
            existing = await db.events.get(current.event_id)
            if existing is not None:
                return existing
        _check_encryption(tenant, state.get(ENCRYPTION), new)
        pdu = build_pdu(
            version,
            room_id=room_id,
            sender=sender,
            event_type=new.event_type,
            content=new.content,
            state_key=new.state_key,
            prev_events=context.prev_events,
            auth_events=[state[k].event_id for k in keys if k in state],
            depth=context.prev_depth + 1,
            origin_server_ts=self._clock.time_ms(),
            origin_server_name=tenant.server_name,
            signing_key=tenant.signing_key,
            redacts=new.redacts,
        )
        check_auth_rules(version, pdu, {k: state[k] for k in keys if k in state}, create)
        if new.event_type == RETENTION and new.state_key == "":
            # After the auth rules: who may not set it at all hears that, not the bounds.
            check_retention(new.content, RetentionBounds.of(tenant.policy))
        return await self.store(
            tx,
            pdu,
            written,
            create=create,
            power_levels=state.get(POWER_LEVELS),
            encrypted=ENCRYPTION in state,
            members=context.members,
        )

    async def send_create(
        self,
        tx: Tx,
        tenant: Tenant,
        version: str,
        sender: str,
        content: dict[str, Any],
        written: Written,
        room_id: str | None,
    ) -> StoredEvent:
        """The m.room.create event: no prev or auth events; v12 derives the room ID from it.

        Two identical create events (same sender and content in the same
        millisecond: a client creating rooms concurrently) would be one room ID
        in v12, so each create of this process gets its own timestamp, and one
        that exists already (another worker's) is moved on by a millisecond.
        """
        ts = self._clock.time_ms()
        while True:
            ts = max(ts, self._last_create_ts + 1)
            self._last_create_ts = ts
            pdu = build_pdu(
                version,
                room_id=room_id,
                sender=sender,
                event_type="m.room.create",
                content=content,
                state_key="",
                prev_events=[],
                auth_events=[],
                depth=1,
                origin_server_ts=ts,
                origin_server_name=tenant.server_name,
                signing_key=tenant.signing_key,
            )
            if room_id is not None or await RoomRepos.of(tx).events.get(pdu.event_id) is None:
                break
        check_auth_rules(version, pdu, {}, pdu)
        return await self.store(tx, pdu, written, create=pdu, power_levels=None)

    async def store(
        self,
        tx: Tx,
        pdu: Pdu,
        written: Written,
        *,
        create: Pdu,
        power_levels: Pdu | None,
        encrypted: bool = False,
        members: list[tuple[str, str | None]] | None = None,
    ) -> StoredEvent:
        """Store a checked event and update what follows from it. ``members``: the
        room's joined members if read already (``send_context``), else read here."""
        db = RoomRepos.of(tx)
        child = await child_events.resolve(tx, pdu)
        position = await db.event_appends.append(pdu, bump=pdu.type in BUMP_EVENT_TYPES)
        await search_index.record(tx, pdu, position, encrypted=encrypted)
        if child is not None:
            await child_events.record(tx, pdu, position, child)
        if pdu.type == "m.room.member" and pdu.state_key is not None:
            displayname = pdu.content.get("displayname")
            membership = str(pdu.content.get("membership"))
            # After the append, which holds the room's extremity row until commit:
            # no other writer changes this row meanwhile, so ``exists`` holds.
            before = await db.memberships.get(pdu.room_id, pdu.state_key)
            await db.memberships.record(
                pdu.room_id,
                pdu.state_key,
                membership,
                pdu.event_id,
                position,
                displayname if isinstance(displayname, str) else None,
                exists=before is not None,
            )
            written.users.add(pdu.state_key)
            if membership == "invite":
                # The invitee is not joined yet, so no other event reaches them;
                # their rules (.m.rule.invite_for_me) decide whether it notifies.
                await self._push_actions.record(
                    tx,
                    pdu,
                    position,
                    [(pdu.state_key, None)],
                    create=create,
                    power_levels=power_levels,
                    everyone=False,
                )
            elif membership in ("leave", "ban") or (
                membership == "join" and (before is None or before.membership != "join")
            ):
                # Nothing before joining (the invite) or of a room one left counts
                # as unread: /sync's counts, and the badge a push carries.
                await self._push_actions.mark_read(tx, pdu.state_key, pdu.room_id, position)
        if pdu.type == "m.room.power_levels" and pdu.state_key == "":
            power_levels = pdu
        if pdu.type == RETENTION and pdu.state_key == "":
            self._retention.forget(pdu.room_id)
        if not pdu.is_state:
            if members is None:
                members = await db.memberships.joined_with_names(pdu.room_id)
            await self._push_actions.record(
                tx,
                pdu,
                position,
                members,
                create=create,
                power_levels=power_levels,
                thread_id=child.thread_id if child is not None else None,
            )
        stored = StoredEvent(pdu, position, None)
        written.events.append(stored)
        written.rooms.add(pdu.room_id)
        return stored


def _check_encryption(tenant: Tenant, encryption: Pdu | None, new: NewEvent) -> None:
    """No plaintext into an encrypted room, no downgrade (policy/encryption.py)."""
    refused = refusal(
        policy=tenant.policy.plaintext_in_encrypted_rooms,
        encryption=encryption.content if encryption is not None else None,
        event_type=new.event_type,
        state_key=new.state_key,
        content=new.content,
        server_notice=new.server_notice,
    )
    if refused is not None:
        ENCRYPTION_REFUSALS.labels(tenant.server_name, refused.reason).inc()
        raise Forbidden(refused.message)


def require_same_tenant(tenant: Tenant, room_tenant: str) -> None:
    """Rooms belong to one tenant; crossing over is federation, which is not on yet."""
    if tenant.server_name != room_tenant:
        raise Forbidden("This room belongs to another organisation on this server")
