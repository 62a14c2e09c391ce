"""SCIM 2.0 Groups: each group is a unit (its ``id`` the unit's external ID),
its members the unit's members. Membership changes run through the sync
engine like an LDAP sync's moves, so the members' rooms follow."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from revier.services.core import Tenant
from revier.services.org.directory_sync import DirectorySync
from revier.services.org.directory_view import DirectoryPerson, DirectoryUnit, DirectoryView
from revier.services.org.scim_users import MAX_PAGE, SOURCE, ScimError
from revier.services.org.units import Units
from revier.storage import Store
from revier.storage.org import OrgRepos

ACTOR = "directory:scim"


@dataclass(frozen=True, slots=True)
class ScimGroup:
    scim_id: str
    name: str
    members: tuple[tuple[str, str], ...]  # (SCIM user id, user ID)


class ScimGroups:
    def __init__(self, store: Store, sync: DirectorySync, units: Units) -> None:
        self._store = store
        self._sync = sync
        self._units = units

    async def create(self, tenant: Tenant, *, name: str, members: Sequence[str]) -> ScimGroup:
        scim_id = uuid.uuid4().hex
        await self._units.ensure_unit(
            tenant, external_id=scim_id, name=name, parent_external_id=None, actor=ACTOR
        )
        await self._set_members(tenant, scim_id, name, members)
        return await self.get(tenant, scim_id)

    async def get(self, tenant: Tenant, scim_id: str) -> ScimGroup:
        unit = await self._units.get_by_external_id(tenant, scim_id)
        if unit is None:
            raise ScimError(404, f"No group {scim_id}")
        members = []
        async with self._store.read() as tx:
            db = OrgRepos.of(tx).directory_accounts
            for user_id, _role in await OrgRepos.of(tx).unit_members.members(unit.unit_id):
                managed = await db.get(user_id)
                if managed is not None and managed.source == SOURCE:
                    members.append((managed.external_id, user_id))
        return ScimGroup(scim_id, unit.name, tuple(members))

    async def search(
        self, tenant: Tenant, *, name: str | None, start_index: int, count: int
    ) -> tuple[int, list[ScimGroup]]:
        units = [
            u
            for u in await self._units.list_units(tenant)
            if u.external_id is not None and (name is None or u.name == name)
        ]
        start = max(start_index, 1) - 1
        page = units[start : start + min(max(count, 0), MAX_PAGE)]
        return len(units), [await self.get(tenant, u.external_id or "") for u in page]

    async def replace(
        self, tenant: Tenant, scim_id: str, *, name: str, members: Sequence[str]
    ) -> ScimGroup:
        await self.get(tenant, scim_id)
        await self._units.ensure_unit(
            tenant, external_id=scim_id, name=name, parent_external_id=None, actor=ACTOR
        )
        await self._set_members(tenant, scim_id, name, members)
        return await self.get(tenant, scim_id)

    async def delete(self, tenant: Tenant, scim_id: str) -> None:
        unit = await self._units.get_by_external_id(tenant, scim_id)
        if unit is None:
            raise ScimError(404, f"No group {scim_id}")
        await self._units.delete_unit(tenant, unit.unit_id, actor=ACTOR)

    async def _set_members(
        self, tenant: Tenant, group_id: str, name: str, member_ids: Sequence[str]
    ) -> None:
        """The group's members become ``member_ids`` (SCIM user ids): one partial
        view of everyone who joins or leaves, each with their whole set of units."""
        wanted = set(member_ids)
        current = {scim_id for scim_id, _ in (await self.get(tenant, group_id)).members}
        affected = sorted(wanted | current)
        if wanted == current:
            return
        async with self._store.read() as tx:
            db = OrgRepos.of(tx).directory_accounts
            accounts = {
                m.external_id: m for m in await db.managed_of(tenant.server_name, SOURCE, affected)
            }
            their_units = await db.directory_units(tenant.server_name, SOURCE)
        unknown = sorted(wanted - accounts.keys())
        if unknown:
            raise ScimError(
                400, f"No user {unknown[0]}: members must be SCIM users", "invalidValue"
            )
        people = []
        for scim_id in affected:
            account = accounts[scim_id]
            units = set(their_units.get(account.user_id, frozenset()))
            if scim_id in wanted:
                units.add(group_id)
            else:
                units.discard(group_id)
            people.append(
                DirectoryPerson(
                    scim_id,
                    account.user_id[1:].partition(":")[0],
                    account.displayname,
                    active=not account.deactivated,
                    units=frozenset(units),
                )
            )
        # Every directory unit as it is (this group with its new name): the
        # engine then changes only the memberships.
        all_units = await self._units.list_units(tenant)
        external = {u.unit_id: u.external_id for u in all_units}
        units_now = [
            DirectoryUnit(
                u.external_id,
                name if u.external_id == group_id else u.name,
                external.get(u.parent_id) if u.parent_id else None,
            )
            for u in all_units
            if u.external_id is not None
        ]
        view = DirectoryView(SOURCE, people, units_now, has_units=True, complete=False)
        await self._sync.sync(tenant, view)
