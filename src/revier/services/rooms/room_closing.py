"""Closing a room, and purging it — crash-safe.

Closing is a job of three steps, so that a crash (or kill -9) at any moment
leaves nothing half done:

1. One transaction closes the room: a ``room_closures`` row (from its commit
   on nobody may join, be invited or knock), out of the public directory, its
   aliases deleted, audited, and a last m.notice telling the members.
2. The server takes every member out (joined, invited, knocking) with a leave
   of their own, a batch of members per transaction, so progress is kept.
3. With ``purge``, the room's data is deleted (storage/rooms/room_purge.py, and
   the other wings forget the room: push actions, room account data), the
   events in batches too. Setting ``completed_ts`` ends the job.

A server resumes every closure whose ``completed_ts`` is still NULL at start-up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import Any

import structlog

from revier.errors import MatrixError
from revier.notify import Notifier
from revier.policy.room_closure import leave_reason, notice_content, notice_sender
from revier.services.core import (
    AccountDataService,
    Actor,
    AuditLog,
    Clock,
    KeyedJobs,
    Tenant,
    TenantRegistry,
)
from revier.services.notifications import PushActions
from revier.services.rooms.membership import leave_on_behalf
from revier.services.rooms.room_events import (
    CREATE,
    POWER_LEVELS,
    NewEvent,
    RoomEventWriter,
    Written,
)
from revier.services.rooms.room_members import IN_ROOM
from revier.services.rooms.typing import TypingService
from revier.storage import Conflict, Store, Tx
from revier.storage.rooms import RoomRepos
from revier.storage.rooms.room_closures import RoomClosure
from revier.storage.rooms.rooms import Room

log = structlog.get_logger(__name__)

MEMBER_BATCH = 100
EVENT_BATCH = 1000

# Told (step, how many so far): ("members", n) after each batch of members
# taken out, ("events", n) after each batch of events deleted.
Progress = Callable[[str, int], None]


class RoomCloser:
    def __init__(
        self,
        store: Store,
        writer: RoomEventWriter,
        notifier: Notifier,
        clock: Clock,
        audit: AuditLog,
        tenants: TenantRegistry,
        typing: TypingService,
        push_actions: PushActions,
        account_data: AccountDataService,
    ) -> None:
        self._store = store
        self._writer = writer
        self._notifier = notifier
        self._clock = clock
        self._audit = audit
        self._tenants = tenants
        self._typing = typing
        self._push_actions = push_actions
        self._account_data = account_data
        # The job under way per room in this process: a second request queues behind it.
        self._jobs: KeyedJobs[RoomClosure] = KeyedJobs("room closure")

    async def close(
        self,
        tenant: Tenant,
        room: Room,
        actor: Actor,
        reason: str | None,
        *,
        purge: bool = False,
        progress: Progress | None = None,
    ) -> RoomClosure:
        """Close (and with ``purge`` purge) a room and wait until the job is done.

        Closing a closed room changes nothing; purging a closed room purges it.
        The job runs in a task of its own: a caller that goes away (an HTTP
        client disconnecting) doesn't stop it halfway.
        """
        closure = await self._start(tenant, room, actor, reason, purge=purge)
        if closure.completed_ts is not None:
            return closure
        return await self._jobs.run(
            room.room_id, partial(self._finish, tenant, room, progress), after_running=True
        )

    async def resume_pending(self) -> None:
        """Start-up: finish every closure a stopped server left under way."""
        async with self._store.read() as tx:
            db = RoomRepos.of(tx)
            pending = await db.room_closures.pending()
            rooms = {c.room_id: await db.rooms.get(c.room_id) for c in pending}
        for closure in pending:
            tenant = self._tenants.get(closure.tenant)
            room = rooms[closure.room_id]
            if tenant is None or room is None:
                log.warning("closure of a room of no configured tenant", room_id=closure.room_id)
                continue
            try:
                await self._jobs.run(
                    room.room_id, partial(self._finish, tenant, room, None), after_running=True
                )
            except Exception:  # the next start tries again; the others go on
                log.exception("resuming a room closure failed", room_id=room.room_id)
                continue
            log.info("resumed a room closure", room_id=room.room_id, purge=closure.purge)

    async def stop(self) -> None:
        """Shut-down: stop the jobs under way (the next start resumes them)."""
        await self._jobs.stop()

    # --- step 1 -------------------------------------------------------------

    async def _start(
        self, tenant: Tenant, room: Room, actor: Actor, reason: str | None, *, purge: bool
    ) -> RoomClosure:
        try:
            return await self._start_once(tenant, room, actor, reason, purge=purge)
        except Conflict:
            # Another request closed the room at the same moment: theirs stands.
            return await self._start_once(tenant, room, actor, reason, purge=purge)

    async def _start_once(
        self, tenant: Tenant, room: Room, actor: Actor, reason: str | None, *, purge: bool
    ) -> RoomClosure:
        written = Written()
        room_id = room.room_id
        async with self._store.transaction() as tx:
            db = RoomRepos.of(tx)
            closure = await db.room_closures.lock(room_id)
            if closure is not None:
                if purge and not closure.purge:
                    await db.room_closures.request_purge(room_id)
                    await self._audit.record_as(tx, tenant, actor, "room.purged", target=room_id)
                    closure = replace(closure, purge=True, completed_ts=None)
                return closure
            closure = RoomClosure(
                room_id=room_id,
                tenant=tenant.server_name,
                closed_by=actor.name,
                closed_ts=self._clock.time_ms(),
                reason=reason,
                purge=purge,
                completed_ts=None,
            )
            await db.room_closures.insert(closure)
            await db.rooms.set_public(room_id, False)
            aliases = await db.aliases.for_room(room_id)
            for alias in aliases:
                await db.aliases.delete(alias)
            members = sum((await db.room_overview.member_counts([room_id]))[room_id].values())
            details = {"members": members, "reason": reason, "aliases_deleted": aliases}
            await self._audit.record_as(
                tx, tenant, actor, "room.closed", target=room_id, details=details
            )
            if purge:
                await self._audit.record_as(tx, tenant, actor, "room.purged", target=room_id)
            await self._send_notice(tx, tenant, closure, written)
        self._notifier.notify(rooms=written.rooms, users=written.users)
        return closure

    async def _send_notice(
        self, tx: Tx, tenant: Tenant, closure: RoomClosure, written: Written
    ) -> None:
        """The last message of the room, sent by a member (see ``notice_sender``)."""
        db = RoomRepos.of(tx)
        room_id = closure.room_id
        state = await db.events.current_state_events(room_id, [CREATE, POWER_LEVELS])
        create = state.get(CREATE)
        local = [
            u for u in await db.memberships.members(room_id) if u.endswith(":" + tenant.server_name)
        ]
        power = state.get(POWER_LEVELS)
        sender = (
            notice_sender(closure.closed_by, local, create, dict(power.content) if power else None)
            if create is not None
            else None
        )
        if sender is None:
            # No notice. The stream position is still taken (and so the lock on
            # it, until commit): a join racing with this transaction on
            # PostgreSQL then checks the closure only after this commit
            # (services/membership.py) and is refused.
            await tx.streams.next_position()
            return
        content = notice_content(closure.closed_by, closure.closed_ts, closure.reason)
        await self._writer.send(
            tx,
            tenant,
            room_id,
            sender,
            NewEvent("m.room.message", content, server_notice=True),
            written,
        )

    # --- steps 2 and 3 ------------------------------------------------------

    async def _finish(self, tenant: Tenant, room: Room, progress: Progress | None) -> RoomClosure:
        async with self._store.read() as tx:
            closure = await RoomRepos.of(tx).room_closures.get(room.room_id)
        assert closure is not None  # step 1 committed it; rows are never deleted
        if closure.completed_ts is not None:
            return closure
        removed = await self._remove_members(tenant, closure, progress)
        deleted = await self._purge(closure.room_id, progress) if closure.purge else 0
        async with self._store.transaction() as tx:
            db = RoomRepos.of(tx)
            # Re-read: a purge requested meanwhile keeps the job open for its own run.
            current = await db.room_closures.lock(room.room_id)
            assert current is not None
            if current.completed_ts is not None or current.purge != closure.purge:
                return current
            now = self._clock.time_ms()
            await db.room_closures.complete(room.room_id, now)
            details: dict[str, Any] = {"members_removed": removed}
            if closure.purge:
                details["events_deleted"] = deleted
            await self._audit.record(
                tx, tenant, "room.close_completed", actor=None, target=room.room_id, details=details
            )
        return replace(current, completed_ts=now)

    async def _remove_members(
        self, tenant: Tenant, closure: RoomClosure, progress: Progress | None
    ) -> int:
        """Step 2: leave on behalf of every member, a batch per transaction, listed
        again until none is left (so one who slipped in meanwhile goes too)."""
        removed = 0
        failed: set[str] = set()
        reason = leave_reason(closure.closed_by)
        while True:
            written = Written()
            async with self._store.transaction() as tx:
                db = RoomRepos.of(tx)
                await db.room_closures.lock(closure.room_id)
                batch = [
                    u
                    for u in await db.memberships.members(
                        closure.room_id, IN_ROOM, limit=MEMBER_BATCH + len(failed)
                    )
                    if u not in failed
                ][:MEMBER_BATCH]
                for user_id in batch:
                    try:
                        removed += await leave_on_behalf(
                            self._writer, tx, tenant, closure.room_id, user_id, reason, written
                        )
                    except MatrixError as e:  # refused by the auth rules: the others still go
                        log.warning(
                            "could not take a member out of a closed room",
                            room_id=closure.room_id,
                            user_id=user_id,
                            error=e.errcode,
                        )
                        failed.add(user_id)
            self._notifier.notify(rooms=written.rooms, users=written.users)
            if not batch:
                return removed
            if progress is not None:
                progress("members", removed)

    async def _purge(self, room_id: str, progress: Progress | None) -> int:
        """Step 3: delete the room's data; how many events went."""
        async with self._store.transaction() as tx:
            db = RoomRepos.of(tx)
            await db.room_closures.lock(room_id)
            await db.room_purge.delete_derived(room_id)
            await self._push_actions.forget_room(tx, room_id)
            await self._account_data.forget_room(tx, room_id)
        self._typing.forget_room(room_id)
        deleted = 0
        while True:
            async with self._store.transaction() as tx:
                db = RoomRepos.of(tx)
                await db.room_closures.lock(room_id)
                count = await db.room_purge.delete_events(room_id, EVENT_BATCH)
            deleted += count
            if progress is not None and count:
                progress("events", deleted)
            if count < EVENT_BATCH:
                return deleted
