"""The org wing's storage. Only ``revier.services.org`` imports this package
(an import contract checks it)."""

from __future__ import annotations

from functools import cached_property

from revier.storage.org.directory_accounts import (
    DirectoryAccountRepository,
    ManagedAccount,
    ScimTokenRepository,
)
from revier.storage.store import Repositories

__all__ = ["ManagedAccount", "OrgRepos"]


class OrgRepos(Repositories):
    @cached_property
    def directory_accounts(self) -> DirectoryAccountRepository:
        return DirectoryAccountRepository(self.conn)

    @cached_property
    def scim_tokens(self) -> ScimTokenRepository:
        return ScimTokenRepository(self.conn)
