"""The lockout: failed passwords and second-factor codes, counted per account and
per client address, slow down further attempts and finally lock the account.

The tenant's policy sets the numbers (``signin_*``, ``docs/operations.md``):

- within ``signin_failure_window_seconds`` of the last failure, failures add up;
- after ``signin_failures_before_delay`` of an account's failures, each further
  attempt waits ``signin_delay_ms``, doubling with each failure up to
  ``signin_delay_max_ms``: 429 ``M_LIMIT_EXCEEDED`` with ``retry_after_ms``, and
  the password isn't even checked (an attempt refused so doesn't count);
- at ``signin_failures_before_lock`` the account is locked: ``users.locked``, the
  spec's account lock, so its sessions answer 401 ``M_USER_LOCKED`` too, until
  the help desk unlocks it (``unlock``). The lock is audited, never the attempt's
  password or code;
- a name of the tenant that no account has is counted, delayed and "locked"
  the same way (the lock lifts after the window), so the answers never tell
  which names exist;
- an address (every account tried from it, known or not) gets the same doubling
  delays after ``signin_address_failures_before_delay``, never a lock: many
  officers of one station share an address.

A right password clears the account's count (``succeeded``) unless codes failed
among it: whoever knows the password must not reset the guessing of the second
factor by signing in again. A right code clears all (``forgive``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from revier.config import TenantPolicy
from revier.errors import LimitExceeded, UserLocked
from revier.events.identifiers import is_valid_user_id
from revier.notify import Notifier
from revier.services.core import AuditLog, Clock, Tenant, users
from revier.services.signin.keys import FactorKeys
from revier.storage import Store
from revier.storage.signin import Failures, SigninRepos

LOCKED_MESSAGE = "This account is locked after too many failed sign-in attempts; ask the help desk"
_SWEEP_EVERY_MS = 3_600_000


def delay_ms(failures: int, free: int, first_ms: int, max_ms: int) -> int:
    """How long to wait after ``failures`` failures: nothing for the first ``free``,
    then ``first_ms``, doubling with each further failure, at most ``max_ms``."""
    if failures < free or failures <= 0:
        return 0
    doublings = min(failures - free, 40)  # 2**40 ms is beyond any maximum
    return min(first_ms << doublings, max_ms)


def wait_ms(row: Failures | None, free: int, policy: TenantPolicy, now: int) -> int:
    """What is left of the wait after the subject's last failure (0: try now)."""
    if row is None or now - row.last_failure_ts >= policy.signin_failure_window_seconds * 1000:
        return 0
    delay = delay_ms(row.failures, free, policy.signin_delay_ms, policy.signin_delay_max_ms)
    return max(0, row.last_failure_ts + delay - now)


@dataclass(frozen=True, slots=True)
class LockState:
    """What the help desk sees (GET /_revier/admin/v1/users/{user_id}/lock)."""

    user_id: str
    locked: bool
    # "signin_failures": the lockout locked it; "admin": an admin did (the spec's
    # PUT /admin/lock); None: not locked.
    reason: Literal["signin_failures", "admin"] | None
    failures: int
    locked_ts: int | None
    retry_after_ms: int


def _user(user_id: str) -> str:
    return "user:" + user_id


def _names_us(user_id: str, server_name: str) -> bool:
    return is_valid_user_id(user_id) and user_id.endswith(":" + server_name)


def _would_lock(row: Failures, policy: TenantPolicy, now: int) -> bool:
    """Whether these failures would have locked an account, within the window."""
    limit = policy.signin_failures_before_lock
    window_open = now - row.last_failure_ts < policy.signin_failure_window_seconds * 1000
    return bool(limit) and row.failures >= limit and window_open


