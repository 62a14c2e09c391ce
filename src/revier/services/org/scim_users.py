"""SCIM 2.0 (RFC 7643/7644) Users for an identity provider that pushes: each
request becomes a partial directory view run through the one sync engine
(``DirectorySync``) — so an account is created, renamed, moved and deactivated
exactly as an LDAP sync would, audited as ``directory:scim``.

A SCIM user's ``id`` is a random ID revier gives it (stored as the account's
external ID); its ``userName`` is the account's localpart and can't change.
Deleting a user deactivates the account and forgets its SCIM ``id``: the
account stays closed (and its name taken), as with any deactivated account.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Final

from revier.services.core import Tenant
from revier.services.org.directory_sync import DirectorySync
from revier.services.org.directory_view import DirectoryPerson, DirectoryView
from revier.services.org.units import Units
from revier.storage import Store
from revier.storage.org import ManagedAccount, OrgRepos

SOURCE: Final = "scim"
MAX_PAGE = 200


class ScimError(Exception):
    """An answer in SCIM's error schema: HTTP status, ``scimType``, detail."""

    def __init__(self, status: int, detail: str, scim_type: str | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.scim_type = scim_type


@dataclass(frozen=True, slots=True)
class ScimAccount:
    scim_id: str
    user_id: str
    user_name: str
    displayname: str | None
    active: bool
    created_ts: int
    groups: tuple[tuple[str, str], ...] = ()  # (group id, name)


class ScimUsers:
    def __init__(self, store: Store, sync: DirectorySync, units: Units) -> None:
        self._store = store
        self._sync = sync
        self._units = units

    async def create(
        self, tenant: Tenant, *, user_name: str, displayname: str | None, active: bool
    ) -> ScimAccount:
        localpart = user_name.lower()
        async with self._store.read() as tx:
            taken = await OrgRepos.of(tx).directory_accounts.existing_users(
                [tenant.user_id(localpart)]
            )
        if taken:
            raise ScimError(409, f"userName {user_name!r} is taken", "uniqueness")
        scim_id = uuid.uuid4().hex
        person = DirectoryPerson(scim_id, localpart, displayname, active=active)
        result = await self._sync.sync(tenant, _view(person))
        if result.plan.refusals:
            raise ScimError(400, result.plan.refusals[0].reason, "invalidValue")
        if not active:  # created disabled: nothing for revier to make
            raise ScimError(400, "A new user must be active", "invalidValue")
        return await self.get(tenant, scim_id)

    async def get(self, tenant: Tenant, scim_id: str) -> ScimAccount:
        async with self._store.read() as tx:
            db = OrgRepos.of(tx).directory_accounts
            user_id = await db.by_external_id(tenant.server_name, SOURCE, scim_id)
            rows: list[tuple[ManagedAccount, str, int]] = []
            if user_id is not None:
                _, rows = await db.page(
                    tenant.server_name,
                    SOURCE,
                    offset=0,
                    limit=1,
                    localpart=user_id[1:].partition(":")[0],
                )
        if not rows:
            raise ScimError(404, f"No user {scim_id}")
        return await self._with_groups(tenant, *rows[0])

    async def search(
        self, tenant: Tenant, *, user_name: str | None, start_index: int, count: int
    ) -> tuple[int, list[ScimAccount]]:
        """A page (SCIM's 1-based ``startIndex``) of the SCIM users, or the one
        with ``userName``; and how many match."""
        async with self._store.read() as tx:
            total, rows = await OrgRepos.of(tx).directory_accounts.page(
                tenant.server_name,
                SOURCE,
                offset=max(start_index, 1) - 1,
                limit=min(max(count, 0), MAX_PAGE),
                localpart=user_name.lower() if user_name is not None else None,
            )
        return total, [await self._with_groups(tenant, *row) for row in rows]

    async def replace(
        self,
        tenant: Tenant,
        scim_id: str,
        *,
        user_name: str,
        displayname: str | None,
        active: bool,
    ) -> ScimAccount:
        """PUT (and PATCH, applied to the current resource first)."""
        current = await self.get(tenant, scim_id)
        if user_name.lower() != current.user_name:
            raise ScimError(400, "userName can't change (it is the Matrix user ID)", "mutability")
        if active and not current.active:
            raise ScimError(
                400,
                "A deactivated account is never reactivated by the directory; an admin can",
                "mutability",
            )
        person = DirectoryPerson(scim_id, current.user_name, displayname, active=active)
        await self._sync.sync(tenant, _view(person))
        return await self.get(tenant, scim_id)

    async def delete(self, tenant: Tenant, scim_id: str) -> None:
        current = await self.get(tenant, scim_id)
        if current.active:
            person = DirectoryPerson(scim_id, current.user_name, current.displayname, active=False)
            await self._sync.sync(tenant, _view(person))
        async with self._store.transaction() as tx:
            await OrgRepos.of(tx).directory_accounts.forget(current.user_id)

    async def _with_groups(
        self, tenant: Tenant, account: ManagedAccount, localpart: str, created_ts: int
    ) -> ScimAccount:
        memberships = await self._units.memberships(tenant, account.user_id)
        groups = []
        if memberships:
            for unit in await self._units.list_units(tenant):
                if unit.unit_id in memberships and unit.external_id is not None:
                    groups.append((unit.external_id, unit.name))
        return ScimAccount(
            account.external_id,
            account.user_id,
            localpart,
            account.displayname,
            not account.deactivated,
            created_ts,
            tuple(groups),
        )


def _view(person: DirectoryPerson) -> DirectoryView:
    return DirectoryView(SOURCE, [person], complete=False)
