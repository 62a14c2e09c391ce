"""Closing an account for good — crash-safe — and opening it again.

Deactivation is a job of three steps, so that a crash (or kill -9) at any
moment leaves nothing half done:

1. One transaction closes the account: no password, no devices (tokens, keys,
   to-device messages go with them), no cross-signing keys, no key backups; a
   ``user_deactivations`` row says the job is under way. From its commit on,
   the account can't log in and every token of it is dead.
2. The server takes the user out of each room (joined, invited, knocking),
   one transaction per room, so progress is kept. A room the user has left
   already is skipped, so a resumed or a second concurrent run is harmless.
3. Deleting the row completes the job (and is audited once: only the run
   that deleted it records the completion).

A server resumes every row still present at start-up.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import structlog

from revier.errors import BadState, Forbidden, MatrixError
from revier.notify import Notifier
from revier.policy.passwords import check_password
from revier.services.accounts.sessions import remove_devices
from revier.services.core import (
    AccountDataService,
    Actor,
    AuditLog,
    Clock,
    KeyedJobs,
    Requester,
    Tenant,
    TenantRegistry,
    UserInteractiveAuth,
    devices,
    hash_password,
    users,
)
from revier.services.e2e import cleanup, record_device_list_change
from revier.services.rooms import IN_ROOM, MembershipService, Written, room_members
from revier.storage import Store, Tx
from revier.storage.accounts import AccountRepos
from revier.storage.accounts.deactivations import PendingDeactivation

log = structlog.get_logger(__name__)

LEAVE_REASON = "Account deactivated"

# Called after each room with (rooms left so far, rooms still to leave).
Progress = Callable[[int, int], None]


class DeactivationService:
    def __init__(
        self,
        store: Store,
        membership: MembershipService,
        notifier: Notifier,
        clock: Clock,
        audit: AuditLog,
        tenants: TenantRegistry,
        uia: UserInteractiveAuth,
        account_data: AccountDataService,
    ) -> None:
        self._store = store
        self._uia = uia
        self._account_data = account_data
        self._membership = membership
        self._notifier = notifier
        self._clock = clock
        self._audit = audit
        self._tenants = tenants
        # The run under way per user in this process: a second request joins it.
        self._jobs: KeyedJobs[int] = KeyedJobs("deactivation")

    async def deactivate(
        self, tenant: Tenant, user_id: str, actor: Actor, *, progress: Progress | None = None
    ) -> int:
        """Deactivate an account and wait until it has left every room; how many it
        left. The work runs in a task of its own: a caller that goes away (an HTTP
        client disconnecting) doesn't stop it halfway."""
        if actor.name == user_id:
            raise Forbidden("You can't deactivate your own account; ask another admin")
        users.require_well_formed(user_id)  # the job locks the row before it reads it

        async def job() -> int:
            if not await self._close(tenant, user_id, actor):
                return 0  # deactivated and out of every room already
            return await self._complete(tenant, user_id, progress)

        return await self._jobs.run(user_id, job)

    async def deactivate_own(self, requester: Requester, *, auth: object, erase: bool) -> None:
        """POST /account/deactivate: the user closes their own account, where the
        tenant's policy allows it, behind their password — the same crash-safe job
        as an admin's, audited as done by the user.

        ``erase`` also deletes the account's profile and account data (settings,
        tags, ignore list). Its messages stay as they are: they are part of
        conversations the organisation keeps (its retention rules, not one
        member, decide when those go)."""
        tenant = requester.tenant
        if not tenant.policy.allow_self_deactivation:
            # Refused before the password is asked for: it could never help.
            raise Forbidden(
                "Your organisation closes accounts itself: ask the help desk to deactivate yours"
            )
        await self._uia.require_password(
            requester, auth, operation="deactivate_account", params={"erase": erase}
        )
        user_id, actor = requester.user_id, Actor.of(requester)

        async def job() -> int:
            if not await self._close(tenant, user_id, actor, erase=erase):
                return 0
            return await self._complete(tenant, user_id, None)

        await self._jobs.run(user_id, job)

    async def is_pending(self, user_id: str) -> bool:
        async with self._store.read() as tx:
            return await AccountRepos.of(tx).user_deactivations.get(user_id) is not None

    async def resume_pending(self) -> None:
        """Start-up: finish every deactivation a stopped server left under way."""
        async with self._store.read() as tx:
            pending = await AccountRepos.of(tx).user_deactivations.pending()
        for job in pending:
            tenant = self._tenants.get(job.tenant)
            if tenant is None:
                log.warning("deactivation of a tenant no longer configured", user_id=job.user_id)
                continue
            try:
                left = await self._jobs.run(
                    job.user_id, partial(self._complete, tenant, job.user_id, None)
                )
            except Exception:  # the next start tries again; the others go on
                log.exception("resuming a deactivation failed", user_id=job.user_id)
                continue
            log.info("resumed a deactivation", user_id=job.user_id, rooms_left=left)

    async def stop(self) -> None:
        """Shut-down: stop the runs under way; their rows stay for the next start."""
        await self._jobs.stop()

    async def reactivate(self, tenant: Tenant, user_id: str, password: str, actor: Actor) -> None:
        """Open a deactivated account again, with a new password. It rejoins nothing
        and starts without devices or keys."""
        async with self._store.read() as tx:
            user = await users.local_user(tx, tenant, user_id, deactivated_ok=True)
        check_password(tenant.policy, password, localpart=user.localpart)
        password_hash = await hash_password(password)
        async with self._store.transaction() as tx:
            await users.lock(tx, user_id)
            user = await users.local_user(tx, tenant, user_id, deactivated_ok=True)
            if user_id in self._jobs or await AccountRepos.of(tx).user_deactivations.get(user_id):
                raise Forbidden(
                    "The account is still being deactivated (leaving its rooms); retry shortly"
                )
            if not user.deactivated:
                raise BadState(f"{user_id} is not deactivated")
            await users.set_deactivated(tx, user_id, False)
            await users.set_password_hash(tx, user_id, password_hash)
            await self._audit.record_as(tx, tenant, actor, "user.reactivated", target=user_id)
        self._notifier.notify(users=[user_id])

    async def _close(
        self, tenant: Tenant, user_id: str, actor: Actor, *, erase: bool = False
    ) -> bool:
        """Step 1; False when there is nothing (left) to do."""
        async with self._store.transaction() as tx:
            db = AccountRepos.of(tx)
            await users.lock(tx, user_id)
            user = await users.local_user(tx, tenant, user_id, deactivated_ok=True)
            pending = await db.user_deactivations.get(user_id)
            rooms = await _rooms_of(tx, user_id)
            if user.deactivated and pending is None and not rooms:
                return False
            audience: set[str] = set()
            if not user.deactivated:
                removed, audience = await _close_account(tx, user_id)
                details: dict[str, object] = {"devices_removed": len(removed), "rooms": len(rooms)}
                if actor.name == user_id:
                    details |= {"by_self": True, "erase": erase}
                if erase:
                    # Before the leaves: they carry no name or avatar then.
                    await users.set_profile(tx, user_id, displayname=None, avatar_url=None)
                    await self._account_data.forget_user(tx, user_id)
                await self._audit.record_as(
                    tx, tenant, actor, "user.deactivated", target=user_id, details=details
                )
            if pending is None:
                await db.user_deactivations.add(
                    PendingDeactivation(
                        user_id, tenant.server_name, actor.name, self._clock.time_ms()
                    )
                )
        self._notifier.notify(users=audience | {user_id})
        return True

    async def _complete(self, tenant: Tenant, user_id: str, progress: Progress | None) -> int:
        """Steps 2 and 3."""
        left = await self._leave_rooms(tenant, user_id, progress)
        async with self._store.transaction() as tx:
            db = AccountRepos.of(tx)
            job = await db.user_deactivations.get(user_id)
            if job is not None and await db.user_deactivations.delete(user_id):
                await self._audit.record(
                    tx,
                    tenant,
                    "user.deactivation_completed",
                    actor=job.actor,
                    target=user_id,
                    details={"rooms_left": left},
                )
        return left

    async def _leave_rooms(self, tenant: Tenant, user_id: str, progress: Progress | None) -> int:
        left = 0
        failed: set[str] = set()
        # Listed again until empty: an invite written while step 1 committed
        # would otherwise be missed.
        while True:
            async with self._store.read() as tx:
                rooms = [r for r in await _rooms_of(tx, user_id) if r not in failed]
            if not rooms:
                return left
            for done, room_id in enumerate(rooms, start=1):
                try:
                    left += await self._leave(tenant, user_id, room_id)
                except MatrixError as e:  # this room refuses; the others still go
                    log.warning(
                        "a deactivated user could not leave a room",
                        user_id=user_id,
                        room_id=room_id,
                        error=e.errcode,
                    )
                    failed.add(room_id)
                if progress is not None:
                    progress(left, len(rooms) - done)

    async def _leave(self, tenant: Tenant, user_id: str, room_id: str) -> int:
        written = Written()
        async with self._store.transaction() as tx:
            # Two runs for one user (two workers resuming) wait here for each
            # other, so the second sees the first's leave and writes none.
            await users.lock(tx, user_id)
            changed = await self._membership.leave_on_behalf(
                tx, tenant, room_id, user_id, LEAVE_REASON, written
            )
        self._notifier.notify(rooms=written.rooms, users=written.users)
        return int(changed)


async def _rooms_of(tx: Tx, user_id: str) -> list[str]:
    return [m.room_id for m in await room_members.rooms_of(tx, user_id, IN_ROOM)]


async def _close_account(tx: Tx, user_id: str) -> tuple[list[str], set[str]]:
    """Step 1's changes: (devices removed, whom to wake after the commit)."""
    await users.set_deactivated(tx, user_id, True)
    await users.set_password_hash(tx, user_id, None)
    removal = await remove_devices(tx, user_id, await devices.ids_of(tx, user_id))
    audience = removal.wake
    if await cleanup.forget_account(tx, user_id):
        audience |= await record_device_list_change(tx, user_id)
    return removal.devices, audience
