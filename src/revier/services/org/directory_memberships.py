"""Applying the units part of a plan through ``Units``: the directory's units
created, renamed and moved (parents first), and each person's set of units
made what the directory says. Units made by hand, and a person's place in them,
are never touched; a lead stays a lead."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

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

    async def set_units_many(
        self, tenant: Tenant, wanted: Mapping[str, frozenset[str]], actor: str
    ) -> tuple[list[str], list[tuple[str, str]]]:
        """Users' directory units become what the directory says (user ID →
        external IDs), in one transaction: the users changed, and those refused."""
        directory_units = frozenset(self._ids.values())

        def compute(external_ids: frozenset[str]) -> Callable[[dict[str, Role]], dict[str, Role]]:
            def desired(current: dict[str, Role]) -> dict[str, Role]:
                out = {u: r for u, r in current.items() if u not in directory_units}
                for external_id in external_ids:
                    unit_id = self._ids.get(external_id)
                    if unit_id is not None:
                        out[unit_id] = current.get(unit_id, "member")
                return out

            return desired

        return await self._units.set_memberships_many(
            tenant,
            {user_id: compute(ids) for user_id, ids in wanted.items()},
            actor=actor,
            reason=REASON,
        )
