"""The background job that deletes expired messages, and closed rooms' data in time.

Readers stop seeing a message the moment it expires (``retention.py``); this
job deletes it afterwards, room by room, in small committed batches
(``EVENT_BATCH`` events per transaction, the loop yielded between them) so
that a big room's purge never holds a lock or the event loop for long:
concurrent /sync keeps answering. Nothing records its progress because
nothing needs to: each batch deletes what is expired now, so a stopped
server (or a failed batch) simply leaves the rest for the next round.

Each batch is audited in its own transaction (``room.retention_purged``: the
room, how many events, the range of their timestamps, never content), so the
audit log has an entry exactly when events went.

A closed room that was not purged at its closing is purged
``closed_room_purge_days`` after it (the room closer's own purge, audited as
``room.purged`` by ``server:retention``).
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from revier.policy.retention import DAY_MS
from revier.services.core import Actor, AuditLog, Clock, Tenant, TenantRegistry
from revier.services.notifications import PushActions
from revier.services.rooms.retention import RoomRetention
from revier.services.rooms.room_closing import RoomCloser
from revier.storage import Store
from revier.storage.rooms import RoomRepos

log = structlog.get_logger(__name__)

EVENT_BATCH = 500
ROOM_PAGE = 500
ROUND_EVERY_S = 600.0
ACTOR = Actor("server:retention", "local")


class RetentionPurger:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        tenants: TenantRegistry,
        retention: RoomRetention,
        audit: AuditLog,
        push_actions: PushActions,
        closer: RoomCloser,
    ) -> None:
        self._store = store
        self._clock = clock
        self._tenants = tenants
        self._retention = retention
        self._audit = audit
        self._push_actions = push_actions
        self._closer = closer
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Run a round now (the test clock moved)."""
        self._wake.set()

    async def run(self) -> None:
        """Background task of a serving process: a round every ``ROUND_EVERY_S``."""
        while True:
            self._wake.clear()
            try:
                await self.purge_due()
            except Exception:  # the next round tries again; the server keeps serving
                log.exception("retention purge failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), ROUND_EVERY_S)

    async def purge_due(self) -> int:
        """One round over every room of every tenant; how many events went."""
        deleted = 0
        for tenant in self._tenants:
            after = ""
            while True:
                async with self._store.read() as tx:
                    page = await RoomRepos.of(tx).retention_purge.room_ids(
                        tenant.server_name, after, ROOM_PAGE
                    )
                for room_id in page:
                    deleted += await self.purge_room(tenant, room_id)
                if len(page) < ROOM_PAGE:
                    break
                after = page[-1]
            await self._purge_closed(tenant)
        return deleted

    async def purge_room(self, tenant: Tenant, room_id: str) -> int:
        """Delete the room's expired messages, a batch per transaction."""
        async with self._store.read() as tx:
            lifetime = await self._retention.lifetime(tx, room_id)
        if lifetime is None:
            return 0
        before = self._clock.time_ms() - lifetime
        deleted = 0
        while True:
            async with self._store.transaction() as tx:
                batch = await RoomRepos.of(tx).retention_purge.delete_expired(
                    room_id, before, EVENT_BATCH
                )
                if batch.count:
                    await self._push_actions.forget_events(tx, batch.positions)
                    details = {
                        "events_deleted": batch.count,
                        "oldest_ts": batch.oldest_ts,
                        "newest_ts": batch.newest_ts,
                        "max_lifetime_ms": lifetime,
                    }
                    await self._audit.record(
                        tx,
                        tenant,
                        "room.retention_purged",
                        actor=None,
                        target=room_id,
                        details=details,
                    )
            deleted += batch.count
            if batch.count < EVENT_BATCH:
                break
            await asyncio.sleep(0)  # let waiting requests in between batches
        if deleted:
            log.info("purged expired messages", room_id=room_id, events=deleted)
        return deleted

    async def _purge_closed(self, tenant: Tenant) -> None:
        days = tenant.policy.closed_room_purge_days
        if days is None:
            return
        closed_before = self._clock.time_ms() - days * DAY_MS
        async with self._store.read() as tx:
            db = RoomRepos.of(tx)
            due = await db.retention_purge.closed_unpurged(tenant.server_name, closed_before)
            rooms = [await db.rooms.get(room_id) for room_id in due]
        for room in rooms:
            if room is None:
                continue
            await self._closer.close(tenant, room, ACTOR, None, purge=True)
            log.info("purged a closed room", room_id=room.room_id)
