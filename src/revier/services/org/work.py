"""Room work of units: joining, inviting and removing members as their units
say, in committed batches that survive a restart.

A change (a member added, a room attached, a unit dissolved) queues a job in
its own transaction: the rooms it concerns and the users to bring in line.
The job reconciles each user with each room against the tables as they are
when the batch runs, so jobs may run in any order and twice without harm:

- a room some unit of the user gives: invited by the service account, and
  joined on the user's behalf if a unit gives it as ``auto_join`` or
  ``announce`` (leads of an ``announce`` room get the power to post);
- a room no unit gives any more: the service account removes the user with a
  reason their client shows — unless they made the room themselves.

A few users are done before the request returns; a big unit's job runs in
the background, a batch of users per transaction. Start-up resumes any job
left unfinished.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterable, Sequence
from functools import partial
from typing import Any

import structlog

from revier.errors import MatrixError
from revier.notify import Notifier
from revier.services.core import AuditLog, Clock, KeyedJobs, Tenant, TenantRegistry
from revier.services.org.batches import batches_for
from revier.services.org.powers import apply_leads
from revier.services.org.service_user import service_user
from revier.services.rooms import RoomSteward, Written
from revier.storage import Store, Tx
from revier.storage.org import OrgRepos
from revier.storage.org.unit_jobs import UnitJob

log = structlog.get_logger(__name__)

# The rule of a unit's own space in a job's rooms: members are joined to it.
SPACE_RULE = "space"
JOINED_RULES = frozenset({"auto_join", "announce", SPACE_RULE})
USER_BATCH = 50
# Jobs of at most this many users are done before the request returns.
INLINE_USERS = USER_BATCH
# Memberships (a user in a room: an invite, a join or a kick, one or two
# events) checked in one transaction: per engine, see org/batches.py (on
# SQLite a batch of 50 users in 3 rooms held every /sync up for most of a
# second).
# The longest pause after a batch (s), and a turn of the loop that took longer
# than BUSY_TURN (s): others had work waiting.
MAX_PAUSE = 0.05
BUSY_TURN = 0.001


def users_per_batch(rooms: int, memberships: int) -> int:
    """How many users one batch of a job over ``rooms`` rooms takes (at least
    one), for ``memberships`` per transaction."""
    return max(1, min(USER_BATCH, memberships // max(rooms, 1)))


class UnitWork:
    def __init__(
        self,
        store: Store,
        steward: RoomSteward,
        notifier: Notifier,
        clock: Clock,
        audit: AuditLog,
        tenants: TenantRegistry,
    ) -> None:
        self._store = store
        self._steward = steward
        self._notifier = notifier
        self._clock = clock
        self._audit = audit
        self._tenants = tenants
        self._memberships = batches_for(store.is_sqlite).memberships
        self._jobs: KeyedJobs[None] = KeyedJobs("unit job")
        self._drains: KeyedJobs[None] = KeyedJobs("unit jobs of a tenant")
        self._tasks: set[asyncio.Task[Any]] = set()

    async def queue(
        self,
        tx: Tx,
        tenant: Tenant,
        unit_id: str,
        rooms: Sequence[tuple[str, str]],
        user_ids: Sequence[str],
        *,
        reason: str,
        actor: str,
    ) -> int | None:
        """Queue the work in the caller's transaction; None when there is none."""
        if not rooms or not user_ids:
            return None
        return await OrgRepos.of(tx).unit_jobs.create(
            tenant=tenant.server_name,
            unit_id=unit_id,
            action="sync",
            rooms=rooms,
            reason=reason,
            actor=actor,
            user_ids=user_ids,
            now=self._clock.time_ms(),
        )

    async def run(self, job_ids: Iterable[int], tenant: Tenant) -> None:
        """Do small jobs now; leave big ones to the tenant's background drain."""
        big = False
        for job_id in job_ids:
            async with self._store.read() as tx:
                job = await OrgRepos.of(tx).unit_jobs.get(job_id)
            if job is None or job.completed_ts is not None:
                continue
            if job.users_total > INLINE_USERS:
                big = True
                continue
            await self._jobs.run(str(job_id), partial(self._run_job, tenant, job_id))
        if big:
            self.drain(tenant)

    def drain(self, tenant: Tenant) -> None:
        """Work off the tenant's pending jobs, oldest first, in the background."""
        self.background(
            self._drains.run(tenant.server_name, partial(self._drain, tenant), after_running=True)
        )

    async def finish(self, tenant: Tenant) -> None:
        """Run the tenant's pending jobs (and what was started in the background)
        to the end: for the command line, whose process ends after the command."""
        await asyncio.gather(*list(self._tasks), return_exceptions=True)
        await self._drains.run(tenant.server_name, partial(self._drain, tenant), after_running=True)

    def background(self, work: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            # Nobody waits for it: the log is where it shows (a restart resumes jobs).
            log.error("background work of units failed", error=repr(error))

    def notify(self, written: Written) -> None:
        self._notifier.notify(rooms=written.rooms, users=written.users)

    async def pending(self, tenant: Tenant, unit_id: str) -> list[dict[str, Any]]:
        async with self._store.read() as tx:
            db = OrgRepos.of(tx).unit_jobs
            return [
                {
                    "job_id": job.job_id,
                    "users_total": job.users_total,
                    "users_left": await db.users_left(job.job_id),
                }
                for job in await db.pending_for_unit(unit_id)
                if job.tenant == tenant.server_name
            ]

    async def resume_pending(self) -> None:
        """Start-up: drain every tenant with jobs a stopped server left."""
        async with self._store.read() as tx:
            names = await OrgRepos.of(tx).unit_jobs.tenants_pending()
        for name in names:
            tenant = self._tenants.get(name)
            if tenant is None:
                log.warning("unit jobs of no configured tenant", tenant=name)
                continue
            log.info("resuming unit jobs", tenant=name)
            self.drain(tenant)

    async def stop(self) -> None:
        """Shut-down: stop what runs (the job rows stay for the next start)."""
        await self._drains.stop()
        await self._jobs.stop()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # --- the work -----------------------------------------------------------

    async def _drain(self, tenant: Tenant) -> None:
        while True:
            async with self._store.read() as tx:
                job = await OrgRepos.of(tx).unit_jobs.oldest_pending(tenant.server_name)
            if job is None:
                return
            try:
                await self._jobs.run(str(job.job_id), partial(self._run_job, tenant, job.job_id))
            except Exception:  # the next start tries again; other tenants go on
                log.exception("a unit job failed", job_id=job.job_id)
                return

    async def _run_job(self, tenant: Tenant, job_id: int) -> None:
        # Each batch awaits its own commit, so requests get a turn in between;
        # but a /sync needs several turns of the loop, and batch after batch
        # it waited a batch for each (the work, CPU-bound on the loop's one
        # thread, took most of it). So when requests are waiting, the job
        # pauses as long as its batch took: they get half the loop at least.
        # Alone (a first directory sync at night) it goes on at full speed.
        loop = asyncio.get_running_loop()
        more = True
        while more:
            started = loop.time()
            more = await self._batch(tenant, job_id)
            if more:
                took = loop.time() - started
                yielded = loop.time()
                await asyncio.sleep(0)
                if loop.time() - yielded > BUSY_TURN:
                    await asyncio.sleep(min(took, MAX_PAUSE))

    async def _batch(self, tenant: Tenant, job_id: int) -> bool:
        """One batch of the job's users in one transaction; False when it is done."""
        written = Written()
        async with self._store.transaction() as tx:
            db = OrgRepos.of(tx)
            job = await db.unit_jobs.lock(job_id)
            if job is None or job.completed_ts is not None:
                return False
            user_ids = await db.unit_jobs.next_users(
                job_id, users_per_batch(len(job.rooms), self._memberships)
            )
            if not user_ids:
                await db.unit_jobs.complete(job_id, self._clock.time_ms())
                await self._audit.record(
                    tx,
                    tenant,
                    "unit.rooms_updated",
                    actor=job.actor,
                    target=job.unit_id,
                    details={"job_id": job_id, "users": job.users_total, "rooms": len(job.rooms)},
                )
                return False
            await self._reconcile(tx, tenant, job, user_ids, written)
            await db.unit_jobs.done(job_id, user_ids)
        self.notify(written)
        return True

    async def _reconcile(
        self, tx: Tx, tenant: Tenant, job: UnitJob, user_ids: list[str], written: Written
    ) -> None:
        db = OrgRepos.of(tx).unit_members
        service = await service_user(tx, tenant, self._clock.time_ms())
        room_ids = [room_id for room_id, rule in job.rooms if rule != SPACE_RULE]
        grants = await db.grants(user_ids, room_ids)
        spaces = await db.spaces_of_users(user_ids)
        for room_id, rule in job.rooms:
            room = await self._steward.room(tx, room_id)
            if room is None:
                continue
            leads: dict[str, bool] = {}
            for user_id in user_ids:
                if rule == SPACE_RULE:
                    given = {SPACE_RULE} if room_id in spaces.get(user_id, ()) else set()
                else:
                    given = {r for r, _ in grants.get((user_id, room_id), ())}
                    if "announce" in given or rule == "announce":
                        leads[user_id] = ("announce", "lead") in grants.get((user_id, room_id), ())
                try:
                    await self._apply(
                        tx,
                        tenant,
                        service,
                        room_id,
                        room.creator,
                        user_id,
                        given,
                        job.reason,
                        written,
                    )
                except MatrixError as e:  # refused (a closed room, an account gone): others go on
                    log.warning(
                        "a unit could not change a room membership",
                        room_id=room_id,
                        user_id=user_id,
                        error=e.errcode,
                    )
            if leads:
                await apply_leads(tx, self._steward, tenant, service, room_id, leads, written)

    async def _apply(
        self,
        tx: Tx,
        tenant: Tenant,
        service: str,
        room_id: str,
        creator: str,
        user_id: str,
        given: set[str],
        reason: str,
        written: Written,
    ) -> None:
        membership = await self._steward.membership(tx, room_id, user_id)
        if given:
            # Invited, and joined for a rule that joins; a ban by the room's
            # moderators stands (bring_in leaves a banned user alone).
            await self._steward.bring_in(
                tx,
                tenant,
                room_id,
                service,
                user_id,
                membership,
                join=bool(given & JOINED_RULES),
                written=written,
            )
        elif membership in ("join", "invite", "knock") and user_id != creator:
            await self._steward.kick(tx, tenant, room_id, service, user_id, reason, written)
