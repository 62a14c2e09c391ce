"""The sync engine's second half: carrying out a plan (``directory_plan``).

Every step goes through the wing that owns what it changes — accounts are
created by the accounts wing (without a password: the directory checks it at
sign-in), display names set by the rooms wing's profiles (so every room shows
the new name), accounts closed by the existing deactivation job — and is
committed in batches, so a sync stopped half-way keeps what it did and the
next one (computing its plan afresh) does the rest. Running a plan twice does
nothing the second time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import structlog

from revier.errors import MatrixError
from revier.services.accounts import AccountService, DeactivationService, NewUser
from revier.services.core import Actor, Clock, Tenant, User
from revier.services.org.batches import batches_for
from revier.services.org.directory_memberships import DirectoryMemberships
from revier.services.org.directory_plan import Plan
from revier.services.rooms import ProfileService
from revier.storage import Store, Tx
from revier.storage.org import OrgRepos

log = structlog.get_logger(__name__)


@dataclass(slots=True)
class Outcome:
    """What applying a plan did: user IDs per kind of change, and what failed."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    moved: list[str] = field(default_factory=list)
    deactivated: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "created": len(self.created),
            "updated": len(self.updated),
            "moved": len(self.moved),
            "deactivated": len(self.deactivated),
            "failed": len(self.failed),
        }


class PlanApplier:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        accounts: AccountService,
        deactivation: DeactivationService,
        profiles: ProfileService,
        memberships: DirectoryMemberships,
    ) -> None:
        self._memberships = memberships
        self._store = store
        self._clock = clock
        self._accounts = accounts
        self._deactivation = deactivation
        self._profiles = profiles
        # The tenant's batch_size caps these; the engine's sizes (org/batches.py)
        # keep a SQLite transaction short (its 500 held the loop for 370 ms).
        self._batches = batches_for(store.is_sqlite)

    async def apply(self, tenant: Tenant, plan: Plan, *, batch_size: int) -> Outcome:
        actor = Actor(f"directory:{plan.source}", None)
        outcome = Outcome()
        if plan.units or plan.moves or any(c.person.units for c in plan.creates):
            await self._memberships.ensure(tenant, plan.units, actor.name)
        await self._create(tenant, plan, actor, batch_size, outcome)
        created = set(outcome.created)
        joiners = {
            c.user_id: c.person.units
            for c in plan.creates
            if c.person.units and c.user_id in created
        }
        await self._set_units(tenant, joiners, actor, batch_size, None)
        await self._set_units(
            tenant, {m.user_id: m.units for m in plan.moves}, actor, batch_size, outcome
        )
        for rename in plan.renames:
            try:
                if await self._profiles.set_displayname_for(
                    tenant, rename.user_id, rename.displayname
                ):
                    outcome.updated.append(rename.user_id)
            except MatrixError as e:
                outcome.failed.append((rename.user_id, e.error))
        if plan.deactivations:
            await self._memberships.ensure(tenant, [], actor.name)
            # Out of the directory's units first: a room attached to one of
            # them later must not pull a closed account back in.
            leavers = {d.user_id: frozenset[str]() for d in plan.deactivations}
            failed = len(outcome.failed)
            await self._set_units(tenant, leavers, actor, batch_size, outcome, moved=False)
            refused = {user_id for user_id, _ in outcome.failed[failed:]}
            for deactivate in plan.deactivations:
                if deactivate.user_id in refused:
                    continue
                try:
                    await self._deactivation.deactivate(tenant, deactivate.user_id, actor)
                    outcome.deactivated.append(deactivate.user_id)
                except MatrixError as e:
                    outcome.failed.append((deactivate.user_id, e.error))
        now = self._clock.time_ms()
        page = self._batches.plan_page
        for i in range(0, len(plan.seen), page):
            async with self._store.transaction() as tx:
                await OrgRepos.of(tx).directory_accounts.seen(plan.seen[i : i + page], now)
        return outcome

    async def _set_units(
        self,
        tenant: Tenant,
        wanted: dict[str, frozenset[str]],
        actor: Actor,
        batch_size: int,
        outcome: Outcome | None,
        *,
        moved: bool = True,
    ) -> None:
        """Users' directory units, a committed transaction per batch (so a sync
        stopped half-way keeps what it did); ``outcome`` gets the users moved
        (with ``moved``) and those refused."""
        users = list(wanted)
        step = max(1, min(batch_size, self._batches.unit_users))
        for i in range(0, len(users), step):
            chunk = {user_id: wanted[user_id] for user_id in users[i : i + step]}
            changed, refused = await self._memberships.set_units_many(tenant, chunk, actor.name)
            if outcome is not None:
                if moved:
                    outcome.moved += changed
                outcome.failed += refused

    async def _create(
        self, tenant: Tenant, plan: Plan, actor: Actor, batch_size: int, outcome: Outcome
    ) -> None:
        if not plan.creates:
            return
        external_ids = {c.user_id: c.person.external_id for c in plan.creates}
        now = self._clock.time_ms()

        async def mark(tx: Tx, user: User) -> None:
            # In the account's own transaction: never an account the directory
            # made but doesn't know it manages.
            await OrgRepos.of(tx).directory_accounts.add(
                user.user_id, tenant.server_name, plan.source, external_ids[user.user_id], now
            )

        report = await self._accounts.create_users(
            tenant,
            (
                NewUser(c.person.localpart, displayname=c.person.displayname, external=True)
                for c in plan.creates
            ),
            batch_size=max(1, min(batch_size, self._batches.accounts)),
            actor=actor,
            on_created=mark,
        )
        outcome.created += report.created
        outcome.failed += [(tenant.user_id(lp), why) for lp, why in report.failed]
