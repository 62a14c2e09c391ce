"""Changing who belongs to which unit: one user's set of units, or many users
into one unit at once. Each is one transaction with an audit entry per user
and unit (who, which unit, which user, the role), and the room work queued in
the same transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping

from revier.errors import Forbidden, InvalidParam, MatrixError, NotFound
from revier.services.core import Actor, AuditLog, Tenant, users
from revier.services.org.model import BulkAdd, MembershipChange, Role, check_role
from revier.services.org.tree import unit_row
from revier.services.org.work import SPACE_RULE, UnitWork
from revier.storage import Store, Tx
from revier.storage.org import OrgRepos
from revier.storage.org.units import UnitRow

# Desired units (unit ID → role) from the current ones.
Compute = Callable[[dict[str, Role]], Mapping[str, str]]
MAX_BULK = 5000


class MembershipWriter:
    def __init__(self, store: Store, audit: AuditLog, work: UnitWork) -> None:
        self._store = store
        self._audit = audit
        self._work = work

    async def change(
        self, tenant: Tenant, user_id: str, compute: Compute, *, actor: Actor, reason: str
    ) -> MembershipChange:
        """The user's units as ``compute`` makes them from the current ones, then
        the rooms to match."""
        jobs: list[int] = []
        async with self._store.transaction() as tx:
            found: dict[str, UnitRow] = {}
            current, wanted = await self._wanted(tx, tenant, user_id, compute, found)
            added = {u: r for u, r in wanted.items() if u not in current}
            removed = tuple(sorted(u for u in current if u not in wanted))
            changed = {u: r for u, r in wanted.items() if u in current and current[u] != r}
            for unit_id in sorted({*added, *removed, *changed}):
                unit = found[unit_id]
                await self._write_member(tx, tenant, actor, unit_id, user_id, current, wanted)
                job = await self._queue(
                    tx,
                    tenant,
                    unit,
                    [user_id],
                    actor,
                    _left_text(unit, reason if unit_id in removed else ""),
                    space=unit_id not in changed,
                )
                if job is not None:
                    jobs.append(job)
        await self._work.run(jobs, tenant)
        return MembershipChange(added, removed, changed, tuple(jobs))

    async def change_many(
        self,
        tenant: Tenant,
        wanted_units: Mapping[str, Callable[[dict[str, Role]], Mapping[str, str]]],
        *,
        actor: Actor,
        reason: str,
    ) -> tuple[list[str], list[tuple[str, str]]]:
        """Many users' units at once (``change`` for each, one per entry), in one
        transaction, with one job per unit for the users it gained or lost
        instead of one per user and unit: a directory sync of thousands of
        accounts. A user refused (no such account, deactivated, a unit gone) is
        left out, the others go on. Returns the users changed and the refusals."""
        changed_users: list[str] = []
        refused: list[tuple[str, str]] = []
        by_unit: defaultdict[str, set[str]] = defaultdict(set)
        left_some: set[str] = set()  # units someone left: the job's rooms include its space
        joined_some: set[str] = set()
        async with self._store.transaction() as tx:
            units: dict[str, UnitRow] = {}
            for user_id in sorted(wanted_units):  # a fixed order: two bulk changes never deadlock
                try:
                    compute = wanted_units[user_id]
                    current, wanted = await self._wanted(tx, tenant, user_id, compute, units)
                except MatrixError as e:  # checked before anything of theirs is written
                    refused.append((user_id, e.error))
                    continue
                diff = [u for u in sorted({*wanted, *current}) if wanted.get(u) != current.get(u)]
                for unit_id in diff:
                    if unit_id not in current:
                        joined_some.add(unit_id)
                    elif unit_id not in wanted:
                        left_some.add(unit_id)
                    await self._write_member(tx, tenant, actor, unit_id, user_id, current, wanted)
                    by_unit[unit_id].add(user_id)
                if diff:
                    changed_users.append(user_id)
            jobs: list[int] = []
            for unit_id, members in sorted(by_unit.items()):
                unit = units[unit_id]
                text = _left_text(unit, reason if unit_id in left_some else "")
                space = unit_id in left_some or unit_id in joined_some
                job = await self._queue(tx, tenant, unit, sorted(members), actor, text, space=space)
                if job is not None:
                    jobs.append(job)
        await self._work.run(jobs, tenant)
        return changed_users, refused

    async def _wanted(
        self,
        tx: Tx,
        tenant: Tenant,
        user_id: str,
        compute: Compute,
        units: dict[str, UnitRow],
    ) -> tuple[dict[str, Role], dict[str, Role]]:
        """The user's current units and those ``compute`` wants, checked (a
        deactivated account gains none, every unit exists); ``units`` gathers the
        units' rows. Locks the user: two changes of one user's units take turns."""
        db = OrgRepos.of(tx)
        account = await users.local_user(tx, tenant, user_id, deactivated_ok=True)
        await users.lock(tx, user_id)
        now = await db.unit_members.of_user(tenant.server_name, user_id)
        current = {u: check_role(r) for u, r in now.items()}
        wanted = {u: check_role(r) for u, r in compute(dict(current)).items()}
        if account.deactivated and set(wanted) - set(current):
            raise Forbidden(f"{user_id} is deactivated")
        if unknown := sorted({*wanted, *current} - set(units)):
            units.update(await db.units.by_ids(tenant.server_name, unknown))
        if missing := sorted(set(wanted) - set(units)):
            raise NotFound(f"No unit {missing[0]} in this organisation")
        return current, wanted

    async def _write_member(
        self,
        tx: Tx,
        tenant: Tenant,
        actor: Actor,
        unit_id: str,
        user_id: str,
        current: Mapping[str, Role],
        wanted: Mapping[str, Role],
    ) -> None:
        """One unit's row of the user as ``wanted`` has it, audited."""
        db = OrgRepos.of(tx)
        if unit_id not in current:
            await db.unit_members.add(unit_id, user_id, wanted[unit_id])
            action = "unit.member_added"
        elif unit_id not in wanted:
            await db.unit_members.remove(unit_id, user_id)
            action = "unit.member_removed"
        else:
            await db.unit_members.set_role(unit_id, user_id, wanted[unit_id])
            action = "unit.member_role_changed"
        details = {"unit_id": unit_id, "role": wanted.get(unit_id)}
        await self._audit.record_as(tx, tenant, actor, action, target=user_id, details=details)

    async def add_many(
        self, tenant: Tenant, unit_id: str, members: Mapping[str, str], *, actor: Actor
    ) -> BulkAdd:
        """Many users into one unit (or a new role in it): one job for all of them,
        worked off in the background for a big unit."""
        if len(members) > MAX_BULK:
            raise InvalidParam(f"At most {MAX_BULK} members at once")
        wanted = {u: check_role(r) for u, r in members.items()}
        async with self._store.transaction() as tx:
            db = OrgRepos.of(tx)
            unit = await unit_row(tx, tenant, unit_id, lock=True)
            for user_id in wanted:
                await users.local_user(tx, tenant, user_id)
            current = dict(await db.unit_members.members(unit_id))
            added = {u: r for u, r in wanted.items() if u not in current}
            changed = {u: r for u, r in wanted.items() if u in current and current[u] != r}
            for user_id, role in added.items():
                await db.unit_members.add(unit_id, user_id, role)
            for user_id, role in changed.items():
                await db.unit_members.set_role(unit_id, user_id, role)
            for user_id in sorted({*added, *changed}):
                action = "unit.member_added" if user_id in added else "unit.member_role_changed"
                await self._audit.record_as(
                    tx,
                    tenant,
                    actor,
                    action,
                    target=user_id,
                    details={"unit_id": unit_id, "role": wanted[user_id]},
                )
            text = f"You left the unit {unit.name}"
            job = await self._queue(
                tx, tenant, unit, sorted({*added, *changed}), actor, text, space=True
            )
        jobs = [job] if job is not None else []
        await self._work.run(jobs, tenant)
        return BulkAdd(len(added), len(changed), tuple(jobs))

    async def _queue(
        self,
        tx: Tx,
        tenant: Tenant,
        unit: UnitRow,
        user_ids: list[str],
        actor: Actor,
        reason: str,
        *,
        space: bool,
    ) -> int | None:
        rooms = list((await OrgRepos.of(tx).unit_rooms.of_unit(unit.unit_id)).items())
        if space:
            rooms.append((unit.space_room_id, SPACE_RULE))
        return await self._work.queue(
            tx, tenant, unit.unit_id, rooms, user_ids, reason=reason, actor=actor.name
        )


def _left_text(unit: UnitRow, reason: str) -> str:
    """What someone the unit's job removes from a room is shown (only they are)."""
    return f"You left the unit {unit.name}" + (f" ({reason})" if reason else "")
