"""Applying the units part of a plan through ``Units``: the directory's units
created, renamed and moved (parents first), and each person's set of units
made what the directory says. Units made by hand, and a person's place in them,
are never touched; a lead stays a lead."""

from __future__ import annotations

from collections.abc import Iterable

from revier.services.core import Tenant
from revier.services.org.directory_view import DirectoryUnit
from revier.services.org.model import Role
from revier.services.org.units import Units

REASON = "Your unit changed in the organisation's directory"


class DirectoryMemberships:
    def __init__(self, units: Units) -> None:
        self._units = units
        # external ID → unit ID, for the tenant being synced
        self._ids: dict[str, str] = {}

    async def ensure(self, tenant: Tenant, units: Iterable[DirectoryUnit], actor: str) -> int:
        n = 0
        for unit in units:
            await self._units.ensure_unit(
                tenant,
                external_id=unit.external_id,
                name=unit.name,
                parent_external_id=unit.parent_external_id,
                actor=actor,
            )
            n += 1
        self._ids = {
            u.external_id: u.unit_id
            for u in await self._units.list_units(tenant)
            if u.external_id is not None
        }
        return n

    async def set_units(
        self, tenant: Tenant, user_id: str, external_ids: frozenset[str], actor: str
    ) -> bool:
        """The user's directory units become ``external_ids``; whether anything changed."""
        current = await self._units.memberships(tenant, user_id)
        directory_units = set(self._ids.values())
        desired: dict[str, Role] = {
            unit_id: role for unit_id, role in current.items() if unit_id not in directory_units
        }
        for external_id in external_ids:
            unit_id = self._ids.get(external_id)
            if unit_id is not None:
                desired[unit_id] = current.get(unit_id, "member")
        if desired == current:
            return False
        change = await self._units.set_memberships(
            tenant, user_id, desired, actor=actor, reason=REASON
        )
        return change.changed
