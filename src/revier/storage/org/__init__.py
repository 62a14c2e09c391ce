"""The org wing's storage: units, their members and rooms, the queued room work
they cause, and the accounts a directory manages. Only ``revier.services.org``
imports this package (an import contract checks it)."""

from __future__ import annotations

from functools import cached_property

from revier.storage.org.directory_accounts import (
    DirectoryAccountRepository,
    ManagedAccount,
    ScimTokenRepository,
)
from revier.storage.org.unit_jobs import UnitJobRepository
from revier.storage.org.unit_members import UnitMemberRepository, UnitRoomRepository
from revier.storage.org.units import UnitRepository
from revier.storage.store import Repositories

__all__ = ["ManagedAccount", "OrgRepos"]


class OrgRepos(Repositories):
    @cached_property
    def units(self) -> UnitRepository:
        return UnitRepository(self.conn)

    @cached_property
    def unit_members(self) -> UnitMemberRepository:
        return UnitMemberRepository(self.conn)

    @cached_property
    def unit_rooms(self) -> UnitRoomRepository:
        return UnitRoomRepository(self.conn)

    @cached_property
    def unit_jobs(self) -> UnitJobRepository:
        return UnitJobRepository(self.conn)

    @cached_property
    def directory_accounts(self) -> DirectoryAccountRepository:
        return DirectoryAccountRepository(self.conn)

    @cached_property
    def scim_tokens(self) -> ScimTokenRepository:
        return ScimTokenRepository(self.conn)