class SignInAttempts:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        audit: AuditLog,
        notifier: Notifier,
        keys: FactorKeys,
        *,
        enabled: bool = True,
    ) -> None:
        # Off only in conformance mode, with the rate limits: suites such as
        # SyTest log in wrongly many times in a row and expect 403 each time.
        self._enabled = enabled
        self._store = store
        self._clock = clock
        self._audit = audit
        self._notifier = notifier
        self._keys = keys
        self._swept: dict[str, int] = {}

    def _address(self, address: str) -> str:
        return "addr:" + self._keys.address(address)

    async def check(self, tenant: Tenant, user_id: str | None, address: str) -> None:
        """Before checking a password or code: M_USER_LOCKED if the lockout locked
        the account, M_LIMIT_EXCEEDED while the account or address must wait."""
        if not self._enabled:
            return
        if user_id is not None and not is_valid_user_id(user_id):
            user_id = None  # no one's (a NUL can't even reach PostgreSQL)
        now = self._clock.time_ms()
        name = tenant.server_name
        async with self._store.read() as tx:
            db = SigninRepos.of(tx).attempts
            mine = await db.get(name, _user(user_id)) if user_id else None
            theirs = await db.get(name, self._address(address))
            account = await users.get(tx, user_id) if user_id and mine else None
        if user_id is not None and mine is not None:
            exists = account is not None and account.tenant == name
            if mine.locked_ts is not None:
                if account is not None and exists and account.locked:
                    raise UserLocked(LOCKED_MESSAGE)
                # An admin lifted the lock another way (PUT /admin/lock): count afresh.
                await self._forget(tenant, user_id, locked_too=True)
                mine = None
            elif not exists and _would_lock(mine, tenant.policy, now):
                # A name no one has gets the answer an account would get: the
                # lockout must not tell which names exist.
                raise UserLocked(LOCKED_MESSAGE)
        policy = tenant.policy
        wait = max(
            wait_ms(mine, policy.signin_failures_before_delay, policy, now),
            wait_ms(theirs, policy.signin_address_failures_before_delay, policy, now),
        )
        if wait > 0:
            raise LimitExceeded("Too many failed attempts; wait and try again", retry_after_ms=wait)

    async def failed(
        self,
        tenant: Tenant,
        user_id: str | None,
        address: str,
        *,
        what: Literal["password", "code"],
    ) -> None:
        """A wrong password or code: one more failure for the address, and for the
        account ``user_id`` names (a name of this tenant that no one has counts
        just the same, so that the answers don't tell which names exist; its row
        goes with the window). Locks the account at the tenant's number. A wrong
        code is audited here (``second_factor.failed``); a wrong password the
        accounts wing audits (``login.failed``)."""
        if not self._enabled:
            return
        now = self._clock.time_ms()
        policy = tenant.policy
        name = tenant.server_name
        forget_before = now - policy.signin_failure_window_seconds * 1000
        code = what == "code"
        locked_now: str | None = None
        async with self._store.transaction() as tx:
            db = SigninRepos.of(tx).attempts
            await db.add_failure(
                name, self._address(address), code=code, now=now, forget_before=forget_before
            )
            account = None
            if user_id is not None and is_valid_user_id(user_id):
                account = await users.get(tx, user_id)
            if account is None and user_id is not None and _names_us(user_id, name):
                # No such account: counted all the same (see ``check``), never locked.
                await db.add_failure(
                    name, _user(user_id), code=code, now=now, forget_before=forget_before
                )
            elif account is not None and account.tenant == name and not account.deactivated:
                row = await db.add_failure(
                    name, _user(account.user_id), code=code, now=now, forget_before=forget_before
                )
                if code:
                    await self._audit.record(
                        tx,
                        tenant,
                        "second_factor.failed",
                        actor=None,
                        target=account.user_id,
                        source=address,
                        details={"failures": row.failures},
                    )
                limit = policy.signin_failures_before_lock
                # (Locked by an admin already: that lock stands as it is.)
                if limit and row.failures >= limit and row.locked_ts is None and not account.locked:
                    await users.lock(tx, account.user_id)
                    await db.set_locked(name, _user(account.user_id), now)
                    await users.set_moderation(tx, account.user_id, locked=True)
                    await self._audit.record(
                        tx,
                        tenant,
                        "user.locked",
                        actor=None,
                        target=account.user_id,
                        source=address,
                        details={"reason": "signin_failures", "failures": row.failures},
                    )
                    locked_now = account.user_id
            if now - self._swept.get(name, 0) >= _SWEEP_EVERY_MS:
                self._swept[name] = now
                await db.forget_old(name, forget_before)
        if locked_now is not None:
            # Cached sessions (every worker's) see the lock; a waiting /sync ends.
            self._notifier.notify(users=[locked_now])

    async def succeeded(self, tenant: Tenant, user_id: str, address: str) -> None:
        """The whole sign-in succeeded (the password, and the second factor where
        one is asked): the account's failures are forgiven, unless codes failed
        among them (then only a right code forgives, ``forgive``). The address's
        count runs on to the end of its window."""
        del address  # kept by the seam: the address's count isn't forgiven
        async with self._store.read() as tx:
            row = await SigninRepos.of(tx).attempts.get(tenant.server_name, _user(user_id))
        if row is not None and row.locked_ts is None and row.code_failures == 0:
            await self._forget(tenant, user_id, locked_too=False)

    async def forgive(self, tenant: Tenant, user_id: str) -> None:
        """A right second-factor code: every failure of the account is forgiven."""
        async with self._store.read() as tx:
            row = await SigninRepos.of(tx).attempts.get(tenant.server_name, _user(user_id))
        if row is not None and row.locked_ts is None:
            await self._forget(tenant, user_id, locked_too=False)

    async def _forget(self, tenant: Tenant, user_id: str, *, locked_too: bool) -> None:
        async with self._store.transaction() as tx:
            db = SigninRepos.of(tx).attempts
            row = await db.get(tenant.server_name, _user(user_id))
            if row is not None and (locked_too or row.locked_ts is None):
                await db.forget(tenant.server_name, _user(user_id))

    async def unlock(self, tenant: Tenant, user_id: str, *, admin: str, address: str) -> None:
        """The help desk lifts the account's lock, whoever set it, and forgets its
        failures. Audited as ``user.unlocked`` (if there was anything to lift).
        Another tenant's user is as unknown as no one (404)."""
        users.require_well_formed(user_id)
        async with self._store.transaction() as tx:
            await users.lock(tx, user_id)
            account = await users.local_user(tx, tenant, user_id)
            db = SigninRepos.of(tx).attempts
            row = await db.get(tenant.server_name, _user(user_id))
            if row is None and not account.locked:
                return  # nothing to lift: nothing to record
            await db.forget(tenant.server_name, _user(user_id))
            if account.locked:
                await users.set_moderation(tx, user_id, locked=False)
            await self._audit.record(
                tx,
                tenant,
                "user.unlocked",
                actor=admin,
                target=user_id,
                source=address,
                details={
                    "was_locked": account.locked,
                    "signin_failures": row.failures if row else 0,
                },
            )
        self._notifier.notify(users=[user_id])

    async def locked(self, tenant: Tenant, user_id: str) -> bool:
        """Whether the account is locked, by the lockout or an admin."""
        return (await self.state(tenant, user_id)).locked

    async def state(self, tenant: Tenant, user_id: str) -> LockState:
        """The lock and the failures counted, for the help desk (404 for another
        tenant's user or no one)."""
        users.require_well_formed(user_id)
        now = self._clock.time_ms()
        async with self._store.read() as tx:
            account = await users.local_user(tx, tenant, user_id)
            row = await SigninRepos.of(tx).attempts.get(tenant.server_name, _user(user_id))
        reason: Literal["signin_failures", "admin"] | None = None
        if account.locked:
            reason = "signin_failures" if row is not None and row.locked_ts else "admin"
        policy = tenant.policy
        window_open = row is not None and (
            row.locked_ts is not None
            or now - row.last_failure_ts < policy.signin_failure_window_seconds * 1000
        )
        return LockState(
            user_id=user_id,
            locked=account.locked,
            reason=reason,
            failures=row.failures if row is not None and window_open else 0,
            locked_ts=row.locked_ts if row is not None and account.locked else None,
            retry_after_ms=wait_ms(row, policy.signin_failures_before_delay, policy, now),
        )
